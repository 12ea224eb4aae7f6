"""Seeded mini-batches: the order of an epoch is a pure function of (seed, epoch).

So a run resumed at step k of epoch e sees exactly the batches it would have seen, and every
epoch is reshuffled without any random state to save.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cnnlab.data.mnist import normalize


def num_batches(n: int, batch_size: int) -> int:
    """Batches in an epoch of `n` examples; the last, partial batch counts (ceil)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return -(-n // batch_size)


def epoch_order(n: int, *, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The example order of one epoch: (n,) int64, the same for the same (seed, epoch)."""
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64)


def iterate_batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    start_batch: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x, y) batches of one epoch, from batch `start_batch` on.

    x is float32 (B, 1, 28, 28): uint8 images are normalized per batch (which keeps the
    float copy of the data set out of memory), float images are passed through as float32.
    y is int64 (B,).
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    total = num_batches(len(images), batch_size)
    if not 0 <= start_batch <= total:
        raise ValueError(f"start_batch must be in [0, {total}], got {start_batch}")
    order = epoch_order(len(images), seed=seed, epoch=epoch, shuffle=shuffle)
    return _batches(images, labels, order, batch_size, start_batch, total)


def _batches(images, labels, order, batch_size, start_batch, total):
    for b in range(start_batch, total):
        idx = order[b * batch_size : (b + 1) * batch_size]
        x = images[idx]
        if x.dtype == np.uint8:
            x = normalize(x)
        else:
            x = x.astype(np.float32, copy=False)
            if x.ndim == 3:
                x = x[:, None]  # (B, 28, 28) -> (B, 1, 28, 28)
        yield x, labels[idx].astype(np.int64)
