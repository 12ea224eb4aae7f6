"""`train(config)`: one run from data to checkpoint, resumable, for any engine."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

from cnnlab.data import iterate_batches, num_batches
from cnnlab.errors import UserError
from cnnlab.models import resolve_spec
from cnnlab.models.shapes import parameter_count, summary_markdown
from cnnlab.rundir import RunDir, library_versions, now_iso
from cnnlab.training.config import TrainConfig
from cnnlab.training.engines import Engine, engine_class, make_engine
from cnnlab.training.loop import DivergedError, loss_and_accuracy, train_epoch
from cnnlab.training.schedule import learning_rate
from cnnlab.training.splits import Splits, load_splits
from cnnlab.training.tracking import Position, RunLog


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


def _prepare(run: RunDir, cfg: TrainConfig, resume: bool, force: bool) -> TrainConfig:
    """The config to train with: `cfg`, or the saved one when resuming."""
    if force and run.has_run():
        run.clear()
    elif resume and run.has_run():
        saved = TrainConfig.from_dict(run.config())
        if cfg.epochs is not None and cfg.epochs > saved.epochs:
            saved.epochs = cfg.epochs  # continuing a finished run for more epochs is allowed
        return saved
    elif run.has_run():
        what = "a finished run" if run.status()["complete"] else "an unfinished run"
        raise UserError(
            f"{run.path} already holds {what}; add --resume to continue it, --force to start "
            "over, or choose another --name."
        )
    run.path.mkdir(parents=True, exist_ok=True)
    return cfg


def _config_record(cfg: TrainConfig, engine: Engine, splits: Splits) -> dict:
    return asdict(cfg) | {
        "device": str(engine.device),
        "parameters": parameter_count(resolve_spec(cfg.model, cfg.arch)),
        "data": splits.record(),
        "versions": library_versions(),
        "created": now_iso(),
    }


def train(
    cfg: TrainConfig, *, resume: bool = False, force: bool = False, quiet: bool = False
) -> Path:
    """Train one model; returns its run directory. Raises UserError on bad input or divergence."""
    cfg = cfg.resolved()
    engine_cls = engine_class(cfg.engine)
    engine_cls.require()
    run = RunDir(Path(cfg.out) / cfg.name)
    cfg = _prepare(run, cfg, resume, force)
    splits = load_splits(cfg, progress=not quiet)
    with engine_cls.threads(cfg.threads):
        engine = make_engine(
            resolve_spec(cfg.model, cfg.arch),
            cfg.engine,
            seed=cfg.seed,
            optimizer=cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            device=cfg.device,
        )
        checkpoint = run.path / engine.checkpoint_name
        resuming = resume and checkpoint.exists()
        if resuming:
            position = Position.from_dict(engine.load(checkpoint))
        else:
            position = Position()
            run.write_config(_config_record(cfg, engine, splits))
        _fit(cfg, engine, run, position, resuming, splits, quiet)
        test_loss, test_accuracy = loss_and_accuracy(engine, *splits.test)
    run.write_status(**run.status(), test_loss=test_loss, test_accuracy=test_accuracy)
    return run.path


def _fit(cfg, engine: Engine, run: RunDir, position: Position, resuming, splits, quiet) -> None:
    """Train from `position` to the last epoch, checkpointing after every epoch and on a stop."""
    steps_per_epoch = num_batches(len(splits.train[1]), cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    checkpoint, stop = run.path / engine.checkpoint_name, StopRequest()
    with RunLog(run, cfg.epochs, position if resuming else None, quiet) as log, stop.installed():
        if not resuming:
            log.tb.text("model/summary", summary_markdown(resolve_spec(cfg.model, cfg.arch)))
        for epoch in range(position.epoch + 1, cfg.epochs + 1):
            start_batch, started = position.batch, time.perf_counter()
            log.begin_epoch(epoch, steps_per_epoch, start_batch)
            batches = iterate_batches(
                *splits.train, cfg.batch_size, seed=cfg.seed, epoch=epoch, start_batch=start_batch
            )

            def on_step(step, loss, correct, size, epoch=epoch):
                log.step(epoch, step, loss, correct, size, lr_at(step - 1))

            result = _train_or_explain(engine, batches, lr_at, position, on_step, stop, run)
            step, seconds = position.step + result.steps, time.perf_counter() - started
            if not result.finished:
                here = Position(epoch - 1, start_batch + result.steps, step, position.seconds)
                here.seconds += seconds
                engine.save(checkpoint, here.as_dict())
                log.stopped(here, total_steps)
                raise KeyboardInterrupt
            validation = loss_and_accuracy(engine, *splits.val)
            seconds = time.perf_counter() - started
            position = Position(epoch, 0, step, position.seconds + seconds)
            engine.save(checkpoint, position.as_dict())
            log.epoch(position, result, validation, lr_at(step - 1), seconds)


def _train_or_explain(engine, batches, lr_at, position, on_step, stop, run):
    """`train_epoch`, with a diverging loss turned into one sentence for the user."""
    try:
        return train_epoch(engine, batches, lr_at, position.step, on_step, stop)
    except DivergedError as err:
        done = position.epoch
        kept = f"the checkpoint of epoch {done} is kept" if done else "no checkpoint was written"
        raise UserError(
            f"training diverged: {err} (epoch {done + 1}); {kept} in {run.path}; try a lower --lr."
        ) from None
