"""Shape checks for a run directory's JSON files: parsed is not yet right.

A `config.json` without `model`, with an unknown engine or a string where a number belongs, or
an `evaluation.json` with a list where the accuracy is, gets one sentence naming the file and
the field, instead of a traceback somewhere later.
"""

from __future__ import annotations

import json
from numbers import Real
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError

# The marker that makes a run directory cnnlab's (see `owned_config`).
FORMAT = "cnnlab-run"
FORMAT_VERSION = 1
# Runs written before the marker existed are recognised by these keys of their config.
LEGACY_KEYS = ("model", "engine", "created")

_INT = (int,)
_NUMBER = (Real,)
_OPTIONAL_INT = (int, type(None))
_OPTIONAL_NUMBER = (Real, type(None))
CONFIG_FIELDS: dict[str, tuple[type, ...]] = {
    "epochs": _INT,
    "batch_size": _INT,
    "optimizer": (str,),
    "lr": _NUMBER,
    "momentum": _NUMBER,
    "weight_decay": _NUMBER,
    "lr_schedule": (str,),
    "seed": _INT,
    "val_size": _INT,
    "train_size": _OPTIONAL_INT,
    "threads": _INT,
    "arch": (str, type(None)),
}
STATUS_FIELDS = {"complete": (bool,), "epochs_done": _INT, "epochs": _INT}
EVALUATION_FIELDS = {
    "accuracy": _NUMBER,
    "correct": _INT,
    "test_count": _INT,
    "confusion_matrix": (list,),
    "per_class": (dict,),
    "top_confusions": (list,),
    "top_scoring": (list,),
    "loss": _OPTIONAL_NUMBER,
}


def read_json_file(path: Path) -> Any:
    """A JSON file's content; one sentence when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing; is this a cnnlab run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(
            f"{path} is not valid JSON ({err}); rerun the step that writes it."
        ) from None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # JSON true is no number here
        return bool in types
    return isinstance(value, types)


def check_fields(path: Path, record: Any, fields: dict, what: str) -> None:
    """A UserError naming `path` and the first field of `record` whose type is wrong."""
    if not isinstance(record, dict):
        raise UserError(f"{path} holds {_type_name(record)}, not a JSON object; {what}.")
    for key, types in fields.items():
        value = record.get(key)
        if key in record and not _fits(value, types):
            raise UserError(
                f"{path} has {_type_name(value)} in its {key!r} field where "
                f"{types[0].__name__ if types[0] is not Real else 'a number'} belongs; {what}."
            )


def check_config(path: Path, config: Any) -> None:
    """Every field training, evaluation and the report read from config.json, checked."""
    from cnnlab.models import ARCHITECTURES
    from cnnlab.training.engines import ENGINES

    fix = "retrain this run (cnnlab train --force) or restore its config.json"
    check_fields(path, config, CONFIG_FIELDS, fix)
    for key, known in (("model", ARCHITECTURES), ("engine", ENGINES)):
        value = config.get(key)
        if not isinstance(value, str):
            raise UserError(f"{path} has no {key!r} field naming the {key}; {fix}.")
        if key == "model" and config.get("arch") is not None:
            continue  # the name of its own architecture string, not a built-in
        if value not in known:
            raise UserError(
                f"{path} names an unknown {key} {value!r} in its {key!r} field "
                f"(known: {', '.join(sorted(known))}); {fix}."
            )
    from cnnlab.training.run_settings import check_ranges

    check_ranges(path, config)  # types are right; now the values (seed -5, batch_size 0)


def is_cnnlab_config(config: Any) -> bool:
    """Whether a parsed config.json was written by cnnlab: it carries the format marker, or it
    is an older cnnlab config (before the marker) with model, engine and created strings."""
    if not isinstance(config, dict):
        return False
    if config.get("format") == FORMAT:
        return True
    return "format" not in config and all(isinstance(config.get(k), str) for k in LEGACY_KEYS)
