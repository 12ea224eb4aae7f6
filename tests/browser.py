"""Headless Chromium for the browser tests: where it is, the flags it runs with, and the rule
when it is missing (skip on a developer's machine, fail under CI=true)."""

from __future__ import annotations

import os
import shutil

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
