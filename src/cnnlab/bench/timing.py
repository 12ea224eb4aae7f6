"""Timing engines against each other in one process: turns, medians, ratios.

The engines take turns of a few calls each, and the engine that goes first rotates from round
to round, so a burst of load from another process slows every engine alike: the ratios are the
figures to read, the milliseconds are what this machine gave. The first call of every turn is
not timed, because the previous engine's BLAS and OpenMP threads are still spinning
(docs/performance.md, "Why the engines take turns").
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from cnnlab.bench.inputs import Inputs
from cnnlab.bench.machine import memory_supported, peak_rss_growth_mib
from cnnlab.bench.settings import PLAIN, TURN, BenchSettings, target_ratio
from cnnlab.training.engines import REFERENCE, SCRATCH

RATIO_KEY = f"{SCRATCH}_over_{REFERENCE}"  # "scratch_over_torch" in the JSON


def take_turns(
    calls: dict[str, Callable[[], object]], count: int, turn: int
) -> dict[str, list[float]]:
    """Seconds of `count` calls of each engine, in turns of one untimed call and `turn` timed
    ones (the untimed call pays for the previous engine's threads); the first engine rotates."""
    names = list(calls)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(-(-count // turn)):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            calls[name]()
            for _ in range(min(turn, count - r * turn)):
                start = time.perf_counter()
                calls[name]()
                seconds[name].append(time.perf_counter() - start)
    return seconds


def _cycle(engine, batches) -> Callable[[], object]:
    """A training step that takes the next of `batches`, round and round."""
    pending = itertools.cycle(batches)
    return lambda: engine.train_step(*next(pending))


def timed_engine(spec, name: str, seed: int):
    """The engine `name` of the bench, with Adam: one of `ENGINES`, or PLAIN (the NumPy engine
    as `train --plain` runs it)."""
    from cnnlab.training.engines import make_engine

    if name == PLAIN:
        return make_engine(spec, SCRATCH, seed=seed, optimizer="adam", plain=True)
    return make_engine(spec, name, seed=seed, optimizer="adam")


def measure_model(
    model: str, engines: Sequence[str], settings: BenchSettings, inputs: Inputs
) -> list[dict]:
    """One record per (phase, engine): median, quartiles, images/s and peak RSS growth."""

    batches, images = inputs.batches, inputs.images
    spec = settings.spec(model)
    built = {e: timed_engine(spec, e, settings.seed) for e in engines}
    phases = {
        "train": (
            {e: _cycle(built[e], batches) for e in engines},
            settings.steps,
            len(batches[0][1]),
        ),
        "inference": (
            {e: partial(built[e].logits, images) for e in engines},
            settings.inference_batches,
            len(images),
        ),
    }
    track_memory = memory_supported()
    records = []
    for phase, (calls, count, size) in phases.items():
        for call in calls.values():
            for _ in range(settings.warmup):
                call()
        seconds = take_turns(calls, count, TURN[phase])
        for engine in engines:
            memory = peak_rss_growth_mib(calls[engine]) if track_memory else None
            records.append(_record(model, phase, engine, size, seconds[engine], memory))
    return records


def _record(
    model: str, phase: str, engine: str, images: int, seconds: list[float], memory: float | None
) -> dict:
    """One engine's timings of one phase, in milliseconds."""
    q1, median, q3 = (float(v) for v in np.percentile(seconds, [25, 50, 75]))
    return {
        "model": model,
        "phase": phase,
        "engine": engine,
        "images": images,
        "calls": len(seconds),
        "median_ms": 1e3 * median,
        "q1_ms": 1e3 * q1,
        "q3_ms": 1e3 * q3,
        "images_per_second": images / median,
        "peak_rss_growth_mib": memory,
    }


def ratios(records: Sequence[dict], settings: BenchSettings) -> list[dict]:
    """scratch / reference median per (model, phase), where both engines ran, and its target
    (`settings.target_ratio`)."""
    median = {(r["model"], r["phase"], r["engine"]): r["median_ms"] for r in records}
    out = []
    for model, phase, engine in median:
        if engine == SCRATCH and (model, phase, REFERENCE) in median:
            ratio = median[model, phase, SCRATCH] / median[model, phase, REFERENCE]
            target = target_ratio(settings.spec(model), phase)
            out.append(
                {
                    "model": model,
                    "phase": phase,
                    RATIO_KEY: ratio,
                    "target": target,
                    "met": ratio <= target,
                }
            )
    return out
