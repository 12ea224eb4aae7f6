"""The `.npz` checkpoint format of the NumPy and Keras engines (no pickle anywhere).

One flat archive: `model/<name>` weights in the NumPy layout, `optimizer/<name>` state arrays,
and `position`, a JSON string saying where training stands (epoch, batch, step, seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.fileio import atomic_open


def save_npz(
    path: Path,
    model: dict[str, np.ndarray],
    optimizer: dict[str, np.ndarray],
    position: dict[str, Any],
) -> None:
    arrays = {f"model/{k}": v for k, v in model.items()}
    arrays |= {f"optimizer/{k}": v for k, v in optimizer.items()}
    arrays["position"] = np.array(json.dumps(position))
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """(model state, optimizer state, position); raises OSError/ValueError on a bad file."""
    # Our own file handle: np.load leaves its own open when the archive is cut short.
    with open(path, "rb") as f:
        npz = np.load(f, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("it is a single array, not a checkpoint archive")
        with npz:
            arrays = {k: npz[k] for k in npz.files}
    model = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    optimizer = {
        k.removeprefix("optimizer/"): v for k, v in arrays.items() if k.startswith("optimizer/")
    }
    position = json.loads(str(arrays["position"])) if "position" in arrays else {}
    return model, optimizer, position


# (path, inode, size, mtime) -> SHA-256: the lab and the report ask about the same checkpoint
# many times; a new checkpoint is a new file (atomic rename), so any of these changes.
_DIGESTS: dict[tuple, str] = {}


def checkpoint_digest(path: Path) -> str | None:
    """The SHA-256 of a checkpoint file (hex), None when there is none. An evaluation records
    it, so an evaluation of an older checkpoint is known for stale."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def evaluation_is_current(run_dir: Path, evaluation: dict[str, Any]) -> bool:
    """Whether `evaluation` (evaluation.json) is of the checkpoint now in `run_dir`. One that
    records no checkpoint (written before cnnlab recorded it) is taken as it is."""
    recorded = evaluation.get("checkpoint")
    if not isinstance(recorded, dict):
        return True
    name = recorded.get("file")
    if not isinstance(name, str) or "/" in name:
        return False
    return checkpoint_digest(Path(run_dir) / name) == recorded.get("sha256")
