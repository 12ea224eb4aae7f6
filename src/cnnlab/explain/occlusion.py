"""Occlusion (Zeiler & Fergus 2014), as Captum's `Occlusion` computes it: a `WINDOW`×`WINDOW`
patch (all channels) slid with `STRIDE`, filled with the background (pixel value 0 before
normalisation); each pixel gets the mean drop of the class score S(x) - S(x occluded) over
the patches that cover it. All occluded copies of all images go through the network as one
batch.
"""

from __future__ import annotations

import numpy as np

WINDOW = 4
STRIDE = 2


def window_masks(height: int, width: int, window=WINDOW, stride=STRIDE) -> np.ndarray:
    """(P, H, W) bool: the patches, row by row, starting at 0 and every `stride` pixels until
    one reaches the edge, the last cut at the edge as Captum's are (28 pixels, window 4,
    stride 2: 13 × 13 patches)."""
    rows, cols = _starts(height, window, stride), _starts(width, window, stride)
    in_rows = (np.arange(height) >= rows[:, None]) & (np.arange(height) < rows[:, None] + window)
    in_cols = (np.arange(width) >= cols[:, None]) & (np.arange(width) < cols[:, None] + window)
    masks = in_rows[:, None, :, None] & in_cols[None, :, None, :]  # (R, Cc, H, W)
    return masks.reshape(-1, height, width)


def _starts(size: int, window: int, stride: int) -> np.ndarray:
    return np.arange(-(-max(size - window, 0) // stride) + 1) * stride


def occlusion(net, x: np.ndarray, target, background: float) -> dict:
    """x (N, C, H, W), target (N,)."""
    masks = window_masks(*x.shape[2:])[:, None]  # (P, 1, H, W), the same for every channel
    occluded = np.where(masks, background, x[:, None])  # (N, P, C, H, W)
    rows = np.arange(len(x))
    score = net.logits(x)[rows, target]  # (N,)
    logits = net.logits(occluded.reshape(-1, *x.shape[1:])).reshape(*occluded.shape[:2], -1)
    drops = score[:, None] - logits[rows, :, target]  # (N, P)
    per_channel = np.broadcast_to(masks, occluded.shape[1:])  # (P, C, H, W)
    covered = per_channel.sum(axis=0)  # (C, H, W)
    total = np.tensordot(drops, per_channel, axes=1)  # (N, C, H, W)
    attribution = np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)
    return {"map": attribution, "window": WINDOW, "stride": STRIDE, "fill": background}
