"""The arguments a layer kind takes: `Param` (PyTorch's keyword name, a check, a default) and
the checks that turn a parsed value into the stored one or raise `BadValueError` with the
reason."""

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
    # Given by keyword only: where PyTorch's positional order puts arguments cnnlab does not
    # take before it (Conv2d's dilation and groups before bias), a position would mislead.
    keyword_only: bool = False


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


def format_value(value: object) -> str:
    """A value as the architecture language writes it: `16`, `0.5`, `True`, `(3, 5)`."""
    if isinstance(value, tuple):
        return f"({', '.join(format_value(v) for v in value)})"
    return repr(value)  # True, 16, 0.5, 1e-05, None: each reads back as the same value
