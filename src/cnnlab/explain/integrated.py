"""Integrated gradients (Sundararajan et al. 2017), as Captum's `IntegratedGradients` computes
them by default: the path integral of dS/dx from the baseline x' to x by `STEPS`-point
Gauss-Legendre quadrature, attribution = (x - x') * sum_i w_i dS/dx(x' + a_i (x - x')).

The baseline is the background image, pixel value 0 before normalisation. Completeness says
the attributions sum to S(x) - S(x'); the quadrature's shortfall is reported as
`completeness_error` = sum(attribution) - (S(x) - S(x')).
"""

from __future__ import annotations

import numpy as np

STEPS = 50


def gauss_legendre(steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights) on [0, 1]: Captum's `gauss_legendre_builders`."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return 0.5 * (1 + nodes), 0.5 * weights


def integrated_gradients(net, x: np.ndarray, target, background: float) -> dict:
    """x (N, C, H, W), target (N,); `completeness_error` (N,)."""
    baseline = np.full_like(x, background)  # (N, C, H, W)
    alphas, weights = gauss_legendre()
    path = baseline[:, None] + alphas[:, None, None, None] * (x - baseline)[:, None]
    path = path.reshape(-1, *x.shape[1:])  # (N * STEPS, C, H, W), image by image
    _, grads = net.input_grad(path, np.repeat(target, STEPS))
    grads = grads.reshape(len(x), STEPS, *x.shape[1:])
    attribution = (x - baseline) * np.tensordot(weights, grads, axes=(0, 1))
    rows = np.arange(len(x))
    scores = net.logits(np.concatenate([x, baseline]))  # S(x) then S(x')
    difference = scores[: len(x)][rows, target] - scores[len(x) :][rows, target]
    error = attribution.reshape(len(x), -1).sum(axis=1) - difference
    return {"map": attribution, "completeness_error": error, "steps": STEPS, "baseline": background}
