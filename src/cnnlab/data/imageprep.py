"""A user's own picture of a digit, prepared the way MNIST's digits were.

MNIST digits are light on a dark background; their bounding box was scaled (keeping the aspect
ratio, with anti-aliasing) to fit 20x20 pixels, then placed in a 28x28 field so that the centre
of mass of the pixels sits at the centre. A network trained on MNIST expects exactly that, so a
photo or a drawing goes through the same steps before `cnnlab predict` sees it.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from cnnlab.errors import UserError
from cnnlab.fileio import require_regular_file

SIZE = 28  # the output field
BOX = 20  # the longer side of the digit inside it
MIN_CONTRAST = 40  # grey levels (of 255) the digit must stand out from the background
INK_THRESHOLD = 0.25  # fraction of the darkest-to-brightest range that counts as the digit
# Pictures with more pixels than this are shrunk by a whole factor (box averaging) as soon as
# they are decoded, so the float maths below never holds more than a few of them (32 MB each).
WORK_PIXELS = 4_000_000
# The most bytes a picture may take while it is decoded and shrunk (Pillow holds 1, 2 or 4 bytes
# a pixel, and a copy when it converts); above it the picture is refused, not decoded.
MAX_DECODE_BYTES = 640 * 2**20

# What Pillow raises on files that are not the image they claim to be: its decoders are written
# for well-formed files and fail in many ways on damaged ones.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

# EXIF orientation -> the transposition that undoes it (as ImageOps.exif_transpose does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _bytes_per_pixel(mode: str) -> int:
    """How many bytes Pillow stores for one pixel of `mode`."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _has_alpha(img: Image.Image) -> bool:
    return "A" in img.getbands() or "transparency" in img.info


def _reducible_mode(img: Image.Image) -> str:
    """The mode to convert to before shrinking: one that `Image.reduce` accepts and that keeps
    what matters here (transparency, and the range of 16-bit greys)."""
    if _has_alpha(img):
        return img.mode if img.mode in ("LA", "RGBA") else "RGBA"
    if img.mode in ("1", "P"):
        return "L"
    if img.mode.startswith("I;16"):
        return "I"
    return img.mode


def _decode_bytes(img: Image.Image, mode: str) -> int:
    """Peak bytes of decoding `img` and shrinking it in `mode`: the decoded picture, its
    converted copy, and the premultiplied copy that `reduce` makes of an image with alpha."""
    per_pixel = _bytes_per_pixel(img.mode)
    if mode != img.mode:
        per_pixel += _bytes_per_pixel(mode)
    if mode in ("LA", "RGBA"):
        per_pixel += 4
    return img.width * img.height * per_pixel


def _decode_small(path: Path | str, img: Image.Image) -> Image.Image:
    """Decode `img` at no more than about `WORK_PIXELS`, upright, in a mode `_grey` reads."""
    factor = math.ceil(math.sqrt(img.width * img.height / WORK_PIXELS))
    if factor > 1:
        # JPEG decodes straight to a smaller scale (1/2, 1/4, 1/8) and to grey: cheap.
        img.draft("L", (img.width // factor, img.height // factor))
    mode = _reducible_mode(img)
    if _decode_bytes(img, mode) > MAX_DECODE_BYTES:
        raise UserError(
            f"{path} is {img.width}x{img.height} pixels, too large to read in memory; "
            "scale it down to a few thousand pixels a side and try again."
        )
    img.load()  # decode now, so a truncated file fails here and not later
    # Only after load: a PNG may keep its EXIF after the pixels, and getexif() would decode them.
    orientation = img.getexif().get(ExifTags.Base.Orientation)
    if mode != img.mode:
        img = img.convert(mode)
    factor = math.ceil(math.sqrt(img.width * img.height / WORK_PIXELS))
    if factor > 1:
        img = img.reduce(factor)  # (H, W) -> (H/factor, W/factor), each pixel a box average
    if orientation in _ORIENTATION:  # phone photos: apply the orientation tag
        img = img.transpose(_ORIENTATION[orientation])
    return img


def _grey(img: Image.Image) -> np.ndarray:
    """Float64 grey levels 0..255 of a decoded picture.

    Transparency is composited onto the backdrop that contrasts with the opaque strokes (black
    behind light strokes, white behind dark ones), so a white digit on a transparent background
    reads as well as a black one.
    """
    if img.mode in ("I", "F"):
        # 16-bit or float greyscale: scale to 0..255 instead of clipping at 255.
        data = np.asarray(img, dtype=np.float64)
        return data * (255.0 / 65535.0) if data.size and data.max() > 255 else data
    if not _has_alpha(img):
        return np.asarray(img.convert("L"), dtype=np.float64)
    grey_alpha = np.asarray(img.convert("RGBA").convert("LA"), dtype=np.float64)
    grey, alpha = grey_alpha[..., 0], grey_alpha[..., 1] / 255.0  # (H, W) each
    opacity = alpha.sum()
    strokes = (grey * alpha).sum() / opacity if opacity > 0 else 0.0
    backdrop = 0.0 if strokes > 127.5 else 255.0
    return grey * alpha + backdrop * (1.0 - alpha)


def _open_grey(path: Path | str, source: Path | BinaryIO) -> np.ndarray:
    """The picture as float64 grey levels 0..255, at most about `WORK_PIXELS` of them.

    `source` is read; `path` names it in error messages (a file object has no path)."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about large pictures (MAX_DECODE_BYTES is the limit here) and about
            # damaged metadata; neither should stop a picture whose pixels can be read.
            warnings.simplefilter("ignore")
            with Image.open(source) as img:
                return _grey(_decode_small(path, img))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; give the path of a PNG or JPEG file.") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not an image file.") from None
    except PermissionError:
        raise UserError(f"{path} cannot be read: permission denied.") from None
    except Image.DecompressionBombError:
        raise UserError(
            f"{path} has too many pixels to read safely (over {2 * Image.MAX_IMAGE_PIXELS}); "
            "scale it down to a few thousand pixels a side and try again."
        ) from None
    except _DECODE_ERRORS as err:
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


def load_digit(source: str | os.PathLike | BinaryIO, name: str = "the picture") -> np.ndarray:
    """Read a picture of one digit as MNIST-like uint8 (28, 28): light digit on black.

    `source` is a path or an open binary file (`name` then names it in error messages). Any
    size and format Pillow reads; dark-on-light and light-on-dark both work (decided from the
    border pixels). Raises UserError for a missing, unreadable or blank picture.
    """
    is_file_object = hasattr(source, "read")
    path = name if is_file_object else Path(source)
    if not is_file_object:  # a FIFO or a device would block the reader, or never end
        require_regular_file(path, "a PNG or JPEG file")
    grey = _open_grey(path, source if is_file_object else path)
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
