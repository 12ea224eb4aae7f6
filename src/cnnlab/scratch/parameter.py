"""A trainable array and the gradient the backward pass accumulates into it; and a buffer, state
that is saved with the model but not trained (BatchNorm's running statistics)."""

from __future__ import annotations

import numpy as np


class _Stored:
    """What parameters and buffers share: `data`, an ndarray saved in the state dict."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.data.shape}, dtype={self.data.dtype})"


class Parameter(_Stored):
    """`data` and `grad`, two ndarrays of the same shape and dtype.

    Like PyTorch, `backward` passes *add* into `grad`; `zero_grad()` resets it between steps.
    """

    def __init__(self, data: np.ndarray) -> None:
        super().__init__(data)
        self.grad = np.zeros_like(data)


class Buffer(_Stored):
    """`data` only: a module's state that is not trained (PyTorch's `register_buffer`).

    Found by walking attributes like a `Parameter`, so it goes into `state_dict()` and moves with
    `to(dtype)` (float buffers only: a counter stays an integer), but `parameters()` -- and so
    every optimizer -- never sees it. The layer that owns it updates `data` in place.
    """
