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


def _show_overlay(ax, image: np.ndarray, upsampled: np.ndarray, centers=None) -> bool:
    """The map at the image size blended over it; returns whether it is empty."""
    heat, empty = normalize_map(upsampled)
    ax.imshow(overlay(image, heat), interpolation="nearest")
    if centers is not None:
        _mark_centres(ax, centers)
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
    centers=None,
) -> np.ndarray:
    """Original | raw map at its own resolution | upsampled map over the image.

    image: (28, 28) uint8; raw_map: (h, w), e.g. 11x11; centers: (rows, cols) of the cells'
    receptive-field centres in pixels (`cnnlab.analysis.receptive_field`); upsampled: the map
    at the image size (computed from `centers`, or stretched when both are None). Put the
    predicted class and its probability in `title`. Returns RGB uint8.
    """
    raw_map = np.asarray(raw_map, dtype=np.float64)
    if upsampled is None:
        upsampled = _upsample(raw_map, image.shape, centers)
    h, w = raw_map.shape

    fig = new_figure(7.5, 3.2)
    if title:
        fig.suptitle(title, fontsize=12)
    axes = fig.subplots(1, 3)
    show_digit(axes[0], image)
    axes[0].set_title("input", fontsize=10)
    _show_raw_map(axes[1], raw_map)
    axes[1].set_title(f"map, {h}×{w}", fontsize=10)
    empty = _show_overlay(axes[2], image, upsampled, centers)
    axes[2].set_title(f"upsampled to {image.shape[0]}×{image.shape[1]}", fontsize=10)
    if not subtitle:
        subtitle = _placement_note(centers)
    if empty:
        for ax in axes[1:]:
            _note(ax, EMPTY_NOTE)
    if subtitle:
        fig.supxlabel(subtitle, fontsize=9, color="#444444")
    return figure_to_rgb(fig)


def _placement_note(centers) -> str:
    from cnnlab.analysis.receptive_field import OUTSIDE_NOTE

    if centers is None:
        return "map stretched evenly over the image (cells not at their receptive-field centres)"
    return f"overlay: each cell at its receptive-field centre; {OUTSIDE_NOTE}"


def render_cam_comparison(rows: list[dict], title: str = "Class activation maps") -> np.ndarray:
    """One row per model: original | CAM | CAM overlay | Grad-CAM overlay.

    Each row is a dict: "label" (e.g. "cnn2 · scratch"), "image" (28, 28) uint8, "cam" (h, w)
    raw map or None (a model without a conv layer), optional "gradcam" (h, w) raw map, optional
    "centers" (rows, cols) of the cells' receptive-field centres (without them the maps are
    stretched over the image) and an optional "caption" such as "pred 7 (0.998)". The
    Grad-CAM column appears only when some row has one. Returns RGB uint8.
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
                row.get("cam_note") or "no conv layer:\nno CAM",
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
            centers = row.get("centers")
            if _show_overlay(ax_overlay, image, _upsample(cam, image.shape, centers), centers):
                _note(ax_overlay, EMPTY_NOTE)

        if with_gradcam:
            ax_grad = axes[i, 3]
            if row.get("gradcam") is None:
                ax_grad.set_axis_off()
            else:
                grad = np.asarray(row["gradcam"], dtype=np.float64)
                centers = row.get("centers")
                if _show_overlay(ax_grad, image, _upsample(grad, image.shape, centers), centers):
                    _note(ax_grad, EMPTY_NOTE)
    fig.supxlabel(_placement_note(rows[0].get("centers") if rows else None), fontsize=8)
    return figure_to_rgb(fig)
