"""Property tests: whatever bytes a picture file holds, load_digit gives a digit or a UserError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cnnlab.data.imageprep import load_digit
from cnnlab.errors import UserError

QUICK = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the directory is reused
)
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF", ".bmp": "BMP", ".tif": "TIFF"}


def _load(path) -> None:
    try:
        digit = load_digit(path)
    except UserError:
        return
    assert digit.shape == (28, 28)
    assert digit.dtype == np.uint8


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


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """`data` with some bytes flipped, then perhaps cut short or extended."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, min(len(out) - 1, draw(st.sampled_from([40, 300, len(out)])))))
        out[at] ^= draw(st.integers(1, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(out))))
    if cut is not None:
        out = out[:cut]
    return bytes(out) + draw(st.binary(max_size=draw(st.sampled_from([0, 8, 64]))))


@QUICK
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".png", ".jpg"]))
def test_random_bytes_as_a_picture(tmp_path, raw, suffix):
    path = tmp_path / f"digit{suffix}"
    path.write_bytes(raw)
    _load(path)


@QUICK
@given(data=st.data(), suffix=st.sampled_from(list(FORMATS)))
def test_mutated_real_picture(tmp_path, real_pictures, data, suffix):
    path = tmp_path / f"digit{suffix}"
    path.write_bytes(data.draw(mutated(real_pictures[suffix])))
    _load(path)
