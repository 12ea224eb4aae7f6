"""Independent computations side by side on this machine's cores.

`map_in_processes(fn, items, workers)` calls `fn(item)` for every item in local worker
processes (forkserver: no copy of the parent's threads) and yields the answers in the items'
order, so the parent writes every file itself, in a fixed order. The work is pure computation:
when the parent stops early (Ctrl-C, an error, a kill) nothing of the workers' is kept, and the
workers are killed at once; a worker whose parent dies gets SIGTERM (Linux), so none outlives
the command.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _worker_setup() -> None:
    """In each worker: its own process group (a terminal's Ctrl-C reaches only the parent,
    which kills the workers), and death with its parent."""
    os.setpgrp()
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def map_in_processes(fn: Callable, items: Sequence, workers: int) -> Iterator:
    """fn(item) for each item, answers in the items' order, in min(workers, len(items))
    processes; with one worker (or one item), in this process. `fn` must be a module-level
    function and items and answers plain data (they are pickled between the processes)."""
    workers = min(workers, len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup)
    try:
        futures = [pool.submit(fn, item) for item in items]
        for future in futures[:-1]:
            yield future.result()
        last = futures[-1].result()
    except BaseException:  # Ctrl-C, an error, or the caller leaving early: stop the workers now
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)  # before the last answer: the caller may not ask for more
    yield last
