"""The base class of every layer: forward, backward, and the bookkeeping around parameters.

Parameters, buffers and child modules are found from the instance's attributes, in the order
they were set (tinygrad's way), so `Conv2d` owning `self.weight` then `self.bias` yields the
PyTorch names and order `weight`, `bias`, and a child stored as `self.conv1` yields
`conv1.weight`. The state dict lists, like PyTorch's, each module's own parameters, then its own
buffers, then its children's: `bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var,
bn1.num_batches_tracked`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnlab.scratch.parameter import Buffer, Parameter


class Module:
    """A layer or a network. Subclasses implement `forward(x)` and `backward(dy) -> dx`.

    `forward` keeps what `backward` needs; `backward(dy)` adds each parameter's gradient into
    `Parameter.grad` and returns dL/dx, or None when `needs_input_grad` is False (the first layer
    of a network: nobody needs dL/dimage, and skipping it saves a whole col2im).
    """

    def __init__(self) -> None:
        self.training = True
        self.needs_input_grad = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- tree walking ---------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def _named(self, kind: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Own attributes of type `kind` first, then each child's with a dotted prefix."""
        for name, value in vars(self).items():
            if isinstance(value, kind):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named(kind, prefix + name + ".")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Own parameters first, then each child's with a dotted prefix, as in PyTorch."""
        return self._named(Parameter, prefix)

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """Own buffers first, then each child's with a dotted prefix, as in PyTorch."""
        return self._named(Buffer, prefix)

    def buffers(self) -> Iterator[Buffer]:
        for _, buffer in self.named_buffers():
            yield buffer

    def _named_state(self, prefix: str = "") -> Iterator[tuple[str, Parameter | Buffer]]:
        """PyTorch's state dict order: own parameters, own buffers, then each child's."""
        own = vars(self).items()
        yield from ((prefix + name, v) for name, v in own if isinstance(v, Parameter))
        yield from ((prefix + name, v) for name, v in own if isinstance(v, Buffer))
        for name, child in self.named_children():
            yield from child._named_state(prefix + name + ".")

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter's and buffer's data, keyed by dotted name (`conv1.weight`,
        `bn1.running_mean`, ...), in PyTorch's order."""
        return {name: value.data.copy() for name, value in self._named_state()}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy `state` into the parameters and buffers, keeping their dtype (so
        `num_batches_tracked` stays int64); keys and shapes must match."""
        entries = dict(self._named_state())
        for name in [*entries, *(key for key in state if key not in entries)]:
            model_shape = entries[name].shape if name in entries else None
            state_shape = tuple(np.shape(state[name])) if name in state else None
            if model_shape != state_shape:
                raise ValueError(
                    f"state dict does not match the model at key {name!r}: the state dict has "
                    f"{_describe(state_shape)}, the model has {_describe(model_shape)}"
                )
        for name, entry in entries.items():
            entry.data = np.array(state[name], dtype=entry.dtype)

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.grad.fill(0)

    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype: npt.DTypeLike) -> Module:
        """Cast every parameter (and its gradient) and every float buffer to `dtype`, e.g. float64
        for gradient tests. Integer buffers (`num_batches_tracked`) keep their dtype, as in
        PyTorch's `module.to(dtype)`."""
        for param in self.parameters():
            param.data = param.data.astype(dtype, copy=False)
            param.grad = param.grad.astype(dtype, copy=False)
        for buffer in self.buffers():
            if np.issubdtype(buffer.dtype, np.floating):
                buffer.data = buffer.data.astype(dtype, copy=False)
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): {child!r}" for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = "\n".join(line.replace("\n", "\n  ") for line in children)
        return f"{head}\n{lines}\n)"


def _describe(shape: tuple[int, ...] | None) -> str:
    return "no such key" if shape is None else f"shape {shape}"
