"""The architectures and `build_model`, which turns one into a network for a chosen engine.

Each engine has a builder module here, `cnnlab.models.<engine>_builder` with `build(spec,
seed)`, imported only when asked for, so building a NumPy model never imports torch. Which
engines exist is the registry's business (`cnnlab.training.engines.ENGINES`).
"""

from __future__ import annotations

import importlib

from cnnlab.models.spec import ARCHITECTURES, ArchSpec, LayerSpec, get_spec

MODEL_NAMES: tuple[str, ...] = tuple(ARCHITECTURES)


def build_model(name: str, engine: str = "scratch", seed: int = 0):
    """The network `name` (see `MODEL_NAMES`) for `engine`, initialised from `seed`.

    Every engine builds from the same `ArchSpec`, so parameter names (`conv1.weight`, ...) agree
    and a state dict moves between engines. The model carries the spec as `model.spec`.
    """
    spec = get_spec(name)
    try:
        builder = importlib.import_module(f"cnnlab.models.{engine}_builder")
    except ModuleNotFoundError as err:
        if err.name != f"cnnlab.models.{engine}_builder":
            raise  # the builder exists but its library (torch, keras) does not
        raise ValueError(
            f"unknown engine {engine!r}: no builder cnnlab.models.{engine}_builder"
        ) from None
    return builder.build(spec, seed)


__all__ = [
    "ARCHITECTURES",
    "MODEL_NAMES",
    "ArchSpec",
    "LayerSpec",
    "build_model",
    "get_spec",
]
