"""Elementwise layers: ReLU, and inverted dropout."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch import init
from cnnlab.scratch.module import Module


class ReLU(Module):
    """`torch.nn.ReLU(inplace=False)`: max(x, 0). The gradient passes where the output is
    positive (PyTorch's rule at 0). `inplace=True` overwrites x with the result instead of
    allocating a new array: for an x that nothing else keeps, such as a conv's output."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        # Keeps x's dtype and memory order either way.
        self._y = np.maximum(x, 0, out=x) if self.inplace else np.maximum(x, 0)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return dy * (self._y > 0)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Dropout(Module):
    """`torch.nn.Dropout(p)`: in training, zero each element with probability p and scale the
    survivors by 1/(1-p) (inverted dropout), so eval mode is the identity and needs no rescale.

    The mask comes from `rng` (a seeded `np.random.Generator`), and backward reuses it.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
        self.p = p
        self.rng = init.default_generator() if rng is None else rng
        self._scale: np.ndarray | None = None  # mask / (1 - p), None when dropout is off

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        factor = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self._scale = keep * x.dtype.type(factor)  # (x.shape), x's dtype
        return x * self._scale

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return dy if self._scale is None else dy * self._scale

    def extra_repr(self) -> str:
        return f"p={self.p}"
