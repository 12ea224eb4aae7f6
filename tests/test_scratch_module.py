"""Module bookkeeping: names, state dicts, strict loading, modes, dtype casts, initialisation."""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np
import pytest

from cnnlab.scratch import (
    Buffer,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
)


def small_net() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential(
        OrderedDict(
            [
                ("conv1", Conv2d(1, 2, 3, rng=rng)),
                ("relu1", ReLU()),
                ("flatten", Flatten()),
                ("drop", Dropout(0.5, rng=rng)),
                ("fc", Linear(2 * 4 * 4, 3, rng=rng)),
            ]
        )
    )


def test_named_parameters_follow_child_names():
    net = small_net()
    assert list(net.state_dict()) == ["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"]
    assert net.conv1 is net["conv1"] is net[0]
    assert net.fc.weight.shape == (3, 32)


@pytest.mark.parametrize("form", ["modules", "pairs", "list_of_pairs"])
def test_sequential_constructor_forms(form):
    conv, fc = Conv2d(1, 2, 3), Linear(4, 2)
    net = {
        "modules": lambda: Sequential(conv, ReLU(), fc),
        "pairs": lambda: Sequential(("0", conv), ("1", ReLU()), ("2", fc)),
        "list_of_pairs": lambda: Sequential([("0", conv), ("1", ReLU()), ("2", fc)]),
    }[form]()
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_rejects_a_dotted_name():
    with pytest.raises(ValueError, match=r"without '\.'"):
        Sequential(OrderedDict([("a.b", ReLU())]))


def test_state_dict_is_a_copy_and_loads_back():
    net, other = (
        small_net(),
        Sequential(
            OrderedDict(
                [
                    ("conv1", Conv2d(1, 2, 3)),
                    ("relu1", ReLU()),
                    ("flatten", Flatten()),
                    ("drop", Dropout(0.5)),
                    ("fc", Linear(32, 3)),
                ]
            )
        ),
    )
    state = net.state_dict()
    state["fc.bias"][:] = 7.0
    assert not np.any(net.fc.bias.data == 7.0)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.fc.bias.data, state["fc.bias"])
    assert other.fc.bias.data.dtype == np.float32


def test_load_state_dict_rejects_a_wrong_shape():
    state = small_net().state_dict() | {"conv1.weight": np.zeros((2, 1, 5, 5), np.float32)}
    expected = (
        "state dict does not match the model at key 'conv1.weight': the state dict has shape "
        "(2, 1, 5, 5), the model has shape (2, 1, 3, 3)"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        small_net().load_state_dict(state)


def test_load_state_dict_rejects_a_missing_key():
    state = small_net().state_dict()
    del state["fc.bias"]
    expected = (
        "state dict does not match the model at key 'fc.bias': the state dict has no such key, "
        "the model has shape (3,)"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        small_net().load_state_dict(state)


def test_load_state_dict_rejects_an_unexpected_key():
    state = small_net().state_dict() | {"fc2.weight": np.zeros((3, 3), np.float32)}
    expected = (
        "state dict does not match the model at key 'fc2.weight': the state dict has shape "
        "(3, 3), the model has no such key"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        small_net().load_state_dict(state)


def test_zero_grad_train_eval_and_to():
    net = small_net()
    x = np.ones((2, 1, 6, 6), np.float32)
    net.backward(np.ones_like(net(x)))
    assert np.any(net.fc.weight.grad != 0)
    net.zero_grad()
    assert all(not np.any(p.grad) for p in net.parameters())

    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())

    net.to(np.float64)
    assert {p.data.dtype for p in net.parameters()} == {np.dtype(np.float64)}
    assert {p.grad.dtype for p in net.parameters()} == {np.dtype(np.float64)}


def test_backward_stops_at_a_layer_without_input_gradient():
    net = small_net()
    net.conv1.needs_input_grad = False
    x = np.ones((2, 1, 6, 6), np.float32)
    assert net.backward(np.ones_like(net(x))) is None
    assert np.any(net.conv1.weight.grad != 0)


@pytest.mark.parametrize(
    ("make_layer", "fan_in"), [(lambda rng: Conv2d(16, 32, 3, rng=rng), 144),
                               (lambda rng: Linear(3872, 10, rng=rng), 3872)],
    ids=["conv", "linear"],
)  # fmt: skip
def test_init_is_pytorch_default_uniform(make_layer, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, reproducible from the seed."""
    layer = make_layer(np.random.default_rng(3))
    bound = 1 / np.sqrt(fan_in)
    weight = layer.weight.data
    assert weight.dtype == np.float32
    assert np.all(np.abs(weight) <= bound)
    assert np.all(np.abs(layer.bias.data) <= bound)
    assert weight.max() > 0.97 * bound
    assert weight.min() < -0.97 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)  # a uniform's std
    np.testing.assert_array_equal(weight, make_layer(np.random.default_rng(3)).weight.data)


class Counter(Module):
    """A module with a parameter, a float buffer, an int buffer and a child, in that order."""

    def __init__(self, child: Module | None = None) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(2, np.float32))
        self.total = Buffer(np.zeros(2, np.float32))
        self.calls = Buffer(np.array(0, dtype=np.int64))
        if child is not None:
            self.inner = child


def test_buffers_follow_parameters_in_the_state_dict_and_never_reach_parameters():
    net = Counter(Counter())
    assert list(net.state_dict()) == [
        "scale", "total", "calls", "inner.scale", "inner.total", "inner.calls",
    ]  # fmt: skip
    assert [name for name, _ in net.named_buffers()] == [
        "total", "calls", "inner.total", "inner.calls",
    ]  # fmt: skip
    assert [name for name, _ in net.named_parameters()] == ["scale", "inner.scale"]
    assert all(isinstance(p, Parameter) for p in net.parameters())


def test_load_state_dict_checks_buffer_shapes_and_keeps_their_dtype():
    net = Counter(Counter())
    state = net.state_dict() | {"inner.calls": np.array(5.0), "total": np.full(2, 3.0)}
    net.load_state_dict(state)
    assert net.inner.calls.data.dtype == np.int64
    assert int(net.inner.calls.data) == 5
    assert net.total.data.dtype == np.float32
    expected = (
        "state dict does not match the model at key 'inner.total': the state dict has shape "
        "(3,), the model has shape (2,)"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        net.load_state_dict(state | {"inner.total": np.zeros(3)})


def test_to_casts_float_buffers_only():
    net = Counter(Counter()).to(np.float64)
    assert {b.dtype for b in net.buffers()} == {np.dtype(np.float64), np.dtype(np.int64)}
    assert net.inner.calls.dtype == np.int64
