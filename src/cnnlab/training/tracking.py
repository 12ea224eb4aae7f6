"""What a run leaves behind while it trains: `metrics.jsonl`, TensorBoard events, a progress bar.

These hang off the training loop; no layer or engine knows about them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from cnnlab.fileio import write_text

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class MetricsLog:
    """Appends one JSON record per line. On resume, records after the checkpoint are dropped."""

    def __init__(self, run_dir: Path, resume_step: int | None = None):
        self.path = Path(run_dir) / METRICS_FILE
        if resume_step is None:
            write_text(self.path, "")
        else:
            kept = [r for r in read_metrics(run_dir) if r["step"] <= resume_step]
            write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardLog:
    """Scalars, text and images for TensorBoard, through tensorboardX (no torch needed)."""

    def __init__(self, run_dir: Path, purge_step: int | None = None):
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=str(run_dir), purge_step=purge_step, flush_secs=10)

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
        self.writer.close()


class EpochProgress:
    """A tqdm bar per epoch: running loss, accuracy and images per second."""

    def __init__(self, total: int, epoch: int, epochs: int, quiet: bool, initial: int = 0):
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            disable=quiet or not sys.stderr.isatty(),
            leave=True,
            dynamic_ncols=True,
        )
        self.start = time.perf_counter()
        self.loss_sum = 0.0
        self.correct = 0
        self.seen = 0

    def update(self, loss: float, correct: int, batch_size: int) -> None:
        self.loss_sum += loss * batch_size
        self.correct += correct
        self.seen += batch_size
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            rate = self.seen / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix(
                loss=f"{self.loss_sum / self.seen:.4f}",
                acc=f"{self.correct / self.seen:.4f}",
                img_s=f"{rate:,.0f}",
                refresh=False,
            )

    def close(self) -> None:
        self.bar.close()
