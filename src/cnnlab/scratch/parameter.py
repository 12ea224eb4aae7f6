"""A trainable array and the gradient the backward pass accumulates into it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """`data` and `grad`, two ndarrays of the same shape and dtype.

    Like PyTorch, `backward` passes *add* into `grad`; `zero_grad()` resets it between steps.
    """

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad = np.zeros_like(data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
