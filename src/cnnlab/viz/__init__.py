"""Seeing what a network learned: pictures as RGB uint8 arrays (the numbers are in
`cnnlab.analysis.metrics`).

    from cnnlab.viz import render_confusion_matrix, save_png
    save_png(render_confusion_matrix(confusion_matrix(labels, predicted)), "cm.png")

| module | what |
|---|---|
| `maps` | CAM helpers: normalize, bilinear upsampling, colour overlay (pure NumPy) |
| `plots` | figure -> RGB array, `save_png` |
| `confusion`, `grids`, `curves`, `compare`, `cam_figures` | one kind of picture each |

The names below are imported on first use, so `import cnnlab.viz.maps` never loads
matplotlib.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "maps": ("normalize_map", "upsample_bilinear", "overlay"),
    "plots": ("save_png", "png_bytes"),
    "confusion": ("render_confusion_matrix",),
    "grids": ("render_top_scoring", "render_worst_errors"),
    "curves": ("render_curves",),
    "compare": ("render_run_comparison",),
    "cam_figures": ("render_cam_panels", "render_cam_comparison"),
    "seeds": ("render_seed_accuracies",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
