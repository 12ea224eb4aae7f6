"""Attributions read off the input gradient, each as Captum defines it. x is one normalised
image (1, C, H, W); every map has x's shape.

- `saliency` (Simonyan et al. 2014, Captum `Saliency`): |dS/dx|.
- `input_x_gradient` (Shrikumar et al. 2016, `InputXGradient`): x * dS/dx.
- `guided_backprop` (Springenberg et al. 2015, `GuidedBackprop`): dS/dx with every ReLU
  passing back only positive gradients.
- `smoothgrad` (Smilkov et al. 2017, `NoiseTunnel(Saliency)`, nt_type "smoothgrad"): the mean
  of |dS/dx| over `SMOOTHGRAD_SAMPLES` copies of x with Gaussian noise of σ = `SMOOTHGRAD_SIGMA`
  times the image's value range (their 10-20 %), drawn from `np.random.default_rng(seed)`.
"""

from __future__ import annotations

import numpy as np

SMOOTHGRAD_SAMPLES = 25
SMOOTHGRAD_SIGMA = 0.15  # of the image's (max - min), in the normalised input space
SMOOTHGRAD_SEED = 0


def saliency(net, x: np.ndarray, target: int, background: float) -> dict:
    _, grad = net.input_grad(x, target)
    return {"map": np.abs(grad)}


def input_x_gradient(net, x: np.ndarray, target: int, background: float) -> dict:
    _, grad = net.input_grad(x, target)
    return {"map": x * grad}


def guided_backprop(net, x: np.ndarray, target: int, background: float) -> dict:
    _, grad = net.input_grad(x, target, guided=True)
    return {"map": grad}


def smoothgrad_noise(x: np.ndarray, samples=SMOOTHGRAD_SAMPLES, seed=SMOOTHGRAD_SEED):
    """(σ, noise (samples, C, H, W)): the seeded Gaussian noise SmoothGrad adds to x."""
    sigma = SMOOTHGRAD_SIGMA * float(x.max() - x.min())
    return sigma, np.random.default_rng(seed).normal(0.0, sigma, (samples, *x.shape[1:]))


def smoothgrad(net, x: np.ndarray, target: int, background: float, noise=None) -> dict:
    sigma, noise = smoothgrad_noise(x) if noise is None else (None, noise)
    _, grads = net.input_grad(x + noise, target)  # (samples, C, H, W)
    result = {"map": np.abs(grads).mean(axis=0, keepdims=True), "samples": len(noise)}
    return result | ({"sigma": sigma, "seed": SMOOTHGRAD_SEED} if sigma is not None else {})
