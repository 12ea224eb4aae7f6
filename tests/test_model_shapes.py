"""The spec computes its own shapes: input sizes, output shapes, parameter counts, misfits."""

from __future__ import annotations

import pytest

from cnnlab.models import build_model, get_spec
from cnnlab.models.shapes import ShapeError, feature_shape, infer_shapes, parameter_count
from cnnlab.models.spec import ArchSpec, LayerSpec


@pytest.mark.parametrize(
    ("name", "parameters", "features"),
    [("cnn2", 43_530, (32, 11, 11)), ("cnn3", 29_066, (64, 3, 3)), ("mlp3", 269_322, None)],
)
def test_parameter_counts_and_feature_maps_follow_from_the_layers(name, parameters, features):
    spec = get_spec(name)
    assert parameter_count(spec) == parameters
    assert feature_shape(spec) == features
    model = build_model(name)
    assert sum(p.data.size for p in model.parameters()) == parameters


def test_input_sizes_are_filled_in_from_the_layer_before():
    layers = {layer.spec.name: layer for layer in infer_shapes(get_spec("cnn3"))}
    assert layers["conv2"].kwargs["in_channels"] == 16
    assert layers["pool2"].out_shape == (32, 5, 5)  # floor, like PyTorch
    assert layers["fc"].kwargs == {"in_features": 576, "out_features": 10}


def _spec(*layers: LayerSpec) -> ArchSpec:
    return ArchSpec("test", "a test network", layers)


def test_a_kernel_larger_than_its_input_names_the_layer_and_the_shape():
    spec = _spec(
        LayerSpec("conv1", "Conv2d", {"out_channels": 4, "kernel_size": 3}),
        LayerSpec("pool1", "MaxPool2d", {"kernel_size": 2}),
        LayerSpec("conv2", "Conv2d", {"out_channels": 4, "kernel_size": 20}),
    )
    with pytest.raises(ShapeError, match=r"layer 3 \(conv2, Conv2d\) receives a 4 × 13 × 13 input"):
        infer_shapes(spec)


def test_a_linear_layer_on_a_feature_map_asks_for_flatten():
    spec = _spec(
        LayerSpec("conv1", "Conv2d", {"out_channels": 4, "kernel_size": 3}),
        LayerSpec("fc", "Linear", {"out_features": 10}),
    )
    with pytest.raises(ShapeError, match="add Flatten before it"):
        infer_shapes(spec)
