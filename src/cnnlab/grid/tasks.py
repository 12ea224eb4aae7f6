"""One training as a task that needs no shared filesystem: settings and files in, files out.

`train_task` serves every way of running a grid: a local process pool and a Dask worker call
the very same function. It trains into a temporary directory of the machine it runs on and
returns the finished run directory as {relative path: bytes}; `install_run` writes those files
into `--out` on the client so that the run directory appears whole or not at all. Only cnnlab's
own files travel (`RunDir.owned_files`); a file of the user's in the run directory never leaves
it, and is carried into the new directory when it is installed. The install happens under the
run's lock, and the lock moves to the installed directory (`runlock.replace_held`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from cnnlab.errors import UserError
from cnnlab.failpoints import durable
from cnnlab.fileio import make_dir, refuse_not_a_file, refuse_symlink, write_bytes
from cnnlab.rundir import CONFIG, RunDir
from cnnlab.runlock import LOCK, locked, replace_held

RunFiles = dict[str, bytes]  # relative POSIX path inside a run directory -> file contents


def pack_run(run_dir: Path) -> RunFiles:
    """Every file cnnlab wrote under `run_dir` (cam/ too), keyed by its relative POSIX path;
    links are not followed (a link in cnnlab's place is refused by `owned_files`)."""
    run = RunDir(run_dir)
    files = {}
    for path in run.owned_files():
        refuse_symlink(path)
        refuse_not_a_file(path)
        files[path.relative_to(run.path).as_posix()] = path.read_bytes()
    return files


def _safe_relative(name: str) -> PurePosixPath:
    """`name` as a path that stays inside its run directory; ValueError otherwise."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise ValueError(f"a run file may not leave its run directory: {name!r}")
    return relative


def unpack_run(files: RunFiles, run_dir: Path) -> None:
    """Write `files` under `run_dir` (plain writes: callers stage `run_dir` themselves)."""
    for name, data in files.items():
        path = run_dir / _safe_relative(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def train_task(config: dict, files: RunFiles) -> RunFiles:
    """Train one run described by `config` (a TrainConfig as a dict) and return its files.

    `files` are an unfinished run directory to resume, or empty to start afresh. Runs in a
    process of a pool or on a Dask worker; its imports happen here so a worker loads them once.
    """
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trainer import train

    with tempfile.TemporaryDirectory(prefix="cnnlab-task-") as scratch_dir:
        cfg = TrainConfig.from_dict(config | {"out": scratch_dir})
        run_dir = Path(scratch_dir) / cfg.resolved().name
        unpack_run(_here(files, cfg), run_dir)
        try:
            finished = train(cfg, resume=bool(files), quiet=True)
        except KeyboardInterrupt:  # asked to stop (the grid's SIGTERM): return what is saved
            if not RunDir(run_dir).checkpoint(cfg.engine).is_file():
                raise
            finished = run_dir
        return pack_run(finished)


def _here(files: RunFiles, cfg) -> RunFiles:
    """`files` with the saved config pointing at this machine's data and folder: a resumed run
    trains with its saved settings, and the client's paths may not exist on a worker."""
    if CONFIG not in files:
        return files
    saved = json.loads(files[CONFIG])
    saved |= {"out": cfg.out, "data_dir": cfg.data_dir}
    return files | {CONFIG: json.dumps(saved, indent=2).encode()}


def install_run(out: Path, name: str, files: RunFiles) -> Path:
    """Put `files` into `out/name` whole: staged in a hidden sibling folder, then exchanged
    with `out/name` under its lock (taken here unless this process holds it already).

    An existing `out/name` is replaced only when it is empty or cnnlab's run, and only once the
    new folder is complete, with the user's own files carried over: an interruption leaves
    either the old or the new run, and never loses a file cnnlab did not write.
    """
    target, run = out / name, RunDir(out / name)
    refuse_symlink(target)
    run.check_trainable()  # before the lock file is written into someone else's folder
    with locked(target):
        run.check_trainable()  # and again under the lock, now that nobody else writes there
        run.check_links()
        staging = out / f".{name}.incoming-{uuid.uuid4().hex[:8]}"
        try:
            for relative, data in files.items():
                write_bytes(staging / _safe_relative(relative), data)
            make_dir(staging)
            with _carried(run, staging), durable("grid-install"):
                replace_held(target, staging)
        finally:
            if staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging)
    return target


def _user_entries(run: RunDir) -> list[Path]:
    """What the user keeps in the run directory: every entry that is not cnnlab's file, its
    lock, or one of its folders (whose own entries are looked at instead)."""
    owned = set(run.owned_files()) | {run.path / LOCK}
    folders = set(run.subdirs())
    entries, pending = [], [run.path]
    while pending:
        for entry in sorted(pending.pop().iterdir()):
            if entry in folders and entry.is_dir() and not entry.is_symlink():
                pending.append(entry)
            elif entry not in owned:
                entries.append(entry)
    return entries


@contextlib.contextmanager
def _carried(run: RunDir, staging: Path):
    """The user's entries moved from `run` into `staging` for the block, moved back when the
    block fails; a name the new run uses itself is refused before anything moves."""
    moves = [(p, staging / p.relative_to(run.path)) for p in _user_entries(run)]
    clash = next((p for p, dest in moves if os.path.lexists(dest)), None)
    if clash is not None:
        raise UserError(
            f"{clash} is not cnnlab's, but the finished run has a file of that name; move it "
            "away and run again (the run directory was left as it was)."
        )
    done = []
    try:
        for source, dest in moves:
            make_dir(dest.parent)
            os.rename(source, dest)
            done.append((source, dest))
        yield
    except BaseException:
        for source, dest in reversed(done):
            os.rename(dest, source)
        raise
