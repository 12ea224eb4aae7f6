"""The report in a real browser: headless Chromium renders it and loads every embedded picture.

Needs Debian's `chromium` (`make browser` installs it). Without it these tests are skipped on a
developer's machine and fail under CI=true: a report never opened in a browser is not known to
work.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import CHROMIUM_FLAGS, chromium_or_skip
from cnnlab.report import build_report
from test_report import NAMES, RUNS, TEST_ACCURACY, expected_image_count, write_run_dirs

ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_S = 120
# Reports how many pictures the page holds and how many the browser decoded, once it loaded.
PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.setAttribute("data-img-count", String(images.length));
  document.body.setAttribute("data-img-loaded", String(loaded.length));
});
</script>
"""


def _run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium_or_skip(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    html, _ = build_report(write_run_dirs(root), root / "report.html")
    return html


def test_screenshot_is_a_rendered_page(report_html, tmp_path):
    screenshot = tmp_path / "report.png"
    _run_chromium(
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1280,2400",
        report_html.as_uri(),
    )
    assert screenshot.is_file(), "chromium wrote no screenshot"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / "report.png")
    with Image.open(screenshot) as img:
        assert img.format == "PNG"
        assert img.size == (1280, 2400)
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 20, "the screenshot is blank"
    # Text, tables and pictures: many colours, and dark ink on a large part of the rows.
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200
    assert (pixels.min(axis=(1, 2)) < 100).mean() > 0.3


def test_every_picture_loads_and_the_table_is_in_the_dom(report_html, tmp_path):
    probed = tmp_path / "probed.html"
    html = report_html.read_text(encoding="utf-8")
    assert html.count("</body>") == 1
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _run_chromium(
        tmp_path / "profile", "--dump-dom", "--virtual-time-budget=5000", probed.as_uri()
    ).stdout

    count = re.search(r'data-img-count="(\d+)"', dom)
    loaded = re.search(r'data-img-loaded="(\d+)"', dom)
    assert count, "the load event never fired"
    assert loaded
    assert int(count.group(1)) == expected_image_count()
    assert int(loaded.group(1)) == int(count.group(1)), "some pictures did not load"

    table = re.search(r'<section id="comparison">(.*?)</section>', dom, re.S)
    assert table, "the comparison table is not in the page"
    for key, name in zip(RUNS, NAMES, strict=True):
        assert name in dom
        assert name in table.group(1)
        assert f"{100 * TEST_ACCURACY[key]:.2f}%" in table.group(1)
