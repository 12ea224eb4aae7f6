"""The engine registry: `ENGINES` is the one place that lists the engines.

    engine = make_engine(get_spec("cnn2"), "torch", seed=0, optimizer="adam", lr=3e-3)
    # get_spec: cnnlab.models; a built-in model's name ("cnn2") stands for its spec too
    with ENGINES["torch"].threads(2): engine.train_step(x, y)

Every module that needs an engine by name goes through here; the engines' own libraries (torch,
keras) are imported only when such an engine is used.
"""

from __future__ import annotations

import numpy as np

from cnnlab.errors import UserError
from cnnlab.models.spec import ArchSpec
from cnnlab.training.engines.base import (
    OPTIMIZERS,
    Engine,
    Inspectable,
    Trainable,
    checkpoint_error,
)
from cnnlab.training.engines.keras import KerasEngine
from cnnlab.training.engines.scratch import ScratchEngine
from cnnlab.training.engines.torch import TorchEngine

ENGINES: dict[str, type[Engine]] = {e.name: e for e in (ScratchEngine, TorchEngine, KerasEngine)}
SCRATCH = ScratchEngine.name  # the engine written by hand
REFERENCE = TorchEngine.name  # its twin and yardstick: parity and speed ratios are scratch / this


def engine_class(name: str) -> type[Engine]:
    """The engine class called `name`; a UserError listing the engines for any other name."""
    try:
        return ENGINES[name]
    except KeyError:
        raise UserError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}.") from None


def available(name: str) -> bool:
    """Whether the engine's library is installed (its `require` passes)."""
    try:
        engine_class(name).require()
    except UserError:
        return False
    return True


def make_engine(spec: ArchSpec | str, engine: str, *, dtype=np.float32, **options) -> Engine:
    """Build the network of `spec` (an `ArchSpec`, or a built-in model's name, which stands
    for its spec) in `engine` and wrap it with its optimizer.

    Options: seed, optimizer ("sgd" or "adam"), lr, momentum, weight_decay, device (torch only),
    plain (scratch only: no speed rewrites). `dtype` float64 is for the parity checks; training
    runs in float32.
    """
    return engine_class(engine).create(spec, dtype=dtype, **options)


__all__ = [
    "ENGINES",
    "OPTIMIZERS",
    "REFERENCE",
    "SCRATCH",
    "Engine",
    "Inspectable",
    "KerasEngine",
    "ScratchEngine",
    "TorchEngine",
    "Trainable",
    "available",
    "checkpoint_error",
    "engine_class",
    "make_engine",
]
