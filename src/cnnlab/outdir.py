"""`OutputDir`: a folder shared with the user, where `run`, `cam` and `report` put their files.

`runs/` (or `--out`) holds the run directories, and beside them what the comparison writes:
summary.json, the report, its charts and the CAM comparison figures. The user may keep files
of their own there. So cnnlab keeps a manifest, `.cnnlab-outputs.json`, of the name and SHA-256
of every file it wrote into the folder, and replaces a file only while its bytes still hash to
what cnnlab wrote; any other file is the user's and is never overwritten. Every writer checks
all of its targets (`check`) before it writes the first one, so a refusal changes nothing.

No symbolic link is followed: a link in place of a target is refused, and the files are
written atomically (`cnnlab.fileio`: a temporary file beside the target, then a rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab import fileio
from cnnlab.errors import UserError

MANIFEST = ".cnnlab-outputs.json"
FORMAT = "cnnlab-outputs"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_hash(path: Path) -> str | None:
    """The SHA-256 of the regular file at `path`, read without following a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return hashlib.file_digest(f, "sha256").hexdigest()


class OutputDir:
    """One output folder: its manifest, its checks, and the only writes cnnlab makes there."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"OutputDir({str(self.path)!r})"

    # -- the manifest -----------------------------------------------------------------------

    def manifest(self) -> dict[str, list[str]]:
        """{file name: SHA-256 values cnnlab wrote under it}; empty when there is none."""
        path = self.path / MANIFEST
        fileio.refuse_symlink(path)
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            return {}
        files = record.get("files")
        if not isinstance(files, dict):
            return {}
        return {
            name: [h for h in hashes if isinstance(h, str)]
            for name, hashes in files.items()
            if isinstance(hashes, list)
        }

    def _save_manifest(self, files: dict[str, list[str]]) -> None:
        fileio.write_json(self.path / MANIFEST, {"format": FORMAT, "files": files})

    # -- checks -----------------------------------------------------------------------------

    def check(self, names: Iterable[str], also_ours: Callable[[Path], bool] | None = None) -> None:
        """A UserError naming the first of `names` that cnnlab may not replace: a link, a
        folder, or a file whose bytes are not what cnnlab wrote there. `also_ours` recognises
        files cnnlab marks inside (reports written before the manifest existed)."""
        manifest = self.manifest()
        for name in names:
            if "/" in name or name in ("", ".", "..", MANIFEST):
                raise ValueError(f"not a plain output file name: {name!r}")
            path = self.path / name
            fileio.refuse_symlink(path)
            fileio.refuse_not_a_file(path)
            if not path.exists():
                continue
            if _file_hash(path) in manifest.get(name, []):
                continue
            if also_ours is not None and also_ours(path):
                continue
            raise UserError(
                f"{path} exists and is not a file cnnlab wrote (or it was changed since); "
                "cnnlab will not overwrite it: move it away or choose another --out "
                "(nothing was written)."
            )

    # -- writes -----------------------------------------------------------------------------

    def write_bytes(
        self, name: str, data: bytes, also_ours: Callable[[Path], bool] | None = None
    ) -> Path:
        """Write `data` as `name` (checked first), and record its hash in the manifest.

        The new hash is recorded before the file is written and the old one dropped after, so
        whenever the process dies the file on disk is one the manifest knows."""
        self.check([name], also_ours)
        path = self.path / name
        fileio.make_dir(self.path)
        files = self.manifest()
        old = _file_hash(path)
        new = sha256_of(data)
        files[name] = list(dict.fromkeys([*([old] if old else []), new]))
        try:
            self._save_manifest(files)
        except UserError as err:  # a folder that takes no manifest: name the file the user asked
            cause = err.__cause__ or err.__context__
            if isinstance(cause, OSError):
                raise fileio.cannot_write(path, cause) from None
            raise
        fileio.write_bytes(path, data)
        files[name] = [new]
        self._save_manifest(files)
        return path

    def write_text(self, name: str, text: str, also_ours=None) -> Path:
        return self.write_bytes(name, text.encode("utf-8"), also_ours)

    def write_json(self, name: str, obj: Any) -> Path:
        return self.write_text(name, json.dumps(obj, indent=2) + "\n")

    def save_png(self, name: str, rgb: np.ndarray) -> Path:
        """An RGB array (H, W, 3) uint8 as the PNG `name`."""
        from cnnlab.viz.plots import png_bytes

        return self.write_bytes(name, png_bytes(rgb))
