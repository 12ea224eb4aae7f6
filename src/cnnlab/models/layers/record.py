"""`LayerKind`: everything about one kind of layer, in one record, in the manner of a PyTorch
module file: how it is called, what shape it gives, how it is written, where its outputs look in
the input, and how each engine builds it. Every other part of cnnlab reads these records (the
registry is `cnnlab.models.layers.KINDS`); a new kind is one new file and one registry line.

How a layer is called (the parser's rule, `positional_order`): a kind whose PyTorch signature
starts with the input size (`in_channels`, `in_features`, `num_features`) may leave it out,
since it follows from the layer before. Then its required arguments go by position
(`Conv2d(16, 3)`, `Linear(10)`) and the optional ones by keyword. Any more values for the
required arguments (by position, or by keyword beside positional ones) means PyTorch's own full
order, input size first: `Conv2d(1, 16, 3)` and `Conv2d(1, 16, kernel_size=3)` are
`nn.Conv2d(1, 16, 3)`, `Linear(5408, 10)` is `nn.Linear(5408, 10)`, `BatchNorm2d(16)` is
`nn.BatchNorm2d(16)`. A given input size is checked against the inferred one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cnnlab.models.layers.geometry import Window
from cnnlab.models.layers.params import REQUIRED, Param, format_value, positive_int

# (input shape without the batch axis, full kwargs) -> (inferred input-size kwargs, output shape,
# parameter count); raises ShapeError for an input the layer cannot take.
ShapeRule = Callable[[tuple[int, ...], dict], tuple[dict, tuple[int, ...], int]]


def _no_slug(kwargs: dict) -> str | None:
    return None


@dataclass(frozen=True)
class LayerKind:
    name: str  # PyTorch's class name, as an architecture string writes it
    prefix: str  # child names: "conv" -> conv1, conv2, ... (and parameters conv1.weight)
    params: tuple[Param, ...]  # PyTorch's arguments in its order, the input size left out
    shape: ShapeRule
    numpy: Callable[[dict, Any], Any]  # (full kwargs, np.random.Generator) -> scratch Module
    keras: Callable[[Any, dict, dict, int], list]  # (keras, kwargs, name/dtype, seed) -> layers
    input_size: str | None = None  # PyTorch's first argument when it is the input size
    # Receptive-field rule: the layer's window (kernel, stride, padding); None for a layer that
    # mixes all positions (Flatten, a global pool, Linear), where a receptive field ends.
    field: Callable[[dict], Window] | None = None
    torch: Callable[[dict], Any] | None = None  # None: torch.nn.<name>(**kwargs)
    slug: Callable[[dict], str | None] = _no_slug  # its part of a run name: "c16", "p", None
    identity_in_eval: bool = False  # dropout: the CAM feature layer is looked for past it
    head_role: str | None = None  # "flatten", "gap", "linear": how a classifier head is seen
    example: str = ""  # a call that shows it (and that the tests build in every engine)
    # PyTorch arguments read and dropped: `inplace` saves memory and gives the same numbers, and
    # each engine decides that itself (a pasted `nn.ReLU(inplace=True)` reads as ReLU)
    ignored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.example:
            object.__setattr__(self, "example", self.name)

    def signature(self) -> str:
        """How the layer is called, for error sentences: `the signature is Conv2d(...)`."""
        if not self.params and self.input_size is None:
            return f"{self.name} takes no arguments"
        if self.input_size is None:
            return f"the signature is {self.name}({_describe(self.params)})"
        # the short form: required arguments by position, the others by keyword
        short = tuple(p for p in self.params if p.default is REQUIRED)
        rest = tuple(replace(p, keyword_only=True) for p in self.params if p not in short)
        full = _describe(self.full_params())
        return (
            f"the signature is {self.name}({_describe(short + rest)}) "
            f"or PyTorch's {self.name}({full})"
        )

    def full_params(self) -> tuple[Param, ...]:
        """PyTorch's whole signature: the input size (when the kind has one) first."""
        if self.input_size is None:
            return self.params
        return (Param(self.input_size, positive_int), *self.params)

    def positional_order(self, count: int, keywords: set[str] = frozenset()) -> tuple[Param, ...]:
        """Which parameters `count` positional arguments fill, beside the `keywords` given (the
        rule of the module doc): more values for the required parameters than there are
        required parameters means the input size came first, in PyTorch's order."""
        required = [p.name for p in self.params if p.default is REQUIRED]
        values = count + sum(name in keywords for name in required)
        full = self.input_size is not None and values > len(required)
        return tuple(p for p in (self.full_params() if full else self.params) if not p.keyword_only)

    def build_torch(self, kwargs: dict):
        """The PyTorch twin, from the full kwargs (input size included)."""
        if self.torch is not None:
            return self.torch(kwargs)
        from torch import nn

        return getattr(nn, self.name)(**kwargs)


def _describe(params: tuple[Param, ...]) -> str:
    """`out_channels, kernel_size, *, stride=1`: Python's way of writing a signature."""
    parts, star = [], False
    for param in params:
        if param.keyword_only and not star:
            parts.append("*")
            star = True
        default = "" if param.default is REQUIRED else f"={format_value(param.default)}"
        parts.append(f"{param.name}{default}")
    return ", ".join(parts)
