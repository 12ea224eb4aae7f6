"""The report and TensorBoard screenshots in docs/, taken in headless Chromium (Playwright).

Usage (after `cnnlab run --quick --out Q` and `cnnlab run --seeds 3 ... --out S`):

    python docs/scripts/screenshots.py --report Q/report.html --seeds-report S/report.html \
        --tensorboard Q --out docs

TensorBoard is started on 127.0.0.1 on a free port and stopped by its PID afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report_shots(page, report: Path, out: Path, seeds: bool) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(report.resolve().as_uri())
    if not seeds:
        page.screenshot(path=str(out / "report.png"))
        page.locator("#significance").screenshot(path=str(out / "report-significance.png"))
        page.locator("#cam").screenshot(path=str(out / "report-cam.png"))
        if page.locator("#trust").count():  # "Which picture can you trust?"
            page.locator("#trust").screenshot(path=str(out / "report-trust.png"))
    else:
        box = page.locator("#significance").bounding_box()  # its first 1,400 pixels
        clip = box | {"height": min(box["height"], 1400)}
        page.screenshot(path=str(out / "report-seeds.png"), clip=clip, full_page=True)


def tensorboard_shot(page, logdir: Path, out: Path) -> None:
    port = free_port()
    binary = shutil.which("tensorboard") or str(Path(sys.executable).parent / "tensorboard")
    server = subprocess.Popen(  # a relative --logdir: the page shows no path of this machine
        [binary, "--logdir", logdir.name, "--host", "127.0.0.1", "--port", str(port)],
        cwd=logdir.resolve().parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        page.set_viewport_size({"width": 1500, "height": 1000})
        page.goto(f"{url}/#images")
        page.wait_for_selector("text=Filter tags", timeout=180_000)
        page.click("text=Filter tags", force=True)  # a Polymer input, under its label
        page.keyboard.type("top3/class [0-4]")
        page.wait_for_selector("text=top3/class 0", timeout=120_000)
        time.sleep(5)  # the image cards load after their tags
        page.screenshot(path=str(out / "tensorboard-top3.png"))
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--seeds-report", type=Path, required=True)
    parser.add_argument("--tensorboard", type=Path, required=True, help="a --logdir")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS)
        page = browser.new_page()
        report_shots(page, args.report, args.out, seeds=False)
        report_shots(page, args.seeds_report, args.out, seeds=True)
        tensorboard_shot(page, args.tensorboard, args.out)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
