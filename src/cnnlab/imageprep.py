"""A user's own picture of a digit, prepared the way MNIST's digits were.

MNIST digits are light on a dark background; their bounding box was scaled (keeping the aspect
ratio, with anti-aliasing) to fit 20x20 pixels, then placed in a 28x28 field so that the centre
of mass of the pixels sits at the centre. A network trained on MNIST expects exactly that, so a
photo or a drawing goes through the same steps before `cnnlab predict` sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.errors import UserError

SIZE = 28  # the output field
BOX = 20  # the longer side of the digit inside it
MIN_CONTRAST = 40  # grey levels (of 255) the digit must stand out from the background
INK_THRESHOLD = 0.25  # fraction of the darkest-to-brightest range that counts as the digit


def _open_grey(path: Path) -> np.ndarray:
    """The picture as float64 grey levels 0..255, transparency composited on white."""
    try:
        with Image.open(path) as img:
            img.load()  # decode now, so a truncated file fails here and not later
            img = ImageOps.exif_transpose(img)  # phone photos: apply the orientation tag
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                # 16-bit or float greyscale: scale to 0..255 instead of clipping at 255.
                data = np.asarray(img, dtype=np.float64)
                return data * (255.0 / 65535.0) if data.max() > 255 else data
            if "A" in img.getbands() or "transparency" in img.info:
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, rgba)
            return np.asarray(img.convert("L"), dtype=np.float64)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; give the path of a PNG or JPEG file.") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not an image file.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
        raise UserError(
            f"{path} is not an image that can be read ({err.__class__.__name__}); "
            "give a PNG or JPEG of one digit."
        ) from None


def _border(grey: np.ndarray) -> np.ndarray:
    """The pixels of the outer frame (about 4% of each side, at least 1 pixel)."""
    h, w = grey.shape
    dy, dx = max(1, h // 25), max(1, w // 25)
    return np.concatenate(
        [grey[:dy].ravel(), grey[-dy:].ravel(), grey[:, :dx].ravel(), grey[:, -dx:].ravel()]
    )


def _light_on_dark(grey: np.ndarray) -> np.ndarray:
    """Invert a light background, then subtract the background level so it becomes 0."""
    background = float(np.median(_border(grey)))
    if background > 127.5:
        grey, background = 255.0 - grey, 255.0 - background
    return np.clip(grey - background, 0.0, None)


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every pixel above the ink threshold."""
    rows = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit_box(digit: np.ndarray) -> np.ndarray:
    """Scale so the longer side is `BOX` pixels, keeping the aspect ratio (anti-aliased)."""
    h, w = digit.shape
    scale = BOX / max(h, w)
    new_size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL: (width, height)
    # Lanczos on a float image: anti-aliased when shrinking, sharp when enlarging.
    resized = Image.fromarray(digit.astype(np.float32)).resize(new_size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, None)


def _place_by_centre_of_mass(digit: np.ndarray) -> np.ndarray:
    """Paste into a `SIZE` x `SIZE` field with the centre of mass at the middle.

    The shift is a whole number of pixels (no resampling blur), and kept small enough that no
    part of the digit leaves the field.
    """
    h, w = digit.shape
    ys, xs = np.indices(digit.shape)
    total = digit.sum()
    cy, cx = (ys * digit).sum() / total, (xs * digit).sum() / total
    top = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - h))
    left = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - w))
    field = np.zeros((SIZE, SIZE))
    field[top : top + h, left : left + w] = digit
    return field


def load_digit(path: str | os.PathLike) -> np.ndarray:
    """Read a picture of one digit as MNIST-like uint8 (28, 28): light digit on black.

    Any size and format Pillow reads; dark-on-light and light-on-dark both work (decided from
    the border pixels). Raises UserError for a missing, unreadable or blank picture.
    """
    path = Path(path)
    grey = _open_grey(path)
    if grey.size == 0:
        raise UserError(f"{path} has no pixels; give a picture of one digit.")
    ink = _light_on_dark(grey)
    if ink.max() < MIN_CONTRAST:
        raise UserError(
            f"{path} looks blank: nothing stands out from the background; "
            "give a picture of one digit, dark on light or light on dark."
        )
    digit = _fit_box(_crop_to_ink(ink))
    field = _place_by_centre_of_mass(digit)
    # Full contrast, like MNIST: the brightest stroke is 255.
    return np.round(field * (255.0 / field.max())).astype(np.uint8)
