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
from cnnlab.training.loop import (
    DivergedError,
    DivergenceWatch,
    check_validation,
    loss_and_accuracy,
    train_epoch,
)
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


# Options that shape a run: on --resume, one given that differs from the saved run is refused.
RUN_OPTIONS = (
    "model",
    "engine",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "seed",
    "val_size",
    "train_size",
    "dry_run",
)


def _resumed(run: RunDir, cfg: TrainConfig, given: set[str]) -> TrainConfig:
    """The saved run's config, with `epochs` raised and the machine options (threads, device,
    data directory) taken from `cfg`; a given option that contradicts the saved run refused."""
    saved_values = run.config()
    saved = TrainConfig.from_dict(saved_values)
    for key in sorted(given & set(RUN_OPTIONS)):
        mine, theirs = getattr(cfg, key), saved_values.get(key)
        if key not in saved_values or mine == theirs:
            continue
        if key == "epochs" and isinstance(mine, int) and mine > saved.epochs:
            continue  # continuing a finished run for more epochs is allowed
        option = "--" + key.replace("_", "-")
        raise UserError(
            f"{option} {mine} differs from the saved run's {theirs} in {run.path / 'config.json'}; "
            f"leave {option} out to continue that run, or add --force to start over."
        )
    if "epochs" in given and cfg.epochs > saved.epochs:
        saved.epochs = cfg.epochs
    saved.threads, saved.device, saved.data_dir = cfg.threads, cfg.device, cfg.data_dir
    saved.out, saved.name = cfg.out, cfg.name
    return saved


def _prepare(run: RunDir, cfg: TrainConfig, resume: bool, force: bool, given) -> TrainConfig:
    """The config to train with: `cfg`, or the saved one when resuming. Holds the lock."""
    if resume:
        if not run.has_run():
            raise UserError(
                f"--resume: {run.path} holds no run to continue; leave out --resume to start one."
            )
        checkpoint = run.checkpoint(run.config()["engine"])
        if not checkpoint.is_file():
            raise UserError(
                f"--resume: {run.path} has no {checkpoint.name} to continue from; add --force "
                "(without --resume) to start over."
            )
        return _resumed(run, cfg, given)
    if force and run.has_run():
        run.clear()
    elif run.has_run():
        what = "a finished run" if run.status()["complete"] else "an unfinished run"
        raise UserError(
            f"{run.path} already holds {what}; add --resume to continue it, --force to start "
            "over, or choose another --name."
        )
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
    cfg: TrainConfig,
    *,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    given: set[str] | None = None,
) -> Path:
    """Train one model; returns its run directory. Raises UserError on bad input or divergence.

    `given`: the options the user gave (only those are checked against a resumed run's saved
    config); None means every option of `cfg` that is not None.
    """
    if given is None:
        given = {k for k, v in asdict(cfg).items() if v is not None}
    cfg = cfg.resolved()
    engine_class(cfg.engine).require()
    run = RunDir(Path(cfg.out) / cfg.name)
    run.check_trainable()  # before anything is written there
    created = not run.path.exists()
    with run.lock():
        try:
            _train_locked(run, cfg, resume, force, quiet, given)
        except BaseException:
            if created:
                run.remove_if_useless()  # a failed first try leaves no empty run directory
            raise
    return run.path


def _train_locked(run: RunDir, cfg: TrainConfig, resume, force, quiet, given) -> None:
    cfg = _prepare(run, cfg, resume, force, given)
    splits = load_splits(cfg, progress=not quiet)
    with engine_class(cfg.engine).threads(cfg.threads):
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
        if resume:
            position = Position.from_dict(engine.load(run.path / engine.checkpoint_name))
        else:
            position = Position()
            run.write_config(_config_record(cfg, engine, splits))
        _fit(cfg, engine, run, position, resume, splits, quiet)
        test_loss, test_accuracy = loss_and_accuracy(engine, *splits.test)
    run.write_status(**run.status(), test_loss=test_loss, test_accuracy=test_accuracy)


def _fit(cfg, engine: Engine, run: RunDir, position: Position, resuming, splits, quiet) -> None:
    """Train from `position` to the last epoch, checkpointing after every epoch and on a stop."""
    steps_per_epoch = num_batches(len(splits.train[1]), cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    checkpoint, stop = run.path / engine.checkpoint_name, StopRequest()
    watch = DivergenceWatch(position.first_loss)
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

            with _explained(position, run):
                so_far = position.epoch_so_far()
                result = train_epoch(
                    engine, batches, lr_at, position.step, on_step, stop, watch, so_far
                )
            step = position.step + result.steps
            seconds = position.epoch_seconds + time.perf_counter() - started  # the whole epoch
            if not result.finished:
                here = position.stopped(start_batch, result, seconds, watch.first_loss)
                engine.save(checkpoint, here.as_dict())
                log.stopped(here, total_steps)
                raise KeyboardInterrupt
            validation = loss_and_accuracy(engine, *splits.val)
            with _explained(position, run):
                check_validation(validation[1], position.best_val_accuracy)
            seconds = position.epoch_seconds + time.perf_counter() - started
            position = position.finished(epoch, step, seconds, watch.first_loss, validation[1])
            engine.save(checkpoint, position.as_dict())
            log.epoch(position, result, validation, lr_at(step - 1), seconds)


@contextlib.contextmanager
def _explained(position: Position, run: RunDir):
    """A DivergedError turned into one sentence that says which checkpoint is kept."""
    try:
        yield
    except DivergedError as err:
        done = position.epoch
        kept = f"the checkpoint of epoch {done} is kept" if done else "no checkpoint was written"
        raise UserError(
            f"training diverged: {err} (epoch {done + 1}); {kept} in {run.path}; try a lower --lr."
        ) from None
