"""The closer looks of `cnnlab bench`, both opt-in: `--profile` and `--epoch`.

`--profile`: where a NumPy training step and an inference batch spend their time. Each child of
the model's `Sequential` gets its `forward` and `backward` wrapped in a timer for the duration
of the profile (instance attributes that shadow the class's methods, removed afterwards; the
engine's files are untouched), and so do the loss's forward and backward and the optimizer's
`zero_grad` and `step`. What the engine does around them (mode switches, the accuracy count) is
the row "other". When `DataParallel` splits the batch, the timed layers are those of the
calling thread's chunk, and "other" includes waiting for the other chunks.

`--epoch`: whole training epochs of cnn3 on real MNIST in the real loop, scratch against torch.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np

from cnnlab.bench import BenchSettings, Inputs

OTHER = ("other", "")  # the step's time outside every timed part


@contextlib.contextmanager
def timed_parts(engine) -> Iterator[dict[tuple[str, str], float]]:
    """Seconds per (part, pass) accumulated while inside, e.g. ("conv1", "backward")."""
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    targets = [
        (layer, name, p)
        for name, layer in engine.model.named_children()
        for p in ("forward", "backward")
    ]
    targets += [(engine.loss, "loss", "forward"), (engine.loss, "loss", "backward")]
    targets += [
        (engine.optimizer, "optimizer", "zero_grad"),
        (engine.optimizer, "optimizer", "step"),
    ]
    for obj, part, method in targets:
        setattr(obj, method, _timed(getattr(obj, method), seconds, (part, method)))
    try:
        yield seconds
    finally:
        for obj, _, method in targets:
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

    engine = make_engine(settings.spec(model), "scratch", seed=settings.seed, optimizer="adam")
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


EPOCH_MODEL = "cnn3"
EPOCH_ORDER = ("scratch", "torch", "torch", "scratch")  # ABBA: a steady drift in load cancels


def time_epoch(
    settings: BenchSettings, data_dir: str | None, images: int | None, log=print
) -> dict:
    """Training epochs of cnn3 on real MNIST through `train_epoch`, in the order `EPOCH_ORDER`.

    The trainer's path: the whole split normalized once up front (untimed, as in the trainer),
    then the timed epoch -- seeded shuffling and batching by `iterate_batches`, `train_epoch`
    with the cosine learning rate -- and the validation pass `evaluate`, timed apart. Each
    epoch starts from a fresh model; an engine's time is the mean of its epochs.
    """
    from cnnlab.data import iterate_batches, num_batches
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.engines import make_engine
    from cnnlab.training.loop import loss_and_accuracy, train_epoch
    from cnnlab.training.schedule import learning_rate
    from cnnlab.training.splits import load_splits

    cfg = TrainConfig(
        model=EPOCH_MODEL, batch_size=settings.batch_size, seed=settings.seed, data_dir=data_dir
    )
    cfg = cfg.resolved()
    splits = load_splits(cfg, progress=False)
    # a quick check: fewer training images, and no more validation images than that
    (x_train, y_train), (x_val, y_val) = (
        (x[:images], y[:images]) for x, y in (splits.train, splits.val)
    )
    total_steps = num_batches(len(y_train), cfg.batch_size) * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    runs = []
    for name in EPOCH_ORDER:
        log(f"bench: one epoch of {EPOCH_MODEL} ({len(y_train):,} images) in {name}")
        engine = make_engine(EPOCH_MODEL, name, seed=cfg.seed, optimizer=cfg.optimizer, lr=cfg.lr)
        start = time.perf_counter()
        batches = iterate_batches(x_train, y_train, cfg.batch_size, seed=cfg.seed, epoch=1)
        result = train_epoch(engine, batches, lr_at, 0)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        _, val_accuracy = loss_and_accuracy(engine, x_val, y_val)
        runs.append(
            {
                "engine": name,
                "train_seconds": train_s,
                "validation_seconds": time.perf_counter() - start,
                "train_accuracy": result.accuracy,
                "val_accuracy": val_accuracy,
            }
        )

    def mean(engine: str, key: str) -> float:
        return float(np.mean([run[key] for run in runs if run["engine"] == engine]))

    train = {e: mean(e, "train_seconds") for e in ("scratch", "torch")}
    whole = {e: train[e] + mean(e, "validation_seconds") for e in ("scratch", "torch")}
    return {
        "model": EPOCH_MODEL,
        "images": len(y_train),
        "batch_size": cfg.batch_size,
        "validation_images": len(y_val),
        "runs": runs,
        "train_ratio": train["scratch"] / train["torch"],
        "with_validation_ratio": whole["scratch"] / whole["torch"],
    }
