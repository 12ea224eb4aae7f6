"""Decoding a folder's pictures into one uint8 array of one size and one channel count.

Every picture is brought to SIZE x SIZE keeping its aspect ratio: scaled so that its longer
side is SIZE, then padded with black on the shorter side, centred (Pillow's `ImageOps.pad`).
The default SIZE is the longer side most pictures have, at most `MAX_DEFAULT_SIZE`: a folder of
28x28 pictures stays 28x28, one of photos becomes 64x64 (ask for more with --image-size).
Colour is kept when any picture has it (a picture whose red, green and blue are equal is grey);
--channels 1 turns colour into grey with Pillow's luma weights, --channels 3 repeats grey.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data.folder_scan import not_pictures
from cnnlab.errors import UserError

MAX_DEFAULT_SIZE = 64
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS  # the decompression-bomb limit `predict` has
CHUNK = 2000  # pictures per worker task
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _open(path: str) -> tuple[np.ndarray | None, str]:
    """(H, W) grey or (H, W, 3) RGB uint8 pixels of the picture (a GIF's first frame), or
    (None, why) when it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    return None, "too large"
                img.seek(0)
                if img.mode in _GREY_MODES:
                    return np.asarray(img.convert("L")), ""
                rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return None, "unreadable"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "too large"
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0]), ""  # colour mode, grey pixels
    return rgb, ""


def _open_chunk(paths: list[str]) -> list[tuple[np.ndarray | None, str]]:
    return [_open(p) for p in paths]


def open_all(root: Path, relpaths: list[str], workers: int) -> list[np.ndarray]:
    """The pixels of every picture, decoded by `workers` processes; one sentence naming the
    files that are not readable pictures (count and the first few), so nothing is trained."""
    paths = [str(root / rel) for rel in relpaths]
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = [r for chunk in pool.map(_open_chunk, chunks) for r in chunk]
    else:
        results = [r for chunk in chunks for r in _open_chunk(chunk)]
    too_large = [rel for rel, (_, why) in zip(relpaths, results, strict=True) if why == "too large"]
    if too_large:
        raise not_pictures(root, too_large, f"a picture of at most {MAX_PIXELS} pixels")
    unreadable = [rel for rel, (px, _) in zip(relpaths, results, strict=True) if px is None]
    if unreadable:
        raise not_pictures(root, unreadable, "a picture that can be read")
    return [px for px, _ in results]


def default_size(pictures: list[np.ndarray]) -> int:
    """The longer side most pictures have, at most MAX_DEFAULT_SIZE."""
    sides = Counter(max(p.shape[:2]) for p in pictures)
    return min(sides.most_common(1)[0][0], MAX_DEFAULT_SIZE)


def default_channels(pictures: list[np.ndarray]) -> int:
    """3 when any picture has colour, else 1."""
    return 3 if any(p.ndim == 3 for p in pictures) else 1


def _fit(pixels: np.ndarray, size: int, channels: int) -> np.ndarray:
    """One picture as (size, size) grey or (size, size, 3) RGB, aspect kept, padded."""
    if channels == 1 and pixels.ndim == 3:
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))
    if pixels.shape[:2] != (size, size):
        img = Image.fromarray(pixels)
        pixels = np.asarray(ImageOps.pad(img, (size, size), Image.Resampling.BILINEAR, 0))
    if channels == 3 and pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return pixels


def to_array(pictures: list[np.ndarray], size: int, channels: int) -> np.ndarray:
    """(N, size, size) uint8 for grey, (N, 3, size, size) for colour (channels first)."""
    out = np.stack([_fit(p, size, channels) for p in pictures])
    return out if channels == 1 else np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def workers_for(count: int) -> int:
    """Processes to decode `count` pictures with: one per core for many, one for a few."""
    return max(1, min(os.cpu_count() or 1, count // CHUNK))


def check_options(image_size: int | None, channels: int | None) -> None:
    if image_size is not None and not 4 <= image_size <= 512:
        raise UserError(f"--image-size must be from 4 to 512 pixels, not {image_size}")
    if channels not in (None, 1, 3):
        raise UserError(f"--channels must be 1 or 3, not {channels}")


def prepare_picture(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """One picture prepared as a folder data set's pictures are, for `cnnlab predict`:
    (H, W) uint8 for shape (1, H, W), (3, H, W) for colour; one sentence when unreadable."""
    pixels, why = _open(str(path))
    if pixels is None:
        what = "not a picture that can be read"
        if why == "too large":
            what = f"a picture of over {MAX_PIXELS} pixels"
        raise UserError(f"{path} is {what}; give a PNG, JPEG, BMP, GIF or TIFF file")
    channels, size = shape[0], shape[-1]
    return to_array([pixels], size, channels)[0]
