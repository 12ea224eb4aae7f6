"""The `--arch` option of `train`, `run`, `parity` and `bench`: an architecture string or a file
holding one, checked at once (so a bad string is one sentence before anything starts)."""

from __future__ import annotations

from cnnlab.errors import UserError
from cnnlab.models import MODEL_NAMES, spec_from_string
from cnnlab.models.arch_text import default_run_name, load_architecture_text
from cnnlab.models.presets import PRESETS
from cnnlab.models.spec import ArchSpec

ARCH_HELP = (
    "your own network: PyTorch layers such as 'Conv2d(16, 3, padding=1) ReLU MaxPool2d(2) "
    "Flatten Linear(10)' (input sizes may be left out: two numbers in Conv2d or one in Linear "
    "are the short form, more are PyTorch's order, 'Conv2d(1, 16, 3)'; an nn.Sequential(...) "
    "pasted from PyTorch reads too), a text file holding them (# comments allowed), or a "
    "built-in model's name (default: the --model's own layers)"
)
ARCH_ROW_HELP = 'add the network NAME="LAYERS" (or NAME=FILE) as a row; repeatable'


def architecture_text(value: str) -> str:
    """The architecture an `--arch` value stands for: a built-in model's string for its name
    (`--arch lenet5`), a file's text for a file, else the value itself."""
    if value.strip() in PRESETS:
        return PRESETS[value.strip()].text
    return load_architecture_text(value)


def arch_spec(value: str, name: str | None = None, shape=(1, 28, 28), classes=10) -> ArchSpec:
    """The checked spec of an `--arch` value, named `name` or by `default_run_name`, for the
    data set's image `shape` (C, H, W) and `classes`. Checked as written, so a written input
    size (`Conv2d(1, 16, 3)`) is held against the inferred one; the spec's `source` is the
    canonical string."""
    text = architecture_text(value)
    name = name or default_run_name(text)
    return spec_from_string(text, name, input_shape=tuple(shape), classes=classes)


def arch_fields(value: str | None, name: str | None, shape=(1, 28, 28), classes=10) -> dict:
    """The `TrainConfig` fields for `--arch value [--name name]`: {} without --arch; a built-in
    model's name is that model (`--arch cnn3` trains `--model cnn3`, with its layer names)."""
    if value is None:
        return {}
    if value.strip() in PRESETS:
        return {"model": value.strip(), "arch": None}
    spec = arch_spec(value, name, shape, classes)
    return {"model": spec.name, "arch": spec.source}


def named_archs(
    values: list[str], builtin: tuple[str, ...], shape=(1, 28, 28), classes=10
) -> dict[str, str]:
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
        archs[name] = arch_spec(text, name, shape, classes).source
    return archs
