"""The runs a report shows: what it reads from each run directory, and the table's rows.

Only the files of a run directory are read (docs/run-directory.md); torch is never imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.report import findings
from cnnlab.rundir import RunDir


@dataclass
class Run:
    """What the report needs from one run directory."""

    path: Path
    config: dict
    status: dict | None
    epochs: list[dict]  # the epoch records of metrics.jsonl, one per epoch, in order
    evaluation: dict | None

    @property
    def name(self) -> str:
        return f"{self.config.get('model', '?')} · {self.config.get('engine', '?')}"


def load_run(run_dir: str | os.PathLike) -> Run:
    """Read one run directory; UserError when it is not one."""
    run = RunDir(run_dir)
    run.require_run()
    return Run(
        path=run.path,
        config=run.config(),
        status=run.status(),
        epochs=run.epoch_records(),
        evaluation=run.evaluation(),
    )


def _summary_row(run: Run) -> dict:
    seconds = [r["seconds"] for r in run.epochs if r.get("seconds") is not None]
    val = [r["val_accuracy"] for r in run.epochs if r.get("val_accuracy") is not None]
    status = run.status or {}
    total = status.get("seconds", sum(seconds) if seconds else None)
    return {
        "model": run.config.get("model"),
        "engine": run.config.get("engine"),
        "seed": run.config.get("seed"),
        "test_accuracy": (run.evaluation or {}).get("accuracy"),
        "best_val_accuracy": max(val) if val else None,
        "epochs": status.get("epochs_done", len(run.epochs)),
        "epochs_planned": run.config.get("epochs"),
        "complete": status.get("complete", False),
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "total_seconds": total,
        "parameters": run.config.get("parameters"),
        "run_dir": str(run.path),
    }


def summary_rows(run_dirs) -> list[dict]:
    """One dict per run, the numbers of the report's comparison table.

    Keys: model, engine, test_accuracy (fraction or None), best_val_accuracy, epochs (done),
    epochs_planned, complete, seconds_per_epoch, total_seconds, parameters, run_dir.
    """
    return [_summary_row(load_run(d)) for d in run_dirs]


def _display_names(runs: list[Run]) -> list[str]:
    """`model · engine`, with the seed, or else the run directory, added where two runs would
    share a name."""
    names = [run.name for run in runs]
    seeded = [f"{run.name} · seed {run.config.get('seed')}" for run in runs]
    return [
        name
        if names.count(name) == 1
        else with_seed
        if seeded.count(with_seed) == 1
        else f"{name} ({run.path})"
        for name, with_seed, run in zip(names, seeded, runs, strict=True)
    ]


def named_rows(runs: list[Run]) -> list[dict]:
    """The table's rows, each with its display name and, once per model (on its first row),
    the scratch/PyTorch time ratio: the ratio belongs to the pair, not to each run."""
    rows = [_summary_row(run) for run in runs]
    ratios = findings.time_ratios(rows)
    seen_models = set()
    for row, name in zip(rows, _display_names(runs), strict=True):
        row["name"] = name
        row["time_ratio"] = ratios.get(row["model"]) if row["model"] not in seen_models else None
        seen_models.add(row["model"])
    return rows


def dataset_title(runs) -> str:
    """The name of the runs' data set, e.g. "Fashion-MNIST" (runs before --dataset: MNIST)."""
    titles = {run.config.get("data", {}).get("title", "MNIST") for run in runs}
    return " and ".join(sorted(titles))
