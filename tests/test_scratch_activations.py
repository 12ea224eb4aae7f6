"""LeakyReLU, Tanh and Sigmoid against torch in float64, and by central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cnnlab.scratch import Conv2d, LeakyReLU, Module, Sequential, Sigmoid, Tanh
from test_scratch_gradcheck import check_layer
from test_scratch_layers import assert_matches_torch, images
from torch_oracle import torch

ACTIVATIONS: dict[str, tuple[Callable[[], Module], Callable[[], torch.nn.Module]]] = {
    "leaky_relu": (LeakyReLU, lambda: torch.nn.LeakyReLU()),
    "leaky_relu_0.2": (lambda: LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "leaky_relu_negative_slope": (lambda: LeakyReLU(-0.5), lambda: torch.nn.LeakyReLU(-0.5)),
    "tanh": (Tanh, lambda: torch.nn.Tanh()),
    "sigmoid": (Sigmoid, lambda: torch.nn.Sigmoid()),
}


@pytest.mark.parametrize("shape", [(7, 3, 5, 6), (1, 2, 1, 1), (6, 10)], ids=str)
@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation_matches_torch(kind, shape):
    make_layer, make_twin = ACTIVATIONS[kind]
    assert_matches_torch(make_layer(), make_twin(), images(shape) * 3)


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation_after_a_conv_keeps_channel_major_memory(kind):
    make_layer, make_twin = ACTIVATIONS[kind]
    net = Sequential(Conv2d(2, 3, 3), make_layer())
    twin = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), make_twin())
    assert_matches_torch(net, twin, images((5, 2, 8, 9)))
    y = net(images((5, 2, 8, 9)))
    assert y.strides[1] > y.strides[0]  # (N, C, H, W) view of (C, N, H, W) memory


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation_at_exact_zeros_routes_the_gradient_like_torch(kind):
    make_layer, make_twin = ACTIVATIONS[kind]
    x = np.random.default_rng(0).integers(-1, 2, size=(4, 3, 5, 5)).astype(np.float64)
    assert_matches_torch(make_layer(), make_twin(), x)


@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_saturating_activations_on_huge_inputs_neither_warn_nor_lose_precision(kind):
    make_layer, make_twin = ACTIVATIONS[kind]
    x = np.array([[-1000.0, -745.0, -40.0, -1e-8, 0.0, 1e-8, 40.0, 745.0, 1000.0]])
    assert_matches_torch(make_layer(), make_twin(), x)  # warnings are errors in this suite
    if kind == "sigmoid":
        np.testing.assert_allclose(Sigmoid()(np.array([-40.0])), np.exp(-40.0), rtol=1e-14)


@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_inplace_leaky_relu_overwrites_its_input_and_gives_the_same_gradient(slope):
    x, dy = images((4, 3, 6, 5)), images((4, 3, 6, 5), seed=1)
    plain, inplace = LeakyReLU(slope), LeakyReLU(slope, inplace=True)
    expected = plain.forward(x)
    given = x.copy()
    out = inplace.forward(given)
    assert out is given  # no new array
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(inplace.backward(dy), plain.backward(dy))


def test_reprs_read_like_torchs():
    assert repr(LeakyReLU()) == repr(torch.nn.LeakyReLU())
    assert repr(LeakyReLU(0.2, inplace=True)) == repr(torch.nn.LeakyReLU(0.2, inplace=True))
    assert repr(Tanh()) == repr(torch.nn.Tanh())
    assert repr(Sigmoid()) == repr(torch.nn.Sigmoid())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation_keeps_dtype_and_no_input_gradient_means_none(kind, dtype):
    layer = ACTIVATIONS[kind][0]()
    y = layer(images((2, 3, 4, 4)).astype(dtype))
    assert y.dtype == layer.backward(np.ones_like(y)).dtype == dtype
    layer.needs_input_grad = False
    assert layer.backward(np.ones_like(y)) is None


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation_gradient_by_central_differences(kind):
    # Away from 0, where LeakyReLU's kink would break a central difference.
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    x += np.where(x >= 0, 0.01, -0.01)
    check_layer(ACTIVATIONS[kind][0](), x)
