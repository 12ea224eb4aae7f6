"""Architecture strings copied from PyTorch read as PyTorch reads them: its positional orders
and keyword names, the `nn.` prefix, a pasted `nn.Sequential(...)`; a written input size is
checked; a positional number never silently takes another meaning."""

from __future__ import annotations

import pytest

from cnnlab.commands.arch_options import arch_fields, arch_spec
from cnnlab.errors import UserError
from cnnlab.models import get_spec, spec_from_string
from cnnlab.models.arch_parse import parse_architecture
from cnnlab.models.shapes import parameter_count, summary_table

SHORT = "Conv2d(16, 3) ReLU MaxPool2d(2) Flatten Linear(10)"


@pytest.mark.parametrize(
    "text",
    [
        "Conv2d(1, 16, 3) ReLU MaxPool2d(2) Flatten Linear(10)",  # the string
        "Conv2d(1, 16, 3) ReLU MaxPool2d(2) Flatten Linear(2704, 10)",
        "Conv2d(in_channels=1, out_channels=16, kernel_size=3) ReLU MaxPool2d(kernel_size=2) "
        "Flatten Linear(in_features=2704, out_features=10)",
        "Conv2d(1, 16, kernel_size=3, stride=1, padding=0) ReLU MaxPool2d(2) Flatten Linear(10)",
        "Conv2d(1, out_channels=16, kernel_size=3) ReLU MaxPool2d(2) Flatten "
        "Linear(2704, out_features=10)",
        "Conv2d(16, kernel_size=3) ReLU MaxPool2d(2) Flatten Linear(out_features=10)",
        "nn.Conv2d(1, 16, 3) nn.ReLU() torch.nn.MaxPool2d(2) nn.Flatten() nn.Linear(2704, 10)",
        """nn.Sequential(
            nn.Conv2d(1, 16, 3),  # 28 -> 26
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2704, 10),
        )""",
        "nn.Conv2d(1, 16, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten(), "
        "nn.Linear(2704, 10)",  # inplace is a memory choice: read and dropped
        """    nn.Conv2d(1, 16, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2704, 10),
        """,
    ],
)
def test_pytorch_spellings_give_the_network_of_the_short_form(text):
    spec = spec_from_string(text, "net")
    assert spec.layers == spec_from_string(SHORT, "net").layers
    assert spec.source == SHORT  # the canonical string leaves the checked input sizes out
    assert parameter_count(spec) == 16 * 9 + 16 + 2704 * 10 + 10  # 27,210, not 307


def test_pytorchs_linear_and_batch_norm_orders_put_the_input_size_first():
    spec = spec_from_string(
        "Conv2d(1, 32, 3) BatchNorm2d(32) ReLU MaxPool2d(2) Flatten Linear(5408, 10)", "net"
    )
    assert [layer.kwargs for layer in spec.layers][:2] == [
        {"out_channels": 32, "kernel_size": 3},
        {},
    ]
    assert parameter_count(spec) == 32 * 9 + 32 + 2 * 32 + 5408 * 10 + 10
    (call,) = parse_architecture("BatchNorm1d(256, 1e-3, 0.2)")
    assert (call.input_size, call.kwargs) == (256, {"eps": 1e-3, "momentum": 0.2})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Conv2d(3, 16, 3) ReLU Flatten Linear(10)", "conv1, Conv2d) is given in_channels=3"),
        ("Conv2d(16, 3) Flatten Linear(5408, 10)", "in_features=5408, but the input it receives"),
        ("Conv2d(16, 3) BatchNorm2d(8) Flatten Linear(10)", "num_features=8"),
        # today's short form with a stride by position is PyTorch's order now: in_channels 16
        ("Conv2d(16, 3, 2) Flatten Linear(10)", "in_channels=16, but the input it receives has 1"),
    ],
)
def test_a_written_input_size_that_does_not_fit_is_one_sentence_with_both_numbers(text, words):
    with pytest.raises(UserError) as caught:
        spec_from_string(text, "net")
    message = str(caught.value)
    assert words in message
    assert message.count(".") == 1
    assert message.endswith(".")


def test_a_number_by_position_never_changes_meaning_silently():
    # Conv2d's bias comes after dilation and groups in PyTorch: by keyword only
    with pytest.raises(UserError, match="too many positional arguments"):
        parse_architecture("Conv2d(1, 16, 3, 1, 0, False)")
    # two numbers in Linear are PyTorch's (in, out), not today's (out, bias)
    with pytest.raises(UserError, match="out_features must be a positive integer, not False"):
        parse_architecture("Linear(10, False)")
    with pytest.raises(UserError, match=r"num_features must be a positive integer, not 0\.001"):
        parse_architecture("BatchNorm2d(1e-3)")


@pytest.mark.parametrize(
    "text",
    ["Sequential(ReLU) ReLU", "nn.Sequential(ReLU", "ReLU,, ReLU", "Sequential ReLU"],
)
def test_a_broken_sequential_or_comma_is_a_user_error(text):
    with pytest.raises(UserError, match=r"^Architecture layer"):
        parse_architecture(text)


def test_arch_accepts_a_built_in_models_name():
    assert arch_fields("lenet5", None) == {"model": "lenet5", "arch": None}
    assert arch_fields(" cnn3 ", "mine") == {"model": "cnn3", "arch": None}
    assert arch_spec("cnn2", "row").layers[0] == get_spec("cnn2").layers[0]


def test_train_prints_each_layer_its_output_shape_parameters_and_the_total(capsys):
    from cnnlab.commands.train import print_architecture
    from cnnlab.training.config import TrainConfig

    print_architecture(TrainConfig(**arch_fields("Conv2d(1, 16, 3) ReLU MaxPool2d(2) Flatten "
                                                  "Linear(10)", None)))  # fmt: skip
    out = capsys.readouterr().out
    assert "conv1 (Conv2d)      16 × 26 × 26         160" in out
    assert "fc1 (Linear)        10                27,050" in out
    assert out.rstrip().endswith("27,210")
    assert summary_table(get_spec("cnn2")).splitlines()[-1].split()[-1] == "43,530"


def test_inplace_is_dropped_where_pytorch_takes_it_and_refused_elsewhere():
    text = "Conv2d(16, 3) LeakyReLU(0.1, inplace=True) Dropout2d(0.1, inplace=False) Flatten "
    text += "Linear(10)"
    assert spec_from_string(text, "net").source == (
        "Conv2d(16, 3) LeakyReLU(negative_slope=0.1) Dropout2d(p=0.1) Flatten Linear(10)"
    )
    with pytest.raises(UserError, match="'inplace' is not an argument of Conv2d"):
        parse_architecture("Conv2d(16, 3, inplace=True)")
    with pytest.raises(UserError, match="'inplace' is not an argument of ReLU"):
        parse_architecture("ReLU(inplace=2)")  # only True or False is PyTorch's
