"""The `.npz` checkpoint format of the NumPy and Keras engines (no pickle anywhere).

One flat archive: `model/<name>` weights in the NumPy layout, `optimizer/<name>` state arrays,
and `position`, a JSON string saying where training stands (epoch, batch, step, seconds).
"""

from __future__ import annotations

import json
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
