"""Atomic file writes: a temporary file beside the target, then `os.replace`.

A reader never sees a half-written file, and an interrupted write leaves the old file intact.
A write the operating system refuses (a full disk, a read-only filesystem, `--out` naming a
file) becomes one `UserError` sentence naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cnnlab.errors import UserError
from cnnlab.failpoints import failpoint


def _default_mode() -> int:
    # mkstemp creates files readable by the owner only; give the final file the permissions an
    # ordinary `open()` would have (0666 less the umask).
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_mode()


def cannot_write(path: str | os.PathLike, err: OSError) -> UserError:
    """The one sentence for a path the operating system would not let cnnlab write."""
    reason = err.strerror or str(err)
    return UserError(f"cannot write {path}: {reason}.")


def make_dir(path: str | os.PathLike) -> Path:
    """`mkdir -p path`, with a refusal turned into one sentence."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise cannot_write(path, err) from None
    return path


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success it replaces `path`, on error it vanishes."""
    path = Path(path)
    make_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise cannot_write(path, err) from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        failpoint(f"{path.name}:before")  # crash tests: killed with the temporary file written
        os.replace(tmp, path)
        failpoint(f"{path.name}:after")
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise cannot_write(path, err) from None
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
