"""Headless Chromium for the browser tests: where it is, the flags it runs with, and the rule
when it is missing (skip on a developer's machine, fail under CI=true); and `cnnlab lab` as a
real server process for the tests that talk to it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENABLE_HINT = (
    "chromium is missing, so the browser tests are skipped; install Debian's `chromium` "
    "(or run `make browser` as root) to enable them"
)


def find_chromium() -> str | None:
    """The path of the system Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_skip() -> str:
    """The path of the system Chromium; skips the test when it is missing, fails under CI=true
    (CI must have opened the pages in a browser)."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: CI must run the browser tests (`make browser`)")
        pytest.skip(ENABLE_HINT)
    return path


@contextlib.contextmanager
def lab_server(runs_dir: Path, data_dir: Path, timeout_s: float = 240):
    """`cnnlab lab --runs runs_dir` as its own process on a free loopback port, stopped by its
    PID afterwards; yields the base URL. The server's output goes to runs_dir/lab.log."""
    from cnnlab.lab.bench import free_port

    port = free_port()
    env = os.environ | {"CNNLAB_DATA": str(data_dir)}
    command = [sys.executable, "-m", "cnnlab", "lab", "--runs", str(runs_dir), "--port", str(port)]
    log_path = Path(runs_dir) / "lab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_up(url, process, log_path, timeout_s)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
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
