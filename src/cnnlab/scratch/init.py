"""PyTorch's default initialisation, drawn from a seeded `np.random.Generator`.

`torch.nn.Conv2d` and `torch.nn.Linear` initialise their weight with
`kaiming_uniform_(a=sqrt(5))`: gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), std = gain / sqrt(fan_in),
bound = sqrt(3) * std = 1 / sqrt(fan_in); and their bias with U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Both are therefore U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kh * kw (or
in_features). Same distribution as PyTorch, not the same numbers: the random streams differ.

A layer given no generator draws from this module's default one, seeded with 0 at import and
reseeded by `manual_seed(seed)` (like `torch.manual_seed`); `build_model` passes its own.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

_default_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator used by layers built without an explicit `rng`."""
    global _default_generator
    _default_generator = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    return _default_generator


def uniform_fan_in(
    shape: tuple[int, ...], fan_in: int, rng: np.random.Generator, dtype: npt.DTypeLike
) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of `shape`: PyTorch's default for weights and biases."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
