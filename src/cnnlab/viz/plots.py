"""What every picture shares: a matplotlib figure without pyplot, rendered to an RGB array.

Each renderer in `cnnlab.viz` returns an RGB uint8 array (H, W, 3), so the same picture can be
written as a PNG (`save_png`) and logged to TensorBoard. Figures are built with
`matplotlib.figure.Figure` and the Agg canvas directly: no pyplot, no global figure state, no
GUI backend, safe in tests and in threads.
"""

from __future__ import annotations

import io
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from cnnlab import fileio

DPI = 110
ERROR_RED = "#d62728"


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of width x height inches at `DPI`, attached to an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Draw the figure and return its pixels as RGB uint8 (H, W, 3)."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())  # (H, W, 4), a view into the canvas
    return np.ascontiguousarray(rgba[..., :3])


def png_bytes(array: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """Encode an RGB (H, W, 3) or greyscale (H, W) uint8 array as PNG; `text` goes into the
    file's text chunks (read back with `png_text`), e.g. the caption of what it shows."""
    from PIL.PngImagePlugin import PngInfo

    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or array.shape[2:] not in ((), (3,)):
        raise ValueError(f"expected uint8 (H, W) or (H, W, 3), got {array.dtype} {array.shape}")
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_itxt(key, value)  # international text: UTF-8, so "·" and "−" survive
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks of a PNG file ({} when it has none or cannot be read as a PNG)."""
    try:
        with Image.open(path) as image:
            return {str(k): str(v) for k, v in getattr(image, "text", {}).items()}
    except OSError:
        return {}


def save_png(array: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB or greyscale uint8 array to `path` as PNG, atomically."""
    fileio.write_bytes(path, png_bytes(array))


def show_digit(ax, image: np.ndarray) -> None:
    """A uint8 image on an axis, (H, W) grey or (3, H, W) colour (channels first, as the
    networks take it): levels as stored, pixels as squares, no ticks."""
    if image.ndim == 3 and image.shape[0] == 3:
        ax.imshow(image.transpose(1, 2, 0), interpolation="nearest")  # (H, W, 3) RGB
    else:
        ax.imshow(
            image.reshape(image.shape[-2:]), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
        )
    ax.set_xticks([])
    ax.set_yticks([])


def frame(ax, color: str, width: float) -> None:
    """Colour the four spines of an axis: a frame around an image."""
    for spine in ax.spines.values():
        spine.set_edgecolor(color)
        spine.set_linewidth(width)
