"""The NumPy-only install runs the suite too: what needs an optional extra skips with a reason.

cnnlab's core install is NumPy and a few libraries; PyTorch, Keras, the lab's web server and the
cluster come with extras (`pip install cnnlab[torch]`, ...). In a core-only environment a test
module that imports one of those at its top, or a test or fixture that imports one when it runs,
is skipped with the extra to install, instead of failing; so is a test marked `torch` (one that
reaches PyTorch through cnnlab, such as `cnnlab parity`, which then says so in one sentence).
A package of the core install that is missing still fails: only the extras' packages (read from
cnnlab's own metadata) are optional.

`tests/conftest.py` imports these hooks. The NumPy engine's tests go further: they import
PyTorch only inside the tests that use it as their oracle (`torch_oracle`), so the rest of each
module runs without it.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from importlib.metadata import PackageNotFoundError, requires

import pytest


@functools.cache
def optional_packages() -> dict[str, str]:
    """{top-level import name: the extra that installs it} for every extra's requirement."""
    try:
        requirements = requires("cnnlab") or []
    except PackageNotFoundError:
        return {}
    packages: dict[str, str] = {}
    for requirement in requirements:
        extra = re.search(r"""extra\s*==\s*["']([\w-]+)["']""", requirement)
        if extra:
            # "dask[distributed]>=2024.1": dask, and distributed, which its own extra installs
            names = re.match(r"([A-Za-z0-9_.-]+)(?:\[([\w,-]+)\])?", requirement).groups("")
            for name in [names[0], *names[1].split(",")]:
                if name:
                    packages.setdefault(name.lower().replace("-", "_"), extra.group(1))
    return packages


def skip_if_optional(err: BaseException) -> None:
    """Skip the test (or module) when `err` is, or was caused by, an extra's package not being
    installed (an engine's one-sentence `UserError` keeps the import error as its cause)."""
    while err is not None and not isinstance(err, ModuleNotFoundError):
        err = err.__cause__
    if err is None or not err.name:
        return
    package = err.name.partition(".")[0]
    extra = optional_packages().get(package)
    if extra is not None:
        install = f"pip install 'cnnlab[{extra}]'"
        pytest.skip(
            f"needs {package}, which the {extra} extra installs ({install})",
            allow_module_level=True,
        )


class OptionalModule(pytest.Module):
    """A test module whose import may need an extra (see the module docstring)."""

    def _getobj(self):
        try:
            return super()._getobj()
        except self.CollectError as err:
            skip_if_optional(err)
            raise


def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name.startswith("test_"):
        return OptionalModule.from_parent(parent, path=module_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("torch") and importlib.util.find_spec("torch") is None:
        skip_if_optional(ModuleNotFoundError("marked torch", name="torch"))
    try:
        return (yield)
    except Exception as err:
        skip_if_optional(err)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except Exception as err:
        skip_if_optional(err)
        raise
