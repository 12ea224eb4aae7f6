"""The architectures and `build_model`, which turns one into a network for a chosen engine.

Engines: "scratch" (NumPy, `cnnlab.scratch`), "torch" and "keras". Each engine's builder is
imported only when asked for, so building a scratch model never imports torch.
"""

from __future__ import annotations

import importlib

from cnnlab.models.spec import ARCHITECTURES, ArchSpec, LayerSpec, get_spec

MODEL_NAMES: tuple[str, ...] = tuple(ARCHITECTURES)
ENGINES: tuple[str, ...] = ("scratch", "torch", "keras")


def build_model(name: str, engine: str = "scratch", seed: int = 0):
    """The network `name` (see `MODEL_NAMES`) for `engine`, initialised from `seed`.

    Every engine builds from the same `ArchSpec`, so parameter names (`conv1.weight`, ...) agree
    and a state dict moves between engines. The model carries the spec as `model.spec`.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    spec = get_spec(name)
    builder = importlib.import_module(f"cnnlab.models.{engine}_builder")
    return builder.build(spec, seed)


__all__ = [
    "ARCHITECTURES",
    "ENGINES",
    "MODEL_NAMES",
    "ArchSpec",
    "LayerSpec",
    "build_model",
    "get_spec",
]
