"""Attributions read off the input gradient, each as Captum defines it. x is one normalised
images (N, C, H, W), each with its own target class (N,); every map has x's shape.

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
    """(σ, noise (samples, C, H, W)): the seeded Gaussian noise SmoothGrad adds to one image
    x (1, C, H, W); every image gets the same draws, scaled by its own σ."""
    sigma = SMOOTHGRAD_SIGMA * float(x.max() - x.min())
    return sigma, np.random.default_rng(seed).normal(0.0, sigma, (samples, *x.shape[1:]))


def smoothgrad(net, x: np.ndarray, target, background: float, noise=None) -> dict:
    """`noise` (samples, C, H, W) added to every image instead of the seeded draws."""
    if noise is None:
        sigmas, noises = zip(*(smoothgrad_noise(image[None]) for image in x), strict=True)
        noise = np.stack(noises)  # (N, samples, C, H, W)
    else:
        sigmas, noise = None, np.broadcast_to(noise, (len(x), *noise.shape))
    samples = noise.shape[1]
    noisy = (x[:, None] + noise).reshape(-1, *x.shape[1:])  # (N * samples, C, H, W)
    _, grads = net.input_grad(noisy, np.repeat(target, samples))
    result = {"map": np.abs(grads.reshape(noise.shape)).mean(axis=1), "samples": samples}
    if sigmas is None:
        return result
    return result | {"sigma": np.array(sigmas), "seed": SMOOTHGRAD_SEED}
