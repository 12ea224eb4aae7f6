"""AvgPool2d and AdaptiveAvgPool2d against torch in float64, and by central differences."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.scratch import AdaptiveAvgPool2d, AvgPool2d, Conv2d, Sequential
from test_scratch_gradcheck import check_layer
from test_scratch_layers import assert_matches_torch, images
from torch_oracle import torch


@pytest.mark.parametrize("batch", [1, 5], ids=["n1", "n5"])
@pytest.mark.parametrize(
    ("height", "width"), [(13, 17), (8, 8), (9, 9)], ids=["13x17", "8x8", "9x9"]
)
@pytest.mark.parametrize("padding", [0, 1], ids=["p0", "p1"])
@pytest.mark.parametrize("stride", [None, 1, 2, 3], ids=["s=k", "s1", "s2", "s3"])
@pytest.mark.parametrize("kernel_size", [2, 3], ids=["k2", "k3"])
def test_avgpool2d(kernel_size, stride, padding, height, width, batch):
    layer = AvgPool2d(kernel_size, stride, padding)
    twin = torch.nn.AvgPool2d(kernel_size, stride, padding)
    assert_matches_torch(layer, twin, images((batch, 3, height, width)))


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding"),
    [((3, 5), (2, 1), (1, 2)), ((2, 4), 3, 0), (5, 2, (2, 0)), (1, 1, 0)],
)
def test_avgpool2d_rectangular_windows(kernel_size, stride, padding):
    layer = AvgPool2d(kernel_size, stride, padding)
    twin = torch.nn.AvgPool2d(kernel_size, stride, padding)
    assert_matches_torch(layer, twin, images((4, 2, 9, 11)))


def test_avgpool2d_on_channel_major_activations_keeps_their_memory_order():
    x = images((3, 4, 9, 11)).transpose(1, 0, 2, 3)  # (N, C, H, W) view of (C, N, H, W) memory
    assert_matches_torch(AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1), x)
    y = AvgPool2d(3, 2, 1)(x)
    assert y.strides[1] > y.strides[0]  # still channel-major


def test_avgpool2d_after_a_conv_matches_torch():
    net = Sequential(Conv2d(2, 3, 3), AvgPool2d(2, padding=1))
    twin = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.AvgPool2d(2, padding=1))
    assert_matches_torch(net, twin, images((5, 2, 10, 9)))


@pytest.mark.parametrize(("kernel_size", "padding"), [(3, 2), (2, 2), ((3, 4), (1, 3)), (3, -1)])
def test_avgpool2d_rejects_padding_over_half_the_kernel_like_torch(kernel_size, padding):
    with pytest.raises(ValueError, match="pad should be at most half of kernel size"):
        AvgPool2d(kernel_size, padding=padding)
    if padding != -1:
        with pytest.raises(RuntimeError, match="pad should be at most half"):
            torch.nn.AvgPool2d(kernel_size, padding=padding)(torch.zeros(1, 1, 8, 8))


def test_avgpool2d_rejects_a_window_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the input"):
        AvgPool2d(5)(images((1, 1, 4, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avgpool2d_keeps_dtype(dtype):
    layer = AvgPool2d(3, 2, 1)
    y = layer(images((2, 3, 7, 7)).astype(dtype))
    assert y.dtype == layer.backward(np.ones_like(y)).dtype == dtype


@pytest.mark.parametrize("output_size", [1, (1, 1)])
@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (6, 2, 1, 1), (4, 5, 8, 8)], ids=str)
def test_adaptive_avgpool2d_to_one_matches_torch(shape, output_size):
    layer, twin = AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size)
    x = images(shape)
    assert layer(x).shape == (shape[0], shape[1], 1, 1)
    assert_matches_torch(layer, twin, x)


@pytest.mark.parametrize("output_size", [2, (1, 2), (2, 1), (7, 7), None, (None, 1)])
def test_adaptive_avgpool2d_refuses_other_output_sizes(output_size):
    with pytest.raises(ValueError, match=r"supports only output_size 1 or \(1, 1\)"):
        AdaptiveAvgPool2d(output_size)


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding"),
    [(2, None, 0), (3, 1, 0), (3, 2, 1), (2, 1, 1), ((3, 2), (1, 2), (1, 0))],
)
def test_avgpool2d_gradient_by_central_differences(kernel_size, stride, padding):
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7))
    check_layer(AvgPool2d(kernel_size, stride, padding), x)


def test_adaptive_avgpool2d_gradient_by_central_differences():
    check_layer(AdaptiveAvgPool2d(1), np.random.default_rng(0).standard_normal((2, 3, 4, 5)))
