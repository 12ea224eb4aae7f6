"""Accuracy across training seeds: one row per (model, engine), each seed a dot."""

from __future__ import annotations

import numpy as np

from cnnlab.analysis.stats import ALPHA
from cnnlab.viz.plots import figure_to_rgb, new_figure


def render_seed_accuracies(
    aggregates: list[dict], title: str = "Test accuracy per seed"
) -> np.ndarray:
    """Dots: per-seed test accuracy (%); bar: the mean; whisker: its 95% t interval.

    `aggregates` are summary.json's entries (model, engine, accuracies, mean, low, high).
    Returns RGB uint8 (H, W, 3).
    """
    fig = new_figure(7.5, 1.0 + 0.45 * len(aggregates))
    ax = fig.add_subplot()
    for y, aggregate in enumerate(aggregates):
        dots = 100 * np.asarray(aggregate["accuracies"], dtype=float)  # (seeds,)
        ax.scatter(dots, np.full(dots.shape, y), s=22, color="#1f77b4", alpha=0.7, zorder=3)
        mean = 100 * aggregate["mean"]
        if aggregate.get("low") is not None:
            low, high = 100 * aggregate["low"], 100 * aggregate["high"]
            ax.plot([low, high], [y, y], color="black", linewidth=1.2, zorder=2)
        ax.plot([mean, mean], [y - 0.3, y + 0.3], color="black", linewidth=2.2, zorder=4)
    ax.set_yticks(range(len(aggregates)))
    ax.set_yticklabels([f"{a['model']} · {a['engine']}" for a in aggregates])
    ax.invert_yaxis()  # first row on top, as in the tables
    level = f"{100 * (1 - ALPHA):g}%"  # the level of the intervals in summary.json
    ax.set_xlabel(f"test accuracy (%) — dots: seeds, bar: mean, line: {level} interval of the mean")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return figure_to_rgb(fig)
