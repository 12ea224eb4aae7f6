"""Property tests: whatever bytes a picture file holds, load_digit gives a digit or a UserError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cnnlab.data.imageprep import load_digit
from fuzzing import QUICK, mutated, outcome

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF", ".bmp": "BMP", ".tif": "TIFF"}


def _load(path) -> str:
    """ "accepted" (a 28x28 uint8 digit) or "refused" (a one-sentence UserError)."""

    def load() -> None:
        digit = load_digit(path)
        assert digit.shape == (28, 28)
        assert digit.dtype == np.uint8

    return outcome(load)


@pytest.fixture(scope="module")
def real_pictures() -> dict[str, bytes]:
    """A small 3 in each format, the bytes to mutate; RGBA for PNG, to reach the alpha path."""
    img = Image.new("L", (48, 48), 255)
    ImageDraw.Draw(img).line([(14, 10), (34, 14), (20, 24), (34, 34), (14, 38)], fill=0, width=5)
    pictures = {}
    for suffix, kind in FORMATS.items():
        out = io.BytesIO()
        (img.convert("LA") if kind == "PNG" else img).save(out, kind)
        pictures[suffix] = out.getvalue()
    return pictures


@QUICK
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".png", ".jpg"]))
def test_random_bytes_as_a_picture(tmp_path, raw, suffix):
    path = tmp_path / f"digit{suffix}"
    path.write_bytes(raw)
    assert _load(path) in ("accepted", "refused")


@QUICK
@given(data=st.data(), suffix=st.sampled_from(list(FORMATS)))
def test_mutated_real_picture(tmp_path, real_pictures, data, suffix):
    path = tmp_path / f"digit{suffix}"
    path.write_bytes(data.draw(mutated(real_pictures[suffix], near=(40, 300))))
    assert _load(path) in ("accepted", "refused")
