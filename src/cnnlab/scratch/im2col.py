"""im2col and col2im: a convolution as one matrix product, and its adjoint.

Layout of the columns: one row per (c, i, j) -- input channel, kernel row, kernel column, the
order of `weight.reshape(C_out, -1)` -- and one column per (n, oh, ow):

    cols: (C_in*kh*kw, N*OH*OW)
    out = weight.reshape(C_out, -1) @ cols      # (C_out, N*OH*OW), one GEMM

The product comes out channel-major, (C_out, N, OH, OW) in memory, and is handed on as the NCHW
*view* `out.transpose(1, 0, 2, 3)`: no copy. The next im2col reads its input as (C, N, H, W),
again a view, so a stack of conv / ReLU / max-pool layers never transposes an activation; only
Flatten copies. Why not one GEMM per example on (N, C*kh*kw, OH*OW) columns, which would give
NCHW memory directly: one large product is much faster than N small ones (docs/performance.md,
"Why one matrix product for the whole batch").

Every array stays NCHW to the reader; only the strides say channel-major.

The input gradient of a stride-1 convolution has a faster route than `col2im`,
`input_grad_stride1`, tested against it: see there.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """PyTorch's `_pair`: 3 -> (3, 3), (3, 5) -> (3, 5)."""
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Floor, like PyTorch: the last window that does not fit is dropped."""
    return (size + 2 * padding - kernel) // stride + 1


def channel_major_padded(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) -> (C, N, H + 2*ph, W + 2*pw): the transposed view (free when x is
    channel-major), or, with padding, a zero-bordered copy in that layout."""
    xc = x.transpose(1, 0, 2, 3)
    (ph, pw), (C, N, H, W) = padding, xc.shape
    if not (ph or pw):
        return xc
    padded = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    padded[:, :, ph : ph + H, pw : pw + W] = xc
    return padded


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
    xc = channel_major_padded(x, padding)
    # (C, kh, kw, N, OH, OW): element (c, i, j, n, oh, ow) is xc[c, n, oh*sh + i, ow*sw + j],
    # a strided view (as_strided: numpy's sliding_window_view makes the same view, with 4x the
    # Python overhead); the reshape below is the one copy.
    s_c, s_n, s_h, s_w = xc.strides
    windows = as_strided(
        xc, (C, kh, kw, N, OH, OW), (s_c, s_h, s_w, s_n, s_h * sh, s_w * sw), writeable=False
    )
    return windows.reshape(C * kh * kw, N * OH * OW)


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


def input_grad_stride1(
    weight2: np.ndarray,
    dy: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """dL/dx of a stride-1 convolution: the same sum as `col2im(weight2.T @ dy2, ...)`.

    weight2: (C_out, C*kh*kw), dy: (N, C_out, OH, OW) -> dx (N, C, H, W). Why another route:
    `col2im`'s strided adds run inner loops only OW long; here the kh*kw terms are whole
    contiguous rows, added by one reduction (docs/performance.md, "Why the stride-1 input
    gradient runs on the whole grid").
    """
    N, _, H, W = x_shape
    (kh, kw), (ph, pw) = kernel_size, padding
    Hp, Wp = H + 2 * ph, W + 2 * pw
    C_out, OH, OW = dy.shape[1], Hp - kh + 1, Wp - kw + 1
    # dy on the top-left OH x OW of a zero grid as large as the padded input: one product then
    # gives a column per grid position, and kernel offset (i, j) of the column at flat position
    # p lands on input position p + i*Wp + j, a constant shift of whole rows. A shift that wraps
    # past a grid row or an image starts beyond OH x OW, where dy is zero: it adds nothing.
    grid = np.zeros((C_out, N, Hp, Wp), dtype=dy.dtype)
    grid[:, :, :OH, :OW] = dy.transpose(1, 0, 2, 3)
    return input_grad_on_grid(weight2, grid, x_shape, kernel_size, padding)


def input_grad_on_grid(
    weight2: np.ndarray,
    grid: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """`input_grad_stride1` from dy already on its grid: (C_out, N, Hp, Wp), dy in the top-left
    OH x OW of each image and zero elsewhere (`ConvPool` puts it there itself)."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = kernel_size, padding
    C_out, _, Hp, Wp = grid.shape
    L = N * Hp * Wp
    dcols = weight2.T @ grid.reshape(C_out, L)  # (C*kh*kw, L): rows (c, i, j), C-contiguous
    # dx at p = the sum over (i, j) of dcols[(c, i, j), p - i*Wp - j]. Read in place, that is
    # element c*kh*kw*L + i*(kw*L - Wp) + j*(L - 1) + p of dcols: linear in c, i, j and p, so a
    # strided view (C, kh, kw, L) holds every term and one reduction adds them, in the same
    # order as kh*kw shifted adds would (the same float32 sums) but in one call. Where
    # p - i*Wp - j < 0 the view reads the end of the row before, columns of the last image's
    # bottom rows: beyond OH x OW, so zero, like the shifted adds' missing terms.
    step = dcols.itemsize
    terms = as_strided(
        dcols, (C, kh, kw, L), (kh * kw * L * step, (kw * L - Wp) * step, (L - 1) * step, step)
    )
    dxp = np.add.reduce(terms, axis=(1, 2)).reshape(C, N, Hp, Wp)
    return dxp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)  # (N, C, H, W) view
