"""`RunDir`: one training run's directory, the only code that knows its file names.

Training writes `config.json`, `status.json`, `metrics.jsonl`, a checkpoint and TensorBoard
events; evaluation and CAM add their files. Every later step (evaluate, cam, predict, report)
reads the run through this class, so any step can be redone without retraining. The layout is
described in docs/run-directory.md.
"""

from __future__ import annotations

import contextlib
import json
import platform
import shutil
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.fileio import write_json

CONFIG = "config.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
EVALUATION = "evaluation.json"
PROBABILITIES = "probabilities.npy"
CAM_DIR = "cam"
EVENTS_GLOB = "events.out.tfevents.*"
# What `cnnlab evaluate` writes beside them.
EVALUATION_FILES = (
    EVALUATION,
    PROBABILITIES,
    "confusion_matrix.csv",
    "confusion_matrix.png",
    "confusion_matrix_normalized.png",
    "top3.png",
    "worst_errors.png",
    "curves.png",
)
VERSIONED_PACKAGES = ("cnnlab", "numpy", "torch", "tensorboardX", "matplotlib", "keras")


def library_versions() -> dict[str, str]:
    """Python's and every installed library's version that can change a run's numbers."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json_file(path: Path) -> Any:
    """A JSON file's content; one sentence when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing; is this a cnnlab run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(
            f"{path} is not valid JSON ({err}); rerun the step that writes it."
        ) from None


class RunDir:
    """The directory of one training run: its files, read and written by name."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def name(self) -> str:
        return self.path.name

    # -- what is there ----------------------------------------------------------------------

    def has_run(self) -> bool:
        """Whether a training run was started here (it has a config)."""
        return (self.path / CONFIG).is_file()

    def require_run(self) -> None:
        """A UserError unless this is a run directory."""
        if not self.has_run():
            raise UserError(
                f"{self.path} is not a run directory (it has no {CONFIG}); "
                "give a directory written by `cnnlab train`."
            )

    # -- config and status ------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        config = read_json_file(self.path / CONFIG)
        if not isinstance(config, dict):
            raise UserError(f"{self.path / CONFIG} does not hold a JSON object.")
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.path / CONFIG, config)

    def status(self) -> dict[str, Any]:
        """What training wrote last; a run that never finished an epoch has none yet."""
        path = self.path / STATUS
        status = read_json_file(path) if path.exists() else {}
        return {"complete": False, "epochs_done": 0} | (status if isinstance(status, dict) else {})

    def write_status(self, **status: Any) -> None:
        write_json(self.path / STATUS, status)

    # -- metrics ----------------------------------------------------------------------------

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    def records(self) -> list[dict[str, Any]]:
        """Every record of metrics.jsonl. A line cut short (training killed mid-write) or
        garbled is skipped with one warning on stderr; it never stops a reader."""
        if not self.metrics_path.exists():
            return []
        records, bad = [], 0
        for line in self.metrics_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("step"), int):
                records.append(record)
            else:
                bad += 1
        if bad:
            print(
                f"cnnlab: warning: skipped {bad} unreadable line(s) of {self.metrics_path}",
                file=sys.stderr,
            )
        return records

    def epoch_records(self) -> list[dict[str, Any]]:
        """One record per epoch, in order; for an epoch trained twice (a resume), the last."""
        by_epoch = {r["epoch"]: r for r in self.records() if r.get("kind") == "epoch"}
        return [by_epoch[e] for e in sorted(by_epoch)]

    # -- evaluation -------------------------------------------------------------------------

    def evaluation(self) -> dict[str, Any] | None:
        """evaluation.json, or None before `cnnlab evaluate` ran."""
        path = self.path / EVALUATION
        if not path.exists():
            return None
        evaluation = read_json_file(path)
        if not isinstance(evaluation, dict):
            raise UserError(f"{path} does not hold a JSON object; rerun `cnnlab evaluate`.")
        return evaluation

    # -- checkpoints and clearing -----------------------------------------------------------

    def checkpoint(self, engine: str) -> Path:
        from cnnlab.training.engines import engine_class

        return self.path / engine_class(engine).checkpoint_name

    def written_files(self) -> list[Path]:
        """Every file cnnlab writes here that exists now: training's, every engine's
        checkpoint, TensorBoard events, evaluation's, and the cam/ folder."""
        from cnnlab.training.engines import ENGINES

        names = [CONFIG, STATUS, METRICS, *EVALUATION_FILES]
        names += [engine.checkpoint_name for engine in ENGINES.values()]
        found = [self.path / n for n in names if (self.path / n).exists()]
        return found + sorted(self.path.glob(EVENTS_GLOB))

    def clear(self) -> None:
        """Remove what an earlier run wrote (for --force); other files are left alone."""
        for path in self.written_files():
            path.unlink()
        if (self.path / CAM_DIR).is_dir():
            shutil.rmtree(self.path / CAM_DIR)

    # -- the trained model ------------------------------------------------------------------

    def load_trained(self, device: str = "cpu"):
        """(engine with the trained weights loaded, config) of this run."""
        from cnnlab.models import resolve_spec
        from cnnlab.training.engines import make_engine

        self.require_run()
        config = self.config()
        for key in ("model", "engine"):
            if not isinstance(config.get(key), str):
                raise UserError(f"{self.path / CONFIG} has no {key!r} field naming the {key}.")
        engine = make_engine(
            resolve_spec(config["model"], config.get("arch")),  # an --arch run: its string
            config["engine"],
            seed=config.get("seed", 0),
            optimizer=config.get("optimizer", "adam"),  # the checkpoint holds this one's state
            device=device,
        )
        checkpoint = self.path / engine.checkpoint_name
        if not checkpoint.exists():
            raise UserError(
                f"{self.path} has no {engine.checkpoint_name}; train it first (cnnlab train)."
            )
        engine.load(checkpoint)
        return engine, config
