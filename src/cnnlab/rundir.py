"""`RunDir`: one training run's directory, the only code that knows its file names.

Training writes `config.json`, `status.json`, `metrics.jsonl`, a checkpoint and TensorBoard
events; evaluation and CAM add their files. Every later step (evaluate, cam, predict, report)
reads the run through this class, so any step can be redone without retraining. The layout is
described in docs/run-directory.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.fileio import (
    make_dir,
    refuse_not_a_file,
    refuse_symlink,
    remove_file,
    require_regular_file,
    write_json,
)
from cnnlab.runcheck import (
    EVALUATION_FIELDS,
    FORMAT,
    FORMAT_VERSION,
    STATUS_FIELDS,
    check_config,
    check_fields,
    is_cnnlab_config,
    read_json_file,
)
from cnnlab.runlock import LOCK, locked

CONFIG = "config.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
EVALUATION = "evaluation.json"
PROBABILITIES = "probabilities.npy"
SANITY = "sanity.json"  # `cnnlab run`: the attribution checks (cnnlab.explain.trust_runs)
CAM_DIR = "cam"
# What `cnnlab cam` and `predict --cam` write under cam/ (the only files --force removes there).
CAM_GLOBS = ("cam_*.png", "cam_*.json", "gradcam_*.png", "gradcam_*.json", "predict/*_cam.png")
EVENTS_GLOB = "events.out.tfevents.*"
# One fixed-name events file per analysis kind ("evaluation", "cam-test0"), so a re-run replaces
# it; "analysis" sorts after the timestamps of training's files, so TensorBoard reads it last.
ANALYSIS_EVENTS = "events.out.tfevents.analysis.{kind}"
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
# Every fixed name cnnlab writes in a run directory (besides checkpoints, events and cam/).
RUN_FILES = (CONFIG, STATUS, METRICS, *EVALUATION_FILES, SANITY)


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

    def is_cnnlabs(self) -> bool:
        """Whether cnnlab wrote this run: its config.json carries the format marker (or is an
        older cnnlab config, see `is_cnnlab_config`). Only such a directory is ever cleared."""
        return self.has_run() and is_cnnlab_config(read_json_file(self.path / CONFIG))

    def check_trainable(self) -> None:
        """A UserError when training must not write here: the path is a file, or a non-empty
        directory that is not a cnnlab run (it writes nothing itself)."""
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} is a file, not a directory; choose another --name.")
        from cnnlab.training.leftovers import leftovers

        ignored = {self.path / LOCK, *leftovers(self.path)} if self.path.is_dir() else set()
        others = [p for p in self.path.iterdir() if p not in ignored] if self.path.exists() else []
        if not others or self.is_cnnlabs():
            return
        checkpoints = [p.name for p in self.written_files() if p.name.startswith("checkpoint")]
        if checkpoints and not self.has_run():
            what = f"holds {checkpoints[0]} but no {CONFIG}"
        elif self.has_run():
            what = f"has a {CONFIG} that cnnlab did not write"
        else:
            what = "is not empty and is not a cnnlab run directory"
        raise UserError(
            f"{self.path} {what}; cnnlab leaves its files alone: choose another --name or --out."
        )

    # -- config and status ------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """config.json, its fields checked (one sentence naming the file and the field)."""
        config = read_json_file(self.path / CONFIG)
        check_config(self.path / CONFIG, config)
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        marker = {"format": FORMAT, "format_version": FORMAT_VERSION}
        write_json(self.path / CONFIG, marker | config)

    def status(self) -> dict[str, Any]:
        """What training wrote last; a run that never finished an epoch has none yet."""
        path = self.path / STATUS
        status = read_json_file(path) if path.exists() else {}
        check_fields(path, status, STATUS_FIELDS, "rerun or resume the training that writes it")
        return {"complete": False, "epochs_done": 0} | status

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
        """evaluation.json, or None before `cnnlab evaluate` ran or when it is stale."""
        path = self.path / EVALUATION
        if not path.exists():
            return None
        evaluation = read_json_file(path)
        check_fields(path, evaluation, EVALUATION_FIELDS, "rerun `cnnlab evaluate` on this run")
        from cnnlab.training.checkpoint import evaluation_is_current

        # of an older checkpoint (a resume trained on): stale, never shown; `run` redoes it
        return evaluation if evaluation_is_current(self.path, evaluation) else None

    # -- checkpoints and clearing -----------------------------------------------------------

    def analysis_events(self, kind: str) -> Path:
        """The TensorBoard events file of one analysis kind (rewritten whole by each re-run)."""
        return self.path / ANALYSIS_EVENTS.format(kind=kind)

    def checkpoint(self, engine: str) -> Path:
        from cnnlab.training.engines import engine_class

        return self.path / engine_class(engine).checkpoint_name

    def written_files(self) -> list[Path]:
        """Every file cnnlab writes here that exists now: training's, every engine's
        checkpoint, TensorBoard events, evaluation's, and the cam/ folder."""
        from cnnlab.training.engines import ENGINES

        names = list(RUN_FILES)
        names += [engine.checkpoint_name for engine in ENGINES.values()]
        found = [self.path / n for n in names if os.path.lexists(self.path / n)]
        return found + sorted(self.path.glob(EVENTS_GLOB))

    def subdirs(self) -> list[Path]:
        """The folders cnnlab writes into inside the run (cam/ and cam/predict/)."""
        return [self.path / CAM_DIR, self.path / CAM_DIR / "predict"]

    def check_links(self) -> None:
        """A UserError naming the first of cnnlab's folders here that is a symbolic link: a
        write or a --force there would land in (or delete from) someone else's folder."""
        for folder in self.subdirs():
            refuse_symlink(folder)

    def cam_dir(self, *parts: str) -> Path:
        """cam/ (or a folder under it), created; refused when a link stands anywhere there."""
        self.check_links()
        folder = self.path.joinpath(CAM_DIR, *parts)
        refuse_symlink(folder)
        return make_dir(folder)

    def cam_files(self) -> list[Path]:
        self.check_links()
        cam = self.path / CAM_DIR
        return sorted(p for pattern in CAM_GLOBS for p in cam.glob(pattern))

    def owned_files(self) -> list[Path]:
        """Every file here that cnnlab wrote (what a grid worker needs to resume the run)."""
        return self.written_files() + self.cam_files()

    def clear(self) -> None:
        """Remove what an earlier run wrote (for --force), only where cnnlab's marker is;
        every other file, in cam/ too, is left alone. Every path is checked first (no link
        in place of cam/, no folder under a file's name), so a refusal deletes nothing."""
        if not self.is_cnnlabs():
            raise UserError(f"{self.path} is not a cnnlab run directory; it is left as it is.")
        doomed = self.owned_files()
        for path in doomed:
            refuse_not_a_file(path)
        for path in doomed:
            remove_file(path)
        for folder in reversed(self.subdirs()):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: a file the user put there stays

    def remove_if_useless(self) -> None:
        """After a failed first training: remove what it wrote when no checkpoint came of it,
        so no empty run directory is left behind (the directory itself goes when empty)."""
        if any(p.name.startswith("checkpoint") for p in self.written_files()):
            return
        with contextlib.suppress(UserError, OSError):
            self.clear()
        with contextlib.suppress(OSError):
            (self.path / LOCK).unlink()
            self.path.rmdir()

    def lock(self):
        """Context manager: this process is the only writer here (see `cnnlab.runlock`)."""
        return locked(self.path)

    # -- the trained model ------------------------------------------------------------------

    def load_trained(self, device: str = "cpu"):
        """(engine with the trained weights loaded, config) of this run."""
        from cnnlab.data.source import run_shape_and_classes
        from cnnlab.models import resolve_spec
        from cnnlab.training.engines import make_engine

        self.require_run()
        config = self.config()
        shape, classes = run_shape_and_classes(config)  # the images and classes it trained on
        engine = make_engine(
            resolve_spec(config["model"], config.get("arch"), shape, classes),  # --arch: its string
            config["engine"],
            seed=config.get("seed", 0),
            optimizer=config.get("optimizer", "adam"),  # the checkpoint holds this one's state
            device=device,
        )
        checkpoint = self.path / engine.checkpoint_name
        require_regular_file(checkpoint, f"the {engine.checkpoint_name} that training wrote")
        if not checkpoint.exists():
            raise UserError(
                f"{self.path} has no {engine.checkpoint_name}; train it first (cnnlab train)."
            )
        engine.load(checkpoint)
        return engine, config
