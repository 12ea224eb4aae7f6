"""Class activation maps at the last conv block: the activations A (C, h, w) of the spec's
feature layer weighted by something, map = ReLU(sum_c weight_c A_c) unless said otherwise (the
final ReLU is pytorch-grad-cam's `BaseCAM` rule). g = dS_target/dA, from the network's own
backward pass (NumPy) or autograd (PyTorch). Each takes images x (N, C, H, W) with one
target each (N,) and returns the (N, h, w) `layer_map`.

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


def _activations(net, x: np.ndarray, target) -> tuple[np.ndarray, np.ndarray]:
    _, a, g = net.layer_grad(x, target)
    return a, g  # (N, C, h, w) each


def _weighted(weights: np.ndarray, a: np.ndarray) -> np.ndarray:
    """ReLU(sum_c weight_c A_c) per image: weights (N, C), a (N, C, h, w) -> (N, h, w)."""
    return np.maximum(np.einsum("nc,nchw->nhw", weights, a), 0.0)


def cam(net, x, target, background) -> dict:
    a, _ = _activations(net, x, target)
    weight, head = net.head_weight(), net.spec.head
    maps = [class_activation_map(a_n, weight, t, head) for a_n, t in zip(a, target, strict=True)]
    return {"layer_map": np.stack(maps)}


def gradcam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    return {"layer_map": np.stack([grad_cam(a_n, g_n) for a_n, g_n in zip(a, g, strict=True)])}


def gradcam_plus_plus(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    denominator = 2 * g**2 + a.sum(axis=(2, 3), keepdims=True) * g**3
    alpha = np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)
    return {"layer_map": _weighted((alpha * np.maximum(g, 0)).sum(axis=(2, 3)), a)}


def hirescam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    return {"layer_map": np.maximum((g * a).sum(axis=1), 0.0)}


def xgradcam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    total = a.sum(axis=(2, 3))  # (N, C)
    weights = np.divide((g * a).sum(axis=(2, 3)), total, out=np.zeros_like(total), where=total != 0)
    return {"layer_map": _weighted(weights, a)}


def layercam(net, x, target, background) -> dict:
    a, g = _activations(net, x, target)
    return {"layer_map": np.maximum((np.maximum(g, 0) * a).sum(axis=1), 0.0)}


def eigencam(net, x, target, background) -> dict:
    a, _ = _activations(net, x, target)
    n, c, h, w = a.shape
    positions = a.reshape(n, c, h * w).transpose(0, 2, 1)  # (N, hw, C)
    centred = positions - positions.mean(axis=1, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # one SVD per image
    projection = np.einsum("npc,nc->np", centred, vt[:, 0])  # (N, hw)
    agrees = np.einsum("np,np->n", projection, positions.sum(axis=2)) >= 0
    projection = np.where(agrees[:, None], projection, -projection)
    return {"layer_map": np.maximum(projection.reshape(n, h, w), 0.0)}


def guided_gradcam(net, x, target, background) -> dict:
    layer_map = gradcam(net, x, target, background)["layer_map"]  # (N, h, w)
    _, guided = net.input_grad(x, target, guided=True)  # (N, C, H, W)
    resized = nearest_resize(layer_map, x.shape[2:])[:, None]  # (N, 1, H, W)
    return {"map": guided * resized, "layer_map": layer_map}
