"""Architecture strings as text: the canonical one-line form (what a run stores and a run
name's hash is taken from), `--arch` files, and readable run names."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.models.arch_parse import LayerCall, parse_architecture
from cnnlab.models.layers import KINDS
from cnnlab.models.layers.params import REQUIRED, format_value

MAX_FILE_BYTES = 64 * 1024
MAX_SLUG_CHARS = 40


def format_call(call: LayerCall) -> str:
    """The canonical text of a call: required arguments by position, others only if not default;
    the input size is left out (it is checked against the inferred one, see `spec_from_string`)."""
    args = []
    for param in KINDS[call.kind].params:
        value = call.kwargs[param.name]
        if param.default is REQUIRED:
            args.append(format_value(value))
        elif not _same(value, param.default):
            args.append(f"{param.name}={format_value(value)}")
    return f"{call.kind}({', '.join(args)})" if args else call.kind


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b  # stride (1, 1) is written out, stride 1 is not


def canonical_string(calls: list[LayerCall]) -> str:
    """One line that parses back to `calls`: the text a run name's hash is taken from."""
    return " ".join(format_call(call) for call in calls)


def load_architecture_text(value: str) -> str:
    """`--arch` value: the text of the file it names if one exists, else the value itself."""
    path = Path(value)
    try:
        is_file = value.strip() != "" and path.is_file()
    except (OSError, ValueError):  # a name too long or holding a NUL byte is not a file
        is_file = False
    if not is_file:
        return value
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise UserError(f"Cannot read the architecture file {value}: {err.strerror}.") from None
    if len(data) > MAX_FILE_BYTES:
        raise UserError(
            f"The architecture file {value} is larger than {MAX_FILE_BYTES // 1024} KiB; "
            "is it the right file?"
        )
    try:
        return data.decode("utf-8-sig")  # an editor's byte-order mark is not part of the text
    except UnicodeDecodeError:
        raise UserError(
            f"The architecture file {value} is not UTF-8 text; save it as UTF-8."
        ) from None


def default_run_name(text: str) -> str:
    """A stable, readable run name like `c16-bn-p-c32-p-c64-l10-1a2b3c4d`.

    The slug shows the sizes at a glance (ReLU and Flatten left out); the 8 hex digits of the
    SHA-256 of the canonical string tell apart architectures with the same slug.
    """
    calls = parse_architecture(text)
    digest = hashlib.sha256(canonical_string(calls).encode("utf-8")).hexdigest()[:8]
    slug = ""
    for part in filter(None, map(_slug_part, calls)):
        longer = f"{slug}-{part}" if slug else part
        if len(longer) > MAX_SLUG_CHARS:
            break
        slug = longer
    return f"{slug or 'arch'}-{digest}"


def _slug_part(call: LayerCall) -> str | None:
    return KINDS[call.kind].slug(call.kwargs)  # ReLU and Flatten: the usual glue, left out
