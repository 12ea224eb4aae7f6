"""The training loop, the same for every engine: `train_epoch` and `loss_and_accuracy`.

Tracking (metrics file, TensorBoard, progress bar) hangs off the loop through `on_step`; a
stop request (Ctrl-C) is honoured between steps, never in the middle of an update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from cnnlab.errors import UserError
from cnnlab.scratch.functional import cross_entropy
from cnnlab.training.engines import Engine


@dataclass
class EpochResult:
    loss: float  # mean training loss over the batches run in this call
    accuracy: float
    images: int
    steps: int
    finished: bool  # False when a stop was requested before the last batch


class DivergedError(UserError):
    """The loss became NaN or infinite."""


def train_epoch(
    engine: Engine,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    lr_at: Callable[[int], float],
    first_step: int,
    on_step: Callable[[int, float, int, int], None] = lambda *a: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> EpochResult:
    """One pass over `batches`. `first_step` is the global step count before the first batch.

    `on_step(step, loss, correct, batch_size)` is called after each optimizer step (step counts
    from 1).
    """
    step, loss_sum, correct_sum, seen, finished = first_step, 0.0, 0, 0, True
    for x, y in batches:
        engine.set_lr(lr_at(step))
        loss, correct = engine.train_step(x, y)
        step += 1
        if not math.isfinite(loss):
            raise DivergedError(f"the training loss became {loss} at step {step}")
        loss_sum += loss * len(y)
        correct_sum += correct
        seen += len(y)
        on_step(step, loss, correct, len(y))
        if should_stop():
            finished = False
            break
    seen_or_one = max(seen, 1)
    return EpochResult(
        loss_sum / seen_or_one, correct_sum / seen_or_one, seen, step - first_step, finished
    )


def predict_logits(engine: Engine, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Logits (N, 10) for float32 images (N, 1, 28, 28), in batches, model in eval mode."""
    parts = [engine.logits(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def loss_and_accuracy(
    engine: Engine, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a whole split, model in eval mode."""
    logits = predict_logits(engine, images, batch_size)
    accuracy = float((logits.argmax(axis=1) == labels).mean())
    return cross_entropy(logits, labels), accuracy
