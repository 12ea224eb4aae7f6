"""The `--arch` option of `train`, `run`, `parity` and `bench`: an architecture string or a file
holding one, checked at once (so a bad string is one sentence before anything starts)."""

from __future__ import annotations

from cnnlab.errors import UserError
from cnnlab.models import MODEL_NAMES, spec_from_string
from cnnlab.models.arch_parse import parse_architecture
from cnnlab.models.arch_text import canonical_string, default_run_name, load_architecture_text
from cnnlab.models.spec import ArchSpec

ARCH_HELP = (
    "your own network: PyTorch layers such as 'Conv2d(16, 3, padding=1) ReLU MaxPool2d(2) "
    "Flatten Linear(10)', or a text file holding them (# comments allowed)"
)
ARCH_ROW_HELP = 'add the network NAME="LAYERS" (or NAME=FILE) as a row; repeatable'


def canonical_arch(value: str) -> str:
    """The canonical one-line string of an `--arch` value (a string or a file's text)."""
    return canonical_string(parse_architecture(load_architecture_text(value)))


def arch_spec(value: str, name: str | None = None) -> ArchSpec:
    """The checked spec of an `--arch` value, named `name` or by `default_run_name`."""
    text = canonical_arch(value)
    return spec_from_string(text, name or default_run_name(text))


def arch_fields(value: str | None, name: str | None) -> dict:
    """The `TrainConfig` fields for `--arch value [--name name]`: {} without --arch."""
    if value is None:
        return {}
    spec = arch_spec(value, name)
    return {"model": spec.name, "arch": spec.source}


def named_archs(values: list[str], builtin: tuple[str, ...]) -> dict[str, str]:
    """`NAME="LAYERS"` values of `cnnlab run --arch` -> {NAME: canonical string}."""
    archs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        name = name.strip()
        if not sep or not name.replace("-", "").replace("_", "").isalnum():
            raise UserError(
                f"--arch {value[:40]!r} needs a name first, like --arch "
                'mynet="Conv2d(16, 3) ReLU Flatten Linear(10)".'
            )
        if name in archs or name in builtin or name in MODEL_NAMES:
            raise UserError(f"the name {name!r} of --arch is already taken; choose another one.")
        archs[name] = arch_spec(text, name).source
    return archs
