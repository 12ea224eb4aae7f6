"""Max pooling and global average pooling over the spatial axes of NCHW arrays."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.im2col import conv_output_size, pair
from cnnlab.scratch.module import Module


class MaxPool2d(Module):
    """`torch.nn.MaxPool2d(kernel_size, stride=None)`: stride defaults to the kernel size.

    (N, C, H, W) -> (N, C, OH, OW), OH = (H - kh) // sh + 1: rows and columns that do not fill a
    window are dropped, like PyTorch's floor mode. No padding, dilation or ceil mode.

    The input is cut into kh*kw strided views, one per kernel offset (i, j), each holding that
    offset of every window of the whole batch (a loop over offsets, never over pixels); each is
    copied once to compact memory and the max is taken across them. A window's gradient goes to
    its *first* maximum in row-major order, as in PyTorch, so ties (zeros after a ReLU) route
    identically. Why not a reshape to (N, C, OH, kh, OW, kw) and an argmax: on the channel-major
    activations that `Conv2d` hands on, that needs a transposing copy and a reduction over two
    strided axes, and tracking an argmax with masked writes was slower still; the copies per
    offset make every later elementwise pass contiguous (measured ~5x faster over forward and
    backward), and the same loop covers stride != kernel (overlapping windows).
    """

    def __init__(
        self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = self.kernel_size if stride is None else pair(stride)
        self._x: np.ndarray | None = None
        self._parts: list[np.ndarray] = []  # kh*kw arrays (N, C, OH, OW), one per offset
        self._out: np.ndarray | None = None

    def _offsets(self, x: np.ndarray) -> list[tuple[slice, slice]]:
        """Spatial slices picking offset (i, j) of every window, in row-major (i, j) order."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        OH, OW = conv_output_size(x.shape[2], kh, sh), conv_output_size(x.shape[3], kw, sw)
        if OH < 1 or OW < 1:
            raise ValueError(f"pooling window {self.kernel_size} is larger than the input")
        return [
            (slice(i, i + sh * (OH - 1) + 1, sh), slice(j, j + sw * (OW - 1) + 1, sw))
            for i in range(kh)
            for j in range(kw)
        ]

    def forward(self, x: np.ndarray) -> np.ndarray:
        # order="K" keeps x's memory order (channel-major after a conv) in the copies.
        parts = [x[:, :, rows, cols].copy(order="K") for rows, cols in self._offsets(x)]
        out = parts[0].copy(order="K")  # (N, C, OH, OW)
        for part in parts[1:]:
            np.maximum(out, part, out=out)
        self._x, self._parts, self._out = x, parts, out
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        x, out, offsets = self._x, self._out, self._offsets(self._x)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        overlapping = sh < kh or sw < kw
        # When the windows tile the input exactly, the loop below writes every pixel of dx.
        tiled = (sh, sw) == (kh, kw) and x.shape[2] % kh == 0 and x.shape[3] % kw == 0
        dx = (np.empty_like if tiled else np.zeros_like)(x, dtype=dy.dtype)  # (N, C, H, W)
        remaining = np.empty_like(out, dtype=dy.dtype)
        remaining[...] = dy  # the gradient of windows whose maximum is not yet found
        is_max = np.empty_like(out, dtype=bool)
        grad = np.empty_like(out, dtype=dy.dtype)
        for k, ((rows, cols), part) in enumerate(zip(offsets, self._parts, strict=True)):
            np.equal(part, out, out=is_max)
            np.multiply(remaining, is_max, out=grad)  # (N, C, OH, OW)
            if k < len(offsets) - 1:
                remaining -= grad  # a later equal value gets nothing: the first maximum wins
            if overlapping:
                dx[:, :, rows, cols] += grad
            else:  # the offsets tile the input
                dx[:, :, rows, cols] = grad
        return dx

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


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
        H, W = self._x_shape[2:]
        dx = np.empty(self._x_shape, dtype=dy.dtype)
        dx[...] = (dy / (H * W))[:, :, None, None]  # each position gets an equal share
        return dx
