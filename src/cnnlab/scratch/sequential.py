"""Layers applied one after the other, with named children like `torch.nn.Sequential`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from cnnlab.scratch.module import Module


class Sequential(Module):
    """`Sequential(m0, m1, ...)` (children named "0", "1", ...), or named children given as
    `Sequential(OrderedDict([("conv1", m), ...]))` or `Sequential(("conv1", m), ...)`, so that
    parameter names come out as `conv1.weight`, exactly as in the PyTorch twin.

    Children are reachable as `seq.conv1`, `seq["conv1"]` or `seq[0]`.
    """

    def __init__(self, *layers) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            pairs = list(layers[0].items())
        elif all(isinstance(layer, Module) for layer in layers):
            pairs = [(str(i), layer) for i, layer in enumerate(layers)]
        elif len(layers) == 1 and isinstance(layers[0], list):
            pairs = layers[0]
        else:
            pairs = list(layers)
        self._children: dict[str, Module] = {}
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ValueError(f"expected modules or (name, module) pairs, got {pair!r}")
            name, layer = pair
            if not isinstance(name, str) or not name or "." in name or name in self._children:
                raise ValueError(f"child name {name!r} must be a unique, non-empty str without '.'")
            if not isinstance(layer, Module):
                raise ValueError(f"child {name!r} is a {type(layer).__name__}, not a Module")
            self._children[name] = layer

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._children.items()

    def __getattr__(self, name: str) -> Module:
        # Only called when normal lookup fails: expose children as attributes (`model.conv1`).
        children = self.__dict__.get("_children", {})
        if name in children:
            return children[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or child {name!r}")

    def __getitem__(self, key: int | str) -> Module:
        if isinstance(key, str):
            return self._children[key]
        return list(self._children.values())[key]

    def __len__(self) -> int:
        return len(self._children)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._children.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self._children.values():
            x = layer(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self._children.values()):
            dy = layer.backward(dy)
            if dy is None:  # a layer that needs no input gradient ends the chain
                return None
        return dy
