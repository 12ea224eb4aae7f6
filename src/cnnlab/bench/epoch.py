"""`cnnlab bench --epoch`: whole training epochs of cnn3 on real MNIST in the real loop."""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from cnnlab.bench.settings import BenchSettings
from cnnlab.training.engines import REFERENCE, SCRATCH

EPOCH_MODEL = "cnn3"
EPOCH_ORDER = (SCRATCH, REFERENCE, REFERENCE, SCRATCH)  # ABBA: a steady drift in load cancels


def time_epoch(
    settings: BenchSettings,
    data_dir: str | None,
    images: int | None,
    log=print,
    dataset: str = "mnist",
) -> dict:
    """Training epochs of cnn3 on real MNIST through `train_epoch`, in the order `EPOCH_ORDER`.

    The trainer's path: the splits of `load_splits`, normalized once up front (untimed, as in
    the trainer), then the timed epoch -- seeded shuffling and batching by `iterate_batches`,
    `train_epoch` with the cosine learning rate -- and the validation pass, timed apart. Each
    epoch starts from a fresh model; an engine's time is the mean of its epochs.
    """
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.splits import load_splits

    cfg = TrainConfig(
        model=EPOCH_MODEL,
        batch_size=settings.batch_size,
        seed=settings.seed,
        data_dir=data_dir,
        dataset=dataset,
    ).resolved()
    splits = load_splits(cfg, progress=False)
    # a quick check: fewer training images, and no more validation images than that
    train, val = ((x[:images], y[:images]) for x, y in (splits.train, splits.val))
    runs = []
    for name in EPOCH_ORDER:
        log(f"bench: one epoch of {EPOCH_MODEL} ({len(train[1]):,} images) in {name}")
        runs.append(_one_epoch(cfg, name, train, val))

    def mean(engine: str, key: str) -> float:
        return float(np.mean([run[key] for run in runs if run["engine"] == engine]))

    pair = (SCRATCH, REFERENCE)
    fit = {e: mean(e, "train_seconds") for e in pair}
    whole = {e: fit[e] + mean(e, "validation_seconds") for e in pair}
    return {
        "model": EPOCH_MODEL,
        "images": len(train[1]),
        "batch_size": cfg.batch_size,
        "validation_images": len(val[1]),
        "runs": runs,
        "train_ratio": fit[SCRATCH] / fit[REFERENCE],
        "with_validation_ratio": whole[SCRATCH] / whole[REFERENCE],
    }


def _one_epoch(cfg, engine_name: str, train: tuple, val: tuple) -> dict:
    """One timed training epoch of a fresh model, then its timed validation pass."""
    from cnnlab.data import iterate_batches, num_batches
    from cnnlab.training.engines import make_engine
    from cnnlab.training.loop import loss_and_accuracy, train_epoch
    from cnnlab.training.schedule import learning_rate

    (x_train, y_train), (x_val, y_val) = train, val
    total_steps = num_batches(len(y_train), cfg.batch_size) * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    engine = make_engine(cfg.model, engine_name, seed=cfg.seed, optimizer=cfg.optimizer, lr=cfg.lr)
    start = time.perf_counter()
    batches = iterate_batches(x_train, y_train, cfg.batch_size, seed=cfg.seed, epoch=1)
    result = train_epoch(engine, batches, lr_at, 0)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    _, val_accuracy = loss_and_accuracy(engine, x_val, y_val)
    return {
        "engine": engine_name,
        "train_seconds": train_seconds,
        "validation_seconds": time.perf_counter() - start,
        "train_accuracy": result.accuracy,
        "val_accuracy": val_accuracy,
    }
