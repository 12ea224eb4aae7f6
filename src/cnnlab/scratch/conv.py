"""2-D convolution (cross-correlation, as in PyTorch) by im2col and one matrix product."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cnnlab.scratch import init
from cnnlab.scratch.im2col import (
    col2im,
    conv_output_size,
    im2col,
    input_grad_stride1,
    pair,
)
from cnnlab.scratch.module import Module
from cnnlab.scratch.parameter import Parameter


class Conv2d(Module):
    """`torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)`.

    weight: (C_out, C_in, kh, kw), bias: (C_out,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = C_in*kh*kw (PyTorch's default, see `init`). Input (N, C_in, H, W) -> output
    (N, C_out, OH, OW), OH = (H + 2*padding - kh) // stride + 1. No dilation or groups.
    The output is an NCHW view of channel-major memory (see `im2col`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = pair(kernel_size), pair(stride), pair(padding)
        rng = init.default_generator() if rng is None else rng
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(init.uniform_fan_in(shape, fan_in, rng, dtype))
        self.bias = None
        if bias:
            self.bias = Parameter(init.uniform_fan_in((out_channels,), fan_in, rng, dtype))
        self._cols: np.ndarray | None = None
        self._x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, C, H, W = x.shape
        if self.in_channels != C:
            raise ValueError(f"Conv2d expects {self.in_channels} input channels, got {C}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
        cols = im2col(x, self.kernel_size, self.stride, self.padding)  # (C_in*kh*kw, N*OH*OW)
        out = self.weight.data.reshape(self.out_channels, -1) @ cols  # (C_out, N*OH*OW)
        if self.bias is not None:
            out += self.bias.data[:, None]
        self._cols, self._x_shape = cols, x.shape
        return out.reshape(self.out_channels, N, OH, OW).transpose(1, 0, 2, 3)  # (N, C_out, OH, OW)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        # dy: (N, C_out, OH, OW) -> (C_out, N*OH*OW); free when dy is channel-major.
        dy2 = dy.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)
        weight2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C_in*kh*kw)
        self.weight.grad += (dy2 @ self._cols.T).reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += dy2.sum(axis=1)
        if not self.needs_input_grad:
            return None
        if self.stride == (1, 1):  # the faster route, tested against the col2im below
            return input_grad_stride1(weight2, dy, self._x_shape, self.kernel_size, self.padding)
        dcols = weight2.T @ dy2  # (C_in*kh*kw, N*OH*OW)
        return col2im(dcols, self._x_shape, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
