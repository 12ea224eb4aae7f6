"""One writer per run directory: an exclusive `fcntl.flock` on `RUN_DIR/.cnnlab.lock`.

`train`, `evaluate`, `cam` (and `predict --cam` while it writes into the run) hold the lock
for as long as they write. The lock belongs to the open file, so the kernel releases it when
the process ends in any way, SIGKILL included: a lock is never stale. The file holds the
holder's PID, only to name it in the message a second process gets. It is opened with
O_NOFOLLOW: a symbolic link in its place (to someone's file) is refused, never written through.
When a finished grid run is installed in place of the directory (`replace_held`), the lock
moves with it: the process holds the lock file of the directory that is there afterwards.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.fileio import cannot_write, exchange_paths, make_dir

LOCK = ".cnnlab.lock"
# Run directories this process holds (resolved path -> lock file descriptor): `cnnlab run`
# locks every run up front and then trains and evaluates them, which take the lock again.
_HELD: dict[Path, int] = {}


class RunBusyError(UserError):
    """Another process holds the run directory's lock."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path, self.holder = path, holder
        super().__init__(
            f"{path} is in use by another cnnlab process (PID {holder}); wait for it to "
            "finish, or stop that process, then try again."
        )


def _acquire(path: Path) -> int:
    """The open, locked lock file of run directory `path`; RunBusyError when it is taken."""
    lock_path = path / LOCK
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(lock_path, flags, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UserError(
                f"{lock_path} is a symbolic link; cnnlab will not write its lock file through "
                "it: remove the link, then try again."
            ) from None
        raise cannot_write(lock_path, err) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UserError(
            f"{lock_path} is not a regular file; cnnlab keeps its lock there: move it away, "
            "then try again."
        )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise RunBusyError(path, holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _only_lock_left(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return [p.name for p in path.iterdir()] == [LOCK]
    return False


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold run directory `path` (created if needed) for this process, or raise RunBusyError.

    Re-entrant within one process. A directory this call created and left holding nothing but
    the lock file is removed again on the way out.
    """
    path = Path(path)
    created = not path.exists()
    make_dir(path)
    key = path.resolve()
    if key in _HELD:
        yield
        return
    _HELD[key] = _acquire(path)
    try:
        yield
    finally:
        fd = _HELD.pop(key)
        if created and _only_lock_left(path):
            with contextlib.suppress(OSError):
                (path / LOCK).unlink()
                path.rmdir()
        os.close(fd)


@contextlib.contextmanager
def locked_all(paths: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Hold every run directory of `paths`; when any is busy, release them all and raise one
    UserError naming every busy directory and its holder."""
    with contextlib.ExitStack() as stack:
        busy = []
        for path in paths:
            try:
                stack.enter_context(locked(path))
            except RunBusyError as err:
                busy.append(f"{err.path} (PID {err.holder})")
        if busy:
            stack.close()
            raise UserError(
                f"another cnnlab process is using {', '.join(busy)}; nothing was changed; "
                "wait for it to finish, or choose another --out."
            )
        yield


def replace_held(target: Path, staging: Path) -> None:
    """Put directory `staging` in place of run directory `target`, which this process holds
    (`locked`), and move the lock along: `staging`'s own lock file is taken before the two
    directories are exchanged, so at every moment the directory at `target` is held by this
    process, and a second writer can never start on the new one. The old directory is left
    at the staging path, for the caller to remove.
    """
    key = target.resolve()
    if key not in _HELD:
        raise RuntimeError(f"{target} is not held by this process")
    new_fd = _acquire(staging)  # nobody else knows the staging folder: never busy
    try:
        exchange_paths(staging, target)
    except BaseException:
        os.close(new_fd)
        raise
    old_fd, _HELD[key] = _HELD[key], new_fd
    os.close(old_fd)


def _holder(path: Path) -> str | None:
    """The PID holding run directory `path`'s lock, or None when it is free (or no lock file
    exists); looks without creating or writing anything, one file open at a time."""
    try:
        fd = os.open(path / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
    finally:
        os.close(fd)  # releases the shared lock taken just to look
    return None


def refuse_busy(paths: Iterable[str | os.PathLike]) -> None:
    """One UserError naming every directory of `paths` another process holds; nothing is
    created, and no more than one file is open at a time however many paths there are."""
    busy = [f"{p} (PID {h})" for p in map(Path, paths) if (h := _holder(p)) is not None]
    if busy:
        raise UserError(
            f"another cnnlab process is using {', '.join(busy)}; nothing was changed; "
            "wait for it to finish, or choose another --out."
        )
