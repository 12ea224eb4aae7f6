"""Failpoints: places just before and just after every durable write where a test can kill
the process, the way SQLite's crash tests and etcd's failpoints do.

Every durable write calls `failpoint(f"{name}:before")` and `failpoint(f"{name}:after")`
(or wraps itself in `durable(name)`). Nothing happens unless the environment variable

    CNNLAB_FAILPOINT=NAME:before|after[:COUNT]     e.g. checkpoint.npz:after:2

arms one of them: its COUNT-th hit (default 1) kills this process with SIGKILL, as a power cut
or `kill -9` would, with no cleanup of any kind. The crash tests (tests/test_failpoints*.py)
kill a command at each failpoint, run it again, and compare the result with an uninterrupted
run's. `CNNLAB_FAILPOINT_LOG=FILE` appends the name of every failpoint passed to FILE, which
is how the tests learn the failpoints a command passes, in order.

The names: a file written through `cnnlab.fileio` is its file name (`config.json`,
`checkpoint.npz`, `report.html`); the other durable writes are named in `FAILPOINTS`.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

ENVIRONMENT = "CNNLAB_FAILPOINT"
LOG_ENVIRONMENT = "CNNLAB_FAILPOINT_LOG"
WHEN = ("before", "after")
# The durable writes that do not go through `cnnlab.fileio.atomic_open` (which names each
# by its file): the metrics records appended during training, TensorBoard's event files, the
# run-directory cleanup after a crash, and the grid's install of a finished run.
FAILPOINTS = (
    "metrics.jsonl-append",
    "evaluation.json-removed",
    "tensorboard-events",
    "tensorboard-replace",
    "leftovers-removed",
    "grid-install",
)

_hits: dict[str, int] = {}


def _armed() -> tuple[str, int] | None:
    """(name:when, count) armed by the environment, or None."""
    spec = os.environ.get(ENVIRONMENT, "")
    if not spec:
        return None
    parts = spec.rsplit(":", 2)
    count = 1
    if len(parts) == 3 and parts[2].isdigit():
        count = int(parts[2])
        spec = f"{parts[0]}:{parts[1]}"
    return spec, count


def failpoint(name: str) -> None:
    """Kill this process here when `name` ("config.json:after") is armed and its count is up."""
    log = os.environ.get(LOG_ENVIRONMENT)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def durable(name: str) -> Iterator[None]:
    """The failpoints `name:before` and `name:after` around one durable write."""
    failpoint(f"{name}:before")
    yield
    failpoint(f"{name}:after")
