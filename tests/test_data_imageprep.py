"""load_digit turns a user's picture into an MNIST-like 28x28 digit, or explains what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cnnlab.data.imageprep import load_digit
from cnnlab.errors import UserError
from peak_memory import measure


def draw_digit(
    digit: int,
    size: int = 120,
    canvas: tuple[int, int] = (200, 200),
    offset: tuple[int, int] = (40, 10),
    background: int = 255,
    ink: int = 0,
) -> Image.Image:
    """A digit in the default font with a thick stroke, like a pen on paper."""
    img = Image.new("L", canvas, background)
    ImageDraw.Draw(img).text(
        offset,
        str(digit),
        fill=ink,
        font=ImageFont.load_default(size=size),
        stroke_width=max(1, size // 15),
        stroke_fill=ink,
    )
    return img


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(a.shape)
    total = a.astype(np.float64).sum()
    return (ys * a).sum() / total, (xs * a).sum() / total


def bounding_box(a: np.ndarray, threshold: int = 64) -> tuple[int, int]:
    """(height, width) of the pixels brighter than `threshold`."""
    ys, xs = np.nonzero(a > threshold)
    return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1


CASES = [
    # digit, font size, canvas (w, h), offset, background, ink
    (7, 120, (200, 200), (40, 10), 255, 0),  # dark on light
    (7, 120, (200, 200), (40, 10), 0, 255),  # light on dark
    (3, 40, (300, 300), (200, 220), 235, 30),  # small, off-centre, grey paper
    (4, 300, (640, 480), (10, 0), 255, 0),  # large photo-sized
    (1, 60, (90, 120), (20, 20), 255, 0),  # a thin digit: height is the longer side
    (0, 80, (120, 120), (10, 0), 20, 220),
]


@pytest.mark.parametrize(("digit", "size", "canvas", "offset", "background", "ink"), CASES)
def test_digit_is_centred_and_20_pixels(tmp_path, digit, size, canvas, offset, background, ink):
    path = tmp_path / "digit.png"
    draw_digit(digit, size, canvas, offset, background, ink).save(path)
    a = load_digit(path)
    assert a.shape == (28, 28)
    assert a.dtype == np.uint8
    assert a.max() == 255
    # light on dark like MNIST: the border is black
    assert np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).max() < 32
    cy, cx = centre_of_mass(a)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0
    assert max(bounding_box(a)) in (19, 20, 21)


def test_dark_on_light_equals_light_on_dark(tmp_path):
    draw_digit(5, background=250, ink=10).save(tmp_path / "paper.png")
    draw_digit(5, background=5, ink=245).save(tmp_path / "screen.png")
    paper = load_digit(tmp_path / "paper.png").astype(int)
    screen = load_digit(tmp_path / "screen.png").astype(int)
    assert np.abs(paper - screen).mean() < 2
    assert np.abs(paper - screen).max() <= 16


def test_rgba_with_transparent_background_and_jpeg(tmp_path):
    reference = load_digit(_save(draw_digit(2), tmp_path / "ref.png")).astype(int)
    # A black digit on a transparent background is a black digit on white paper.
    rgba = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    rgba.putalpha(Image.eval(draw_digit(2), lambda v: 255 - v))  # opaque where the ink is
    from_rgba = load_digit(_save(rgba, tmp_path / "ink.png")).astype(int)
    assert np.abs(from_rgba - reference).mean() < 2
    rgb = draw_digit(2).convert("RGB")
    from_jpeg = load_digit(_save(rgb, tmp_path / "photo.jpg", quality=85)).astype(int)
    assert np.abs(from_jpeg - reference).mean() < 6


def _save(img: Image.Image, path, **kwargs):
    img.save(path, **kwargs)
    return path


@pytest.mark.parametrize("value", [255, 0, 128])
def test_blank_image_is_a_user_error(tmp_path, value):
    path = tmp_path / "blank.png"
    Image.new("L", (64, 64), value).save(path)
    with pytest.raises(UserError, match=r"blank\.png.*blank"):
        load_digit(path)


def test_faint_noise_is_blank(tmp_path):
    noise = np.random.default_rng(0).integers(240, 256, size=(50, 50), dtype=np.uint8)
    path = _save(Image.fromarray(noise), tmp_path / "paper.png")
    with pytest.raises(UserError, match="blank"):
        load_digit(path)


def test_text_file_is_a_user_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(UserError, match=r"notes\.png is not an image"):
        load_digit(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"nothing\.png does not exist"):
        load_digit(tmp_path / "nothing.png")


@pytest.mark.parametrize("stroke", [0, 255, 40, 220])
def test_digit_on_a_transparent_background_whatever_its_colour(tmp_path, stroke):
    reference = load_digit(_save(draw_digit(2), tmp_path / "ref.png")).astype(int)
    # The colour under the transparent pixels is the opposite of the stroke: it must not matter.
    rgba = Image.new("RGBA", (200, 200), (255 - stroke,) * 3 + (0,))
    ink = Image.new("RGBA", (200, 200), (stroke,) * 3 + (255,))
    rgba.paste(ink, mask=Image.eval(draw_digit(2), lambda v: 255 - v))  # opaque where the ink is
    got = load_digit(_save(rgba, tmp_path / "ink.png")).astype(int)
    assert np.abs(got - reference).mean() < 2


def test_white_digit_in_a_palette_png_with_a_transparent_colour(tmp_path):
    reference = load_digit(_save(draw_digit(4), tmp_path / "ref.png")).astype(int)
    palette = draw_digit(4, background=0, ink=255).convert("P")
    palette.info["transparency"] = 0  # black, the background, is transparent
    got = load_digit(_save(palette, tmp_path / "ink.png", transparency=0)).astype(int)
    assert np.abs(got - reference).mean() < 2


def _peak_rss_of_load_digit(tmp_path, path) -> tuple[list[str], int, int]:
    """Run load_digit on `path` in a fresh process: (its printed lines, peak RSS before and
    after, in MiB); the digit, when there is one, is left in tmp_path / "digit.npy"."""
    done, lines, before, after = measure(
        tmp_path, "import numpy as np\nfrom cnnlab.data.imageprep import load_digit",
        "np.save(sys.argv[2], load_digit(sys.argv[1]))", str(path), str(tmp_path / "digit.npy"),
    )  # fmt: skip
    assert done.stderr == ""  # no warning escapes either
    print(f"{path.name}: peak RSS {after} MiB, {before} MiB before load_digit")
    return lines, before, after


def _draw_seven(side: int, mode: str) -> Image.Image:
    """A thick dark 7 on white, drawn to scale on a `side` x `side` canvas."""
    img = Image.new(mode, (side, side), "white")
    s = side / 100
    ImageDraw.Draw(img).line(
        [(30 * s, 25 * s), (70 * s, 25 * s), (45 * s, 80 * s)], fill="black", width=round(8 * s)
    )
    return img


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_12000_pixel_square_picture_is_read_in_little_memory(tmp_path, suffix):
    path = tmp_path / f"huge{suffix}"
    _draw_seven(12000, "L").save(path, **({"compress_level": 1} if suffix == ".png" else {}))
    assert path.stat().st_size < 5_000_000  # 144 million pixels, mostly white
    lines, before, after = _peak_rss_of_load_digit(tmp_path, path)
    assert lines == []
    assert after - before < 1024
    small = load_digit(_save(_draw_seven(600, "L"), tmp_path / "small.png")).astype(int)
    assert np.abs(np.load(tmp_path / "digit.npy").astype(int) - small).mean() < 4


def test_a_picture_too_large_to_decode_is_refused_in_one_sentence(tmp_path):
    # RGBA costs 8 bytes a pixel to shrink: 12000 x 12000 would need 1.1 GB, over the cap.
    path = tmp_path / "huge-rgba.png"
    _draw_seven(12000, "RGBA").save(path, compress_level=1)
    lines, before, after = _peak_rss_of_load_digit(tmp_path, path)
    assert lines == [
        f"{path} is 12000x12000 pixels, too large to read in memory; "
        "scale it down to a few thousand pixels a side and try again."
    ]
    assert after - before < 100
