"""`cnnlab bench --profile`: where a NumPy training step and an inference batch spend their time.

Each step the engine runs (a layer of the model's `Sequential`, or a conv and its max-pool fused
into one, `conv1+pool1`) gets its `forward` and `backward` wrapped in a timer for
the duration of the profile (instance attributes that shadow the class's methods, removed
afterwards; the engine's files are untouched), and so do the loss (its values and gradient, one
call per chunk) and the optimizer's `zero_grad` and `step`. What the engine does around them
(mode switches, the accuracy count) is the row "other". When `DataParallel` splits the batch,
the timed layers are those of the calling thread's chunk, and "other" includes waiting for the
other chunks.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import numpy as np

from cnnlab.bench.inputs import Inputs
from cnnlab.bench.settings import BenchSettings
from cnnlab.training.engines import SCRATCH

OTHER = ("other", "")  # the step's time outside every timed part


@contextlib.contextmanager
def timed_parts(engine) -> Iterator[dict[tuple[str, str], float]]:
    """Seconds per (part, pass) accumulated while inside, e.g. ("conv1", "backward")."""
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    # The steps in the order the engine runs them: a layer, or a conv and its pool fused
    # into one step ("conv1+pool1", see `cnnlab.scratch.fused`).
    steps = getattr(engine.model, "order", None) or list(engine.model.named_children())
    targets = [(layer, name, p, p) for name, layer in steps for p in ("forward", "backward")]
    # A training step computes the loss and its gradient in one call, inside each chunk.
    targets += [
        (engine.loss, "loss", "losses_and_grad", "forward+backward"),
        (engine.optimizer, "optimizer", "zero_grad", "zero_grad"),
        (engine.optimizer, "optimizer", "step", "step"),
    ]
    for obj, part, method, shown in targets:
        setattr(obj, method, _timed(getattr(obj, method), seconds, (part, shown)))
    try:
        yield seconds
    finally:
        for obj, _, method, _ in targets:
            delattr(obj, method)  # the class's method shows through again


def _timed(method: Callable, seconds: dict, key: tuple[str, str]) -> Callable:
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds[key] += time.perf_counter() - start

    return timed


def profile_calls(engine, call: Callable[[], object], calls: int) -> dict:
    """Median ms per part over `calls` calls, largest first, with % of the median whole call."""
    per_call: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals = []
    with timed_parts(engine) as seconds:
        for _ in range(calls):
            seconds.clear()
            start = time.perf_counter()
            call()
            totals.append(time.perf_counter() - start)
            for key, value in seconds.items():
                per_call[key].append(value)
            per_call[OTHER].append(totals[-1] - sum(seconds.values()))
    total_ms = 1e3 * float(np.median(totals))
    rows = [
        {"part": part, "pass": method, "ms": 1e3 * float(np.median(values))}
        for (part, method), values in per_call.items()
    ]
    for row in rows:
        row["ms"] = max(row["ms"], 0.0)
        row["percent"] = 100 * row["ms"] / total_ms
    rows.sort(key=lambda row: -row["ms"])
    return {"calls": calls, "median_ms": total_ms, "rows": rows}


def profile_model(model: str, settings: BenchSettings, inputs: Inputs) -> dict:
    """The per-part profile of the scratch `model`: a training step, and an inference batch."""
    from cnnlab.training.engines import make_engine

    engine = make_engine(settings.spec(model), SCRATCH, seed=settings.seed, optimizer="adam")
    batches = itertools.cycle(inputs.batches)
    # At least one untimed call each: it makes DataParallel's replicas before the timers go on,
    # so only the calling thread's chunk (the model itself) is timed, never a replica.
    for _ in range(max(settings.warmup, 1)):
        engine.train_step(*next(batches))
        engine.logits(inputs.images)
    train = profile_calls(engine, lambda: engine.train_step(*next(batches)), settings.steps)
    infer = profile_calls(engine, lambda: engine.logits(inputs.images), settings.inference_batches)
    out = {"model": model}
    for phase, result, images in (
        ("train", train, settings.batch_size),
        ("inference", infer, len(inputs.images)),
    ):
        chunks = engine.parallel.chunks_for(images)
        out[phase] = result | {"images": images, "chunks": chunks, "chunk_images": images // chunks}
    return out
