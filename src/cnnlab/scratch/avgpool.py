"""Average pooling over the spatial axes of NCHW arrays: windows (`AvgPool2d`), and the mean of
each whole feature map (`AdaptiveAvgPool2d(1)`, `GlobalAvgPool2d`)."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.module import Module
from cnnlab.scratch.pool import WindowPool, pad_spatial, window_offsets


class AvgPool2d(WindowPool):
    """`torch.nn.AvgPool2d(kernel_size, stride=None, padding=0)`: stride defaults to the kernel.

    (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*padding - kh) // sh + 1 (floor mode). Padding is
    zeros and counts in every window's divisor kh*kw (PyTorch's default `count_include_pad=True`),
    at most half the kernel. No ceil mode or `divisor_override`.

    The sum of the kh*kw strided views, one per kernel offset (a loop over offsets, never over
    pixels); backward adds dy / (kh*kw) back through the same views.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self._padded_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = pad_spatial(x, self.padding, 0.0)  # (N, C, H + 2*ph, W + 2*pw), x's memory order
        offsets = window_offsets(x.shape, self.kernel_size, self.stride)
        (rows, cols), *rest = offsets
        out = x[:, :, rows, cols].copy(order="K")  # (N, C, OH, OW)
        for rows, cols in rest:
            out += x[:, :, rows, cols]
        out /= self.kernel_size[0] * self.kernel_size[1]
        self._padded_shape = x.shape
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        share = dy / (self.kernel_size[0] * self.kernel_size[1])  # (N, C, OH, OW)
        Hp, Wp = self._padded_shape[2:]
        dx = np.zeros_like(dy, shape=self._padded_shape)  # dy's memory order
        for rows, cols in window_offsets(self._padded_shape, self.kernel_size, self.stride):
            dx[:, :, rows, cols] += share
        ph, pw = self.padding
        return dx[:, :, ph : Hp - ph, pw : Wp - pw]  # (N, C, H, W), the padding's share dropped

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """`torch.nn.AdaptiveAvgPool2d(output_size)` for output size 1 only: (N, C, H, W) ->
    (N, C, 1, 1), the mean over each feature map (global average pooling before a classifier).
    Other output sizes raise a ValueError."""

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        if output_size not in (1, (1, 1)):
            raise ValueError(
                f"AdaptiveAvgPool2d supports only output_size 1 or (1, 1) (global average "
                f"pooling), got {output_size!r}"
            )
        self.output_size = output_size
        self._x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x_shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return spread_mean_grad(dy.reshape(dy.shape[:2]), self._x_shape)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C): the mean over each feature map, like
    `torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())`."""

    def __init__(self) -> None:
        super().__init__()
        self._x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return spread_mean_grad(dy, self._x_shape)


def spread_mean_grad(dy: np.ndarray, x_shape: tuple[int, int, int, int]) -> np.ndarray:
    """The gradient of a mean over H and W: dy (N, C) -> (N, C, H, W), each position an equal
    share."""
    H, W = x_shape[2:]
    dx = np.empty(x_shape, dtype=dy.dtype)
    dx[...] = (dy / (H * W))[:, :, None, None]
    return dx
