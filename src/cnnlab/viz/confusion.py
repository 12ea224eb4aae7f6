"""The confusion matrix as a heatmap with the number written in every cell."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import PowerNorm
from matplotlib.ticker import MaxNLocator

from cnnlab.viz.plots import figure_to_rgb, new_figure


def _text_colour(rgba) -> str:
    """Black on light cells, white on dark ones (relative luminance, sRGB weights)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def _cell_text(fraction: float, count: int) -> str:
    """Two decimals, but never "0.00" for a cell that does hold an image."""
    if count == 0:
        return "0"
    return "<.01" if fraction < 0.005 else f"{fraction:.2f}"


def _write_cells(ax, values: np.ndarray, cm: np.ndarray, normalized: bool, colour_of) -> None:
    """Each cell's number on it: counts as integers, fractions with two decimals ("0" for
    empty cells), in a colour that reads on the cell's own colour; the diagonal in bold."""
    fontsize = 8 if cm.shape[0] <= 10 else 6
    for (i, j), value in np.ndenumerate(values):
        text = _cell_text(value, cm[i, j]) if normalized else str(int(value))
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            color=_text_colour(colour_of(value)) if cm[i, j] else "#a0a0a0",
            fontsize=fontsize,
            fontweight="bold" if i == j else "normal",
        )


def render_confusion_matrix(
    cm: np.ndarray,
    normalized: bool = False,
    title: str | None = None,
    class_names: list[str] | None = None,
) -> np.ndarray:
    """Heatmap of a (C, C) confusion matrix, rows = true class, columns = predicted class.

    normalized=True shows each row divided by its total (the fraction of each true class that
    went to each prediction, so the diagonal is the per-class recall). Returns RGB uint8.
    """
    cm = np.asarray(cm)
    num_classes = cm.shape[0]
    names = class_names or [str(c) for c in range(num_classes)]
    if normalized:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals != 0)
        # A square-root scale lifts the small off-diagonal fractions out of the white.
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
        label = "fraction of the true class"
        title = title or "Confusion matrix (each row sums to 1)"
    else:
        values = cm.astype(np.float64)
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=max(1.0, values.max()))
        label = "number of test images"
        title = title or "Confusion matrix"
    cmap = colormaps["Blues"]

    fig = new_figure(5.8, 5.1 + 0.07 * max(0, max(map(len, names)) - 2))  # room for long names
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap=cmap, norm=norm, interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label(label)
    if not normalized:
        colorbar.locator = MaxNLocator(integer=True)  # counts: no "1.5 images"
        colorbar.update_ticks()

    _write_cells(ax, values, cm, normalized, lambda v: cmap(norm(v)))
    if max(map(len, names)) > 2:  # names longer than digits would overlap side by side
        ax.set_xticks(range(num_classes), names, rotation=45, ha="left", rotation_mode="anchor")
    else:
        ax.set_xticks(range(num_classes), names)
    ax.set_yticks(range(num_classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_title(title, pad=10, fontsize=12)
    return figure_to_rgb(fig)
