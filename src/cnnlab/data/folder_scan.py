"""Finding the pictures of a folder data set: which classes, which files, which split.

Two layouts are read:

    PATH/<class>/<pictures>                       the test split is drawn from each class
    PATH/train/<class>/...  and  PATH/test/<class>/...    the split as given

Class names are the folder names, sorted; label i is the i-th name. Hidden files (".DS_Store")
are skipped; any other file is a picture or an error, so nothing is dropped unnoticed.
"""

from __future__ import annotations

import errno
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cnnlab.errors import UserError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
SHOWN_PATHS = 3  # bad files named in a message


class PictureFile(NamedTuple):
    """One picture: its path relative to the folder, its class, its split, and what the
    manifest compares to tell a changed folder (size in bytes, modification time in ns)."""

    relpath: str
    label: int
    split: str  # "train", "test", or "all" (the test split is drawn later)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FolderListing:
    root: Path  # resolved
    class_names: tuple[str, ...]
    files: tuple[PictureFile, ...]
    has_test_folder: bool

    def manifest(self) -> list[list]:
        """[relpath, size, mtime_ns] of every picture, in order: what the cache compares."""
        return [[f.relpath, f.size, f.mtime_ns] for f in self.files]


def _entries(directory: Path) -> list[os.DirEntry]:
    """The entries of `directory` sorted by name, hidden ones left out; one sentence on error."""
    try:
        with os.scandir(directory) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as err:
        raise _os_error(directory, err) from None


def _os_error(path: Path, err: OSError) -> UserError:
    if err.errno == errno.ELOOP:
        return UserError(f"{path} is a symbolic-link loop; remove the link or point it elsewhere")
    if isinstance(err, PermissionError):
        return UserError(f"{path} cannot be read: permission denied")
    if isinstance(err, FileNotFoundError):
        return UserError(f"{path} does not exist; give a folder with one subfolder per class")
    if isinstance(err, NotADirectoryError):
        return UserError(f"{path} is a file, not a folder with one subfolder per class")
    return UserError(f"cannot read {path}: {err.strerror or err}")


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links; a loop raises ELOOP
    except OSError as err:
        raise _os_error(Path(entry.path), err) from None


def _class_dirs(directory: Path) -> list[os.DirEntry]:
    entries = _entries(directory)
    dirs = [e for e in entries if _is_dir(e)]
    if len(dirs) < 2:
        found = f"only {dirs[0].name!r}" if dirs else "none"
        raise UserError(
            f"{directory} must hold one subfolder per class, at least two, with the pictures "
            f"inside; found {found}"
        )
    stray = [e.name for e in entries if not _is_dir(e)]
    if stray:
        raise UserError(
            f"{directory} holds files beside its class folders ({', '.join(stray[:SHOWN_PATHS])}"
            f"{', ...' if len(stray) > SHOWN_PATHS else ''}); move them into a class folder or "
            "out of the data set"
        )
    return dirs


def _pictures(root: Path, class_dir: Path, label: int, split: str):
    """(pictures, other files) of one class folder. Plain string work per file, no pathlib:
    a folder of 60,000 pictures is listed in a fraction of a second."""
    found, bad = [], []
    prefix = class_dir.relative_to(root).as_posix() + "/"
    for entry in _entries(class_dir):
        try:
            st = entry.stat()  # follows links
        except OSError as err:
            raise _os_error(Path(entry.path), err) from None
        name = entry.name
        dot = name.rfind(".")
        suffix = name[dot:].lower() if dot > 0 else ""
        if stat.S_ISDIR(st.st_mode) or suffix not in PICTURE_SUFFIXES:
            bad.append(prefix + name)
            continue
        found.append(PictureFile(prefix + name, label, split, st.st_size, st.st_mtime_ns))
    return found, bad


def _all_pictures(root: Path, folders: list[tuple[Path, int, str]]):
    """(pictures, other files) of every class folder, listed by a few threads at once: the
    stat calls release the GIL, and wait on the disk."""
    with ThreadPoolExecutor(min(8, len(folders))) as pool:
        listed = list(pool.map(lambda f: _pictures(root, *f), folders))
    bad = [rel for _, other in listed for rel in other]
    for (folder, _, _), (found, _) in zip(folders, listed, strict=True):
        if not found and not bad:
            raise UserError(f"the class folder {folder} holds no pictures; add some or remove it")
    return [p for found, _ in listed for p in found], bad


def list_folder(path: str | os.PathLike) -> FolderListing:
    """Every picture of the folder data set at `path`, or one sentence saying what is wrong."""
    try:
        root = Path(path).expanduser().resolve(strict=True)
    except OSError as err:
        raise _os_error(Path(path), err) from None
    if not root.is_dir():
        raise _os_error(root, NotADirectoryError())
    top = {e.name for e in _entries(root) if _is_dir(e)}
    split_dirs = {"train", "test"} <= top
    if split_dirs:
        names = [e.name for e in _class_dirs(root / "train")]
        test_names = [e.name for e in _class_dirs(root / "test")]
        if test_names != names:
            missing = sorted(set(names) ^ set(test_names))
            raise UserError(
                f"{root}/train and {root}/test must hold the same class folders; "
                f"{', '.join(missing)} is in only one (every class needs a test image)"
            )
        folders = [
            (root / split / name, label, split)
            for split in ("train", "test")
            for label, name in enumerate(names)
        ]
    else:
        names = [e.name for e in _class_dirs(root)]
        folders = [(root / name, label, "all") for label, name in enumerate(names)]
    files, bad = _all_pictures(root, folders)
    if bad:
        raise not_pictures(root, bad)
    return FolderListing(root, tuple(names), tuple(files), split_dirs)


def not_pictures(root: Path, bad: list[str], why: str = "") -> UserError:
    """One sentence naming how many files are not usable pictures, and the first few."""
    shown = ", ".join(bad[:SHOWN_PATHS]) + (", ..." if len(bad) > SHOWN_PATHS else "")
    return UserError(
        f"{len(bad)} file{'s' if len(bad) != 1 else ''} in {root} "
        f"{'are' if len(bad) != 1 else 'is'} not {why or 'a picture'} ({shown}); "
        f"use {', '.join(s.lstrip('.').upper() for s in PICTURE_SUFFIXES[:5])} or TIFF files "
        "only, and nothing else in the class folders; nothing was trained"
    )
