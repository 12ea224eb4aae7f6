"""Where a report may be written: never over a file cnnlab did not write, never into a run
directory's own files, and the Markdown twin only where nobody else's file is.

cnnlab marks its reports: `<meta name="generator" content="cnnlab ...">` in the HTML head and
a first line `<!-- generator: cnnlab ... -->` in the Markdown. A file with neither is the
user's, and is left alone.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.rundir import CONFIG, EVALUATION_FILES, EVENTS_GLOB, METRICS, STATUS
from cnnlab.runlock import LOCK

HTML_MARKER = '<meta name="generator" content="cnnlab'
MARKDOWN_MARKER = "<!-- generator: cnnlab"
_HEAD_BYTES = 4096  # both markers sit in the first lines


def run_file_patterns() -> tuple[str, ...]:
    """The names of the files a run directory holds for cnnlab (a report never replaces them)."""
    from cnnlab.training.engines import ENGINES

    checkpoints = tuple(e.checkpoint_name for e in ENGINES.values())
    return (CONFIG, STATUS, METRICS, LOCK, EVENTS_GLOB, *EVALUATION_FILES, *checkpoints)


def is_cnnlab_report(path: Path) -> bool:
    """Whether the file at `path` is a report cnnlab wrote (it carries the generator marker)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return False
    return HTML_MARKER in head or MARKDOWN_MARKER in head


def _run_file(path: Path, run_dirs) -> bool:
    resolved = path.resolve()
    for run_dir in run_dirs:
        if resolved.parent == Path(run_dir).resolve() and any(
            fnmatch.fnmatch(resolved.name, pattern) for pattern in run_file_patterns()
        ):
            return True
    return (resolved.parent / CONFIG).is_file() and resolved.name in run_file_patterns()


def check_target(path: str | os.PathLike, run_dirs, option: str) -> Path:
    """`path`, when the report may be written there; else one sentence naming `option`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(
            f"{option} {path} is a directory; name the file to write, e.g. report.html."
        )
    if _run_file(path, run_dirs):
        raise UserError(
            f"{option} {path} is one of a run directory's own files; write the report elsewhere."
        )
    if path.exists() and not is_cnnlab_report(path):
        raise UserError(
            f"{option} {path} exists and is not a report cnnlab wrote; cnnlab will not overwrite "
            "it: choose another file name, or move that file away."
        )
    return path


def markdown_target(out_html: Path, out_md, run_dirs) -> Path | None:
    """The Markdown twin's path: `out_md` when given (checked like -o), else beside the HTML
    (FILE.md) when that name is free or holds a cnnlab report; None when there is no such place."""
    if out_md is not None:
        return check_target(out_md, run_dirs, "--md")
    twin = out_html.with_suffix(".md")
    if twin == out_html:
        return None
    try:
        return check_target(twin, run_dirs, "--md")
    except UserError:
        return None
