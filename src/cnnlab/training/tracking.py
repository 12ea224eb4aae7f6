"""What a run leaves behind while it trains: `metrics.jsonl`, TensorBoard events, `status.json`
and a progress bar, all behind one `RunLog`. These hang off the training loop; no layer or
engine knows about them."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from cnnlab.failpoints import durable
from cnnlab.fileio import open_append, write_text
from cnnlab.provenance import now_iso
from cnnlab.rundir import RunDir
from cnnlab.training.tensorboard_log import (  # AnalysisLog: for the analysis steps
    EPOCH_SCALARS,
    AnalysisLog,
    TensorBoardLog,
    replay_tensorboard,
)

__all__ = ["EPOCH_SCALARS", "AnalysisLog", "Position", "RunLog", "write_status"]


@dataclass
class Position:
    """Where training stands; saved in every checkpoint, so a resume starts exactly there."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # batches of the next epoch already trained (a stop mid-epoch)
    step: int = 0  # optimizer steps so far
    seconds: float = 0.0  # training time so far
    # The next epoch's batches trained before a stop: their loss sum, correct answers, images
    # and seconds, so that epoch's record still covers all of it after a resume.
    epoch_loss_sum: float = 0.0
    epoch_correct: int = 0
    epoch_seen: int = 0
    epoch_seconds: float = 0.0
    first_loss: float | None = None  # the run's first training loss (the divergence rule)
    best_val_accuracy: float = 0.0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Position:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in names})

    def stopped(self, start_batch: int, result, seconds: float, first_loss) -> Position:
        """Where a stop mid-epoch leaves training: the epoch's partial sums kept, `seconds`
        being the epoch's time so far (`result` of `train_epoch`)."""
        return replace(
            self,
            batch=start_batch + result.steps,
            step=self.step + result.steps,
            seconds=self.seconds - self.epoch_seconds + seconds,
            epoch_loss_sum=result.loss_sum,
            epoch_correct=result.correct,
            epoch_seen=result.images,
            epoch_seconds=seconds,
            first_loss=first_loss,
        )

    def finished(self, epoch: int, step: int, seconds: float, first_loss, val_accuracy) -> Position:
        """Where a finished epoch leaves training (`seconds`: the whole epoch's time)."""
        return Position(
            epoch,
            0,
            step,
            self.seconds - self.epoch_seconds + seconds,
            first_loss=first_loss,
            best_val_accuracy=max(self.best_val_accuracy, val_accuracy),
        )

    def epoch_so_far(self) -> tuple[float, int, int]:
        return self.epoch_loss_sum, self.epoch_correct, self.epoch_seen

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class MetricsLog:
    """Appends one JSON record per line. On resume, records after the checkpoint are dropped."""

    def __init__(self, run: RunDir, resume_step: int | None = None):
        self.path = run.metrics_path
        kept = [] if resume_step is None else [r for r in run.records() if r["step"] <= resume_step]
        write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        self._file = open_append(self.path)

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        with durable("metrics.jsonl-append"):
            self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()


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
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0

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


class RunLog:
    """Everything a training run reports, step by step and epoch by epoch."""

    def __init__(self, run: RunDir, epochs: int, resume_from: Position | None, quiet, summary):
        """`summary`: the model's table (markdown), TensorBoard's first text."""
        self.run, self.epochs, self.quiet = run, epochs, quiet
        self.metrics = MetricsLog(run, resume_from.step if resume_from else None)
        if resume_from is not None:
            replay_tensorboard(run, run.records(), summary)
        self.tb = TensorBoardLog(run.path)
        if resume_from is None:
            self.tb.text("model/summary", summary)
        self.progress: EpochProgress | None = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.close()
        self.metrics.close()
        self.tb.close()

    def begin_epoch(self, epoch: int, batches: int, start_batch: int) -> None:
        self.progress = EpochProgress(batches, epoch, self.epochs, self.quiet, start_batch)

    def step(self, epoch: int, step: int, loss: float, correct: int, size: int, lr: float) -> None:
        self.progress.update(loss, correct, size)
        self.metrics.write({"kind": "step", "epoch": epoch, "step": step, "loss": loss, "lr": lr})
        self.tb.scalar("loss/train", loss, step)
        self.tb.scalar("lr", lr, step)

    def epoch_record(self, position: Position, result, validation, lr: float, seconds: float):
        """A finished epoch's record (`result` of `train_epoch`, `validation` = (loss,
        accuracy)), appended to metrics.jsonl and flushed: before the checkpoint is written, so
        a resume from the previous checkpoint drops it and one from this checkpoint has it."""
        self.progress.close()
        val_loss, val_accuracy = validation
        record = {
            "kind": "epoch",
            "epoch": position.epoch,
            "step": position.step,
            "train_loss": result.loss,
            "train_accuracy": result.accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": lr,
            "seconds": seconds,
        }
        self.metrics.write(record)
        self.metrics.flush()
        return record

    def epoch(self, position: Position, record: dict[str, Any]) -> None:
        """After the epoch's checkpoint: its TensorBoard scalars, the status, a printed line.
        The status says "complete" only once the test set is done (see `write_status`)."""
        for tag, key in EPOCH_SCALARS:
            self.tb.scalar(tag, record[key], position.step)
        self.tb.flush()
        self.status(position, complete=False)
        if not self.quiet:
            print(
                f"epoch {position.epoch}/{self.epochs}: train loss {record['train_loss']:.4f} "
                f"acc {record['train_accuracy']:.4f} | val loss {record['val_loss']:.4f} "
                f"acc {record['val_accuracy']:.4f} | {record['seconds']:.1f} s",
                flush=True,
            )

    def stopped(self, position: Position, total_steps: int) -> None:
        """A stop request (Ctrl-C, SIGTERM) was honoured: say where and how to go on."""
        self.status(position, complete=False)
        self.metrics.flush()
        print(
            f"stopped at step {position.step} of {total_steps}; checkpoint saved in "
            f"{self.run.path}. To continue: `cnnlab train ... --resume` (or run `cnnlab run` "
            "again).",
            file=sys.stderr,
        )

    def status(self, position: Position, complete: bool) -> None:
        write_status(self.run, position, self.epochs, complete=complete)


def write_status(run: RunDir, position: Position, epochs: int, **extra: Any) -> None:
    """status.json from where training stands; `extra`: complete, and the test figures."""
    done = position.epoch
    run.write_status(
        **({"complete": False} | extra),
        epochs_done=done,
        epochs=epochs,
        seconds=position.seconds,
        seconds_per_epoch=position.seconds / done if done else None,
        updated=now_iso(),
    )
