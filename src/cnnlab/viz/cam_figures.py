"""Figures of class activation maps: one image in three panels, and several models side by side.

What the colours mean is said on every figure, with a colour bar: a map is clipped at zero and
scaled on its own, so red is the strongest evidence in that map and blue its weakest, which is
not "no evidence". A map with no positive value says so inside its panel.
"""

from __future__ import annotations

import numpy as np

from cnnlab.viz.maps import COLORMAP, cell_coverage, normalize_map, overlay, upsample_bilinear
from cnnlab.viz.plots import figure_to_rgb, new_figure, show_digit

NOTE_COLOUR = "#c2185b"  # a crimson that neither the grey digits nor the jet colormap use
SCALE_NOTE = (
    "each map clipped at 0 and scaled on its own: red = strongest, blue = weakest evidence "
    "in that map"
)
PLACED_NOTE = "cells at their receptive-field centres (dots), colour fading beyond the outer cells"
STRETCHED_NOTE = "map stretched evenly over the image (cells not at their receptive-field centres)"


def empty_note(target: int | None) -> str:
    """Why a map shows nothing: its values were all zero or negative."""
    what = "the class" if target is None else f"class {target}"
    return f"no positive evidence\nfor {what}\nat this layer"


def _show_raw_map(ax, raw_map: np.ndarray) -> None:
    """The map at its own resolution, one square per cell; small maps get their cell grid."""
    shown, empty = normalize_map(raw_map)
    h, w = shown.shape
    if empty:  # no evidence anywhere: neutral grey, not the colour of "weakest"
        ax.imshow(np.full((h, w, 3), 0.85), interpolation="nearest")
    else:
        ax.imshow(shown, cmap=COLORMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if max(h, w) <= 16:
        ax.set_xticks(np.arange(-0.5, w, 1.0), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1.0), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.6, alpha=0.6)
        ax.tick_params(which="minor", length=0)


def _upsample(raw_map: np.ndarray, shape, centers) -> np.ndarray:
    """At each cell's receptive-field centre when `centers` (rows, cols) is given, otherwise a
    plain resize stretched over the whole image."""
    if centers is None:
        return upsample_bilinear(raw_map, shape)
    from cnnlab.analysis.receptive_field import ReceptiveField, upsample_to_input

    rows, cols = (np.asarray(c, dtype=np.float64) for c in centers)
    return upsample_to_input(raw_map, ReceptiveField(rows, cols, (0, 0), (0, 0)), shape)


def _mark_centres(ax, centers) -> None:
    """Small dots where the cells' receptive fields are centred (small maps only)."""
    rows, cols = (np.asarray(c) for c in centers)
    if max(len(rows), len(cols)) <= 16:
        yy, xx = np.meshgrid(rows, cols, indexing="ij")
        ax.scatter(xx.ravel(), yy.ravel(), s=4, c="white", alpha=0.7, linewidths=0)


def _show_overlay(ax, image: np.ndarray, upsampled: np.ndarray, centers, target) -> None:
    """The map at the image size blended over it, faded where no cell sits; an empty map leaves
    the digit grey and says why inside the panel."""
    heat, empty = normalize_map(upsampled)
    coverage = 0.5 if centers is None else 0.5 * cell_coverage(centers, image.shape[-2:])
    ax.imshow(overlay(image, heat, 0.0 if empty else coverage), interpolation="nearest")
    if centers is not None and not empty:
        _mark_centres(ax, centers)
    ax.set_xticks([])
    ax.set_yticks([])
    if empty:
        _note(ax, empty_note(target))


def _note(ax, text: str) -> None:
    """A note inside the panel, on a white box: it covers the grey digit, never a caption."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=7.5,
        color=NOTE_COLOUR,
        style="italic",
        bbox={"facecolor": "white", "alpha": 0.9, "edgecolor": NOTE_COLOUR, "pad": 2},
    )


def _colour_bar(fig, axes) -> None:
    """One bar for the maps of these axes: 0 is the weakest evidence of a map, 1 its strongest."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(
        ScalarMappable(Normalize(0.0, 1.0), cmap=COLORMAP), ax=axes, shrink=0.8, aspect=25
    )
    bar.set_ticks([0.0, 1.0], labels=["weakest", "strongest"], fontsize=8)
    bar.set_label("evidence in that map", fontsize=8)


def cam_panels_figure(
    image, raw_map, upsampled=None, title="", subtitle="", centers=None, target=None
):
    """The matplotlib Figure of `render_cam_panels` (tests measure its texts)."""
    raw_map = np.asarray(raw_map, dtype=np.float64)
    if upsampled is None:
        upsampled = _upsample(raw_map, image.shape[-2:], centers)
    h, w = raw_map.shape
    fig = new_figure(8.2, 3.5)
    if title:
        fig.suptitle(title, fontsize=12)
    axes = fig.subplots(1, 3)
    show_digit(axes[0], image)
    axes[0].set_title("input", fontsize=10)
    _show_raw_map(axes[1], raw_map)
    axes[1].set_title(f"map, {h}×{w}", fontsize=10)
    _show_overlay(axes[2], image, upsampled, centers, target)
    axes[2].set_title(f"upsampled to {image.shape[-2]}×{image.shape[-1]}", fontsize=10)
    if normalize_map(raw_map)[1]:
        _note(axes[1], empty_note(target))
    _colour_bar(fig, list(axes[1:]))
    placement = subtitle or (STRETCHED_NOTE if centers is None else PLACED_NOTE)
    fig.supxlabel(f"{SCALE_NOTE};\n{placement}", fontsize=8.5, color="#444444")
    return fig


