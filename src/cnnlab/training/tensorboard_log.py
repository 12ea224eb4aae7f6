"""Training's and the analyses' TensorBoard event files, through tensorboardX (no torch
needed): one writer per file, a replay of training's scalars from metrics.jsonl on resume, and
the fixed-name files of `evaluate` and `cam` that each re-run replaces."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cnnlab.failpoints import durable
from cnnlab.rundir import ANALYSIS_EVENTS, EVENTS_GLOB, RunDir

EPOCH_SCALARS = (  # TensorBoard tag -> key of the epoch record
    ("loss/train_epoch", "train_loss"),
    ("loss/val", "val_loss"),
    ("accuracy/train", "train_accuracy"),
    ("accuracy/val", "val_accuracy"),
)


class TensorBoardLog:
    """Scalars, text and images for TensorBoard, through tensorboardX (no torch needed).

    Each writer gets a file of its own (a unique suffix): tensorboardX names files by the
    second, and a resume within the same second would otherwise reopen and truncate the file
    it is about to replace."""

    def __init__(self, run_dir: Path):
        from tensorboardX import SummaryWriter

        suffix = f".{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.writer = SummaryWriter(logdir=str(run_dir), flush_secs=10, filename_suffix=suffix)

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, value, step)

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self.writer.add_text(tag, text, step)

    def image(self, tag: str, rgb, step: int = 0) -> None:
        """`rgb`: uint8 array (H, W, 3)."""
        self.writer.add_image(tag, rgb, step, dataformats="HWC")

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        with durable("tensorboard-events"):  # the queue is drained and the file closed here
            self.writer.close()


def training_events(run: RunDir) -> list[Path]:
    """Training's TensorBoard event files (not those of evaluate or cam)."""
    analysis = ANALYSIS_EVENTS.format(kind="")
    return sorted(p for p in run.path.glob(EVENTS_GLOB) if not p.name.startswith(analysis))


def replay_tensorboard(run: RunDir, records: list[dict[str, Any]], summary: str) -> None:
    """Rewrite training's TensorBoard events from the metrics records, then remove the older
    files: on resume, whatever a kill cost TensorBoard (up to `flush_secs` of scalars, or a
    whole file) comes back, and no step appears twice. A kill in between leaves both, until the
    next resume replays again."""
    older = training_events(run)
    tb = TensorBoardLog(run.path)
    tb.text("model/summary", summary)
    for record in records:
        if record.get("kind") == "step":
            tb.scalar("loss/train", record["loss"], record["step"])
            tb.scalar("lr", record["lr"], record["step"])
        elif record.get("kind") == "epoch":
            for tag, key in EPOCH_SCALARS:
                tb.scalar(tag, record[key], record["step"])
    tb.close()
    with durable("tensorboard-replace"):
        for path in older:
            if path.is_file() and not path.is_symlink():
                path.unlink()


class AnalysisLog(TensorBoardLog):
    """TensorBoard output of one analysis (evaluation, a CAM) that replaces its last version.

    tensorboardX only appends to new, timestamped files, so each re-run of `cnnlab evaluate`
    used to add a second image per tag. Here the events go to a private folder first and the
    finished file is moved over the run's fixed-name file for this kind in one rename.
    """

    def __init__(self, run_dir: Path, kind: str):
        from tensorboardX import SummaryWriter

        self.target = RunDir(run_dir).analysis_events(kind)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=run_dir))
        self.writer = SummaryWriter(logdir=str(self.staging), flush_secs=3600)

    def close(self) -> None:
        self.writer.close()
        (written,) = self.staging.glob("events.out.tfevents.*")
        with durable(self.target.name):
            os.replace(written, self.target)
        shutil.rmtree(self.staging, ignore_errors=True)
