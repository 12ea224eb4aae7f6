"""The architectures and `build_model`, which turns one into a network for a chosen engine.

Each engine has a builder module here, `cnnlab.models.<engine>_builder` with `build(spec,
seed)`, imported only when asked for, so building a NumPy model never imports torch. Which
engines exist is the registry's business (`cnnlab.training.engines.ENGINES`).
"""

from __future__ import annotations

import dataclasses
import importlib

from cnnlab.models.arch_spec import spec_from_string
from cnnlab.models.presets import ARCHITECTURES, get_spec
from cnnlab.models.spec import ArchSpec, LayerSpec

MODEL_NAMES: tuple[str, ...] = tuple(ARCHITECTURES)
# The networks of the original report: what `cnnlab run` and `cnnlab bench` compare by default.
COMPARISON_MODELS: tuple[str, ...] = ("cnn2", "cnn3", "mlp3")


def resolve_spec(
    model: str | ArchSpec,
    arch: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    classes: int = 10,
) -> ArchSpec:
    """The spec of a run: its architecture string `arch` (named `model`) when given, else the
    built-in model `model`, for images of `input_shape` (C, H, W; default 1 x 28 x 28) and
    `classes` classes (an `arch` is checked against both). A run's config holds them all, so
    this rebuilds any run's net."""
    if isinstance(model, ArchSpec):
        spec = model
    elif arch is not None:
        shape = {} if input_shape is None else {"input_shape": tuple(input_shape)}
        spec = spec_from_string(arch, model, classes=classes, **shape)
    else:
        spec = get_spec(model)
    if input_shape is not None:
        spec = dataclasses.replace(spec, input_shape=tuple(input_shape))
    return spec


def build_model(name_or_spec: str | ArchSpec, engine: str = "scratch", seed: int = 0):
    """The network `name_or_spec` (a name of `MODEL_NAMES` or an `ArchSpec`) for `engine`,
    initialised from `seed`.

    Every engine builds from the same `ArchSpec`, so parameter names (`conv1.weight`, ...) agree
    and a state dict moves between engines. The model carries the spec as `model.spec`.
    """
    spec = resolve_spec(name_or_spec)
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
    "COMPARISON_MODELS",
    "MODEL_NAMES",
    "ArchSpec",
    "LayerSpec",
    "build_model",
    "get_spec",
    "resolve_spec",
    "spec_from_string",
]
