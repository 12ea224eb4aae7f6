"""One figure per run: the image, then for each method its map and the map over the image.

A signed map (input x gradient, integrated gradients, occlusion, guided backprop) is drawn
red-white-blue, symmetric about 0; a non-negative one (saliency, SmoothGrad, the CAMs) from
white to dark. Every map is scaled on its own. The overlay shows |map| in `COLORMAP` over the
grey image, as `cnnlab cam` does; layer maps are already placed by receptive field.
"""

from __future__ import annotations

import numpy as np

from cnnlab.viz.maps import overlay
from cnnlab.viz.plots import figure_to_rgb, new_figure, show_digit

COLUMNS = 4  # methods per row, two panels each


def _show_map(ax, attribution: np.ndarray) -> None:
    """attribution (H, W): signed maps symmetric about 0, others from 0."""
    peak = float(np.abs(attribution).max()) or 1.0
    if attribution.min() < 0:
        ax.imshow(attribution, cmap="RdBu_r", vmin=-peak, vmax=peak, interpolation="nearest")
    else:
        ax.imshow(attribution, cmap="Greys", vmin=0, vmax=peak, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _show_overlay(ax, image: np.ndarray, attribution: np.ndarray) -> None:
    magnitude = np.abs(attribution)
    heat = magnitude / (magnitude.max() or 1.0)
    ax.imshow(overlay(image, heat, alpha=0.6 * heat), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def render_explanations(image: np.ndarray, results: dict, title: str) -> np.ndarray:
    """RGB uint8 figure of `results` ({method: {"map": (1, C, H, W)}}) for a uint8 (H, W)
    greyscale image (a colour image is shown in grey under the overlays)."""
    grey = image if image.ndim == 2 else image.mean(axis=0).astype(np.uint8)
    rows = 1 + -(-len(results) // COLUMNS)
    fig = new_figure(2.2 * COLUMNS, 1.35 * rows + 0.3)
    axes = fig.subplots(rows, 2 * COLUMNS, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].set_axis_on()
    show_digit(axes[0, 0], image)
    axes[0, 0].set_title("image", fontsize=8)
    for number, (name, result) in enumerate(results.items()):
        row, col = 1 + number // COLUMNS, 2 * (number % COLUMNS)
        attribution = result["map"][0].sum(axis=0)  # (H, W)
        for ax in axes[row, col : col + 2]:
            ax.set_axis_on()
        _show_map(axes[row, col], attribution)
        axes[row, col].set_title(name, fontsize=8)
        _show_overlay(axes[row, col + 1], grey, attribution)
        axes[row, col + 1].set_title("over the image", fontsize=7)
    fig.suptitle(title, fontsize=10)
    return figure_to_rgb(fig)
