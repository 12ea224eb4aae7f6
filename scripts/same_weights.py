"""Whether two trainings ended with the same weights, bit for bit.

    python scripts/same_weights.py RUNS_BEFORE RUNS_AFTER

Each argument is a parent of run directories (`cnnlab train --out DIR`); every run directory in
RUNS_BEFORE is compared with the one of the same name in RUNS_AFTER: every array of the
model (weights and buffers) and of the optimizer state in the checkpoint (`checkpoint.npz` of
the NumPy engine or `checkpoint.pt` of the PyTorch one) must have the same names, dtype, shape
and bytes. Anything else a checkpoint holds (where training stands, generator states) is left
out: it says how to go on, not what was learned. Prints one
line per run and exits 1 when any differs. A refactoring that claims "same numbers as before"
trains the same runs before and after it and passes them here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cnnlab.training.checkpoint import load_npz


def checkpoint_arrays(run_dir: Path) -> dict[str, np.ndarray]:
    """Every array of a run's checkpoint under one flat name ("model/conv1.weight", ...)."""
    npz = run_dir / "checkpoint.npz"
    if npz.exists():
        model, optimizer, _ = load_npz(npz)
        return {f"model/{k}": v for k, v in model.items()} | {
            f"optimizer/{k}": v for k, v in optimizer.items()
        }
    import torch

    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    state = {key: state[key] for key in ("model", "optimizer") if key in state}
    return dict(_flatten_tensors(state, ""))


def _flatten_tensors(value, prefix: str):
    if hasattr(value, "detach"):
        yield prefix, value.detach().cpu().numpy()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten_tensors(item, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flatten_tensors(item, f"{prefix}/{index}")


def differences(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> list[str]:
    """What differs between two flat checkpoints: names, dtypes, shapes or bytes."""
    problems = [f"{name} only in one" for name in sorted(set(before) ^ set(after))]
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        if a.dtype != b.dtype or a.shape != b.shape:
            problems.append(f"{name}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
        elif a.tobytes() != b.tobytes():
            problems.append(f"{name}: {np.count_nonzero(a != b)} of {a.size} values differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    failed = False
    runs = sorted(p for p in args.before.iterdir() if p.is_dir())
    if not runs:
        print(f"no run directories in {args.before}")
        return 1
    for run in runs:
        other = args.after / run.name
        if not other.is_dir():
            print(f"{run.name}: missing in {args.after}")
            failed = True
            continue
        before, after = checkpoint_arrays(run), checkpoint_arrays(other)
        problems = differences(before, after)
        failed |= bool(problems)
        verdict = "DIFFERENT: " + "; ".join(problems[:5]) if problems else "bit-identical"
        print(f"{run.name}: {len(before)} arrays, {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
