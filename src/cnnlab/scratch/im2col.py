"""im2col and col2im: a convolution as one matrix product, and its adjoint.

Layout of the columns: one row per (c, i, j) -- input channel, kernel row, kernel column, the
order of `weight.reshape(C_out, -1)` -- and one column per (n, oh, ow):

    cols: (C_in*kh*kw, N*OH*OW)
    out = weight.reshape(C_out, -1) @ cols      # (C_out, N*OH*OW), one GEMM

The product comes out channel-major, (C_out, N, OH, OW) in memory, and is handed on as the NCHW
*view* `out.transpose(1, 0, 2, 3)`: no copy. The next im2col reads its input as (C, N, H, W),
again a view, so a stack of conv / ReLU / max-pool layers never transposes an activation; only
Flatten copies. Why not one GEMM per example on (N, C*kh*kw, OH*OW) columns, which would give
NCHW memory directly: 64 small GEMMs measured several times slower than one large one.

Every array stays NCHW to the reader; only the strides say channel-major.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """PyTorch's `_pair`: 3 -> (3, 3), (3, 5) -> (3, 5)."""
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Floor, like PyTorch: the last window that does not fit is dropped."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """(N, C, H, W) -> cols (C*kh*kw, N*OH*OW), see the module docstring."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if OH < 1 or OW < 1:
        raise ValueError(f"kernel {kernel_size} does not fit the padded input {H}x{W}")
    xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W): a view, free when x is channel-major
    if ph or pw:
        padded = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
        padded[:, :, ph : ph + H, pw : pw + W] = xc
        xc = padded
    windows = sliding_window_view(xc, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    # windows: (C, N, OH, OW, kh, kw), a strided view; the reshape below is the one copy.
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(C * kh * kw, N * OH * OW)


def col2im(
    dcols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """The adjoint of im2col: (C*kh*kw, N*OH*OW) -> dx (N, C, H, W), overlaps summed.

    One strided add per kernel offset (kh*kw of them), each over the whole batch: no loop over
    N, H or W and no `np.add.at`.
    """
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    d = dcols.reshape(C, kh, kw, N, OH, OW)
    dxp = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=dcols.dtype)  # channel-major, padded
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + sh * (OH - 1) + 1 : sh, j : j + sw * (OW - 1) + 1 : sw] += d[:, i, j]
    return dxp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)  # (N, C, H, W) view
