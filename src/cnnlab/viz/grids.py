"""Grids of test digits: the top-scoring images of every class, the most confident errors."""

from __future__ import annotations

import math

import numpy as np

from cnnlab.viz.plots import ERROR_RED, figure_to_rgb, frame, new_figure, show_digit
from cnnlab.viz.scores import short_score

# inches per digit, with its score above and room for "true 7" below, in the top-k grid
CELL_WIDTH, CELL_HEIGHT = 1.05, 1.3


def _show_scored_digit(
    ax, image: np.ndarray, score: float, label: int, target: int, names: list[str]
) -> None:
    """One digit titled with its score for class `target`; red, with its label below, when
    the image is not of that class."""
    show_digit(ax, image)
    if label == target:
        ax.set_title(short_score(score), fontsize=8, pad=2)
        frame(ax, "#999999", 0.6)
    else:
        ax.set_title(short_score(score), fontsize=8, pad=2, color=ERROR_RED, weight="bold")
        ax.set_xlabel(
            f"true {names[label]}", fontsize=8, labelpad=1, color=ERROR_RED, weight="bold"
        )
        frame(ax, ERROR_RED, 3.0)


def render_top_scoring(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    indices: np.ndarray,
    class_names: list[str] | None = None,
) -> np.ndarray:
    """One row per class c, its k highest-scoring test images left to right.

    images: (N, 28, 28) uint8; labels: (N,); probabilities: (N, C); indices: (C, k) from
    `top_scoring_images`. Each image is titled with its probability for the row's class
    (`short_score`); an image whose true label is not c gets a red frame and "true 7" below.
    Returns RGB uint8.
    """
    return figure_to_rgb(top_scoring_figure(images, labels, probabilities, indices, class_names))


def top_scoring_figure(images, labels, probabilities, indices, class_names=None):
    """The matplotlib Figure of `render_top_scoring` (tests measure its labels)."""
    indices = np.asarray(indices)
    num_classes, k = indices.shape
    names = list(class_names) if class_names else [str(c) for c in range(probabilities.shape[1])]
    rows = [f"class {c}" if name == str(c) else name for c, name in enumerate(names)]
    # room for the longest row label: about 0.09 inch a bold character at 10 points
    margin = max(0.8, 0.2 + 0.09 * max(len(row) for row in rows))
    fig = new_figure(0.1 + margin + CELL_WIDTH * k, 0.95 + CELL_HEIGHT * num_classes, layout=None)
    # Fixed margins (in figure fractions) rather than a layout engine: 10 x k small axes lay out
    # the same every time, and the row label fits in the left margin.
    fig.subplots_adjust(
        left=margin / fig.get_figwidth(),
        right=1 - 0.1 / fig.get_figwidth(),
        top=1 - 0.9 / fig.get_figheight(),
        bottom=0.2 / fig.get_figheight(),
        wspace=0.1,
        hspace=0.45,
    )
    axes = fig.subplots(num_classes, k, squeeze=False)
    fig.text(
        0.5,
        1 - 0.1 / fig.get_figheight(),
        f"Top-{k} test images per class",
        ha="center",
        va="top",
        fontsize=11,
    )
    fig.text(
        0.5,
        1 - 0.35 / fig.get_figheight(),
        "score = probability of the row's class\n1 − 5.6e-13 is 1 minus 0.00000000000056",
        ha="center",
        va="top",
        fontsize=8,
        color="#444444",
    )
    for c in range(num_classes):
        axes[c, 0].set_ylabel(
            rows[c],
            rotation=0,
            ha="right",
            va="center",
            fontsize=10,
            fontweight="bold",
            labelpad=6,
        )
        for ax, i in zip(axes[c], indices[c], strict=True):
            _show_scored_digit(ax, images[i], probabilities[i, c], int(labels[i]), c, names)
    return fig


def render_worst_errors(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    indices: np.ndarray,
    class_names: list[str] | None = None,
) -> np.ndarray:
    """The given wrongly classified images, each titled "true 4 → pred 9 (0.98)"
    (over two lines).

    indices: 1-D, e.g. from `most_confident_errors`. With no indices (a model without errors)
    the picture says so. Returns RGB uint8.
    """
    indices = np.asarray(indices, dtype=np.int64).ravel()
    n = indices.size
    if n == 0:
        fig = new_figure(4.0, 1.2)
        fig.text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
        return figure_to_rgb(fig)
    cols = min(n, max(4, math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    fig = new_figure(1.45 * cols, 0.4 + 1.7 * rows)
    fig.suptitle("Most confident errors", fontsize=12)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    for ax, i in zip(axes.ravel()[:n], indices, strict=True):
        predicted = int(np.argmax(probabilities[i]))
        shown = class_names or [str(c) for c in range(probabilities.shape[1])]
        true, gap = int(labels[i]), "\n" if max(map(len, shown)) > 2 else " "
        show_digit(ax, images[i])
        ax.set_title(
            # two lines: one would overlap its neighbours at a readable size
            # (three with class names, which are longer than digits)
            f"true {shown[true]}{gap}→ pred {shown[predicted]}\n"
            f"({probabilities[i, predicted]:.2f})",
            fontsize=9.5,
            linespacing=1.1,
        )
    return figure_to_rgb(fig)
