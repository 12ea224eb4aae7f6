"""A StopRequest stand-in for tests: asks for a stop after 4 steps, as a Ctrl-C would."""

from __future__ import annotations

import contextlib


class StopAfter:
    """Patched over `trainer.StopRequest`: the fourth check says stop."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.calls == 4

    def installed(self):
        return contextlib.nullcontext(self)
