"""The random state training draws from after the weights exist (Dropout masks), kept in every
checkpoint, so a resumed run draws exactly what an uninterrupted one would have drawn.

- NumPy engine: a layer that draws in training keeps its generator in `self.rng` (a seeded
  `np.random.Generator`; `Dropout` and `Dropout2d` do). `generator_states` collects each one's
  `bit_generator.state` by the layer's name, and `restore_generator_states` puts them back.
  Layers that share one generator (the builder hands every layer the same one) save the same
  state twice and restore it twice: harmless. A new random layer needs nothing else than
  drawing from `self.rng`.
- PyTorch engine: `nn.Dropout` draws from torch's global generator, which no layer owns.
  `TorchRandom` gives the engine a private stream instead: seeded from the run's seed, swapped
  in around each training step, and saved in the checkpoint's position record as bytes.
- Keras engine: each Dropout layer's `SeedGenerator` state, by layer name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

STATE_KEY = "rng"  # in a checkpoint's position record, every engine


def _named_generators(module, prefix: str = "") -> Iterator[tuple[str, np.random.Generator]]:
    rng = getattr(module, "rng", None)
    if isinstance(rng, np.random.Generator):
        yield prefix.rstrip("."), rng
    for name, child in module.named_children():
        yield from _named_generators(child, f"{prefix}{name}.")


def generator_states(model) -> dict[str, Any]:
    """{layer name: its generator's state} for every layer of a NumPy model that draws."""
    return {name: rng.bit_generator.state for name, rng in _named_generators(model)}


def restore_generator_states(model, states: dict[str, Any]) -> None:
    """Put back what `generator_states` saved; a layer the record lacks keeps its state (a
    checkpoint of an older cnnlab)."""
    for name, rng in _named_generators(model):
        if name in states:
            rng.bit_generator.state = states[name]


class TorchRandom:
    """The PyTorch engine's own random stream (see the module docstring)."""

    def __init__(self, torch, seed: int, device) -> None:
        self.torch, self.device = torch, device
        with torch.random.fork_rng(devices=self._devices()):
            torch.manual_seed(seed)
            self.state = self._get()

    def _devices(self) -> list:
        return [self.device] if self.device.type == "cuda" else []

    def _get(self) -> dict[str, Any]:
        state = {"cpu": self.torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = self.torch.cuda.get_rng_state(self.device)
        return state

    def _set(self, state: dict[str, Any]) -> None:
        self.torch.set_rng_state(state["cpu"])
        if "cuda" in state and self.device.type == "cuda":
            self.torch.cuda.set_rng_state(state["cuda"], self.device)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Draw from this stream inside; torch's global generator is restored afterwards."""
        with self.torch.random.fork_rng(devices=self._devices()):
            self._set(self.state)
            try:
                yield
            finally:
                self.state = self._get()

    def state_dict(self) -> dict[str, list[int]]:
        """The stream's state as lists of bytes, for a checkpoint's JSON position record."""
        return {k: v.cpu().tolist() for k, v in self.state.items()}

    def load_state_dict(self, saved: dict[str, list[int]]) -> None:
        """From `state_dict`'s record; an empty one (an older checkpoint) changes nothing."""
        if "cpu" in saved:
            loaded = {k: self.torch.tensor(v, dtype=self.torch.uint8) for k, v in saved.items()}
            self.state = {**self.state, **loaded}
