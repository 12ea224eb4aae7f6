"""Deletion and insertion curves (Petsiuk et al. 2018): does the map rank pixels by how much
the class depends on them? Deletion replaces pixels with the background, most important
first, and follows the class probability down (a small area is good); insertion starts from
the background image and puts pixels back in the same order (a large area is good). Both are
also drawn for a random order, the baseline a map must beat. Areas get a bootstrap interval
over the images."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.functional import softmax

STEP_PIXELS = 16  # pixels removed or added per step: 49 steps over 28×28
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 0


def curves(net, x: np.ndarray, ranking: np.ndarray, target: int, background: float):
    """(deletion, insertion) probabilities of class `target` (S,), S = H*W / STEP_PIXELS + 1,
    for the pixels of x (1, C, H, W) taken in `ranking` order (H*W pixel indices, first = most
    important); every channel of a pixel goes together."""
    h, w = x.shape[2:]
    rank = np.empty(h * w, dtype=np.int64)
    rank[ranking] = np.arange(h * w)  # each pixel's place in the order
    counts = np.arange(0, h * w + STEP_PIXELS, STEP_PIXELS).clip(max=h * w)  # (S,)
    taken = (rank[None] < counts[:, None]).reshape(-1, 1, h, w)  # (S, 1, H, W)
    deleted = np.where(taken, background, x)
    inserted = np.where(taken, x, background)
    p = softmax(net.logits(np.concatenate([deleted, inserted])))[:, target]
    return p[: len(counts)], p[len(counts) :]


def area(curve: np.ndarray) -> float:
    """Area under a curve sampled evenly over the fraction of pixels 0..1 (trapezoids)."""
    return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))


def ranking_of(attribution: np.ndarray) -> np.ndarray:
    """Pixel indices, highest attribution first (the channel sum for colour maps (1, C, H, W))."""
    return np.argsort(-attribution[0].sum(axis=0).ravel(), kind="stable")


def bootstrap(values: np.ndarray) -> dict:
    """Mean of `values` (one per image) with a 95 % percentile bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_SAMPLES, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(values.mean()), "low": float(low), "high": float(high)}
