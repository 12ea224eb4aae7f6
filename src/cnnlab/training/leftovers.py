"""What a killed command leaves in a run directory, and its removal.

A write through `cnnlab.fileio` goes to a hidden temporary file (`.checkpoint.npz.ab12cd.tmp`)
that a rename puts in place; an analysis stages its TensorBoard file in a hidden folder
(`.evaluation-ab12cd`, `.cam-test0-ab12cd`). A SIGKILL between the two leaves them behind. The
next command that holds the run's lock (train, evaluate) removes them: while it holds the
lock, no other process can be writing them.
"""

from __future__ import annotations

import glob
import re
import shutil
import stat
from fnmatch import fnmatch
from pathlib import Path

from cnnlab.failpoints import durable
from cnnlab.rundir import CAM_GLOBS, RUN_FILES

# mkstemp's and mkdtemp's names: the prefix cnnlab gives, then 8 random letters, digits or "_"
TEMPORARY_FILE = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
STAGING_FOLDER = re.compile(r"\.(evaluation|cam-[\w-]+)-[a-z0-9_]{8}")
FOLDERS = (".", "cam", "cam/predict")  # where cnnlab writes inside a run directory
# The files cnnlab writes in a run directory; a temporary file of any other name is the user's.
OWN_NAMES = (
    *RUN_FILES,
    "checkpoint*",
    "events.out.tfevents.*",
    *(pattern.rpartition("/")[2] for pattern in CAM_GLOBS),
)


def _temporary_of_ours(path: Path) -> bool:
    found = TEMPORARY_FILE.fullmatch(path.name)
    return found is not None and any(fnmatch(found["name"], own) for own in OWN_NAMES)


def leftovers(run_dir: Path) -> list[Path]:
    """The temporary files and staging folders of killed commands (links never count)."""
    found = []
    for folder in FOLDERS:
        for path in (run_dir / folder).glob(".*.tmp"):
            if _temporary_of_ours(path) and stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    for path in run_dir.glob(".*-*"):
        if STAGING_FOLDER.fullmatch(path.name) and stat.S_ISDIR(path.lstat().st_mode):
            found.append(path)
    return sorted(found)


def remove_leftovers(run_dir: Path) -> None:
    """Remove `leftovers(run_dir)`; the caller holds the run's lock."""
    _remove(leftovers(Path(run_dir)))


def _remove(found: list[Path]) -> None:
    """Delete the leftovers `found` (files and staging folders), one failpoint around them."""
    if not found:
        return
    with durable("leftovers-removed"):
        for path in found:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def output_leftovers(out_dir: Path, runs: list[str]) -> list[Path]:
    """In a shared `--out` folder: temporary files of the outputs cnnlab writes there
    (`.summary.json.ab12cd.tmp`), only of names its manifest lists, and the grid's staging
    folders of the run directories `runs` (`.cnn2-scratch.incoming-ab12cd`); never a user's
    file."""
    out_dir = Path(out_dir)
    found = [p for run in runs for p in out_dir.glob(f".{glob.escape(run)}.incoming-*")]
    found = [p for p in found if stat.S_ISDIR(p.lstat().st_mode)]
    try:
        from cnnlab.outdir import MANIFEST, OutputDir
    except ImportError:  # a cnnlab without the output folder's manifest: nothing is known ours
        return found
    names = [*OutputDir(out_dir).manifest(), MANIFEST]
    files = [p for name in names for p in out_dir.glob(f".{glob.escape(name)}.*.tmp")]
    return sorted(found + [p for p in files if stat.S_ISREG(p.lstat().st_mode)])


def remove_output_leftovers(out_dir: Path, runs: list[str]) -> None:
    """Remove `output_leftovers(out_dir, runs)`; the caller holds every run of `runs`."""
    _remove(output_leftovers(out_dir, runs))