def render_cam_panels(
    image: np.ndarray,
    raw_map: np.ndarray,
    upsampled: np.ndarray | None = None,
    title: str = "",
    subtitle: str = "",
    centers=None,
    target: int | None = None,
) -> np.ndarray:
    """Original | raw map at its own resolution | upsampled map over the image, and a colour bar.

    image: (28, 28) uint8; raw_map: (h, w), e.g. 11x11; centers: (rows, cols) of the cells'
    receptive-field centres in pixels (`cnnlab.analysis.receptive_field`); upsampled: the map
    at the image size (computed from `centers`, or stretched when both are None); target: the
    class the map is for, named when the map is empty. Put the class and its probability in
    `title`. Returns RGB uint8.
    """
    return figure_to_rgb(
        cam_panels_figure(image, raw_map, upsampled, title, subtitle, centers, target)
    )


def _comparison_row(axes, row: dict, with_gradcam: bool) -> None:
    """input | CAM | CAM overlay | Grad-CAM overlay of one model."""
    image = np.asarray(row["image"])
    ax_image, ax_cam, ax_overlay = axes[:3]
    show_digit(ax_image, image)
    label = row["label"] + (f"\n{row['caption']}" if row.get("caption") else "")
    ax_image.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9, labelpad=8)
    centers, target = row.get("centers"), row.get("target")
    cam = row.get("cam")
    if cam is None:
        for ax in (ax_cam, ax_overlay):
            ax.set_axis_off()
        note = row.get("cam_note") or "no conv layer:\nno CAM"
        ax_cam.text(0.5, 0.5, note, transform=ax_cam.transAxes, ha="center", va="center",
                    fontsize=9, color="#666666")  # fmt: skip
    else:
        cam = np.asarray(cam, dtype=np.float64)
        _show_raw_map(ax_cam, cam)
        ax_cam.set_xlabel(f"{cam.shape[0]}×{cam.shape[1]}", fontsize=8, labelpad=2)
        if normalize_map(cam)[1]:
            _note(ax_cam, empty_note(target))
        _show_overlay(ax_overlay, image, _upsample(cam, image.shape[-2:], centers), centers, target)
    if with_gradcam:
        if row.get("gradcam") is None:
            axes[3].set_axis_off()
        else:
            grad = np.asarray(row["gradcam"], dtype=np.float64)
            _show_overlay(
                axes[3], image, _upsample(grad, image.shape[-2:], centers), centers, target
            )


def cam_comparison_figure(rows: list[dict], title: str = "Class activation maps"):
    """The matplotlib Figure of `render_cam_comparison` (tests measure its texts)."""
    with_gradcam = any(row.get("gradcam") is not None for row in rows)
    headers = ["input", "CAM", "CAM\noverlay"] + (["Grad-CAM\noverlay"] if with_gradcam else [])
    n_rows, n_cols = len(rows), len(headers)
    fig = new_figure(2.0 + 1.75 * n_cols, 0.9 + 1.9 * n_rows)
    fig.suptitle(title, fontsize=12)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for j, header in enumerate(headers):
        axes[0, j].set_title(header, fontsize=10, fontweight="bold", pad=12)
    for i, row in enumerate(rows):
        _comparison_row(axes[i], row, with_gradcam)
    _colour_bar(fig, list(axes[:, 1:].ravel()))
    centers = rows[0].get("centers") if rows else None
    placement = STRETCHED_NOTE if centers is None else PLACED_NOTE
    fig.supxlabel(f"{SCALE_NOTE};\n{placement}", fontsize=8, color="#444444")
    return fig


def render_cam_comparison(rows: list[dict], title: str = "Class activation maps") -> np.ndarray:
    """One row per model: original | CAM | CAM overlay | Grad-CAM overlay, and a colour bar.

    Each row is a dict: "label" (e.g. "cnn2 · scratch"), "image" (28, 28) uint8, "cam" (h, w)
    raw map or None (a model without a conv layer), optional "gradcam" (h, w) raw map, optional
    "centers" (rows, cols) of the cells' receptive-field centres (without them the maps are
    stretched over the image), an optional "caption" such as "class 7 (p=0.998), predicted 7"
    and an optional "target" (the class of the maps, named when a map is empty). The Grad-CAM
    column appears only when some row has one. Returns RGB uint8.
    """
    return figure_to_rgb(cam_comparison_figure(rows, title))
