"""Learning curves from `metrics.jsonl`: loss and accuracy per epoch, train and validation."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, PercentFormatter

from cnnlab.viz.plots import figure_to_rgb, new_figure

TRAIN, VAL = "#1f77b4", "#ff7f0e"


def _steps_per_epoch(epochs: list[dict], steps: list[dict]) -> float:
    """Optimizer steps in one epoch, from the step count at the end of an epoch."""
    for record in epochs:
        if record.get("step") and record.get("epoch"):
            return record["step"] / record["epoch"]
    # No finished epoch yet: the steps seen so far, per epoch started.
    last = max(steps, key=lambda r: r["step"])
    return last["step"] / max(1, last.get("epoch", 1))


def _series(epochs: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(r["epoch"], r[key]) for r in epochs if r.get(key) is not None]
    x, y = zip(*points, strict=True) if points else ((), ())
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _log_axis(ax) -> None:
    """Log scale (a loss falls from 2.3 to 0.02: only a log axis shows the whole descent),
    labelled with plain numbers at 1, 2 and 5 times each power of ten."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=8)


def render_curves(records: list[dict], title: str = "Learning curves") -> np.ndarray:
    """Two panels, loss and accuracy against epochs, from metrics.jsonl records.

    Epoch records give train and validation points (markers, so one epoch still shows); step
    records give the per-step training loss as a faint line at x = step / steps per epoch.
    Returns RGB uint8.
    """
    return figure_to_rgb(curves_figure(records, title))


def curves_figure(records: list[dict], title: str = "Learning curves") -> Figure:
    """The figure `render_curves` draws, before rendering."""
    epochs = sorted((r for r in records if r.get("kind") == "epoch"), key=lambda r: r["epoch"])
    steps = sorted(
        (r for r in records if r.get("kind") == "step" and r.get("loss") is not None),
        key=lambda r: r["step"],
    )
    fig = new_figure(9.0, 3.6)
    if not epochs and not steps:
        fig.text(0.5, 0.5, "no metrics recorded yet", ha="center", va="center")
        return fig
    fig.suptitle(title, fontsize=12)
    loss_ax, acc_ax = fig.subplots(1, 2)

    right = max([1.0] + [r["epoch"] for r in epochs])
    if steps:
        per_epoch = _steps_per_epoch(epochs, steps)
        x = np.array([r["step"] for r in steps], dtype=np.float64) / per_epoch
        y = np.array([r["loss"] for r in steps], dtype=np.float64)
        loss_ax.plot(x, y, color=TRAIN, alpha=0.25, linewidth=0.8, label="train (per step)")
        right = max(right, x.max())
    for key, colour, label in (("train_loss", TRAIN, "train"), ("val_loss", VAL, "validation")):
        x, y = _series(epochs, key)
        if x.size:
            loss_ax.plot(x, y, color=colour, marker="o", linewidth=1.8, label=label)
    loss_ax.set_title("loss (cross-entropy)", fontsize=10)
    if all(line.get_ydata().min() > 0 for line in loss_ax.get_lines()):
        _log_axis(loss_ax)

    for key, colour, label in (
        ("train_accuracy", TRAIN, "train"),
        ("val_accuracy", VAL, "validation"),
    ):
        x, y = _series(epochs, key)
        if x.size:
            if key == "val_accuracy":
                label += f" (best {y.max():.2%}, epoch {int(x[np.argmax(y)])})"
            acc_ax.plot(x, y, color=colour, marker="o", linewidth=1.8, label=label)
    acc_ax.set_title("accuracy", fontsize=10)
    acc_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))

    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.set_xlim(0, 1.05 * right)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=8, loc="best")
    return fig
