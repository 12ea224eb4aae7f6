"""Convolution and max-pooling in one step: an engine-level speed-up, not a new layer.

`Conv2d` then `MaxPool2d` (after `pool_before_relu` has moved the ReLU behind the pool) cost
more in memory passes than in arithmetic: the pool cuts the conv's output into kh*kw strided
views, copies each (reading every other element), takes their maximum, and in the backward
pass writes the gradient back through the same strided views. `ConvPool` orders the conv's
im2col columns by pool offset instead -- all the (0, 0) positions of every window first, then
the (0, 1) positions, ... -- so the one matrix product hands out each offset's values as one
contiguous block, (C_out, k*k, N*POH*POW): the pool's maximum is k*k - 1 contiguous passes, its
backward writes contiguous blocks, and the conv's weight gradient takes those blocks as they
are, because a weight gradient does not care in which order its columns come.

The arithmetic is the layers' own: the same products, the same first-maximum rule as
`MaxPool2d` (PyTorch's), the same bias. The product's columns are in another order, which may
change the rounding of a float32 sum in its last bit; in float64 it is tested against running
the two layers one after the other (`tests/test_scratch_fused.py`). Conv positions that no
pooling window covers (the last row and column when the size is odd: floor mode) are neither
computed nor kept; their gradient is zero, as it is in the layers.

Applies to a stride-1 `Conv2d` followed by a `MaxPool2d` whose windows tile (stride = kernel,
no padding); `fuse_conv_pool` finds them. The layers keep their parameters (the conv's `weight`
and `bias` are the ones updated), their names and their meaning; the lab, which runs layers one
by one to show each one's output, never sees this.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnlab.scratch.conv import Conv2d
from cnnlab.scratch.im2col import channel_major_padded, conv_output_size, input_grad_on_grid
from cnnlab.scratch.module import Module
from cnnlab.scratch.pool import MaxPool2d, first_maximum_shares


def can_fuse(conv: Module, pool: Module) -> bool:
    """Whether `conv` then `pool` may run as one `ConvPool`."""
    return (
        type(conv) is Conv2d
        and type(pool) is MaxPool2d
        and conv.stride == (1, 1)
        and pool.stride == pool.kernel_size
        and pool.padding == (0, 0)
    )


class ConvPool(Module):
    """`pool(conv(x))` for a pair `can_fuse` accepts, see the module docstring. It owns no
    parameters: `conv`'s are the ones it uses and whose gradients it fills."""

    def __init__(self, conv: Conv2d, pool: MaxPool2d) -> None:
        super().__init__()
        if not can_fuse(conv, pool):
            raise ValueError(f"cannot fuse {conv!r} with {pool!r}")
        # Kept out of the attribute walk (a plain tuple): the parameters stay the conv's own.
        self.layers = (conv, pool)
        self._cols: np.ndarray | None = None
        self._y: np.ndarray | None = None  # (C_out, k*k, N*POH*POW), by pool offset
        self._out: np.ndarray | None = None  # (C_out, N*POH*POW)
        self._shapes: tuple | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        conv, pool = self.layers
        N, C, H, W = x.shape
        if conv.in_channels != C:
            raise ValueError(f"Conv2d expects {conv.in_channels} input channels, got {C}")
        (kh, kw), (ph, pw), (qh, qw) = conv.kernel_size, conv.padding, pool.kernel_size
        OH, OW = conv_output_size(H, kh, 1, ph), conv_output_size(W, kw, 1, pw)
        POH, POW = OH // qh, OW // qw  # floor mode: uncovered conv positions are dropped
        if POH < 1 or POW < 1:
            raise ValueError(f"pooling window {pool.kernel_size} is larger than the input")
        xc = channel_major_padded(x, conv.padding)  # (C, N, Hp, Wp)
        # Column (a, b, n, i, j) holds the input window of conv position (i*qh + a, j*qw + b):
        # pool offset (a, b) of pooling window (i, j) of image n.
        s_c, s_n, s_h, s_w = xc.strides
        windows = as_strided(
            xc,
            (C, kh, kw, qh, qw, N, POH, POW),
            (s_c, s_h, s_w, s_h, s_w, s_n, qh * s_h, qw * s_w),
            writeable=False,
        )
        M = N * POH * POW
        cols = windows.reshape(C * kh * kw, qh * qw * M)  # the one copy
        y = conv.weight.data.reshape(conv.out_channels, -1) @ cols  # (C_out, k*k*M)
        if conv.bias is not None:
            y += conv.bias.data[:, None]
        y = y.reshape(conv.out_channels, qh * qw, M)
        out = np.maximum(y[:, 0], y[:, -1])  # the pool: contiguous offset blocks
        for k in range(1, qh * qw - 1):
            np.maximum(out, y[:, k], out=out)
        self._cols, self._y, self._out = cols, y, out
        self._shapes = (x.shape, (POH, POW))
        return out.reshape(conv.out_channels, N, POH, POW).transpose(1, 0, 2, 3)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        conv, pool = self.layers
        y, out = self._y, self._out
        x_shape, (POH, POW) = self._shapes
        (qh, qw), C_out = pool.kernel_size, conv.out_channels
        # The pool: each window's gradient to its first maximum (MaxPool2d's rule), written
        # straight into the offset blocks.
        dys = np.empty_like(y, dtype=dy.dtype)  # (C_out, k*k, M)
        remaining = dy.transpose(1, 0, 2, 3).reshape(C_out, -1).copy()
        parts = [y[:, k] for k in range(qh * qw)]
        for _ in first_maximum_shares(parts, out, remaining, lambda k: dys[:, k]):
            pass  # each share is written into its block; nothing else to do per offset
        # The conv: its weight gradient from the blocks in the columns' order.
        dy2 = dys.reshape(C_out, -1)
        conv.weight.grad += (dy2 @ self._cols.T).reshape(conv.weight.shape)
        if conv.bias is not None:
            conv.bias.grad += dy2.sum(axis=1)
        if not conv.needs_input_grad:
            return None
        # The input gradient needs dL/d(conv output) on the padded input's grid: the blocks go
        # back to their positions (i*qh + a, j*qw + b); uncovered positions stay zero.
        N, _, H, W = x_shape
        Hp, Wp = H + 2 * conv.padding[0], W + 2 * conv.padding[1]
        grid = np.zeros((C_out, N, Hp, Wp), dtype=dy.dtype)
        blocks = dys.reshape(C_out, qh, qw, N, POH, POW)
        for a in range(qh):
            for b in range(qw):
                grid[:, :, a : POH * qh : qh, b : POW * qw : qw] = blocks[:, a, b]
        weight2 = conv.weight.data.reshape(C_out, -1)
        return input_grad_on_grid(weight2, grid, x_shape, conv.kernel_size, conv.padding)

    def extra_repr(self) -> str:
        return f"{self.layers[0]!r}, {self.layers[1]!r}"


def fuse_conv_pool(
    order: list[tuple[str, Module]], keep: set[str] | frozenset[str] = frozenset()
) -> list[tuple[str, Module]]:
    """`order` with each pair `can_fuse` accepts replaced by one ("conv1+pool1", ConvPool)
    step, unless one of the two is named in `keep` (its output is read by name)."""
    fused: list[tuple[str, Module]] = []
    i = 0
    while i < len(order):
        if i + 1 < len(order):
            (conv_name, conv), (pool_name, pool) = order[i], order[i + 1]
            if can_fuse(conv, pool) and not {conv_name, pool_name} & keep:
                fused.append((f"{conv_name}+{pool_name}", ConvPool(conv, pool)))
                i += 2
                continue
        fused.append(order[i])
        i += 1
    return fused
