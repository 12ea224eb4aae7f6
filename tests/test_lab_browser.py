"""The lab in a real browser: `cnnlab lab` runs as its own process, Playwright drives the
system Chromium, a digit is drawn with mouse events, every run must answer.

Needs Debian's `chromium` (`make browser` installs it). Without it the tests are skipped on a
developer's machine and fail under CI=true: the page must have been opened in a browser there.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

from browser import CHROMIUM_FLAGS, chromium_or_skip, lab_server  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
RUNS = ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")
MAPS_LOADED = (
    "[...document.querySelectorAll('img.map')].every((img) => img.complete && img.naturalWidth > 0)"
)
# Mouse strokes of each digit on the 280x280 pad, as lists of (x, y) points.
STROKES = {
    0: [
        [
            (140, 50),
            (95, 80),
            (85, 140),
            (100, 205),
            (140, 230),
            (180, 205),
            (195, 140),
            (183, 80),
            (140, 50),
        ]
    ],
    1: [[(140, 45), (140, 235)]],
    2: [[(90, 90), (120, 55), (170, 55), (190, 95), (170, 140), (90, 225), (200, 225)]],
    3: [[(90, 60), (180, 60), (130, 130), (185, 165), (170, 220), (90, 225)]],
    4: [[(160, 45), (80, 170), (205, 170)], [(165, 100), (165, 240)]],
    5: [[(190, 50), (100, 50), (95, 125), (170, 120), (190, 180), (160, 228), (90, 220)]],
    6: [[(180, 50), (110, 110), (90, 190), (135, 230), (180, 195), (165, 150), (100, 165)]],
    7: [[(80, 55), (200, 55), (125, 235)]],
    8: [[(180, 70), (140, 45), (100, 70), (180, 170), (140, 230), (95, 175), (180, 70)]],
    9: [[(185, 80), (140, 50), (100, 85), (130, 125), (185, 95), (185, 140), (175, 235)]],
}


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def server(trained_runs, mnist_dir, tmp_path_factory):
    """`cnnlab lab` as a real subprocess on a free loopback port; its base URL."""
    root = tmp_path_factory.mktemp("lab-browser-runs")
    for name in RUNS:
        (root / name).symlink_to(trained_runs[name], target_is_directory=True)
    with lab_server(root, mnist_dir) as url:
        yield url


@pytest.fixture(scope="module")
def page(server, chromium_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(server)
        page.wait_for_selector("body[data-ready=true]")
        yield page
        browser.close()


def draw(page, digit: int) -> None:
    """Clear the pad, draw `digit` with the mouse, wait for every run's answer."""
    answers = int(page.evaluate("Number(document.body.dataset.answers || 0)"))
    page.click("#clear")
    box = page.locator("#canvas").bounding_box()
    for stroke in STROKES[digit]:
        (x, y), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        page.mouse.up()
    page.wait_for_function(f"Number(document.body.dataset.answers || 0) > {answers}")


