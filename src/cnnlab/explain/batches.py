"""Large batches in pieces: the methods send every copy of every image (occluded, noisy, on
the integration path, masked) through the network as one batch; the networks answer it
`MAX_IMAGES` images at a time, so memory stays bounded (a conv layer's im2col copy grows with
the batch) while each piece is still large enough to keep the matrix multiplies busy.
Images never interact in eval mode, so the pieces give the same numbers as one batch."""

from __future__ import annotations

import numpy as np

MAX_IMAGES = 256


def in_pieces(answer, x: np.ndarray, target=None):
    """answer(x_piece[, target_piece]) -> array or tuple of arrays, concatenated over the
    pieces of x (N, ...); `target` one class for all or one per image (N,)."""
    if len(x) <= MAX_IMAGES:
        return answer(x) if target is None else answer(x, target)
    targets = None if target is None else np.broadcast_to(target, len(x))
    parts = [
        answer(x[i : i + MAX_IMAGES])
        if targets is None
        else answer(x[i : i + MAX_IMAGES], targets[i : i + MAX_IMAGES])
        for i in range(0, len(x), MAX_IMAGES)
    ]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)
