"""Score-CAM (Wang et al. 2020): each channel of the feature layer, resized to the input by
nearest neighbour and scaled to [0, 1], masks the image (in pixel space: the background,
pixel value 0, where the mask is 0); the channel's weight is the softmax over channels of the
class score of its masked image (pytorch-grad-cam's rule), map = ReLU(sum_c weight_c A_c).
No gradient: one batch of C forward passes."""

from __future__ import annotations

import numpy as np

from cnnlab.explain.resize import nearest_resize
from cnnlab.scratch.functional import softmax


def scorecam(net, x: np.ndarray, target, background: float) -> dict:
    """x (N, Cin, H, W), target (N,); all N * C masked images go through as one batch."""
    _, a, _ = net.layer_grad(x, target)  # (N, C, h, w)
    masks = nearest_resize(a, x.shape[2:])  # (N, C, H, W)
    low = masks.min(axis=(2, 3), keepdims=True)
    spread = masks.max(axis=(2, 3), keepdims=True) - low
    masks = np.divide(masks - low, spread, out=np.zeros_like(masks), where=spread > 0)
    masked = background + masks[:, :, None] * (x - background)[:, None]  # (N, C, Cin, H, W)
    logits = net.logits(masked.reshape(-1, *x.shape[1:])).reshape(*a.shape[:2], -1)
    weights = softmax(logits[np.arange(len(x)), :, target])  # (N, C), softmax over channels
    return {"layer_map": np.maximum(np.einsum("nc,nchw->nhw", weights, a), 0.0)}
