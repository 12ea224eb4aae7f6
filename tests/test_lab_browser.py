"""The lab in a real browser: `cnnlab lab` runs as its own process, Playwright drives the
system Chromium, a digit is drawn with mouse events, every run must answer.

Needs Debian's `chromium` (`make browser` installs it). Without it the tests are skipped on a
developer's machine and fail under CI=true: the page must have been opened in a browser there.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

from browser import CHROMIUM_FLAGS, chromium_or_skip  # noqa: E402
from cnnlab.lab.bench import free_port  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
RUNS = ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")
CAMS_LOADED = (
    "[...document.querySelectorAll('img.cam')].every((img) => img.complete && img.naturalWidth > 0)"
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
    port = free_port()
    env = os.environ | {"CNNLAB_DATA": str(mnist_dir)}
    command = [sys.executable, "-m", "cnnlab", "lab", "--runs", str(root), "--port", str(port)]
    log = (root / "lab.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, root / "lab.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            pytest.fail(f"cnnlab lab exited ({process.returncode}): {output[-2000:]}")
        try:
            with urllib.request.urlopen(url + "api/runs", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"cnnlab lab did not answer at {url} within {timeout_s} s")


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


def test_cam_images_load(page):
    draw(page, 7)
    page.wait_for_function(CAMS_LOADED)
    cams = page.evaluate("[...document.querySelectorAll('img.cam')].map((img) => img.naturalWidth)")
    assert cams == [28, 28]  # the two CNNs; the MLP has none
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