def predictions(page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.run-card')].map(
             (card) => [card.dataset.run, card.querySelector('.prediction').textContent]))"""
    )


def test_every_run_predicts_a_clearly_drawn_one_and_seven(page):
    ARTIFACTS.mkdir(exist_ok=True)
    for digit in (1, 7):
        draw(page, digit)
        assert predictions(page) == dict.fromkeys(RUNS, str(digit))
    page.screenshot(path=str(ARTIFACTS / "lab-draw.png"), full_page=True)


def test_map_images_load(page):
    draw(page, 7)
    page.wait_for_function(MAPS_LOADED)
    maps = page.evaluate("[...document.querySelectorAll('img.map')].map((img) => img.naturalWidth)")
    assert maps == [28, 28, 28]  # the two CNNs' CAMs and the MLP's integrated gradients
    assert page.evaluate("document.querySelector('#input').naturalWidth") == 28


def test_every_digit_drawn_once_and_how_many_runs_got_it(page):
    """What the closing note reports: each digit 0-9 drawn by mouse, the runs that got it right.
    Only 1 and 7 are asserted (above); the rest are recorded, not required."""
    right = {}
    for digit in range(10):
        draw(page, digit)
        right[digit] = [run for run, k in predictions(page).items() if k == str(digit)]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "lab-digits.json").write_text(json.dumps(right, indent=1), encoding="utf-8")
    # The fixture runs saw one epoch of 6,000 images, and mouse strokes are not MNIST's pen:
    # 14-21 of the 30 answers were right in repeated runs. Chance is 3 of 30; ask for over 3x.
    assert sum(len(runs) for runs in right.values()) >= 10


def test_inside_view_shows_the_layers_of_one_run(page):
    draw(page, 7)
    page.click("button[data-view=inside]")
    page.wait_for_selector("body[data-inside]")
    page.wait_for_function(
        "[...document.querySelectorAll('#layers img')].every((img) => img.naturalWidth > 0)"
    )
    assert page.locator("#layers .layer").count() >= 5
    assert page.evaluate("document.querySelector('#filters img').naturalWidth") > 0
    page.locator("#layers img").nth(3).hover(position={"x": 20, "y": 20})
    page.screenshot(path=str(ARTIFACTS / "lab-inside.png"), full_page=True)


def test_a_confusion_cell_opens_its_test_images(page):
    page.click("button[data-view=testset]")
    page.select_option("#confusion-run", "mlp3-scratch")
    page.wait_for_selector("#confusion td button")
    page.click("#confusion button[data-true='4'][data-predicted='4']")
    page.wait_for_selector("#cell-images img")
    page.wait_for_function(
        "[...document.querySelectorAll('#cell-images img')].every((img) => img.naturalWidth > 0)"
    )
    assert page.locator("#cell-images img").count() > 10
    page.screenshot(path=str(ARTIFACTS / "lab-confusion.png"), full_page=True)


# -- a phone photo dropped into the page -------------------------------------------------


def phone_photo(path: Path, size=(4000, 3000), fmt: str = "JPEG", rotated: bool = True) -> Path:
    """A photo-like picture of a hand-drawn 7: dark pen on unevenly lit, noisy, warm paper.

    With `rotated`, the pixels are stored turned a quarter left with EXIF orientation 6, as a
    phone held upright stores them, so only a reader that applies the tag sees an upright 7."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    s = h / 280  # the pad's 7, scaled to the photo
    mask = Image.new("L", size, 0)
    stroke = [(w / 2 + (x - 140) * s, y * s) for x, y in STROKES[7][0]]
    ImageDraw.Draw(mask).line(stroke, fill=255, width=round(18 * s), joint="curve")
    ink = np.asarray(mask.filter(ImageFilter.GaussianBlur(3 * s)), dtype=np.float32) / 255
    rng = np.random.default_rng(7)
    light = 205 + 25 * np.linspace(0, 1, w, dtype=np.float32)[None, :]  # a lamp on the right
    paper = light + rng.normal(0, 6, (h, w)).astype(np.float32)
    grey = paper * (1 - ink) + 45 * ink  # (H, W)
    rgb = np.clip(np.stack([grey + 8, grey + 3, grey - 8], axis=-1), 0, 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    exif = Image.Exif()
    if rotated:
        img = img.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to show
    if fmt == "GIF":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE)
    img.save(path, format=fmt, quality=92, exif=exif.tobytes()) if fmt == "JPEG" else img.save(
        path, format=fmt
    )
    return path


def drop_file(page, path: Path, mime: str) -> None:
    """Drop `path` onto the pad as a user drags a file from their desktop; wait for the answer."""
    import base64

    answers = int(page.evaluate("Number(document.body.dataset.answers || 0)"))
    transfer = page.evaluate_handle(
        """([data, name, mime]) => {
             const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
             const transfer = new DataTransfer();
             transfer.items.add(new File([bytes], name, { type: mime }));
             return transfer;
           }""",
        [base64.b64encode(path.read_bytes()).decode(), path.name, mime],
    )
    page.dispatch_event("#canvas", "drop", {"dataTransfer": transfer})
    page.wait_for_function(f"Number(document.body.dataset.answers || 0) > {answers}")


def cli_predictions(trained_runs, picture: Path) -> dict[str, str]:
    """What `cnnlab predict RUN picture --json` says, run by run."""
    import contextlib
    import io

    from cnnlab.cli import main

    answers = {}
    for run in RUNS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["predict", str(trained_runs[run]), str(picture), "--json"]) == 0
        answers[run] = str(json.loads(out.getvalue())[0]["prediction"])
    return answers


