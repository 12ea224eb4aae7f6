"""The checks that run while argparse parses an option: each is a `type=` function.

A bad value stops the command before any work, with one sentence naming the option and exit
code 2 (argparse's error exit). The sentences start with "must";
`cnnlab.commands.options.CommandParser.error` puts the option's name in front of them.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from cnnlab.models import MODEL_NAMES
from cnnlab.training.engines import ENGINES


def _shown(text: str) -> str:
    return text if text.strip() else repr(text)


def whole_number(least: int) -> Callable[[str], int]:
    """A `type=` for a whole number of at least `least`."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of at least {least}, not {_shown(text)}."
            )
        return value

    check.__name__ = f"whole number >= {least}"
    return check


def _finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, not {_shown(text)}.") from None
    if not math.isfinite(value):
        kind = "not a number" if math.isnan(value) else "infinite"
        raise argparse.ArgumentTypeError(f"must be {what}, not {text.strip()} ({kind}).")
    return value


def positive_number(text: str) -> float:
    """A `type=` for a finite number above 0 (a learning rate)."""
    value = _finite(text, "a finite number above 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text}.")
    return value


def non_negative_number(text: str) -> float:
    """A `type=` for a finite number of at least 0 (a weight decay)."""
    value = _finite(text, "a finite number of at least 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, not {text}.")
    return value


def momentum(text: str) -> float:
    """A `type=` for SGD's momentum: 0 <= m < 1 (at 1 the velocity never decays)."""
    what = "a number from 0 up to but not including 1"
    value = _finite(text, what)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text}.")
    return value


def directory_name(text: str) -> str:
    """A `type=` for one directory name inside `--out`: no separator, not "", "." or "..",
    so a run is never written anywhere else."""
    separators = {"/", "\\", os.sep, os.altsep} - {None}
    if text in ("", ".", "..") or any(s in text for s in separators) or "\0" in text:
        raise argparse.ArgumentTypeError(
            f"must be a single directory name (no '/', not '.' or '..'), not {text!r}."
        )
    return text


def _one_of(kind: str, known: tuple[str, ...], text: str) -> str:
    name = text.strip()
    if name not in known:
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(known)}, not {_shown(text)} (an unknown {kind})."
        )
    return name


def _list_of(kind: str, known: tuple[str, ...], text: str) -> tuple[str, ...]:
    names = comma_separated(text)
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        found = f"{unknown[0]!r} is not one" if unknown else "none was given"
        raise argparse.ArgumentTypeError(
            f"must be comma-separated {kind} names from {', '.join(known)}; {found}."
        )
    return names


def comma_separated(text: str) -> tuple[str, ...]:
    """`cnn2, cnn3` -> ("cnn2", "cnn3"): a comma-separated option as a tuple of names."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def model_name(text: str) -> str:
    """A `type=` for one model of the registry (`cnnlab.models.MODEL_NAMES`)."""
    return _one_of("model", MODEL_NAMES, text)


def engine_name(text: str) -> str:
    """A `type=` for one engine of the registry (`cnnlab.training.engines.ENGINES`)."""
    return _one_of("engine", tuple(ENGINES), text)


def model_list(text: str) -> tuple[str, ...]:
    """A `type=` for comma-separated models of the registry."""
    return _list_of("model", MODEL_NAMES, text)


def engine_list(text: str) -> tuple[str, ...]:
    """A `type=` for comma-separated engines of the registry."""
    return _list_of("engine", tuple(ENGINES), text)


def dataset_name(text: str) -> str:
    """A `type=` for `--dataset`: a named set of `cnnlab.data.datasets.IDX_SETS`, or the path
    of a folder (whether it holds pictures is checked when it is read)."""
    from cnnlab.data.datasets import IDX_SETS

    if text.strip() in IDX_SETS:
        return text.strip()
    if not os.path.lexists(text):
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(IDX_SETS)} or the path of a folder of pictures, "
            f"not {_shown(text)}."
        )
    return text


def fraction(text: str) -> float:
    """A `type=` for a number above 0 and below 1 (`--test-fraction`)."""
    what = "a number above 0 and below 1"
    value = _finite(text, what)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text}.")
    return value
