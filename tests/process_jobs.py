"""Module-level functions for tests/test_processes.py: a worker process imports them by name."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_when_two(folder: str) -> tuple[str, int]:
    """(folder, this process's ID), once two processes have written theirs into `folder` (or
    after 30 s): one worker alone cannot finish the first two jobs quickly."""
    Path(folder, str(os.getpid())).touch()
    for _ in range(600):
        if len(os.listdir(folder)) >= 2:
            break
        time.sleep(0.05)
    return folder, os.getpid()


def fail_or_wait(job: tuple[str, str]) -> int:
    """job = (what, pid file). `wait`: writes its PID to the file, sleeps 20 s (the test stops it
    long before) and then writes `finished` beside it; `fail`: raises once the waiting job has
    started."""
    what, pid_file = job
    if what == "wait":
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(20)
        Path(pid_file).with_name("finished").touch()
        return os.getpid()
    for _ in range(200):
        if Path(pid_file).exists():
            break
        time.sleep(0.05)
    raise ValueError("this job fails")
