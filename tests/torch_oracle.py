"""PyTorch as the NumPy engine's test oracle, imported only when a test first uses it.

    from torch_oracle import F, nn, torch

`torch`, `nn` and `F` stand for `torch`, `torch.nn` and `torch.nn.functional`. The first
attribute a test reads imports PyTorch, or, where it is not installed (the core-only install,
NumPy and no torch), skips that test with a reason; the NumPy-only tests of the same module
still run. Read at import time (outside any test), it would skip the whole module, so module
constants hold functions that build the twins (`lambda: nn.ReLU()`), not the twins.
"""

from __future__ import annotations

import importlib

import pytest

REASON = "PyTorch is this test's oracle; it runs where the torch extra is installed"


class LazyModule:
    """A module, imported at its first attribute access (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        if attribute.startswith("_") or attribute == "pytestmark":
            # what pytest's collection and Python's machinery probe: not a use of torch
            raise AttributeError(attribute)
        pytest.importorskip("torch", reason=REASON)
        return getattr(importlib.import_module(self._name), attribute)


torch = LazyModule("torch")
nn = LazyModule("torch.nn")
F = LazyModule("torch.nn.functional")
