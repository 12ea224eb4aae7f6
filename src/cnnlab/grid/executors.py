"""Independent trainings run side by side: in local processes, or on a Dask cluster.

Both paths submit `train_task` (cnnlab.grid.tasks) and install each finished run directory into
`out` on the client as soon as it comes back. A run that fails is reported in one sentence and
the others go on; what failed never lands in `out`.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.grid.tasks import RunFiles, install_run, train_task

CONNECT_TIMEOUT_S = 10  # how long to wait for a Dask scheduler before giving up
DASK_RETRIES = 1  # a task whose worker died is run once more on another worker


@dataclass
class GridTask:
    """One training to run: its run directory name, a label for progress, and its inputs."""

    name: str
    label: str
    config: dict  # a TrainConfig as a dict; `out` is ignored (the task trains in a temp dir)
    files: RunFiles = field(default_factory=dict)  # an unfinished run to resume, or nothing


@dataclass
class GridResult:
    installed: dict[str, Path] = field(default_factory=dict)  # name -> run directory in `out`
    failed: dict[str, str] = field(default_factory=dict)  # name -> one sentence


def _reason(err: BaseException) -> str:
    text = str(err).strip().rstrip(".") or type(err).__name__
    return text.splitlines()[0]


def _collect(done, task: GridTask, out: Path, result: GridResult, log: Callable) -> None:
    """Install one finished task's files, or record why it failed."""
    try:
        files = done()
    except Exception as err:  # anything a worker raised, or the worker's death
        result.failed[task.name] = f"{task.label} failed: {_reason(err)}."
        log(f"{task.label}: FAILED ({_reason(err)})")
        return
    result.installed[task.name] = install_run(out, task.name, files)
    log(f"{task.label}: finished, {len(files)} files written to {out / task.name}")


def run_in_processes(tasks: list[GridTask], workers: int, out: Path, log: Callable) -> GridResult:
    """`tasks` in `workers` local processes (forkserver: no copy of the parent's threads)."""
    result = GridResult()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(train_task, t.config, t.files): t for t in tasks}
        for task in tasks:
            log(f"{task.label}: queued for one of {workers} processes")
        for future in as_completed(futures):
            _collect(future.result, futures[future], out, result, log)
    return result


def _dask_client(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            "--scheduler needs Dask: pip install 'cnnlab[cluster]' (or `make install`)."
        ) from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise UserError(
            f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S} s "
            f"({_reason(err)}); start one with `dask scheduler` or check --scheduler."
        ) from None


def run_on_dask(tasks: list[GridTask], scheduler: str, out: Path, log: Callable) -> GridResult:
    """`tasks` on the Dask cluster at `scheduler`; files come back to this machine."""
    from distributed import as_completed as dask_completed

    result = GridResult()
    client = _dask_client(scheduler)
    try:
        futures = {}
        for task in tasks:
            future = client.submit(
                train_task,
                task.config,
                task.files,
                key=f"cnnlab-train-{task.name}-{time.time_ns()}",
                pure=False,
                retries=DASK_RETRIES,
            )
            futures[future] = task
            log(f"{task.label}: submitted to {scheduler}")
        for future in dask_completed(list(futures), loop=client.loop):
            _collect(future.result, futures[future], out, result, log)
    finally:
        client.close()
    return result
