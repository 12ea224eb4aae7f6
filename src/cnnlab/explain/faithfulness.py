"""Deletion and insertion curves (Petsiuk et al. 2018): does the map rank pixels by how much
the class depends on them? Deletion replaces pixels with the background, most important
first, and follows the class probability down (a small area is good); insertion starts from
the background image and puts pixels back in the same order (a large area is good). Both are
also drawn for a random order, the baseline a map must beat. Areas get a bootstrap interval
over the images."""

from __future__ import annotations

import numpy as np

from cnnlab.analysis.stats import ALPHA
from cnnlab.scratch.functional import softmax

STEP_PIXELS = 16  # pixels removed or added per step: 49 steps over 28×28
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 0


def curves(net, x: np.ndarray, ranking: np.ndarray, target: int, background: float):
    """(deletion, insertion) probabilities of class `target` (S,), S = H*W / STEP_PIXELS + 1,
    for the pixels of one image x (1, C, H, W) taken in `ranking` order (H*W pixel indices,
    first = most important); every channel of a pixel goes together."""
    deletion, insertion = batch_curves(net, x, ranking[None], np.array([target]), background)
    return deletion[0], insertion[0]


def batch_curves(net, x: np.ndarray, rankings: np.ndarray, targets, background: float):
    """`curves` of N images (N, C, H, W) at once, one ranking (N, H*W) and target (N,) each:
    (deletion (N, S), insertion (N, S)); all 2 * N * S pictures go through as one batch."""
    n, _, h, w = x.shape
    rank = np.empty_like(rankings)
    np.put_along_axis(rank, rankings, np.arange(h * w)[None], axis=1)  # each pixel's place
    counts = np.arange(0, h * w + STEP_PIXELS, STEP_PIXELS).clip(max=h * w)  # (S,)
    taken = (rank[:, None] < counts[None, :, None]).reshape(n, -1, 1, h, w)  # (N, S, 1, H, W)
    deleted = np.where(taken, background, x[:, None])  # (N, S, C, H, W)
    inserted = np.where(taken, x[:, None], background)
    pictures = np.concatenate([deleted, inserted], axis=1).reshape(-1, *x.shape[1:])
    p = softmax(net.logits(pictures)).reshape(n, 2 * len(counts), -1)
    p = p[np.arange(n), :, targets]  # (N, 2S)
    return p[:, : len(counts)], p[:, len(counts) :]


def area(curve: np.ndarray):
    """Area under a curve (..., S) sampled evenly over the fraction of pixels 0..1
    (trapezoids): a float for one curve, one per row for (N, S)."""
    areas = np.trapezoid(curve, dx=1.0 / (curve.shape[-1] - 1), axis=-1)
    return float(areas) if np.ndim(areas) == 0 else areas


def ranking_of(attribution: np.ndarray) -> np.ndarray:
    """Pixel indices of each map (N, C, H, W), highest attribution first (the channel sum for
    colour maps): (N, H*W)."""
    flat = attribution.sum(axis=1).reshape(len(attribution), -1)
    return np.argsort(-flat, axis=1, kind="stable")


def bootstrap(values: np.ndarray) -> dict:
    """Mean of `values` (one per image) with a percentile bootstrap interval at the report's one
    level (1 - ALPHA)."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_SAMPLES, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return {"mean": float(values.mean()), "low": float(low), "high": float(high)}
