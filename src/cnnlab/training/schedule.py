"""Learning-rate schedules as plain functions of the global step.

Both engines get their learning rate from here, set before every step, so the NumPy and the
PyTorch runs follow exactly the same schedule (no framework scheduler in between).
"""

from __future__ import annotations

import math

SCHEDULES = ("none", "step", "cosine")


def learning_rate(kind: str, base_lr: float, step: int, total_steps: int) -> float:
    """The learning rate for optimizer step `step` (0-based) of `total_steps`.

    - none: constant.
    - step: divided by 10 at 2/3 of the run (the classic step decay, one drop for short runs).
    - cosine: half a cosine from base_lr down to 1% of it at the last step.
    """
    if kind == "none":
        return base_lr
    progress = min(step / max(total_steps - 1, 1), 1.0)
    if kind == "step":
        return base_lr * (0.1 if progress >= 2 / 3 else 1.0)
    if kind == "cosine":
        floor = 0.01 * base_lr
        return floor + 0.5 * (base_lr - floor) * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {kind!r}; choose one of {SCHEDULES}")
