"""Score-CAM (Wang et al. 2020): each channel of the feature layer, resized to the input by
nearest neighbour and scaled to [0, 1], masks the image (in pixel space: the background,
pixel value 0, where the mask is 0); the channel's weight is the softmax over channels of the
class score of its masked image (pytorch-grad-cam's rule), map = ReLU(sum_c weight_c A_c).
No gradient: one batch of C forward passes."""

from __future__ import annotations

import numpy as np

from cnnlab.explain.resize import nearest_resize
from cnnlab.scratch.functional import softmax


def scorecam(net, x: np.ndarray, target: int, background: float) -> dict:
    _, a, _ = net.layer_grad(x, target)
    a = a[0]  # (C, h, w)
    masks = nearest_resize(a, x.shape[2:])  # (C, H, W)
    low = masks.min(axis=(1, 2), keepdims=True)
    spread = masks.max(axis=(1, 2), keepdims=True) - low
    masks = np.divide(masks - low, spread, out=np.zeros_like(masks), where=spread > 0)
    masked = background + masks[:, None] * (x - background)  # (C, Cin, H, W)
    weights = softmax(net.logits(masked)[:, target][None])[0]  # (C,)
    return {"layer_map": np.maximum(np.tensordot(weights, a, axes=1), 0.0)}
