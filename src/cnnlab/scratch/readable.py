"""The NumPy engine's two hard layers, written to be read first: no speed tricks, no buffers.

Convolution is one matrix product on im2col rows (`im2col_rows`: one row per output pixel, the
textbook layout; the engine's `im2col.im2col` lays the batch out channel-major instead), and its
backward pass is two more products and `col2im_rows`; max-pooling is a reshape into windows and
an argmax. `conv.py` and `pool.py` compute the same numbers faster; the tests hold them to this
file, and this file to PyTorch, in float64.
"""

from __future__ import annotations

import numpy as np


def im2col_rows(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """(N, C, H, W) -> cols (N*OH*OW, C*kh*kw): one row per output pixel, holding its window."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, C, Hp, Wp = xp.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    cols = np.empty((N, C, kh, kw, OH, OW), dtype=x.dtype)
    for i in range(kh):  # a loop over kernel offsets, never over pixels
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(N * OH * OW, C * kh * kw)


def col2im_rows(dcols, x_shape, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of im2col_rows: (N*OH*OW, C*kh*kw) -> (N, C, H, W), overlaps summed."""
    N, C, H, W = x_shape
    OH, OW = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    d = dcols.reshape(N, OH, OW, C, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, OH, OW)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += d[:, :, i, j]
    return dxp[:, :, padding : padding + H, padding : padding + W]


def conv2d_forward(x, weight, bias, stride: int = 1, padding: int = 0) -> np.ndarray:
    """x (N, C, H, W), weight (C_out, C, kh, kw), bias (C_out,) -> (N, C_out, OH, OW)."""
    C_out, _, kh, kw = weight.shape
    N, H, W = x.shape[0], x.shape[2], x.shape[3]
    OH, OW = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    cols = im2col_rows(x, kh, kw, stride, padding)  # (N*OH*OW, C*kh*kw)
    out = cols @ weight.reshape(C_out, -1).T + bias  # (N*OH*OW, C_out)
    return out.reshape(N, OH, OW, C_out).transpose(0, 3, 1, 2)


def conv2d_backward(dy, x, weight, stride: int = 1, padding: int = 0):
    """dy (N, C_out, OH, OW) -> (dx like x, dweight like weight, dbias (C_out,))."""
    C_out, _, kh, kw = weight.shape
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, C_out)  # (N*OH*OW, C_out), rows as in cols
    cols = im2col_rows(x, kh, kw, stride, padding)  # (N*OH*OW, C*kh*kw)
    dweight = (dy2.T @ cols).reshape(weight.shape)
    dcols = dy2 @ weight.reshape(C_out, -1)  # (N*OH*OW, C*kh*kw): each window's gradient
    return col2im_rows(dcols, x.shape, kh, kw, stride, padding), dweight, dy2.sum(axis=0)


def _windows(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H/k, W/k, k*k): the k x k windows that tile the input."""
    N, C, H, W = x.shape
    tiles = x.reshape(N, C, H // k, k, W // k, k).transpose(0, 1, 2, 4, 3, 5)
    return tiles.reshape(N, C, H // k, W // k, k * k)


def maxpool2d_forward(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H/k, W/k), kernel and stride k; H and W multiples of k."""
    return _windows(x, k).max(axis=-1)


def maxpool2d_backward(dy: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """dy (N, C, H/k, W/k) -> dx (N, C, H, W): each window's gradient to its first maximum."""
    N, C, H, W = x.shape
    first = _windows(x, k).argmax(axis=-1)  # (N, C, OH, OW); ties: the first, as in PyTorch
    mask = np.arange(k * k) == first[..., None]  # (N, C, OH, OW, k*k), one True per window
    dwindows = (mask * dy[..., None]).reshape(N, C, H // k, W // k, k, k)
    return dwindows.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, W)
