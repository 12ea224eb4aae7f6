"""`GELU`: x * Φ(x), Φ the standard normal CDF, in its exact erf form, PyTorch's `nn.GELU()`
(its default `approximate="none"`). Any shape -> the same shape.

    forward:  y = x * Φ(x),          Φ(x) = (1 + erf(x / √2)) / 2
    backward: dy/dx = Φ(x) + x φ(x),  φ(x) = exp(-x² / 2) / √(2π)

NumPy has no erf; SciPy's (`scipy.special.erf`, a core dependency) keeps float32 as float32.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from cnnlab.models.layers.elementwise import keras_activation, same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.module import Module


class GELU(Module):
    """`torch.nn.GELU()`: the NumPy layer. Keeps x and Φ(x) for the backward pass."""

    def __init__(self) -> None:
        super().__init__()
        self._x: np.ndarray | None = None
        self._cdf: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        one = x.dtype.type(1)
        self._x = x
        self._cdf = (one + erf(x * x.dtype.type(1 / math.sqrt(2)))) / x.dtype.type(2)
        return x * self._cdf

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        x = self._x
        pdf = np.exp(-np.square(x) / x.dtype.type(2)) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return dy * (self._cdf + x * pdf)


KIND = LayerKind(
    name="GELU",
    prefix="gelu",
    params=(),
    shape=same_shape,
    numpy=lambda kw, rng: GELU(),
    keras=keras_activation(lambda keras, x: keras.activations.gelu(x, approximate=False)),
    field=same_field,
    slug=lambda kw: "gelu",
)
