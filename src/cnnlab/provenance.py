"""What a run records about where it came from: the library versions that can change its
numbers, and when it was written (config.json's `versions` and `created`)."""

from __future__ import annotations

import contextlib
import platform
from datetime import UTC, datetime
from importlib import metadata

VERSIONED_PACKAGES = ("cnnlab", "numpy", "tensorboardX", "matplotlib")  # and every engine's


def library_versions() -> dict[str, str]:
    """Python's and every installed library's version that can change a run's numbers."""
    from cnnlab.training.engines import ENGINES

    versions = {"python": platform.python_version()}
    engine_libraries = [lib for engine in ENGINES.values() for lib in engine.libraries]
    for package in dict.fromkeys([*VERSIONED_PACKAGES, *engine_libraries]):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
