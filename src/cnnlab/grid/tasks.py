"""One training as a task that needs no shared filesystem: settings and files in, files out.

`train_task` serves every way of running a grid: a local process pool and a Dask worker call
the very same function. It trains into a temporary directory of the machine it runs on and
returns the finished run directory as {relative path: bytes}; `install_run` writes those files
into `--out` on the client so that the run directory appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from cnnlab.fileio import write_bytes
from cnnlab.rundir import CONFIG

RunFiles = dict[str, bytes]  # relative POSIX path inside a run directory -> file contents


def pack_run(run_dir: Path) -> RunFiles:
    """Every file under `run_dir` (subfolders too), keyed by its relative POSIX path."""
    return {
        path.relative_to(run_dir).as_posix(): path.read_bytes()
        for path in sorted(run_dir.rglob("*"))
        if path.is_file()
    }


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
        finished = train(cfg, resume=bool(files), quiet=True)
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
    """Put `files` into `out/name` whole: staged in a hidden sibling folder, then renamed.

    An existing `out/name` (an unfinished run that was resumed elsewhere) is replaced only once
    the new folder is complete, so an interruption leaves either the old or the new run.
    """
    target = out / name
    staging = out / f".{name}.incoming-{uuid.uuid4().hex[:8]}"
    try:
        for relative, data in files.items():
            write_bytes(staging / _safe_relative(relative), data)
        if target.exists():
            retired = out / f".{name}.replaced-{uuid.uuid4().hex[:8]}"
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
