"""Every scratch layer against its torch.nn twin in float64: output, dL/dx, every dL/dparam."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from cnnlab.scratch import (
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)
from cnnlab.scratch.im2col import col2im, input_grad_stride1
from torch_oracle import torch

TOL = {"rtol": 1e-10, "atol": 1e-12}


def assert_matches_torch(layer: Module, twin: torch.nn.Module, x: np.ndarray) -> None:
    """Same parameters in both; L = sum(y * dy) for a random dy; compare y, dx and all grads."""
    layer.to(np.float64)
    twin.double()
    layer.load_state_dict({name: t.numpy() for name, t in twin.state_dict().items()})
    x_t = torch.from_numpy(x).requires_grad_()

    y, y_t = layer(x), twin(x_t)
    np.testing.assert_allclose(y, y_t.detach().numpy(), **TOL)

    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = layer.backward(dy)
    y_t.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    params = dict(layer.named_parameters())
    assert list(params) == [name for name, _ in twin.named_parameters()]
    for name, p_t in twin.named_parameters():
        np.testing.assert_allclose(params[name].grad, p_t.grad.numpy(), **TOL, err_msg=name)


def images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("batch", [1, 7], ids=["n1", "n7"])
@pytest.mark.parametrize("padding", [0, 1], ids=["p0", "p1"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("kernel_size", [1, 3, 5], ids=["k1", "k3", "k5"])
@pytest.mark.parametrize(("in_channels", "out_channels"), [(1, 4), (3, 2)], ids=["c1-4", "c3-2"])
def test_conv2d(in_channels, out_channels, kernel_size, stride, padding, batch):
    layer = Conv2d(in_channels, out_channels, kernel_size, stride, padding)
    twin = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
    assert_matches_torch(layer, twin, images((batch, in_channels, 13, 17)))


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding", "bias"),
    [
        (3, 1, 0, False),
        ((3, 5), (2, 1), (1, 2), True),
        ((2, 4), 3, 0, True),
        ((3, 5), 1, (1, 2), True),
        ((4, 2), 1, (2, 0), False),
    ],
)
def test_conv2d_rectangular_and_without_bias(kernel_size, stride, padding, bias):
    layer = Conv2d(2, 3, kernel_size, stride, padding, bias=bias)
    twin = torch.nn.Conv2d(2, 3, kernel_size, stride, padding, bias=bias)
    assert_matches_torch(layer, twin, images((4, 2, 13, 17)))


@pytest.mark.parametrize(
    ("x_shape", "c_out", "kernel_size", "padding"),
    [
        ((7, 3, 13, 17), 4, (3, 3), (0, 0)),
        ((5, 2, 5, 5), 6, (3, 3), (1, 1)),
        ((3, 4, 9, 6), 2, (3, 5), (1, 2)),
        ((2, 1, 6, 8), 3, (1, 1), (0, 0)),
        ((4, 2, 7, 7), 3, (5, 2), (2, 0)),
    ],
)
def test_stride1_input_gradient_equals_col2im(x_shape, c_out, kernel_size, padding):
    """The fast route `Conv2d.backward` takes at stride 1, against the plain col2im adjoint."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = kernel_size, padding
    OH, OW = H + 2 * ph - kh + 1, W + 2 * pw - kw + 1
    rng = np.random.default_rng(0)
    weight2 = rng.standard_normal((c_out, C * kh * kw))
    dy = rng.standard_normal((c_out, N, OH, OW)).transpose(1, 0, 2, 3)  # as Conv2d hands it on
    dy2 = dy.transpose(1, 0, 2, 3).reshape(c_out, -1)
    expected = col2im(weight2.T @ dy2, x_shape, kernel_size, (1, 1), padding)
    got = input_grad_stride1(weight2, dy, x_shape, kernel_size, padding)
    assert got.shape == x_shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # Contiguous NCHW input too (the first conv gets the images that way).
    got = input_grad_stride1(weight2, np.ascontiguousarray(dy), x_shape, kernel_size, padding)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_conv2d_stack_on_channel_major_activations():
    """A conv fed by a conv reads channel-major memory; the maths must not notice."""
    layers = [Conv2d(2, 3, 3), ReLU(), MaxPool2d(2), Conv2d(3, 4, 3, padding=1), ReLU()]
    twins = [
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
    ]
    assert_matches_torch(Sequential(*layers), torch.nn.Sequential(*twins), images((5, 2, 13, 17)))


