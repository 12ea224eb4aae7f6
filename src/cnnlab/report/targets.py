"""Where a report may be written: never over a file cnnlab did not write, never into a run
directory's own files, and the Markdown twin only where nobody else's file is.

cnnlab marks its reports: `<meta name="generator" content="cnnlab ...">` in the HTML head and
a first line `<!-- generator: cnnlab ... -->` in the Markdown. A file with neither is the
user's, and is left alone. The report and its charts are written through `OutputDir`, whose
manifest knows what cnnlab wrote; `check_outputs` checks every one of them before the first
is written.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.outdir import OutputDir
from cnnlab.rundir import CONFIG, EVENTS_GLOB, RUN_FILES
from cnnlab.runlock import LOCK

SEED_CHART = "seed_accuracies.png"
HTML_MARKER = '<meta name="generator" content="cnnlab'
MARKDOWN_MARKER = "<!-- generator: cnnlab"
_HEAD_BYTES = 4096  # both markers sit in the first lines


def run_file_patterns() -> tuple[str, ...]:
    """The names of the files a run directory holds for cnnlab (a report never replaces them)."""
    from cnnlab.training.engines import ENGINES

    checkpoints = tuple(e.checkpoint_name for e in ENGINES.values())
    return (*RUN_FILES, LOCK, EVENTS_GLOB, *checkpoints)


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
        if Path(out_md).resolve() == out_html.resolve():
            raise UserError(
                f"--md {out_md} names the same file as -o; give the Markdown twin its own name, "
                f"e.g. {out_html.with_suffix('.md')} (nothing was written)."
            )
        return check_target(out_md, run_dirs, "--md")
    twin = out_html.with_suffix(".md")
    if twin == out_html:
        return None
    try:
        return check_target(twin, run_dirs, "--md")
    except UserError:
        return None


def chart_names(models) -> list[str]:
    """The comparison charts a report writes beside its Markdown: every run's curves, and
    one chart per model with its engines."""
    return ["compare_all.png", *(f"compare_{model}.png" for model in dict.fromkeys(models))]


def report_outputs(out_html: Path, out_md: Path | None, models, seed_dir) -> dict[Path, list]:
    """{folder: file names} of everything a report may write: the page, its Markdown twin,
    the charts (beside the Markdown, else the page), the seed chart when `seed_dir` is given."""
    chart_dir = (out_md or out_html).parent
    outputs: dict[Path, list] = {out_html.parent: [out_html.name]}
    if out_md is not None:
        outputs.setdefault(out_md.parent, []).append(out_md.name)
    outputs.setdefault(chart_dir, []).extend(chart_names(models))
    if seed_dir is not None:
        outputs.setdefault(Path(seed_dir), []).append(SEED_CHART)
    return outputs


def check_outputs(outputs: dict[Path, list]) -> None:
    """One sentence for the first target cnnlab may not replace; checked before any write."""
    for folder, names in outputs.items():
        OutputDir(folder).check(dict.fromkeys(names), also_ours=is_cnnlab_report)
