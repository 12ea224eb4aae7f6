"""`train(config)`: one run from data to checkpoint, resumable, for any engine."""

from __future__ import annotations

import contextlib
import itertools
import signal
import threading
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

from cnnlab.data import iterate_batches, num_batches
from cnnlab.data.source import check_fits, check_same_data, folder_options, shape_and_classes
from cnnlab.errors import UserError
from cnnlab.models import resolve_spec
from cnnlab.models.shapes import parameter_count, summary_markdown
from cnnlab.provenance import library_versions, now_iso
from cnnlab.rundir import CONFIG, RunDir
from cnnlab.text import count_noun
from cnnlab.training.config import TrainConfig
from cnnlab.training.engines import Engine, engine_class, make_engine
from cnnlab.training.leftovers import remove_leftovers
from cnnlab.training.loop import (
    DivergedError,
    DivergenceWatch,
    check_validation,
    loss_and_accuracy,
    train_epoch,
)
from cnnlab.training.run_settings import check_resume, thread_change
from cnnlab.training.schedule import learning_rate
from cnnlab.training.size_limits import check_size
from cnnlab.training.splits import Splits, load_splits
from cnnlab.training.tracking import Position, RunLog, write_status


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


def _resumed(run: RunDir, cfg: TrainConfig, given: set[str]) -> TrainConfig:
    """The saved run's config, with `epochs` raised when asked, the machine options (device,
    data directory) taken from `cfg`, and the thread count kept unless `--threads` was given
    (see `run_settings`); a given setting that contradicts the saved run is refused."""
    saved_values = run.config()
    check_resume(saved_values, cfg, given, run.path / CONFIG)
    saved = TrainConfig.from_dict(saved_values)
    if "epochs" in given and cfg.epochs > saved.epochs:
        saved.epochs = cfg.epochs
    if "threads" in given or saved.threads < 1:
        saved.threads = cfg.threads
    saved.device, saved.data_dir = cfg.device, cfg.data_dir
    saved.allow_big = saved.allow_big or cfg.allow_big
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
        "parameters": parameter_count(run_spec(cfg)),
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
        remove_leftovers(run.path)  # of a command killed earlier
        try:
            _train_locked(run, cfg, resume, force, quiet, given)
        except MemoryError:
            if created:
                run.remove_if_useless()
            raise UserError(
                f"training {cfg.model} ran out of memory; lower --batch-size or choose a "
                "smaller network (the last checkpoint, if any, is kept)."
            ) from None
        except BaseException:
            if created:
                run.remove_if_useless()  # a failed first try leaves no empty run directory
            raise
    return run.path


def run_spec(cfg: TrainConfig):
    """The network of `cfg` for its data set's images and classes; one sentence when it does
    not fit them."""
    shape, classes = shape_and_classes(cfg.dataset, folder_options(cfg))
    spec = resolve_spec(cfg.model, cfg.arch, shape, classes)
    check_fits(spec, classes, cfg.dataset)
    return spec


def _train_locked(run: RunDir, cfg: TrainConfig, resume, force, quiet, given) -> None:
    cfg = _prepare(run, cfg, resume, force, given)
    spec = run_spec(cfg)
    check_size(spec, cfg.batch_size, cfg.allow_big)  # before any weight is allocated
    with engine_class(cfg.engine).threads(cfg.threads):
        engine = make_engine(
            spec,
            cfg.engine,
            seed=cfg.seed,
            optimizer=cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            device=cfg.device,
            **({"plain": True} if cfg.plain else {}),  # the NumPy engine's option
        )
        if resume:
            position = Position.from_dict(engine.load(run.path / engine.checkpoint_name))
            if _nothing_to_do(run, cfg, position):
                return
            _record_resume(run, cfg, position)
        splits = load_splits(cfg, progress=not quiet)
        if resume:  # the weights were trained on the saved data: refuse any other
            check_same_data(run.config(), splits.mnist)
        if not resume:
            position = Position()
            run.write_config(_config_record(cfg, engine, splits))
        position = _fit(cfg, engine, run, position, resume, splits, quiet)
        test_loss, test_accuracy = loss_and_accuracy(engine, *splits.test)
    # "complete" only now: a kill before this line leaves a run that --resume finishes
    write_status(
        run, position, cfg.epochs, complete=True, test_loss=test_loss, test_accuracy=test_accuracy
    )


