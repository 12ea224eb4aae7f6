"""Independent trainings run side by side: in local processes, or on a Dask cluster.

Both paths submit `train_task` (cnnlab.grid.tasks) and install each finished run directory into
`out` on the client as soon as it comes back. A run that fails is reported in one sentence and
the others go on; what failed never lands in `out`.

Ctrl-C or SIGTERM stops the whole grid: the local worker processes (each in its own process
group, so only this process decides) are asked to stop after their current step, and what they
return is installed as an unfinished run whose checkpoint `cnnlab run` continues; a second
Ctrl-C kills them. No worker outlives this process: one whose parent dies gets SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.grid.tasks import RunFiles, install_run, train_task
from cnnlab.processes import (
    interrupt,
    kill_all,
    pool_processes,
    process_pool,
    sigterm_interrupts,
    worker_setup,
)

CONNECT_TIMEOUT_S = 10  # how long to wait for a Dask scheduler before giving up
# [tcp|tls|ws|wss|ucx://]HOST:PORT, HOST a name, an IPv4 address or an [IPv6] address
SCHEDULER_ADDRESS = re.compile(r"((tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})")
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
    except (Exception, KeyboardInterrupt) as err:  # what a worker raised, or its death
        result.failed[task.name] = f"{task.label} failed: {_reason(err)}."
        log(f"{task.label}: FAILED ({_reason(err)})")
        return
    result.installed[task.name] = install_run(out, task.name, files)
    log(f"{task.label}: finished, {len(files)} files written to {out / task.name}")


def run_in_processes(tasks: list[GridTask], workers: int, out: Path, log: Callable) -> GridResult:
    """`tasks` in `workers` local processes (forkserver: no copy of the parent's threads)."""
    result = GridResult()
    pool = process_pool(workers, _worker_setup)
    futures = {}
    try:
        with sigterm_interrupts():
            futures = {pool.submit(train_task, t.config, t.files): t for t in tasks}
            for task in tasks:
                log(f"{task.label}: queued for one of {workers} processes")
            for future in as_completed(futures):
                _collect(future.result, futures[future], out, result, log)
    except KeyboardInterrupt:
        _stop_pool(pool, futures, out, result, log)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return result


def _worker_setup(parent: int) -> None:
    """In each worker process: `processes.worker_setup` (its own process group, so that a
    terminal's Ctrl-C reaches only the parent, which stops the workers in order; SIGTERM when
    its parent dies), and SIGTERM as a stop request before training has installed its own
    handler."""
    worker_setup(parent)
    signal.signal(signal.SIGTERM, interrupt)
    # A stopped training's own message names the worker's temporary folder, which is gone
    # by the time anyone reads it; the parent says where each checkpoint really is.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the worker's stderr until it exits)


def _stop_pool(pool, futures: dict, out: Path, result: GridResult, log: Callable) -> None:
    """Cancel what has not started, ask every worker to stop after its current step, and
    install what they return (unfinished runs with their checkpoints); a second Ctrl-C kills
    the workers at once."""
    processes = pool_processes(pool)
    running = [f for f in futures if not f.cancel() and not f.done()]
    try:
        with sigterm_interrupts():
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
            for future in as_completed(running):
                with contextlib.suppress(Exception):
                    _collect(future.result, futures[future], out, result, log)
    except KeyboardInterrupt:
        kill_all(processes)
    stopped = [str(out / name) for name in result.installed if not _complete(out / name)]
    where = f"checkpoints kept in {', '.join(stopped)}" if stopped else "no checkpoint kept"
    print(
        f"cnnlab: grid stopped: {len(result.installed)} run(s) installed, {where}; run the same "
        "command again to continue.",
        file=sys.stderr,
    )


def _complete(run_dir: Path) -> bool:
    from cnnlab.rundir import RunDir

    return bool(RunDir(run_dir).status().get("complete"))


def check_scheduler(address: str) -> None:
    """One sentence, at once, for a --scheduler that is not an address (Dask's client would
    spend 20 s failing on it, then print a traceback)."""
    match = SCHEDULER_ADDRESS.fullmatch(address)
    if match is None or not 0 < int(match.group(4)) < 65536:
        raise UserError(
            f"--scheduler {address!r} is not a scheduler address; give tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:8786."
        )


def _dask_client(scheduler: str):
    check_scheduler(scheduler)
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
        with sigterm_interrupts():
            for future in dask_completed(list(futures), loop=client.loop):
                _collect(future.result, futures[future], out, result, log)
    except KeyboardInterrupt:
        client.cancel(list(futures))  # a task already running finishes there, unused
        print(
            f"cnnlab: grid stopped: the trainings left on {scheduler} were cancelled; "
            f"{len(result.installed)} finished run(s) are in {out}; run the same command "
            "again to train the rest.",
            file=sys.stderr,
        )
        raise
    finally:
        client.close()
    return result
