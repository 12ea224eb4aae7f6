"""Class Activation Maps: where in the last conv feature map a class score comes from.

Both methods take the model's own last-conv activations `A` (C, H, W) — and, for Grad-CAM, the
gradient of the class score with respect to them — which each engine computes itself
(`Inspectable.feature_map_and_grad`, `cnnlab.training.engines.base`): NumPy through its own
backward pass, PyTorch through autograd.

- CAM (Zhou et al. 2016). With a global-average-pool + linear head the score of class k is
  `s_k = sum_c w_kc * mean_hw A_c + b_k`, and `M_k = sum_c w_kc A_c / (H W)` sums to `s_k - b_k`.
  With our flatten + linear head the weight depends on the position too,
  `s_k = sum_{c,h,w} W_k[c,h,w] A[c,h,w] + b_k`, and `M_k[h,w] = sum_c W_k[c,h,w] A[c,h,w]` is
  again an exact decomposition: `M_k.sum() + b_k == s_k`.
- Grad-CAM (Selvaraju et al. 2017) for any CNN: channel weights `alpha_c = mean_hw dS_k/dA_c`,
  map `ReLU(sum_c alpha_c A_c)`. For a GAP + linear head, alpha_c = w_kc / (H W), so Grad-CAM
  equals the positive part of CAM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnlab.scratch.functional import softmax

if TYPE_CHECKING:
    from cnnlab.training.engines.base import Inspectable

METHODS = ("cam", "gradcam")


def class_activation_map(
    feature_map: np.ndarray, head_weight: np.ndarray, target: int, head: str
) -> np.ndarray:
    """CAM (H, W) of class `target` from the feature map A (C, H, W) and the head's weight."""
    C, H, W = feature_map.shape
    if head == "flatten_linear":
        weight = head_weight[target].reshape(C, H, W)  # flatten order is (C, H, W), as in NCHW
        return (weight * feature_map).sum(axis=0)
    if head == "gap_linear":
        return np.tensordot(head_weight[target], feature_map, axes=1) / (H * W)
    raise ValueError(f"CAM needs a flatten_linear or gap_linear head, not {head!r}")


def grad_cam(feature_map: np.ndarray, feature_grad: np.ndarray) -> np.ndarray:
    """Grad-CAM (H, W) from A (C, H, W) and dScore/dA (C, H, W)."""
    alpha = feature_grad.mean(axis=(1, 2))  # (C,)
    return np.maximum(np.tensordot(alpha, feature_map, axes=1), 0.0)


def compute_map(
    engine: Inspectable, spec, image: np.ndarray, target: int | None, method: str
) -> dict:
    """One map for one normalised image (1, 1, 28, 28), target None = the predicted class.

    Returns the raw map (H, W), the target class, the probabilities (10,) and the method.
    """
    logits, feature_map, feature_grad, target = engine.feature_map_and_grad(image, target)
    probabilities = softmax(logits[None])[0]
    if method == "cam":
        weight, _ = engine.head_parameters()
        raw = class_activation_map(feature_map, weight, target, spec.head)
    elif method == "gradcam":
        raw = grad_cam(feature_map, feature_grad)
    else:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {METHODS}")
    return {"map": raw, "target": int(target), "probabilities": probabilities, "method": method}