def _nothing_to_do(run: RunDir, cfg: TrainConfig, position: Position) -> bool:
    """Whether a resumed run is finished already (it says so); a run whose last epoch is
    trained but whose test figures were never written is not: the resume finishes it."""
    status = run.status()
    if position.epoch < cfg.epochs or not status["complete"] or "test_accuracy" not in status:
        return False
    print(
        f"{run.path} is finished ({count_noun(position.epoch, 'epoch')}); nothing to do. "
        f"To train it further, add --epochs {position.epoch + 1} or more.",
        flush=True,
    )
    return True


def _record_resume(run: RunDir, cfg: TrainConfig, position: Position) -> None:
    """config.json says what the resumed run trains to: more epochs, another thread count.
    The status goes first, so a kill in between never leaves a "complete" run that its config
    says has epochs to go."""
    saved = run.config()
    update = thread_change(saved, cfg.threads, position.step) or {}
    if cfg.epochs != saved["epochs"]:
        update["epochs"] = cfg.epochs
        write_status(run, position, cfg.epochs)
    if update:
        run.write_config(saved | update)


def _steps_per_epoch(cfg: TrainConfig, spec, images: int) -> int:
    """Batches trained per epoch. A net with BatchNorm skips a last batch of one image:
    training-mode batch statistics of one value per channel are undefined (PyTorch raises),
    so both engines drop that one image from the epoch, in every epoch alike."""
    steps = num_batches(images, cfg.batch_size)
    has_batchnorm = any(layer.kind.startswith("BatchNorm") for layer in spec.layers)
    if has_batchnorm and images % cfg.batch_size == 1 and steps > 1:
        steps -= 1
    return steps


def _fit(cfg, engine: Engine, run: RunDir, position: Position, resuming, splits, quiet):
    """Train from `position` to the last epoch, checkpointing after every epoch and on a stop;
    returns where training ends. Each epoch's record is flushed before its checkpoint."""
    spec = run_spec(cfg)
    steps_per_epoch = _steps_per_epoch(cfg, spec, len(splits.train[1]))
    total_steps = steps_per_epoch * cfg.epochs
    lr_at = partial(learning_rate, cfg.lr_schedule, cfg.lr, total_steps=total_steps)
    checkpoint, stop = run.path / engine.checkpoint_name, StopRequest()
    watch = DivergenceWatch(position.first_loss)
    summary = summary_markdown(spec)
    with (
        RunLog(run, cfg.epochs, position if resuming else None, quiet, summary) as log,
        stop.installed(),
    ):
        for epoch in range(position.epoch + 1, cfg.epochs + 1):
            start_batch, started = position.batch, time.perf_counter()
            log.begin_epoch(epoch, steps_per_epoch, start_batch)
            batches = iterate_batches(
                *splits.train, cfg.batch_size, seed=cfg.seed, epoch=epoch, start_batch=start_batch
            )
            batches = itertools.islice(batches, steps_per_epoch - start_batch)

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
                log.metrics.flush()
                engine.save(checkpoint, here.as_dict())
                log.stopped(here, total_steps)
                raise KeyboardInterrupt
            validation = loss_and_accuracy(engine, *splits.val)
            with _explained(position, run):
                check_validation(validation[1], position.best_val_accuracy)
            seconds = position.epoch_seconds + time.perf_counter() - started
            position = position.finished(epoch, step, seconds, watch.first_loss, validation[1])
            record = log.epoch_record(position, result, validation, lr_at(step - 1), seconds)
            engine.save(checkpoint, position.as_dict())
            log.epoch(position, record)
    return position


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
