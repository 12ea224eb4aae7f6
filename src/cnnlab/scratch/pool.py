"""Max pooling over the spatial axes of NCHW arrays, and the window geometry average pooling
shares with it."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.im2col import conv_output_size, pair
from cnnlab.scratch.module import Module


def check_padding(padding: tuple[int, int], kernel_size: tuple[int, int]) -> None:
    """PyTorch's rule for pooling: padding at most half the kernel, so no window is all padding."""
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel_size, strict=True)):
        raise ValueError(
            f"pad should be at most half of kernel size, but got padding={padding} and "
            f"kernel_size={kernel_size}"
        )


def pad_spatial(x: np.ndarray, padding: tuple[int, int], value: float) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw) filled with `value` around x, in x's memory
    order (a conv's channel-major output stays channel-major); x itself when padding is 0."""
    (ph, pw), (N, C, H, W) = padding, x.shape
    if (ph, pw) == (0, 0):
        return x
    padded = np.full_like(x, value, shape=(N, C, H + 2 * ph, W + 2 * pw))
    padded[:, :, ph : ph + H, pw : pw + W] = x
    return padded


def window_offsets(
    shape: tuple[int, ...], kernel_size: tuple[int, int], stride: tuple[int, int]
) -> list[tuple[slice, slice]]:
    """Spatial slices picking offset (i, j) of every window of an (N, C, H, W) array, one per
    kernel offset in row-major (i, j) order; each gives an (N, C, OH, OW) strided view."""
    (kh, kw), (sh, sw) = kernel_size, stride
    OH, OW = conv_output_size(shape[2], kh, sh), conv_output_size(shape[3], kw, sw)
    if OH < 1 or OW < 1:
        raise ValueError(f"pooling window {kernel_size} is larger than the input")
    return [
        (slice(i, i + sh * (OH - 1) + 1, sh), slice(j, j + sw * (OW - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]


def first_maximum_shares(parts, out, remaining, share_of):
    """Route each window's gradient to its first maximum, offset by offset: `parts[k]` holds
    offset k of every window, `out` their maxima, `remaining` the windows' gradient (consumed).
    Offset k's share -- the gradient where parts[k] equals the maximum and no earlier offset
    did -- is written into `share_of(k)`; yields k after each. PyTorch's rule: ties (zeros after
    a ReLU, a constant background) go to the first offset in row-major order."""
    is_max = np.empty_like(out, dtype=bool)
    for k, part in enumerate(parts):
        share = share_of(k)
        np.equal(part, out, out=is_max)
        np.multiply(remaining, is_max, out=share)
        if k < len(parts) - 1:
            remaining -= share  # a later equal value gets nothing: the first maximum wins
        yield k


class WindowPool(Module):
    """What every windowed pooling layer is given: `kernel_size`, `stride` (default: the kernel
    size, windows that tile the input) and `padding` (at most half the kernel), as PyTorch's."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = self.kernel_size if stride is None else pair(stride)
        self.padding = pair(padding)
        check_padding(self.padding, self.kernel_size)


class MaxPool2d(WindowPool):
    """`torch.nn.MaxPool2d(kernel_size, stride=None, padding=0)`: stride defaults to the kernel.

    (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*padding - kh) // sh + 1: floor mode, like
    PyTorch's default. Padding is -inf, at most half the kernel (PyTorch's rule). No dilation or
    ceil mode.

    The (padded) input is cut into kh*kw strided views, one per kernel offset, each holding that
    offset of every window of the batch (a loop over offsets, never over pixels); each is copied
    once to compact memory and the max is taken across them. A window's gradient goes to its
    *first* maximum in row-major order, as in PyTorch, so ties (zeros after a ReLU) route
    identically. Why copies per offset and not a reshape and an argmax: on the channel-major
    activations `Conv2d` hands on, the copies make every later pass contiguous, and the same
    loop covers overlapping windows (figures in docs/performance.md).
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self._x: np.ndarray | None = None  # the padded input
        self._parts: list[np.ndarray] = []  # kh*kw arrays (N, C, OH, OW), one per offset
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = pad_spatial(x, self.padding, -np.inf)  # (N, C, H + 2*ph, W + 2*pw)
        offsets = window_offsets(x.shape, self.kernel_size, self.stride)
        # order="K" keeps x's memory order (channel-major after a conv) in the copies.
        parts = [x[:, :, rows, cols].copy(order="K") for rows, cols in offsets]
        out = np.maximum(parts[0], parts[-1])  # (N, C, OH, OW), a new array in parts' order
        for part in parts[1:-1]:
            np.maximum(out, part, out=out)
        self._x, self._parts, self._out = x, parts, out
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        x, out = self._x, self._out
        offsets = window_offsets(x.shape, self.kernel_size, self.stride)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        overlapping = sh < kh or sw < kw
        # When the windows tile the input exactly, the loop below writes every pixel of dx.
        tiled = (sh, sw) == (kh, kw) and x.shape[2] % kh == 0 and x.shape[3] % kw == 0
        dx = (np.empty_like if tiled else np.zeros_like)(x, dtype=dy.dtype)  # x's padded shape
        remaining = np.empty_like(out, dtype=dy.dtype)
        remaining[...] = dy  # the gradient of windows whose maximum is not yet found
        grad = np.empty_like(out, dtype=dy.dtype)  # one offset's share, (N, C, OH, OW)
        for k in first_maximum_shares(self._parts, out, remaining, lambda k: grad):
            rows, cols = offsets[k]
            if overlapping:
                dx[:, :, rows, cols] += grad
            else:  # the offsets tile the input
                dx[:, :, rows, cols] = grad
        if self.padding == (0, 0):
            return dx
        (ph, pw), (Hp, Wp) = self.padding, x.shape[2:]
        return dx[:, :, ph : Hp - ph, pw : Wp - pw]  # (N, C, H, W), the padding's share dropped

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
