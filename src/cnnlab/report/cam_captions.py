"""The captions of the report's CAM comparison figures, from what each figure says it shows.

`cnnlab cam` stores a caption in the PNG it writes (the test image, its true label, each
network's prediction: `cnnlab.analysis.cam_runs.caption_text`); the report reads it back, so a
figure redrawn on another image can never sit under a caption of the first.
"""

from __future__ import annotations

from pathlib import Path

# `cnnlab run`'s two figures, in the report's order, and what each one is
FIGURES = (
    ("cam_comparison.png", "CAM and Grad-CAM of every CNN"),
    ("cam_comparison_disagreement.png", "The same on a test image the CNNs disagree on"),
)


def caption(path: Path, what: str) -> str:
    """`what`, then the image and each network's prediction as stored in the PNG
    ("...: test image 5 (true label 1); cnn2 · scratch predicts 1 (0.9973), ..."); a figure
    without that text gets `what` alone, never a guess at its image."""
    from cnnlab.viz.plots import png_text

    shown = png_text(path).get("caption")
    return f"{what}: {shown}" if shown else what


def present(cam_dir: Path) -> list[tuple[Path, str]]:
    """(path, caption) of each of the figures that `cam_dir` holds."""
    return [
        (cam_dir / f, caption(cam_dir / f, what)) for f, what in FIGURES if (cam_dir / f).is_file()
    ]
