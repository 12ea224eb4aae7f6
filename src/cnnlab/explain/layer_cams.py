"""Class activation maps at the last conv block: the activations A (C, h, w) of the spec's
feature layer weighted by something, map = ReLU(sum_c weight_c A_c) unless said otherwise (the
final ReLU is pytorch-grad-cam's `BaseCAM` rule). g = dS_target/dA, from the network's own
backward pass (NumPy) or autograd (PyTorch). Each returns the (h, w) `layer_map`.

- `cam` (Zhou et al. 2016) and `gradcam` (Selvaraju et al. 2017): `cnnlab.analysis.cam`'s,
  Grad-CAM being Captum's `LayerGradCam` with `relu_attributions=True`.
- `gradcam_plus_plus` (Chattopadhyay et al. 2018): weight_c = sum_hw alpha * ReLU(g) with
  alpha = g² / (2 g² + (sum_hw A_c) g³), 0 where that is 0/0.
- `hirescam` (Draelos & Carin 2020): ReLU(sum_c g_c ⊙ A_c), the gradient kept per position.
- `xgradcam` (Fu et al. 2020): weight_c = sum_hw g_c A_c / sum_hw A_c (0 for an empty map).
- `layercam` (Jiang et al. 2021): ReLU(sum_c ReLU(g_c) ⊙ A_c).
- `eigencam` (Muhammad & Yeasin 2020): A's positions (hw, C) centred, projected on their first
  principal direction; class-agnostic. Its sign is free, so it is chosen to agree with the
  channel sum of A, then ReLU.
- `guided_gradcam` (Selvaraju et al. 2017, Captum's `GuidedGradCam`): guided backpropagation
  times Grad-CAM resized to the input by nearest neighbour; a (1, C, H, W) `map`.
"""

from __future__ import annotations

import numpy as np

from cnnlab.analysis.cam import class_activation_map, grad_cam
from cnnlab.explain.resize import nearest_resize


def _activations(net, x: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    _, a, g = net.layer_grad(x, target)
    return a[0], g[0]  # (C, h, w) each


def _weighted(weights: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.maximum(np.tensordot(weights, a, axes=1), 0.0)  # (h, w)


def cam(net, x, target, background) -> dict:
    a, _ = _activations(net, x, target)
    return {"layer_map": class_activation_map(a, net.head_weight(), target, net.spec.head)}


def gradcam(net, x, target, background) -> dict:
    return {"layer_map": grad_cam(*_activations(net, x, target))}


def gradcam_plus_plus(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    denominator = 2 * g**2 + a.sum(axis=(1, 2), keepdims=True) * g**3
    alpha = np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)
    return {"layer_map": _weighted((alpha * np.maximum(g, 0)).sum(axis=(1, 2)), a)}


def hirescam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    return {"layer_map": np.maximum((g * a).sum(axis=0), 0.0)}


def xgradcam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    total = a.sum(axis=(1, 2))  # (C,)
    weights = np.divide((g * a).sum(axis=(1, 2)), total, out=np.zeros_like(total), where=total != 0)
    return {"layer_map": _weighted(weights, a)}


def layercam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    return {"layer_map": np.maximum((np.maximum(g, 0) * a).sum(axis=0), 0.0)}


def eigencam(net, x, target, background) -> dict:
    a, _ = _activations(net, x, target)
    c, h, w = a.shape
    positions = a.reshape(c, h * w).T  # (hw, C)
    centred = positions - positions.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projection = centred @ vt[0]  # (hw,)
    if projection @ positions.sum(axis=1) < 0:
        projection = -projection
    return {"layer_map": np.maximum(projection.reshape(h, w), 0.0)}


def guided_gradcam(net, x, target, background) -> dict:
    layer_map = gradcam(net, x, target, background)["layer_map"]
    _, guided = net.input_grad(x, target, guided=True)  # (1, C, H, W)
    return {"map": guided * nearest_resize(layer_map, x.shape[2:]), "layer_map": layer_map}
