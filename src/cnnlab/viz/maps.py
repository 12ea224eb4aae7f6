"""Class activation maps as pictures: scale to [0, 1], upsample to the input size, overlay.

`normalize_map` and `upsample_bilinear` are pure NumPy; `overlay` needs only a matplotlib
colormap (no figure).
"""

from __future__ import annotations

import numpy as np

COLORMAP = "jet"


def normalize_map(m: np.ndarray, eps: float = 1e-8) -> tuple[np.ndarray, bool]:
    """Scale a map to [0, 1] for display; returns (map, empty).

    Only positive evidence is shown: negative values are clipped to 0 (as Grad-CAM's ReLU), then
    min-max scaled. A map with nothing left to show (constant, all zero, all negative, or
    non-finite) gives zeros and empty=True. Never returns NaN.
    """
    m = np.nan_to_num(np.asarray(m, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    m = np.maximum(m, 0.0)
    low, high = (float(m.min()), float(m.max())) if m.size else (0.0, 0.0)
    if high - low < eps:
        return np.zeros_like(m), True
    return (m - low) / (high - low), False


def _interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1-D linear interpolation, align_corners=False.

    Output pixel i samples the input at x = (i + 0.5) * n_in / n_out - 0.5 (pixel centres
    aligned), clamped at 0 on the left; beyond the last input pixel it repeats the edge value,
    exactly like torch.nn.functional.interpolate(mode="bilinear", align_corners=False).
    """
    x = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    x = np.maximum(x, 0.0)
    left = np.minimum(np.floor(x).astype(np.int64), n_in - 1)
    right = np.minimum(left + 1, n_in - 1)
    frac = x - left
    weights = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(weights, (rows, left), 1.0 - frac)
    np.add.at(weights, (rows, right), frac)
    return weights


def upsample_bilinear(m: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Bilinear resize of a (h, w) map to `size`, float64, align_corners=False semantics."""
    m = np.asarray(m, dtype=np.float64)
    rows = _interpolation_matrix(m.shape[0], size[0])  # (H, h)
    cols = _interpolation_matrix(m.shape[1], size[1])  # (W, w)
    # Bilinear = linear along y, then along x; both are matrix products.
    return rows @ m @ cols.T  # (H, W)


def cell_coverage(centers, shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """(H, W) weights in [0, 1]: where a map of cells centred at `centers` (rows, cols) speaks.

    1 up to half a cell spacing beyond the outermost centres, then falling linearly to 0 over
    another half spacing. cnn3's 3x3 map has centres at 8.5, 12.5, 16.5: its colour covers
    rows 6.5..18.5 and is gone by 4.5 and 20.5, instead of repeating the edge cells as bands
    out to the image border, where no cell sits. One cell covers the whole image.
    """

    def along(centres, n: int) -> np.ndarray:
        c = np.asarray(centres, dtype=np.float64)
        half = (c[-1] - c[0]) / (2 * (c.size - 1)) if c.size > 1 else float(n)
        x = np.arange(n, dtype=np.float64)
        beyond = np.maximum(c[0] - half - x, 0.0) + np.maximum(x - (c[-1] + half), 0.0)
        return np.clip(1.0 - beyond / half, 0.0, 1.0)

    rows, cols = centers
    return np.outer(along(rows, shape[0]), along(cols, shape[1]))  # (H, W)


def overlay(image: np.ndarray, heat: np.ndarray, alpha=0.5) -> np.ndarray:
    """Blend a [0, 1] heat map, coloured with `COLORMAP`, over a uint8 image.

    image: (H, W) grey or (3, H, W) colour uint8; heat: (H, W) in [0, 1]; alpha: the colour's
    weight, one number or (H, W) (0 leaves the image). Returns RGB uint8 (H, W, 3).
    """
    from matplotlib import colormaps

    image = np.asarray(image, dtype=np.float64)
    # (H, W, 1) grey or (H, W, 3) colour, 0..1
    grey = (image.transpose(1, 2, 0) if image.ndim == 3 else image[..., None]) / 255.0
    alpha = np.asarray(alpha, dtype=np.float64)
    alpha = alpha[..., None] if alpha.ndim == 2 else alpha  # (H, W, 1) or scalar
    colour = colormaps[COLORMAP](np.clip(heat, 0.0, 1.0))[..., :3]  # (H, W, 3)
    rgb = (1.0 - alpha) * grey + alpha * colour
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
