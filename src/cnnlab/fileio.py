"""Atomic file writes: a temporary file beside the target, then `os.replace`.

A reader never sees a half-written file, and an interrupted write leaves the old file intact.
A write the operating system refuses (a full disk, a read-only filesystem, `--out` naming a
file) becomes one `UserError` sentence naming the path and the reason.

Nothing here follows a symbolic link into someone else's file: the temporary file is created
with O_EXCL and renamed over the target (a link there is replaced, never written through), and
`remove_file` looks at the entry itself (`lstat`) before it unlinks it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
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


def is_symlink(path: str | os.PathLike) -> bool:
    """Whether the entry at `path` itself is a symbolic link (it is never followed)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def refuse_symlink(path: str | os.PathLike) -> None:
    """One sentence when `path` is a symbolic link: cnnlab never writes or deletes through one."""
    if is_symlink(path):
        raise UserError(
            f"{path} is a symbolic link; cnnlab does not write or delete through links: "
            "remove the link (or give the real path), then try again."
        )


def refuse_not_a_file(path: str | os.PathLike) -> None:
    """One sentence when `path` exists and is a directory or another non-file (FIFO, device)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise cannot_write(path, err) from None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise UserError(
            f"{path} is {_kind(mode)}, not a file cnnlab wrote; move it away, then try again "
            "(nothing was changed)."
        )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    return "a special file"


def remove_file(path: str | os.PathLike) -> None:
    """Unlink the entry at `path` (a link itself, never its target); a directory is refused."""
    refuse_not_a_file(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise cannot_write(path, err) from None


def require_regular_file(path: str | os.PathLike, what: str) -> None:
    """One sentence when `path` exists but is no regular file (a FIFO would block a reader
    forever, a device never ends); a missing path is left to the caller's own sentence."""
    try:
        mode = os.stat(path).st_mode  # a link to a regular file reads like the file
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise UserError(f"{path} is {_kind(mode)}, not a regular file; give {what}.")


def exchange_paths(a: str | os.PathLike, b: str | os.PathLike) -> None:
    """Swap two directory entries of one filesystem atomically (Linux `renameat2` with
    RENAME_EXCHANGE); where that call is missing, three renames (not atomic, same result)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd, rename_exchange = -100, 2
    if renameat2 is not None:
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):
            raise cannot_write(b, OSError(code, os.strerror(code)))
    parked = f"{a}.exchange"
    try:
        os.replace(b, parked)
        os.replace(a, b)
        os.replace(parked, a)
    except OSError as err:
        raise cannot_write(b, err) from None


def open_append(path: str | os.PathLike) -> IO[str]:
    """A text file opened for appending (created if missing), never through a link put in
    its place (O_NOFOLLOW): a link there is refused with one sentence."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, _FILE_MODE)
    except OSError as err:
        refuse_symlink(path)
        raise cannot_write(path, err) from None
    return os.fdopen(fd, "a", encoding="utf-8")
