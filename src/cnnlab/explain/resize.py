"""Nearest-neighbour resizing, PyTorch's `F.interpolate(mode="nearest")` rule, which Captum's
`GuidedGradCam` uses to lay a Grad-CAM over the input (and Score-CAM here to make its masks)."""

from __future__ import annotations

import numpy as np


def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    """Source index of each output index: floor(i * in/out), with PyTorch's float32 scale."""
    scale = np.float32(size_in / size_out)
    index = np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(index, size_in - 1)


def nearest_resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(..., h, w) -> (..., H, W) by nearest neighbour."""
    rows = nearest_indices(maps.shape[-2], size[0])
    cols = nearest_indices(maps.shape[-1], size[1])
    return maps[..., rows[:, None], cols[None, :]]
