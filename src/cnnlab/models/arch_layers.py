"""The layers an architecture string may name, with PyTorch's signatures minus the input size.

`Conv2d(16, 3)` means `nn.Conv2d(in_channels, 16, 3)`: input channels and features are inferred
from the previous layer elsewhere, so they are never written. Each parameter carries a check that
turns a parsed value into the stored one or raises `BadValueError` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Value = int | float | bool | tuple  # what the parser produces: tuples are (int, int)


class BadValueError(Exception):
    """A value of the wrong type or range; the message completes 'out_channels must be ...'."""


REQUIRED = object()  # default of a parameter the user has to give


@dataclass(frozen=True)
class Param:
    name: str  # PyTorch keyword name
    check: Callable[[Value], Value]
    default: object = REQUIRED


def is_int(value: Value) -> bool:
    return type(value) is int  # bool is a subclass of int; True is not a kernel size


def _is_pair(value: Value, ok: Callable[[int], bool]) -> bool:
    return isinstance(value, tuple) and all(is_int(v) and ok(v) for v in value)


def positive_int(value: Value) -> Value:
    if not (is_int(value) and value > 0):
        raise BadValueError("a positive integer")
    return value


def positive_int_or_pair(value: Value) -> Value:
    if not ((is_int(value) and value > 0) or _is_pair(value, lambda v: v > 0)):
        raise BadValueError("a positive integer or a pair of them, like (3, 3)")
    return value


def non_negative_int_or_pair(value: Value) -> Value:
    if not ((is_int(value) and value >= 0) or _is_pair(value, lambda v: v >= 0)):
        raise BadValueError("an integer >= 0 or a pair of them, like (1, 1)")
    return value


def boolean(value: Value) -> Value:
    if not isinstance(value, bool):
        raise BadValueError("True or False")
    return value


def _real(value: Value) -> float:
    """An int or float as a float; anything else (a bool, a pair) is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadValueError("a number")
    return float(value)


def probability(value: Value) -> Value:
    try:
        p = _real(value)
    except BadValueError:
        p = math.nan
    if not 0.0 <= p <= 1.0:
        raise BadValueError("a number between 0 and 1")
    return p


def positive_float(value: Value) -> Value:
    try:
        x = _real(value)
    except BadValueError:
        x = math.nan
    if not x > 0.0:
        raise BadValueError("a number > 0")
    return x


def any_float(value: Value) -> Value:
    return _real(value)


def global_pool_size(value: Value) -> Value:
    # The builders only know the global average pool; any other output size is refused here.
    if not ((is_int(value) and value == 1) or _is_pair(value, lambda v: v == 1)):
        raise BadValueError("1 or (1, 1) (only a global average pool is supported)")
    return value


_NO_PARAMS: tuple[Param, ...] = ()
_BATCH_NORM = (Param("eps", positive_float, 1e-5), Param("momentum", probability, 0.1))

# PyTorch class name -> its parameters in PyTorch's order, input size left out.
LAYERS: dict[str, tuple[Param, ...]] = {
    "Conv2d": (
        Param("out_channels", positive_int),
        Param("kernel_size", positive_int_or_pair),
        Param("stride", positive_int_or_pair, 1),
        Param("padding", non_negative_int_or_pair, 0),
        Param("bias", boolean, True),
    ),
    "MaxPool2d": (
        Param("kernel_size", positive_int_or_pair),
        Param("stride", positive_int_or_pair, None),  # None: PyTorch uses the kernel size
        Param("padding", non_negative_int_or_pair, 0),
    ),
    "AvgPool2d": (
        Param("kernel_size", positive_int_or_pair),
        Param("stride", positive_int_or_pair, None),
    ),
    "AdaptiveAvgPool2d": (Param("output_size", global_pool_size),),
    "BatchNorm2d": _BATCH_NORM,
    "BatchNorm1d": _BATCH_NORM,
    "ReLU": _NO_PARAMS,
    "LeakyReLU": (Param("negative_slope", any_float, 0.01),),
    "Tanh": _NO_PARAMS,
    "Sigmoid": _NO_PARAMS,
    "Dropout": (Param("p", probability, 0.5),),
    "Flatten": _NO_PARAMS,
    "Linear": (Param("out_features", positive_int), Param("bias", boolean, True)),
}

KNOWN_LAYERS: tuple[str, ...] = tuple(sorted(LAYERS))


def format_value(value: object) -> str:
    """A value as the architecture language writes it: `16`, `0.5`, `True`, `(3, 5)`."""
    if isinstance(value, tuple):
        return f"({', '.join(format_value(v) for v in value)})"
    return repr(value)  # True, 16, 0.5, 1e-05, None: each reads back as the same value


def signature(kind: str) -> str:
    """How a layer is called, for error sentences: `the signature is Conv2d(out_channels, ...)`."""
    params = LAYERS[kind]
    if not params:
        return f"{kind} takes no arguments"
    return f"the signature is {kind}({', '.join(_describe_param(p) for p in params)})"


def _describe_param(param: Param) -> str:
    if param.default is REQUIRED:
        return param.name
    return f"{param.name}={format_value(param.default)}"
