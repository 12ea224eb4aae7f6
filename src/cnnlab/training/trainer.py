"""`train(config)`: one run from data to checkpoint, resumable, for either engine."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np

from cnnlab.data import iterate_batches, load_mnist, normalize, num_batches, split_train_val
from cnnlab.errors import UserError
from cnnlab.fileio import write_json
from cnnlab.models import get_spec
from cnnlab.models.shapes import parameter_count, summary_markdown
from cnnlab.training import run_dir as rd
from cnnlab.training.config import TrainConfig
from cnnlab.training.engines import Engine, make_engine, pick_device
from cnnlab.training.loop import DivergedError, evaluate, train_epoch
from cnnlab.training.schedule import learning_rate
from cnnlab.training.tracking import EpochProgress, MetricsLog, TensorBoardLog

STEP_RECORD_EVERY = 1  # per-step loss records in metrics.jsonl and TensorBoard


class StopRequest:
    """Ctrl-C (or SIGTERM) asks the loop to stop after the current step; a second Ctrl-C kills."""

    def __init__(self):
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def _prepare_run_dir(cfg: TrainConfig, resume: bool, force: bool) -> tuple[Path, TrainConfig]:
    run_dir = Path(cfg.out) / cfg.name
    status = rd.read_status(run_dir)
    has_run = (run_dir / rd.CONFIG_FILE).exists()
    if force and has_run:
        rd.clear_run(run_dir)
    elif resume and has_run:
        saved = TrainConfig.from_dict(rd.read_config(run_dir))
        if cfg.epochs is not None and cfg.epochs > saved.epochs:
            saved.epochs = cfg.epochs  # continuing a finished run for more epochs is allowed
        return run_dir, saved
    elif has_run:
        what = "a finished run" if status.get("complete") else "an unfinished run"
        raise UserError(
            f"{run_dir} already holds {what}; add --resume to continue it, --force to start "
            "over, or choose another --name."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir, cfg


def _load_splits(cfg: TrainConfig, quiet: bool):
    data = load_mnist(cfg.data_dir, progress=not quiet)
    train_idx, val_idx = split_train_val(data.train_labels, cfg.val_size, cfg.seed)
    if cfg.train_size is not None:
        # a seeded subset, so a --train-size run sees the same images every time
        subset = np.random.default_rng([cfg.seed, 1]).permutation(len(train_idx))
        train_idx = np.sort(train_idx[subset[: cfg.train_size]])
    labels = data.train_labels.astype(np.int64)
    split = {
        "train": len(train_idx),
        "val": len(val_idx),
        "test": len(data.test_labels),
        "method": "stratified, seeded",
    }
    return (
        data,
        (normalize(data.train_images[train_idx]), labels[train_idx]),
        (
            normalize(data.train_images[val_idx]),
            labels[val_idx],
        ),
        split,
    )


@contextlib.contextmanager
def _threads(n: int, engine: str):
    from threadpoolctl import threadpool_limits

    if engine in ("torch", "keras"):  # Keras runs on its PyTorch backend
        import torch

        torch.set_num_threads(n)
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def train(
    cfg: TrainConfig, *, resume: bool = False, force: bool = False, quiet: bool = False
) -> Path:
    """Train one model; returns its run directory. Raises UserError on bad input or divergence."""
    cfg = cfg.resolved()
    run_dir, cfg = _prepare_run_dir(cfg, resume, force)
    if cfg.engine == "torch":
        from cnnlab.training.engines import require_torch

        require_torch()
        device = pick_device(cfg.device)
    else:
        device = "cpu"
    data, (x_train, y_train), (x_val, y_val), split = _load_splits(cfg, quiet)
    with _threads(cfg.threads, cfg.engine):
        engine = make_engine(
            cfg.model,
            cfg.engine,
            seed=cfg.seed,
            optimizer=cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            device=device,
        )
        checkpoint = run_dir / engine.checkpoint_name
        position = {"epoch": 0, "batch": 0, "step": 0, "seconds": 0.0}
        resuming = resume and checkpoint.exists()
        if resuming:
            position = engine.load(checkpoint)
        else:
            config = asdict(cfg) | {
                "device": device,
                "parameters": parameter_count(get_spec(cfg.model)),
                "data": {
                    "directory": str(data.directory),
                    "digests": data.digests,
                    "split": split,
                },
                "versions": rd.library_versions(),
                "created": rd.now_iso(),
            }
            write_json(run_dir / rd.CONFIG_FILE, config)
        _fit(cfg, engine, run_dir, position, resuming, (x_train, y_train), (x_val, y_val), quiet)
        test_x, test_y = normalize(data.test_images), data.test_labels.astype(np.int64)
        test_loss, test_acc = evaluate(engine, test_x, test_y)
    status = rd.read_status(run_dir) | {"test_loss": test_loss, "test_accuracy": test_acc}
    rd.write_status(run_dir, **status)
    return run_dir


def _fit(cfg, engine: Engine, run_dir, position, resuming, train_split, val_split, quiet):
    x_train, y_train = train_split
    steps_per_epoch = num_batches(len(y_train), cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    metrics = MetricsLog(run_dir, resume_step=position["step"] if resuming else None)
    tb = TensorBoardLog(run_dir, purge_step=position["step"] + 1 if resuming else None)
    if not resuming:
        tb.text("model/summary", summary_markdown(get_spec(cfg.model)))
    step, seconds = position["step"], position.get("seconds", 0.0)
    stop = StopRequest()
    try:
        with stop.installed():
            for epoch in range(position["epoch"] + 1, cfg.epochs + 1):
                start_batch = position["batch"] if epoch == position["epoch"] + 1 else 0
                progress = EpochProgress(steps_per_epoch, epoch, cfg.epochs, quiet, start_batch)

                def on_step(step, loss, correct, size, epoch=epoch, progress=progress):
                    progress.update(loss, correct, size)
                    if step % STEP_RECORD_EVERY == 0:
                        lr = lr_at(step - 1)
                        metrics.write(
                            {"kind": "step", "epoch": epoch, "step": step, "loss": loss, "lr": lr}
                        )
                        tb.scalar("loss/train", loss, step)
                        tb.scalar("lr", lr, step)

                started = time.perf_counter()
                batches = iterate_batches(
                    x_train,
                    y_train,
                    cfg.batch_size,
                    seed=cfg.seed,
                    epoch=epoch,
                    start_batch=start_batch,
                )
                try:
                    result = train_epoch(engine, batches, lr_at, step, on_step, stop)
                finally:
                    progress.close()
                step += result.steps
                if not result.finished:
                    seconds += time.perf_counter() - started
                    batch = start_batch + result.steps
                    here = {"epoch": epoch - 1, "batch": batch, "step": step, "seconds": seconds}
                    engine.save(run_dir / engine.checkpoint_name, here)
                    _write_status(run_dir, cfg, epoch - 1, seconds, complete=False)
                    metrics.flush()
                    print(
                        f"stopped at step {step} of {total_steps}; checkpoint saved in {run_dir}. "
                        "To continue: `cnnlab train ... --resume` (or run `cnnlab run` again).",
                        file=sys.stderr,
                    )
                    raise KeyboardInterrupt
                val_loss, val_acc = evaluate(engine, *val_split)
                epoch_seconds = time.perf_counter() - started
                seconds += epoch_seconds
                record = {
                    "kind": "epoch",
                    "epoch": epoch,
                    "step": step,
                    "train_loss": result.loss,
                    "train_accuracy": result.accuracy,
                    "val_loss": val_loss,
                    "val_accuracy": val_acc,
                    "lr": lr_at(step - 1),
                    "seconds": epoch_seconds,
                }
                metrics.write(record)
                metrics.flush()
                for tag, key in (
                    ("loss/train_epoch", "train_loss"),
                    ("loss/val", "val_loss"),
                    ("accuracy/train", "train_accuracy"),
                    ("accuracy/val", "val_accuracy"),
                ):
                    tb.scalar(tag, record[key], step)
                tb.flush()
                here = {"epoch": epoch, "batch": 0, "step": step, "seconds": seconds}
                engine.save(run_dir / engine.checkpoint_name, here)
                _write_status(run_dir, cfg, epoch, seconds, complete=epoch == cfg.epochs)
                if not quiet:
                    print(
                        f"epoch {epoch}/{cfg.epochs}: train loss {result.loss:.4f} "
                        f"acc {result.accuracy:.4f} | val loss {val_loss:.4f} acc {val_acc:.4f} "
                        f"| {epoch_seconds:.1f} s",
                        flush=True,
                    )
                position = here
    except DivergedError as err:
        done = position["epoch"]
        kept = f"the checkpoint of epoch {done} is kept" if done else "no checkpoint was written"
        raise UserError(
            f"training diverged: {err} (epoch {position['epoch'] + 1}); {kept} in {run_dir}; "
            "try a lower --lr."
        ) from None
    finally:
        metrics.close()
        tb.close()


def _write_status(run_dir, cfg, epochs_done, seconds, complete):
    rd.write_status(
        run_dir,
        complete=complete,
        epochs_done=epochs_done,
        epochs=cfg.epochs,
        seconds=seconds,
        seconds_per_epoch=seconds / epochs_done if epochs_done else None,
        updated=rd.now_iso(),
    )
