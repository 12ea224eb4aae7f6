"""Independent computations side by side on this machine's cores.

`map_in_processes(fn, items, workers)` calls `fn(item)` for every item in local worker
processes (forkserver: no copy of the parent's threads) and yields the answers in the items'
order, so the parent writes every file itself, in a fixed order. The work is pure computation:
when the parent stops early (Ctrl-C or SIGTERM, an error) nothing of the workers' is kept, and
the workers are killed at once. A worker whose parent dies (kill -9) gets SIGTERM from
`watch_parent`, so none outlives the command.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

GRACE_S = 30  # after its parent died, how long a worker may take to stop on SIGTERM


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def watch_parent(parent: int, grace_s: float = GRACE_S) -> None:
    """Make this process stop when process `parent` ends: SIGTERM to itself (its handler may
    stop its work in order), then, `grace_s` later, its end. A forkserver's worker is not the
    child of the process that asked for it, and keeps the forkserver alive, so neither the
    kernel's parent-death signal nor a closed pipe would tell it."""

    def watch() -> None:
        _wait_for_exit(parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)

    threading.Thread(target=watch, name="cnnlab-parent-watch", daemon=True).start()


def _wait_for_exit(pid: int) -> None:
    """Return when process `pid` has ended (at once when it already has)."""
    try:
        fd = os.pidfd_open(pid)  # Linux 5.3+: readable when the process ends
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # elsewhere: ask once a second
        while _exists(pid):
            time.sleep(1.0)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_setup(parent: int) -> None:
    """In each worker: its own process group (a terminal's Ctrl-C reaches only the parent,
    which kills the workers), and an end when its parent ends."""
    os.setpgrp()
    watch_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interrupt(signum, frame) -> None:
    """A signal handler: the signal stops the work the way Ctrl-C does."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM stops the work the way Ctrl-C does (as KeyboardInterrupt in this thread, so the
    workers are stopped in order); only the main thread may set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def process_pool(workers: int, setup: Callable[[int], None] = worker_setup):
    """`workers` local processes (forkserver: no copy of the parent's threads), each running
    `setup(this process's PID)` first; a `setup` of one's own must call `worker_setup`."""
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=setup, initargs=(os.getpid(),)
    )


def pool_processes(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes now (the executor keeps no public list of them)."""
    return list(getattr(pool, "_processes", {}).values())


def kill_all(processes: list) -> None:
    """SIGKILL each of `processes` still there."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def map_in_processes(fn: Callable, items: Sequence, workers: int) -> Iterator:
    """fn(item) for each item, answers in the items' order, in min(workers, len(items))
    processes; with one worker (or one item), in this process. `fn` must be a module-level
    function and items and answers plain data (they are pickled between the processes)."""
    workers = min(workers, len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    pool = process_pool(workers)
    try:
        futures = [pool.submit(fn, item) for item in items]
        for future in futures[:-1]:
            with sigterm_interrupts():
                answer = future.result()
            yield answer
        with sigterm_interrupts():
            last = futures[-1].result()
    except BaseException:  # Ctrl-C, an error, or the caller leaving early: stop the workers now
        kill_all(pool_processes(pool))
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)  # before the last answer: the caller may not ask for more
    yield last
