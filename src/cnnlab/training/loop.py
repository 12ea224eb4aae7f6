"""The training loop, the same for every engine: `train_epoch` and `loss_and_accuracy`.

Tracking (metrics file, TensorBoard, progress bar) hangs off the loop through `on_step`; a
stop request (Ctrl-C) is honoured between steps, never in the middle of an update.

Divergence stops training with a `DivergedError` (one sentence, exit 2), by this rule:
- the training loss is NaN or infinite; or
- the running mean training loss over the last 50 steps (over every step so far once 10 are
  done, when fewer than 50) exceeds 10 times the run's starting loss, the loss of its first
  step (at least ln 10 = 2.3, a 10-class network's loss at chance); or
- the validation accuracy falls to chance (<= 0.15) after it was above 0.5 (checked by
  `check_validation` after each epoch, before that epoch's checkpoint is written).
The checkpoint of the last good epoch is kept.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from cnnlab.errors import UserError
from cnnlab.scratch.functional import cross_entropy
from cnnlab.training.engines import Engine
from cnnlab.training.size_limits import inference_batch

DIVERGENCE_WINDOW = 50  # steps in the running mean
DIVERGENCE_MIN_STEPS = 10  # steps before the running mean is judged
DIVERGENCE_FACTOR = 10.0  # running mean > this times the starting loss: diverged
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess among 10 classes
CHANCE_ACCURACY = 0.15  # validation accuracy this low ...
LEARNED_ACCURACY = 0.5  # ... after it was above this: diverged


@dataclass
class EpochResult:
    loss: float  # mean training loss over the whole epoch (a resumed one's earlier part too)
    accuracy: float
    images: int  # images of the epoch so far
    steps: int  # optimizer steps run in this call
    finished: bool  # False when a stop was requested before the last batch
    loss_sum: float = 0.0  # sum over images of the loss, for a resume mid-epoch
    correct: int = 0


class DivergedError(UserError):
    """The training loss became NaN or infinite, or grew or collapsed by the module's rule."""


class DivergenceWatch:
    """The running-mean rule of the module docstring, fed one loss per step."""

    def __init__(self, first_loss: float | None = None) -> None:
        self.first_loss = first_loss  # the loss of the run's first step; kept in checkpoints
        self.recent: deque[float] = deque(maxlen=DIVERGENCE_WINDOW)

    def check(self, loss: float, step: int) -> None:
        if not math.isfinite(loss):
            raise DivergedError(f"the training loss became {loss} at step {step}")
        if self.first_loss is None:
            self.first_loss = loss
        self.recent.append(loss)
        limit = DIVERGENCE_FACTOR * max(self.first_loss, CHANCE_LOSS)
        mean = sum(self.recent) / len(self.recent)
        if len(self.recent) >= DIVERGENCE_MIN_STEPS and mean > limit:
            raise DivergedError(
                f"the mean training loss of the last {len(self.recent)} steps is {mean:.3g} at "
                f"step {step}, more than {DIVERGENCE_FACTOR:g} times the starting loss "
                f"{self.first_loss:.3g}"
            )


def check_validation(val_accuracy: float, best_before: float) -> None:
    """DivergedError when the validation accuracy fell to chance after it was above 0.5."""
    if best_before > LEARNED_ACCURACY and val_accuracy <= CHANCE_ACCURACY:
        raise DivergedError(
            f"the validation accuracy fell to {val_accuracy:.3f} (chance) after it had "
            f"reached {best_before:.3f}"
        )


def train_epoch(
    engine: Engine,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    lr_at: Callable[[int], float],
    first_step: int,
    on_step: Callable[[int, float, int, int], None] = lambda *a: None,
    should_stop: Callable[[], bool] = lambda: False,
    watch: DivergenceWatch | None = None,
    so_far: tuple[float, int, int] = (0.0, 0, 0),
) -> EpochResult:
    """One pass over `batches`. `first_step` is the global step count before the first batch.

    `on_step(step, loss, correct, batch_size)` is called after each optimizer step (step counts
    from 1). `so_far` = (loss sum, correct, images) of this epoch's batches trained before a
    resume, so the result covers the whole epoch. Raises DivergedError by `watch`'s rule.
    """
    watch = watch or DivergenceWatch()
    (loss_sum, correct_sum, seen), step, finished = so_far, first_step, True
    for x, y in batches:
        engine.set_lr(lr_at(step))
        loss, correct = engine.train_step(x, y)
        step += 1
        watch.check(loss, step)
        loss_sum += loss * len(y)
        correct_sum += correct
        seen += len(y)
        on_step(step, loss, correct, len(y))
        if should_stop():
            finished = False
            break
    seen_or_one = max(seen, 1)
    return EpochResult(
        loss_sum / seen_or_one,
        correct_sum / seen_or_one,
        seen,
        step - first_step,
        finished,
        loss_sum,
        correct_sum,
    )


def predict_logits(engine: Engine, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Logits (N, 10) for float32 images (N, 1, 28, 28), in batches, model in eval mode;
    smaller batches where the network's activations would pass the memory budget."""
    batch_size = inference_batch(engine.model.spec, batch_size)
    parts = [engine.logits(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def loss_and_accuracy(
    engine: Engine, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a whole split, model in eval mode."""
    logits = predict_logits(engine, images, batch_size)
    accuracy = float((logits.argmax(axis=1) == labels).mean())
    return cross_entropy(logits, labels), accuracy
