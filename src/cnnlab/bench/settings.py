"""What one `cnnlab bench` run measures: its settings, checked, and the engines that can run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cnnlab.errors import UserError
from cnnlab.models import MODEL_NAMES
from cnnlab.models.layers import conv2d
from cnnlab.training.engines import ENGINES, SCRATCH, KerasEngine, engine_class

DEFAULT_ENGINES = tuple(ENGINES)
# The targets, scratch / reference (PyTorch), of the speed issue: a CNN's training step, every
# inference and a real CNN epoch at most 1.0; the training step of a network without a conv (an
# MLP, all matrix products) at most 0.8.
TARGET_RATIO = 1.0
MLP_TRAIN_TARGET = 0.8
TURN = {"train": 10, "inference": 2}  # timed calls per engine per turn, after one untimed
MAX_BATCHES = 256  # distinct training batches; a longer run takes them again
# `bench --plain`: the NumPy engine without its speed rewrites, timed as one more engine
PLAIN = f"{SCRATCH}-plain"


@dataclass(frozen=True)
class BenchSettings:
    models: tuple[str, ...] = MODEL_NAMES
    engines: tuple[str, ...] = DEFAULT_ENGINES
    batch_size: int = 64
    steps: int = 50  # timed training steps per engine and model
    warmup: int = 3  # untimed calls per engine before each phase
    inference_batches: int = 10  # timed inference calls per engine and model
    inference_batch_size: int = 1000
    threads: int = 0  # 0: every core
    seed: int = 0
    archs: tuple[tuple[str, str], ...] = ()  # (name in `models`, its architecture string)
    plain: bool = False  # also time PLAIN beside the engines

    def timed_engines(self, engines: Sequence[str]) -> list[str]:
        """The engines each model is timed in: `engines`, and PLAIN after them if asked for."""
        return [*engines, PLAIN] if self.plain and SCRATCH in engines else list(engines)

    def spec(self, model: str):
        """The spec of `model`: a built-in, or one of `archs`."""
        from cnnlab.models import resolve_spec

        return resolve_spec(model, dict(self.archs).get(model))

    def checked(self) -> BenchSettings:
        """A copy with `threads` resolved; raises UserError on a name or number that cannot be."""
        for kind, names, known in (
            ("model", self.models, MODEL_NAMES + tuple(dict(self.archs))),
            ("engine", self.engines, DEFAULT_ENGINES),
        ):
            for name in names:
                if name not in known:
                    raise UserError(f"unknown {kind} {name!r}; choose from {', '.join(known)}.")
        if not self.models or not self.engines:
            raise UserError("--models and --engines each need at least one name.")
        for flag, value, least in (
            ("--batch-size", self.batch_size, 1),
            ("--steps", self.steps, 1),
            ("--warmup", self.warmup, 0),
            ("--inference-batches", self.inference_batches, 1),
            ("--inference-batch-size", self.inference_batch_size, 1),
            ("--threads", self.threads, 0),
        ):
            if value < least:
                raise UserError(f"{flag} must be at least {least}, got {value}.")
        threads = self.threads or os.cpu_count() or 1
        return BenchSettings(**(asdict(self) | {"threads": threads}))


def available_engines(
    requested: Sequence[str], keras_optional: bool
) -> tuple[list[str], list[str]]:
    """(engines to run, notes): Keras is dropped with a note when optional and not importable."""
    engines, notes = [], []
    for name in requested:
        try:
            engine_class(name).require()
        except UserError as err:
            if name != KerasEngine.name or not keras_optional:
                raise
            notes.append(f"{name} left out: {err}")
            continue
        engines.append(name)
    return engines, notes


def target_ratio(spec, phase: str) -> float:
    """The target of scratch / reference for `phase` ("train" or "inference") of `spec`'s net."""
    has_conv = any(layer.kind == conv2d.KIND.name for layer in spec.layers)
    return MLP_TRAIN_TARGET if phase == "train" and not has_conv else TARGET_RATIO