def page_input(page):
    """The 28x28 input the lab prepared from what the page sent, as an array."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    url = page.evaluate("document.querySelector('#input').src")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        return np.asarray(img.convert("L"), dtype=np.float64)


def test_a_dropped_4000x3000_phone_photo_is_scaled_in_the_page_and_every_run_answers(
    page, trained_runs, tmp_path
):
    import numpy as np

    from cnnlab.data.imageprep import load_digit

    photo = phone_photo(tmp_path / "photo.jpg")
    assert photo.stat().st_size > 2 * 2**20  # more than the server takes in one body
    drop_file(page, photo, "image/jpeg")
    sent = page.text_content("#sent")
    assert "scaled from 4000×3000" in sent  # EXIF applied: the stored pixels are 3000×4000
    assert all(k.isdigit() for k in predictions(page).values())
    assert predictions(page) == cli_predictions(trained_runs, photo)
    # The page's upright picture and the CLI's reading of the file make the same 28x28 input.
    cli_input = load_digit(photo).astype(np.float64)
    assert np.corrcoef(page_input(page).ravel(), cli_input.ravel())[0, 1] > 0.9
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab-phone-photo.png"), full_page=True)


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_png_webp_and_gif_pictures_answer_as_cnnlab_predict_does(
    page, trained_runs, tmp_path, fmt, mime
):
    picture = phone_photo(tmp_path / f"photo.{fmt.lower()}", (1600, 1200), fmt, rotated=False)
    drop_file(page, picture, mime)
    assert "scaled from 1600×1200" in page.text_content("#sent")
    assert predictions(page) == cli_predictions(trained_runs, picture)


# -- what a student sees first, the training charts, the inside view's hint ----------------


def test_no_broken_image_icon_before_the_first_stroke(page, server):
    fresh = page.context.browser.new_page()
    fresh.goto(server)
    fresh.wait_for_selector("body[data-ready=true]")
    broken = fresh.evaluate(
        """[...document.querySelectorAll('img')]
             .filter((img) => getComputedStyle(img).visibility !== 'hidden')
             .filter((img) => !(img.complete && img.naturalWidth > 0))
             .map((img) => img.id || img.className)"""
    )
    fresh.close()
    assert broken == []


def test_training_charts_keep_their_labels_inside_and_the_legend_off_the_curves(page):
    page.click("button[data-view=curves]")
    page.wait_for_selector("body[data-curves]")
    # Per chart: its size, the plot area, and every text's box (x, y, right, bottom).
    charts = page.evaluate(
        """[...document.querySelectorAll('#curves svg')].map((svg) => {
             const box = (b) => [b.x, b.y, b.x + b.width, b.y + b.height];
             return {
               size: [svg.width.baseVal.value, svg.height.baseVal.value],
               area: box(svg.querySelector('rect.plot-area').getBBox()),
               texts: [...svg.querySelectorAll('text')].map((t) =>
                 [t.textContent, t.getAttribute('class'), box(t.getBBox())]),
             };
           })"""
    )
    assert len(charts) == 4
    for chart in charts:
        (width, height), (ax, ay, aright, abottom) = chart["size"], chart["area"]
        for text, _, (x, y, right, bottom) in chart["texts"]:
            assert x >= 0, text  # every label inside the chart
            assert y >= 0, text
            assert right <= width, text
            assert bottom <= height, text
            on_curves = x < aright and right > ax and y < abottom and bottom > ay
            assert not on_curves, text
        assert [cls for _, cls, _ in chart["texts"]].count("tick y") >= 3
        assert "epoch" in [text for text, _, _ in chart["texts"]]
    legend = page.evaluate(
        "[...document.querySelectorAll('#curve-legend li')].map((li) => li.textContent)"
    )
    assert legend == list(RUNS)


def test_the_hover_hint_shows_only_where_there_are_maps(page):
    draw(page, 7)
    page.click("button[data-view=inside]")
    for run, maps in (("mlp3-scratch", False), ("cnn2-scratch", True)):
        page.select_option("#inside-run", run)
        page.wait_for_function(f"document.body.dataset.inside === '{run}'")
        assert page.is_visible("#hover-hint") == maps


def test_the_browser_receives_the_413_sentence_for_an_oversized_body(page):
    # Chromium reads an answer that comes before its body is sent (urllib does not: see
    # test_lab_body.py); what the page's fetch() gets is the JSON sentence, never a failure.
    answer = page.evaluate(
        """async () => {
             const response = await fetch('/api/predict', { method: 'POST',
               body: new Uint8Array(10 * 2 ** 20), headers: { 'Content-Type': 'image/jpeg' } });
             return [response.status, (await response.json()).error];
           }"""
    )
    assert answer[0] == 413
    assert "over 2 MB" in answer[1]


def card_maps(page) -> dict[str, tuple[str, str]]:
    """Per run card: (the method its map was drawn with, the map's data URL)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.run-card')].map((card) =>
             [card.dataset.run, [card.dataset.method, card.querySelector('img.map').src]]))"""
    )


def test_switching_the_method_redraws_every_runs_map_the_mlp_included(page):
    draw(page, 7)
    page.wait_for_function(MAPS_LOADED)
    default = card_maps(page)
    assert {run: method for run, (method, _) in default.items()} == {
        "cnn2-scratch": "cam",
        "cnn2-torch": "cam",
        "mlp3-scratch": "integrated_gradients",  # not "no conv layer, no CAM"
    }
    for method, mlp_method in (("saliency", "saliency"), ("gradcam", "integrated_gradients")):
        answers = int(page.evaluate("Number(document.body.dataset.answers)"))
        page.select_option("#method", method)
        page.wait_for_function(f"Number(document.body.dataset.answers) > {answers}")
        page.wait_for_function(MAPS_LOADED)
        shown = card_maps(page)
        assert shown["cnn2-scratch"][0] == shown["cnn2-torch"][0] == method
        assert shown["mlp3-scratch"][0] == mlp_method
        assert all(
            url != default[run][1] for run, (_, url) in shown.items() if run != "mlp3-scratch"
        )
    note = page.get_attribute(".run-card[data-run=mlp3-scratch] .method", "title")
    assert "no conv layer, which gradcam needs" in note
    page.select_option("#method", "smoothgrad")
    page.click(".tab[data-view=inside]")
    page.select_option("#inside-run", "mlp3-scratch")
    page.wait_for_function(
        "document.body.dataset.inside === 'mlp3-scratch'"
        " && document.body.dataset.insideMethod === 'smoothgrad'"
    )
    page.wait_for_function("document.querySelector('#inside-map').naturalWidth === 28")
    page.click(".tab[data-view=draw]")
    page.select_option("#method", "default")
