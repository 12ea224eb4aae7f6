"""Architecture strings become specs: names, shapes, feature layer, head, and the errors."""

from __future__ import annotations

import pytest

from cnnlab.errors import UserError
from cnnlab.models import ARCHITECTURES, build_model, resolve_spec, spec_from_string
from cnnlab.models.scratch_builder import build as build_scratch
from cnnlab.models.shapes import feature_shape, infer_shapes
from cnnlab.models.spec import ArchSpec, LayerSpec

BN_STRING = (
    "Conv2d(16, 3, padding=1) BatchNorm2d ReLU MaxPool2d(2) Conv2d(32, 3, padding=1) ReLU "
    "MaxPool2d(2) Conv2d(64, 3, padding=1) ReLU Flatten Linear(10)"
)


def _conv_block(i: int, out: int, pool: bool) -> tuple[LayerSpec, ...]:
    block = (
        LayerSpec(f"conv{i}", "Conv2d", {"out_channels": out, "kernel_size": 3}),
        LayerSpec(f"relu{i}", "ReLU"),
    )
    return block + ((LayerSpec(f"pool{i}", "MaxPool2d", {"kernel_size": 2}),) if pool else ())


_HEAD = (LayerSpec("flatten", "Flatten"), LayerSpec("fc", "Linear", {"out_features": 10}))

# The hand-written specs of the built-ins before architecture strings, kept verbatim.
BEFORE_STRINGS = {
    "cnn2": ArchSpec(
        "cnn2", "", _conv_block(1, 16, True) + _conv_block(2, 32, False) + _HEAD, "relu2"
    ),
    "cnn3": ArchSpec(
        "cnn3",
        "",
        _conv_block(1, 16, True) + _conv_block(2, 32, True) + _conv_block(3, 64, False) + _HEAD,
        "relu3",
    ),
    "mlp3": ArchSpec(
        "mlp3",
        "",
        (
            LayerSpec("flatten", "Flatten"),
            LayerSpec("fc1", "Linear", {"out_features": 256}),
            LayerSpec("relu1", "ReLU"),
            LayerSpec("fc2", "Linear", {"out_features": 256}),
            LayerSpec("relu2", "ReLU"),
            LayerSpec("fc3", "Linear", {"out_features": 10}),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(BEFORE_STRINGS))
def test_the_builtin_strings_give_the_same_layers_names_and_initial_weights(name):
    old, new = BEFORE_STRINGS[name], ARCHITECTURES[name]
    assert new.layers == old.layers
    assert new.feature_layer == old.feature_layer
    expected, got = build_scratch(old, 0).state_dict(), build_model(name, seed=0).state_dict()
    assert list(got) == list(expected)
    for key in expected:
        assert got[key].tobytes() == expected[key].tobytes(), key


def test_custom_layers_are_named_by_kind_and_order():
    spec = spec_from_string(BN_STRING, "mine")
    names = [layer.name for layer in spec.layers]
    assert names == [
        "conv1", "bn1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
        "flatten1", "fc1",
    ]  # fmt: skip
    keys = build_model(spec).state_dict()
    assert [k for k in keys if k.startswith("bn1")] == [
        "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"
    ]  # fmt: skip
    assert spec.feature_layer == "relu3"
    assert spec.head == "flatten_linear"
    assert feature_shape(spec) == (64, 7, 7)
    assert spec.source == BN_STRING


def test_cnn3pad_keeps_a_7x7_map_and_lenet5_has_the_classic_sizes():
    assert feature_shape(ARCHITECTURES["cnn3pad"]) == (64, 7, 7)
    lenet = {layer.spec.name: layer for layer in infer_shapes(ARCHITECTURES["lenet5"])}
    assert lenet["conv1"].out_shape == (6, 28, 28)
    assert lenet["avgpool2"].out_shape == (16, 5, 5)
    assert [lenet[f"fc{i}"].out_shape for i in (1, 2, 3)] == [(120,), (84,), (10,)]
    assert ARCHITECTURES["lenet5"].feature_layer == "avgpool2"
    assert ARCHITECTURES["lenet5"].head is None  # three linear layers: Grad-CAM only


@pytest.mark.parametrize(
    ("text", "feature", "head"),
    [
        ("Conv2d(8, 3) ReLU AdaptiveAvgPool2d(1) Flatten Linear(10)", "relu1", "gap_linear"),
        ("Conv2d(8, 3) ReLU Dropout Flatten Linear(10)", "relu1", "flatten_linear"),
        ("Conv2d(8, 3) ReLU Flatten Linear(32) ReLU Linear(10)", "relu1", None),
        ("Flatten BatchNorm1d Linear(10)", None, None),
    ],
)
def test_the_feature_layer_and_head_follow_from_the_layers(text, feature, head):
    spec = spec_from_string(text, "t")
    assert (spec.feature_layer, spec.head) == (feature, head)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("Conv2d(8, 3) MaxPool2d(2) Conv2d(8, 20)", r"layer 3 \(conv2, Conv2d\) receives a 8 × 13"),
        ("Conv2d(8, 3) Linear(10)", r"layer 2 \(fc1, Linear\) .* add Flatten before it"),
        ("Flatten BatchNorm2d Linear(10)", r"layer 2 \(bn1, BatchNorm2d\) receives a 784 input"),
        ("Conv2d(8, 3) ReLU Flatten Linear(12)", r"last layer 4 \(fc1, Linear\) gives a 12 out"),
        ("Conv2d(8, 3) ReLU", r"last layer 2 \(relu1, ReLU\) gives a 8 × 26 × 26 output"),
        ("Conv2d(4, 3) MaxPool2d(2, padding=2)", r"padding 2x2 is more than half"),
    ],
)
def test_a_misfit_is_one_sentence_naming_layer_position_and_shape(text, sentence):
    with pytest.raises(UserError, match=sentence):
        spec_from_string(text, "t")


def test_resolve_spec_rebuilds_a_run_from_its_config_fields():
    assert resolve_spec("cnn2") is ARCHITECTURES["cnn2"]
    spec = resolve_spec("mine", BN_STRING)
    assert spec.name == "mine"
    assert spec == spec_from_string(BN_STRING, "mine")
    assert resolve_spec(spec) is spec


def test_the_model_summary_shows_the_architecture_string():
    from cnnlab.models.shapes import summary_markdown

    assert f"Architecture: `{BN_STRING}`" in summary_markdown(spec_from_string(BN_STRING, "m"))