@pytest.mark.parametrize("batch", [1, 7], ids=["n1", "n7"])
@pytest.mark.parametrize(
    ("height", "width"), [(13, 17), (8, 8), (9, 9)], ids=["13x17", "8x8", "9x9"]
)
@pytest.mark.parametrize("stride", [None, 1, 2, 3], ids=["s=k", "s1", "s2", "s3"])
@pytest.mark.parametrize("kernel_size", [2, 3], ids=["k2", "k3"])
def test_maxpool2d(kernel_size, stride, height, width, batch):
    x = images((batch, 3, height, width))  # continuous values: no ties
    assert_matches_torch(MaxPool2d(kernel_size, stride), torch.nn.MaxPool2d(kernel_size, stride), x)


@pytest.mark.parametrize("memory", ["nchw", "channel_major"])
@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding"),
    [(2, None, 1), (3, 1, 1), (3, 2, 1), (3, None, 1), ((3, 5), (2, 1), (1, 2)), (5, 2, (2, 0))],
)
def test_maxpool2d_with_padding(kernel_size, stride, padding, memory):
    x = images((4, 3, 9, 11)) if memory == "nchw" else images((3, 4, 9, 11)).transpose(1, 0, 2, 3)
    layer = MaxPool2d(kernel_size, stride, padding)
    assert_matches_torch(layer, torch.nn.MaxPool2d(kernel_size, stride, padding), x)


def test_maxpool2d_padding_on_all_negative_inputs_is_never_the_maximum():
    x = -1.0 - np.abs(images((2, 3, 6, 7)))  # zero padding would win every border window
    assert_matches_torch(MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), x)


@pytest.mark.parametrize(("kernel_size", "padding"), [(3, 2), (2, 2), ((3, 4), (1, 3)), (3, -1)])
def test_maxpool2d_rejects_padding_over_half_the_kernel_like_torch(kernel_size, padding):
    with pytest.raises(ValueError, match="pad should be at most half of kernel size"):
        MaxPool2d(kernel_size, padding=padding)
    if padding != -1:
        with pytest.raises(RuntimeError, match="pad should be at most half"):
            torch.nn.MaxPool2d(kernel_size, padding=padding)(torch.zeros(1, 1, 8, 8))


@pytest.mark.parametrize("stride", [None, 1])
def test_maxpool2d_ties_route_to_the_first_maximum_like_torch(stride):
    x = np.random.default_rng(0).integers(0, 2, size=(4, 3, 9, 11)).astype(np.float64)
    assert_matches_torch(MaxPool2d(3, stride), torch.nn.MaxPool2d(3, stride), x)


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("in_features", "out_features"), [(5, 3), (12, 7)])
def test_linear(in_features, out_features, bias, batch):
    layer = Linear(in_features, out_features, bias)
    twin = torch.nn.Linear(in_features, out_features, bias)
    assert_matches_torch(layer, twin, images((batch, in_features)))


PARAMETER_FREE: dict[str, tuple[Callable[[], Module], Callable[[], torch.nn.Module]]] = {
    "relu": (ReLU, lambda: torch.nn.ReLU()),
    "flatten": (Flatten, lambda: torch.nn.Flatten()),
    "flatten_2_3": (lambda: Flatten(2, 3), lambda: torch.nn.Flatten(2, 3)),
    "gap": (
        GlobalAvgPool2d,
        lambda: torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
    ),
}


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("kind", sorted(PARAMETER_FREE))
def test_parameter_free_layers(kind, batch):
    make_layer, make_twin = PARAMETER_FREE[kind]
    assert_matches_torch(make_layer(), make_twin(), images((batch, 3, 13, 17)))


def test_relu_on_a_matrix():
    assert_matches_torch(ReLU(), torch.nn.ReLU(), images((7, 10)))


def test_inplace_relu_overwrites_its_input_and_gives_the_same_gradient():
    x = images((4, 3, 6, 5))
    dy = images((4, 3, 6, 5), seed=1)
    plain, inplace = ReLU(), ReLU(inplace=True)
    expected = plain.forward(x)
    given = x.copy()
    out = inplace.forward(given)
    assert out is given  # no new array
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(inplace.backward(dy), plain.backward(dy))
    assert repr(inplace) == "ReLU(inplace=True)"


def test_the_speed_step_rectifies_in_place_only_after_conv_and_linear():
    """In the order the layers run: a ReLU moved after its max-pool (`pool_before_relu`) gets
    the pool's output, which the pool keeps, so it must not overwrite it. (The plain network
    rectifies nothing in place: tests/test_scratch_plain.py.)"""
    from cnnlab.models import build_model

    for name in ("cnn2", "cnn3", "mlp3", "cnn3pad"):
        model = build_model(name, engine="scratch").speed_up()
        assert any(isinstance(m, ReLU) and m.inplace for m in model)
        for (_, before), (_, layer) in itertools.pairwise(model.order):
            if isinstance(layer, ReLU):
                assert layer.inplace == isinstance(before, Conv2d | Linear)
