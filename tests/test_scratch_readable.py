"""The reading path `scratch/readable.py` against PyTorch, and the fast paths against it.

All in float64: the readable layers equal torch's conv2d and max_pool2d (outputs and
gradients), and `Conv2d` (im2col with channel-major columns, `input_grad_stride1`) and
`MaxPool2d` (buffered backward) equal the readable layers.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.scratch import Conv2d, MaxPool2d, readable
from cnnlab.scratch.im2col import input_grad_stride1
from torch_oracle import F, torch

TOL = {"rtol": 1e-10, "atol": 1e-12}

CONV_CASES = [
    pytest.param((2, 1, 28, 28), (4, 1, 5, 5), 1, 0, id="cnn-first-layer"),
    pytest.param((3, 3, 13, 11), (2, 3, 3, 3), 1, 1, id="k3-p1"),
    pytest.param((2, 2, 9, 12), (3, 2, 2, 4), 1, 2, id="rect-k2x4-p2"),
    pytest.param((1, 4, 6, 6), (5, 4, 1, 1), 1, 0, id="k1"),
    pytest.param((2, 3, 12, 13), (2, 3, 3, 5), 2, 1, id="s2-rect"),
    pytest.param((3, 2, 7, 8), (4, 2, 3, 3), 3, 0, id="s3"),
]
POOL_CASES = [
    pytest.param((2, 3, 8, 6), 2, id="k2"),
    pytest.param((1, 4, 9, 12), 3, id="k3"),
    pytest.param((3, 2, 4, 4), 4, id="one-window"),
]


def random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def pool_input(shape: tuple[int, ...]) -> np.ndarray:
    """ReLU'd noise: windows of zeros have ties, which must go to the first maximum."""
    return np.maximum(random(shape, 3), 0.0)


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES)
def test_readable_convolution_equals_torch(x_shape, w_shape, stride, padding):
    x, weight, bias = random(x_shape, 0), random(w_shape, 1), random(w_shape[0], 2)
    y = readable.conv2d_forward(x, weight, bias, stride, padding)
    x_t, w_t, b_t = (torch.from_numpy(a).requires_grad_() for a in (x, weight, bias))
    y_t = F.conv2d(x_t, w_t, b_t, stride=stride, padding=padding)
    np.testing.assert_allclose(y, y_t.detach().numpy(), **TOL)
    dy = random(y.shape, 4)
    y_t.backward(torch.from_numpy(dy))
    grads = readable.conv2d_backward(dy, x, weight, stride, padding)
    for mine, theirs in zip(grads, (x_t, w_t, b_t), strict=True):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), **TOL)


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES)
def test_conv2d_layer_equals_the_readable_layers(x_shape, w_shape, stride, padding):
    x, weight, bias = random(x_shape, 0), random(w_shape, 1), random(w_shape[0], 2)
    C_out, C, kh, kw = w_shape
    layer = Conv2d(C, C_out, (kh, kw), stride, padding, dtype=np.float64)
    layer.weight.data[...], layer.bias.data[...] = weight, bias
    y = layer(x)
    np.testing.assert_allclose(y, readable.conv2d_forward(x, weight, bias, stride, padding), **TOL)
    dy = random(y.shape, 4)
    dx = layer.backward(dy)
    dx_read, dweight_read, dbias_read = readable.conv2d_backward(dy, x, weight, stride, padding)
    np.testing.assert_allclose(dx, dx_read, **TOL)
    np.testing.assert_allclose(layer.weight.grad, dweight_read, **TOL)
    np.testing.assert_allclose(layer.bias.grad, dbias_read, **TOL)


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES[:4])
def test_stride1_input_gradient_equals_the_readable_layers(x_shape, w_shape, stride, padding):
    x, weight = random(x_shape, 0), random(w_shape, 1)
    y = readable.conv2d_forward(x, weight, np.zeros(w_shape[0]), stride, padding)
    dy = random(y.shape, 4)
    weight2 = weight.reshape(w_shape[0], -1)  # (C_out, C*kh*kw)
    dx = input_grad_stride1(weight2, dy, x.shape, w_shape[2:], (padding, padding))
    np.testing.assert_allclose(
        dx, readable.conv2d_backward(dy, x, weight, stride, padding)[0], **TOL
    )


@pytest.mark.parametrize(("shape", "k"), POOL_CASES)
def test_readable_max_pool_equals_torch(shape, k):
    x = pool_input(shape)
    x_t = torch.from_numpy(x).requires_grad_()
    y_t = F.max_pool2d(x_t, k)
    y = readable.maxpool2d_forward(x, k)
    np.testing.assert_allclose(y, y_t.detach().numpy(), **TOL)
    dy = random(y.shape, 4)
    y_t.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(readable.maxpool2d_backward(dy, x, k), x_t.grad.numpy(), **TOL)


@pytest.mark.parametrize(("shape", "k"), POOL_CASES)
def test_buffered_max_pool_backward_equals_the_readable_layers(shape, k):
    x = pool_input(shape)
    layer = MaxPool2d(k)
    y = layer(x)
    np.testing.assert_allclose(y, readable.maxpool2d_forward(x, k), **TOL)
    for seed in (4, 5):  # twice: the second call reuses nothing stale
        dy = random(y.shape, seed)
        np.testing.assert_allclose(layer.backward(dy), readable.maxpool2d_backward(dy, x, k), **TOL)
