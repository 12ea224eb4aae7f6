"""Fully connected layer, and the Flatten that feeds it."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cnnlab.scratch import init
from cnnlab.scratch.module import Module
from cnnlab.scratch.parameter import Parameter


class Linear(Module):
    """`torch.nn.Linear(in_features, out_features, bias)`: y = x @ weight.T + bias.

    x: (N, in_features) -> y: (N, out_features); weight: (out_features, in_features), bias:
    (out_features,), both U(-1/sqrt(in_features), 1/sqrt(in_features)) like PyTorch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = init.default_generator() if rng is None else rng
        shape = (out_features, in_features)
        self.weight = Parameter(init.uniform_fan_in(shape, in_features, rng, dtype))
        self.bias = None
        if bias:
            self.bias = Parameter(init.uniform_fan_in((out_features,), in_features, rng, dtype))
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x  # (N, in_features)
        y = x @ self.weight.data.T  # (N, out_features); BLAS reads the transpose in place
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        self.weight.grad += dy.T @ self._x  # (out_features, in_features)
        if self.bias is not None:
            self.bias.grad += dy.sum(axis=0)
        if not self.needs_input_grad:
            return None
        return dy @ self.weight.data  # (N, in_features)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class Flatten(Module):
    """`torch.nn.Flatten(start_dim=1, end_dim=-1)`: (N, C, H, W) -> (N, C*H*W) by default.

    The flattened order is NCHW's (c, h, w) whatever the memory order, so weights move between
    engines unchanged; for channel-major activations the reshape is a copy (the only one).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim
        self._x_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x_shape = x.shape
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        return x.reshape(*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :])

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return dy.reshape(self._x_shape)
