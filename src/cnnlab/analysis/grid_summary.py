"""`summary.json` of a comparison: one row per run, aggregates over seeds, paired comparisons.

Every pair of runs that saw the same test images with the same training seed is compared image
by image: each model pair within an engine, and each engine pair within a model (the twins).
The numbers come from each run's `probabilities.npy` and the test labels, never from rounded
accuracies.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from cnnlab.analysis import stats
from cnnlab.analysis.stats import TWIN_MARGIN
from cnnlab.rundir import PROBABILITIES, RunDir

ROW_KEYS = (
    "model",
    "engine",
    "seed",
    "test_accuracy",
    "accuracy_low",
    "accuracy_high",
    "best_val_accuracy",
    "epochs",
    "seconds_per_epoch",
    "parameters",
    "run_dir",
)


def run_outcomes(run_dir: Path, labels: np.ndarray) -> np.ndarray:
    """(N,) bool: where the run's most probable class is the true label."""
    probabilities = np.load(Path(run_dir) / PROBABILITIES, allow_pickle=False)  # (N, 10)
    return probabilities.argmax(axis=1) == labels


def summary_row(row: dict, run_dir: Path) -> dict:
    """A report row with the seed and the bootstrap interval of its test accuracy."""
    run = RunDir(run_dir)
    interval = (run.evaluation() or {}).get("accuracy_interval") or {}
    extra = {
        "seed": run.config().get("seed"),
        "accuracy_low": interval.get("low"),
        "accuracy_high": interval.get("high"),
    }
    return {key: (row | extra)[key] for key in ROW_KEYS}


def aggregates(rows: list[dict]) -> list[dict]:
    """Per (model, engine): the seeds, and mean, std, min, max, 95% t interval of accuracy."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["test_accuracy"] is not None:
            groups.setdefault((row["model"], row["engine"]), []).append(row)
    result = []
    for (model, engine), members in groups.items():
        interval = stats.t_interval([r["test_accuracy"] for r in members])
        result.append(
            {
                "model": model,
                "engine": engine,
                "seeds": [r["seed"] for r in members],
                "accuracies": [r["test_accuracy"] for r in members],
                **{k: interval[k] for k in ("mean", "std", "min", "max", "low", "high")},
            }
        )
    return result


def paired_runs(rows: list[dict]) -> list[tuple[dict, dict, str]]:
    """(row A, row B, kind) for every pair compared: kind "models" or "engines", same seed."""
    pairs = []
    for seed in dict.fromkeys(r["seed"] for r in rows):
        same_seed = [r for r in rows if r["seed"] == seed]
        for engine in dict.fromkeys(r["engine"] for r in same_seed):
            members = [r for r in same_seed if r["engine"] == engine]
            pairs += [(a, b, "models") for a, b in combinations(members, 2)]
        for model in dict.fromkeys(r["model"] for r in same_seed):
            members = [r for r in same_seed if r["model"] == model]
            pairs += [(a, b, "engines") for a, b in combinations(members, 2)]
    return pairs


def comparisons(rows: list[dict], labels: np.ndarray) -> list[dict]:
    """McNemar with Holm over every pair; engine pairs (twins) take the twin verdict
    (equivalent by TOST, different by McNemar after Holm, else inconclusive)."""
    rows = [r for r in rows if r["test_accuracy"] is not None]
    pairs = paired_runs(rows)
    if not pairs:
        return []
    name = {r["run_dir"]: Path(r["run_dir"]).name for r in rows}
    outcomes = {name[r["run_dir"]]: run_outcomes(r["run_dir"], labels) for r in rows}
    named = [(name[a["run_dir"]], name[b["run_dir"]]) for a, b, _ in pairs]
    tested = stats.compare_pairs(outcomes, named, margin=TWIN_MARGIN)
    result = []
    for (a, b, kind), test in zip(pairs, tested, strict=True):
        if kind == "engines":
            test["verdict"] = test["twin_verdict"]
        result.append(
            test
            | {
                "kind": kind,
                "seed": a["seed"],
                "a_model": a["model"],
                "a_engine": a["engine"],
                "b_model": b["model"],
                "b_engine": b["engine"],
                "margin": TWIN_MARGIN,
            }
        )
    return result


def seed_comparisons(rows: list[dict]) -> list[dict]:
    """With several seeds: per-seed accuracy differences of each pair, their mean and interval."""
    accuracy = {(r["model"], r["engine"], r["seed"]): r["test_accuracy"] for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    if len(seeds) < 2:
        return []
    first = [r for r in rows if r["seed"] == seeds[0]]
    result = []
    for a, b, kind in paired_runs(first):
        by_seed = [{s: accuracy.get((x["model"], x["engine"], s)) for s in seeds} for x in (a, b)]
        common = [s for s in seeds if by_seed[0][s] is not None and by_seed[1][s] is not None]
        if len(common) < 2:
            continue
        paired = stats.paired_seed_comparison(
            {s: by_seed[0][s] for s in common}, {s: by_seed[1][s] for s in common}
        )
        result.append(
            {"a": f"{a['model']} · {a['engine']}", "b": f"{b['model']} · {b['engine']}"}
            | {"kind": kind}
            | paired
        )
    return result


def grid_summary(run_dirs: list[Path], data_dir=None) -> dict:
    """What summary.json holds: runs, aggregates, comparisons, seed_comparisons."""
    from cnnlab.data.source import load_run_data
    from cnnlab.report import summary_rows
    from cnnlab.rundir import RunDir

    rows = [summary_row(r, d) for r, d in zip(summary_rows(run_dirs), run_dirs, strict=True)]
    labels = load_run_data(RunDir(run_dirs[0]).config(), data_dir).test_labels.astype(np.int64)
    return {
        "runs": rows,
        "aggregates": aggregates(rows),
        "comparisons": comparisons(rows, labels),
        "seed_comparisons": seed_comparisons(rows),
        "alpha": stats.ALPHA,
        "twin_margin": TWIN_MARGIN,
    }
