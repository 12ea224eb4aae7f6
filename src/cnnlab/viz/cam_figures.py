"""Figures of class activation maps: one image in three panels, and several models side by side."""

from __future__ import annotations

import numpy as np

from cnnlab.viz.maps import COLORMAP, normalize_map, overlay, upsample_bilinear
from cnnlab.viz.plots import figure_to_rgb, new_figure, show_digit

EMPTY_NOTE = "map is empty"
NOTE_COLOUR = "#c2185b"  # a crimson that neither the grey digits nor the jet colormap use


def _show_raw_map(ax, raw_map: np.ndarray) -> None:
    """The map at its own resolution, one square per cell; small maps get their cell grid."""
    shown, _ = normalize_map(raw_map)
    h, w = shown.shape
    ax.imshow(shown, cmap=COLORMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if max(h, w) <= 16:
        ax.set_xticks(np.arange(-0.5, w, 1.0), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1.0), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.6, alpha=0.6)
        ax.tick_params(which="minor", length=0)


def _show_overlay(ax, image: np.ndarray, raw_map: np.ndarray) -> bool:
    """The map upsampled to the image size and blended over it; returns whether it is empty."""
    heat, empty = normalize_map(upsample_bilinear(raw_map, image.shape))
    ax.imshow(overlay(image, heat), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return empty


def _note(ax, text: str) -> None:
    ax.text(
        0.5,
        -0.06,
        text,
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9,
        color=NOTE_COLOUR,
        style="italic",
    )


def render_cam_panels(
    image: np.ndarray,
    raw_map: np.ndarray,
    upsampled: np.ndarray | None = None,
    title: str = "",
    subtitle: str = "",
) -> np.ndarray:
    """Original | raw map at its own resolution | upsampled map over the image.

    image: (28, 28) uint8; raw_map: (h, w), e.g. 11x11; upsampled: the map at the image size
    (computed with `upsample_bilinear` when None). Put the predicted class and its probability
    in `title`, e.g. "cnn2 · scratch: predicted 7 (0.998)". Returns RGB uint8.
    """
    raw_map = np.asarray(raw_map, dtype=np.float64)
    if upsampled is None:
        upsampled = upsample_bilinear(raw_map, image.shape)
    heat, empty = normalize_map(upsampled)
    h, w = raw_map.shape

    fig = new_figure(7.5, 3.2)
    if title:
        fig.suptitle(title, fontsize=12)
    axes = fig.subplots(1, 3)
    show_digit(axes[0], image)
    axes[0].set_title("input", fontsize=10)
    _show_raw_map(axes[1], raw_map)
    axes[1].set_title(f"map, {h}×{w}", fontsize=10)
    axes[2].imshow(overlay(image, heat), interpolation="nearest")
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    axes[2].set_title(f"upsampled to {image.shape[0]}×{image.shape[1]}", fontsize=10)
    if empty:
        for ax in axes[1:]:
            _note(ax, EMPTY_NOTE)
    if subtitle:
        fig.supxlabel(subtitle, fontsize=9, color="#444444")
    return figure_to_rgb(fig)


def render_cam_comparison(rows: list[dict], title: str = "Class activation maps") -> np.ndarray:
    """One row per model: original | CAM | CAM overlay | Grad-CAM overlay.

    Each row is a dict: "label" (e.g. "cnn2 · scratch"), "image" (28, 28) uint8, "cam" (h, w)
    raw map or None (a model without a conv layer), optional "gradcam" (h, w) raw map, and an
    optional "caption" such as "pred 7 (0.998)". The Grad-CAM column appears only when some
    row has one. Returns RGB uint8.
    """
    with_gradcam = any(row.get("gradcam") is not None for row in rows)
    headers = ["input", "CAM", "CAM overlay"] + (["Grad-CAM overlay"] if with_gradcam else [])
    n_rows, n_cols = len(rows), len(headers)
    fig = new_figure(1.2 + 1.75 * n_cols, 0.6 + 1.9 * n_rows)
    fig.suptitle(title, fontsize=12)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for j, header in enumerate(headers):
        axes[0, j].set_title(header, fontsize=10, fontweight="bold", pad=12)

    for i, row in enumerate(rows):
        image = np.asarray(row["image"])
        ax_image, ax_cam, ax_overlay = axes[i, :3]
        show_digit(ax_image, image)
        label = row["label"] + (f"\n{row['caption']}" if row.get("caption") else "")
        ax_image.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9, labelpad=8)

        cam = row.get("cam")
        if cam is None:
            for ax in (ax_cam, ax_overlay):
                ax.set_axis_off()
            ax_cam.text(
                0.5,
                0.5,
                "no conv layer:\nno CAM",
                transform=ax_cam.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="#666666",
            )
        else:
            cam = np.asarray(cam, dtype=np.float64)
            _show_raw_map(ax_cam, cam)
            ax_cam.set_xlabel(f"{cam.shape[0]}×{cam.shape[1]}", fontsize=8, labelpad=2)
            if _show_overlay(ax_overlay, image, cam):
                _note(ax_overlay, EMPTY_NOTE)

        if with_gradcam:
            ax_grad = axes[i, 3]
            if row.get("gradcam") is None:
                ax_grad.set_axis_off()
            elif _show_overlay(ax_grad, image, np.asarray(row["gradcam"], dtype=np.float64)):
                _note(ax_grad, EMPTY_NOTE)
    return figure_to_rgb(fig)
