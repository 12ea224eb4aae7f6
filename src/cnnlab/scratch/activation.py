"""Elementwise layers: ReLU, LeakyReLU, Tanh, Sigmoid, and inverted dropout."""

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

    def guided_backward(self, dy: np.ndarray) -> np.ndarray:
        """Guided backpropagation's rule (Springenberg et al. 2015, Captum's `GuidedBackprop`):
        the ReLU's gradient with its negative entries zeroed as well, ReLU(dy * (y > 0))."""
        return np.maximum(dy * (self._y > 0), 0)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """`torch.nn.LeakyReLU(negative_slope=0.01, inplace=False)`: x where x > 0, else
    negative_slope * x; the gradient is 1 or negative_slope by the same test on the input
    (PyTorch's rule at 0). `inplace=True` overwrites x, as in `ReLU`."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace
        self._not_positive: np.ndarray | None = None  # bool, x's shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._not_positive = ~(x > 0)  # taken before an in-place write changes x
        y = x if self.inplace else x.copy(order="K")  # keeps x's dtype and memory order
        np.multiply(y, self.negative_slope, out=y, where=self._not_positive)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        dx = dy.copy(order="K")
        np.multiply(dx, self.negative_slope, out=dx, where=self._not_positive)
        return dx

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace}"


class Tanh(Module):
    """`torch.nn.Tanh()`: tanh(x); the gradient is 1 - y**2, from the output kept."""

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return dy * (1 - np.square(self._y))


class Sigmoid(Module):
    """`torch.nn.Sigmoid()`: 1 / (1 + exp(-x)); the gradient is y * (1 - y), from the output.

    Computed from e = exp(-|x|), which lies in (0, 1]: as 1 / (1 + e) where x >= 0 and
    e / (1 + e) where x < 0, so no exp overflows (a warning, an error in the tests) and small
    outputs keep their relative precision.
    """

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        denominator = 1 + e
        y = e / denominator
        np.divide(1, denominator, out=y, where=x >= 0)
        self._y = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return dy * (self._y * (1 - self._y))


class Dropout(Module):
    """`torch.nn.Dropout(p)`: in training, zero each element with probability p and scale the
    survivors by 1/(1-p) (inverted dropout), so eval mode is the identity and needs no rescale.

    The mask comes from `rng` (a seeded `np.random.Generator`), and backward reuses it.
    A layer that draws in training keeps its generator in `self.rng`, and that is all a
    resume needs: the engine saves `rng.bit_generator.state` of every such layer in its
    checkpoint and puts it back on load (`cnnlab.training.rng_state`), so a resumed run draws
    the masks an uninterrupted one would have drawn. `Dropout2d` does the same.
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
