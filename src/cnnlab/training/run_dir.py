"""Reading and writing the files of a run directory (see docs/run-directory.md)."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.fileio import write_json

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
# Files a fresh run (or --force) replaces; anything else in the directory is left alone.
RUN_FILES = ("config.json", "status.json", "metrics.jsonl", "checkpoint.npz", "checkpoint.pt")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("cnnlab", "numpy", "torch", "tensorboardX", "matplotlib", "keras"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing; is this a cnnlab run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err}).") from None


def read_config(run_dir: Path) -> dict[str, Any]:
    return read_json(Path(run_dir) / CONFIG_FILE)


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS_FILE
    return read_json(path) if path.exists() else {"complete": False, "epochs_done": 0}


def write_status(run_dir: Path, **status: Any) -> None:
    write_json(Path(run_dir) / STATUS_FILE, status)


def clear_run(run_dir: Path) -> None:
    """Remove the files of an earlier run (for --force), and its TensorBoard events."""
    for name in RUN_FILES:
        (Path(run_dir) / name).unlink(missing_ok=True)
    for events in Path(run_dir).glob("events.out.tfevents.*"):
        events.unlink()


def load_trained(run_dir: Path, device: str = "cpu"):
    """The trained model of a run directory, wrapped in its engine, and the run's config."""
    from cnnlab.training.engines import make_engine

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a directory; give the path of a training run.")
    config = read_config(run_dir)
    engine = make_engine(
        config["model"],
        config["engine"],
        seed=config.get("seed", 0),
        optimizer=config.get("optimizer", "adam"),  # the checkpoint holds this one's state
        device=device,
    )
    checkpoint = run_dir / engine.checkpoint_name
    if not checkpoint.exists():
        raise UserError(
            f"{run_dir} has no {engine.checkpoint_name}; train it first (cnnlab train)."
        )
    engine.load(checkpoint)
    return engine, config
