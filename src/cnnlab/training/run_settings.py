"""The settings that shape a run: one list, read by `train --resume` and by `cnnlab run`.

A run directory's weights are a function of these settings (and of the thread count, see
below). Resuming a run and reusing a finished one both compare the same list against the
saved config.json, so the two can no longer drift apart.

- Resume (`train --resume`): an option given on the command line counts as given whatever its
  value (`--seed 0` on a seed-1 run is refused, never ignored); `--epochs` may grow, and the run
  then continues to the new last epoch.
- Reuse (`cnnlab run`): every setting must match; a finished run with fewer epochs than asked
  for is continued, one with more is refused.
- Threads change the order of floating-point sums, so a run resumed on another thread count is
  no longer bit-identical to an uninterrupted one: a resume without `--threads` keeps the
  saved count, and one with another count is honoured and recorded in config.json
  (`thread_changes`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.training.engines.base import OPTIMIZERS
from cnnlab.training.schedule import SCHEDULES

RUN_SETTINGS = (
    "model",
    "arch",
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
    "dataset",
    "image_size",
    "channels",
    "test_fraction",
    "dry_run",
    "plain",  # the speed rewrites sum float32 in another order: a plain run is another run
)
GROWS = "epochs"  # the one setting a resumed or reused run may raise


def option(key: str) -> str:
    """The command-line spelling of a setting: batch_size -> --batch-size."""
    return "--" + key.replace("_", "-")


def differences(saved: dict[str, Any], wanted: Any, keys=RUN_SETTINGS) -> list[str]:
    """The settings of `keys` whose value in `wanted` (a resolved TrainConfig) is not the saved
    one; `epochs` only when it would shrink. A key an older config lacks is not compared."""
    different = []
    for key in keys:
        if key not in saved or saved[key] == getattr(wanted, key):
            continue
        if key == GROWS and isinstance(saved[key], int) and getattr(wanted, key) > saved[key]:
            continue
        different.append(key)
    return different


def check_resume(saved: dict[str, Any], wanted: Any, given: set[str], config: Path) -> None:
    """A UserError for the first setting given on the command line that contradicts the saved
    run (`wanted`: the resolved TrainConfig of the command line)."""
    for key in differences(saved, wanted, [k for k in RUN_SETTINGS if k in given]):
        flag = option(key)
        shown = "given" if key in ("dry_run", "plain") else getattr(wanted, key)
        raise UserError(
            f"{flag} {shown} differs from the saved run's {saved[key]} in {config}; "
            f"leave {flag} out to continue that run, or add --force to start over."
        )


def check_reuse(saved: dict[str, Any], wanted: Any, run_path: Path) -> bool:
    """For `cnnlab run`: whether the saved run needs more epochs than it has; a UserError when
    any other setting differs."""
    different = differences(saved, wanted)
    if different:
        raise UserError(
            f"{run_path} holds a run with other settings ({', '.join(different)}); "
            "add --force to retrain it, or choose another --out."
        )
    return isinstance(saved.get(GROWS), int) and wanted.epochs > saved[GROWS]


def thread_change(saved: dict[str, Any], threads: int, step: int) -> dict[str, Any] | None:
    """The config.json fields that record a resume on another thread count, or None."""
    before = saved.get("threads")
    if before is None or before == threads:
        return None
    change = {"step": step, "threads_before": before, "threads": threads}
    return {"threads": threads, "thread_changes": [*saved.get("thread_changes", []), change]}


def _at_least(least: int):
    return lambda v: isinstance(v, int) and v >= least, f"a whole number of at least {least}"


def _finite(test, what: str):
    return lambda v: isinstance(v, Real) and math.isfinite(v) and test(v), what


# What each setting may hold: the command line's own checks (commands/options.py), applied to
# a config.json that someone edited, so a bad value is one sentence, not a traceback later.
RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": _at_least(1),
    "batch_size": _at_least(1),
    "seed": _at_least(0),
    "val_size": _at_least(1),
    "threads": _at_least(0),
    "train_size": (
        lambda v: v is None or _at_least(1)[0](v),
        "null (every image) or a whole number of at least 1",
    ),
    "lr": _finite(lambda v: v > 0, "a finite number above 0"),
    "momentum": _finite(lambda v: 0 <= v < 1, "a number from 0 up to but not including 1"),
    "weight_decay": _finite(lambda v: v >= 0, "a finite number of at least 0"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "lr_schedule": (lambda v: v in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
}


def check_ranges(path: Path, config: dict[str, Any]) -> None:
    """A UserError naming config.json and the first setting whose value is out of range."""
    for key, (fits, what) in RANGES.items():
        value = config.get(key)
        if key in config and (isinstance(value, bool) or not fits(value)):
            raise UserError(
                f"{path} has {key} {json.dumps(value)}, which must be {what}; retrain this run "
                "(cnnlab train --force) or restore its config.json."
            )
