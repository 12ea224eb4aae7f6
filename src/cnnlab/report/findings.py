"""The report's numbers in words: findings computed from the summary rows, and formatting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cnnlab.analysis.metrics import top_confusions
from cnnlab.analysis.stats import ALPHA
from cnnlab.report.markdown import FILTERS as MARKDOWN_FILTERS
from cnnlab.training.engines import REFERENCE, SCRATCH


def percent(fraction: float | None, decimals: int = 2) -> str:
    return "—" if fraction is None else f"{100 * fraction:.{decimals}f}%"


def duration(seconds: float | None) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def points(fraction: float | None) -> str:
    """A spread of accuracies in percentage points: 0.0013 -> "0.13 pt" (not "0.13%", which
    would read as a fraction of the accuracy)."""
    return "—" if fraction is None else f"{100 * fraction:.2f} pt"


def thousands(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def ratio(x: float | None) -> str:
    """3.0×, 12.0×; below 1 two decimals, so that 0.04× does not read as 0.0×."""
    if x is None:
        return "—"
    return f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"


FILTERS = {
    "percent": percent,
    "points": points,
    "duration": duration,
    "thousands": thousands,
    "ratio": ratio,
    **MARKDOWN_FILTERS,  # md, code, fence: user text made inert in report.md
}


def name(row: dict) -> str:
    return row.get("name") or f"{row['model']} · {row['engine']}"


def _first_by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """The first row of every (model, engine): a repeated run does not replace the first."""
    by_key: dict[tuple[str, str], dict] = {}
    for row in rows:
        by_key.setdefault((row["model"], row["engine"]), row)
    return by_key


def time_ratios(rows: list[dict]) -> dict[str, float]:
    """Per architecture with both runs: seconds per epoch of scratch ÷ those of PyTorch."""
    by_key = _first_by_key(rows)
    ratios = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        scratch, torch = by_key.get((model, SCRATCH)), by_key.get((model, REFERENCE))
        if scratch and torch and scratch["seconds_per_epoch"] and torch["seconds_per_epoch"]:
            ratios[model] = scratch["seconds_per_epoch"] / torch["seconds_per_epoch"]
    return ratios


def per_class_table(per_class: dict) -> list[dict]:
    """Rows of {class, precision, recall, f1, support} from evaluation.json's per_class."""
    keys = ("precision", "recall", "f1", "support")
    return [
        {"class": c, **{k: per_class[k][c] for k in keys}} for c in range(len(per_class["support"]))
    ]


def per_recipe(rows: list[dict]) -> list[dict]:
    """One row per (model, engine). With several seeds its test accuracy and seconds per epoch
    are the means over the seeds, so findings rank architectures, never one seed of a model
    against another; with one seed per (model, engine) the rows are returned as they are."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["engine"]), []).append(row)
    if all(len(members) == 1 for members in groups.values()):
        return rows
    recipes = []
    for (model, engine), members in groups.items():
        accuracies = [r["test_accuracy"] for r in members if r["test_accuracy"] is not None]
        seconds = [r["seconds_per_epoch"] for r in members if r["seconds_per_epoch"]]
        recipes.append(
            members[0]
            | {
                "name": f"{model} · {engine} over {len(members)} seeds",
                "recipe": f"{model} · {engine}",
                "test_accuracy": float(np.mean(accuracies)) if accuracies else None,
                "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
            }
        )
    return recipes


def _gap_is_real(best: dict, second: dict, statistics: dict | None, test_count) -> bool:
    """Is best ahead of second? For seed means: the across-seed interval of summary.json
    excludes 0. For single runs: McNemar after Holm when summary.json has the pair, else a gap
    beyond two standard errors of a difference of two accuracies on `test_count` images."""
    if "recipe" in best:
        recipes = {best["recipe"], second["recipe"]}
        for s in (statistics or {}).get("seed_comparisons", []):
            if {s["a"], s["b"]} == recipes:
                return s["low"] is not None and (s["low"] > 0 or s["high"] < 0)
        return False
    names = {Path(best["run_dir"]).name, Path(second["run_dir"]).name}
    for c in (statistics or {}).get("comparisons", []):
        if {c["a"], c["b"]} == names:
            return c["p_holm"] < ALPHA
    if not test_count:
        return False
    p = best["test_accuracy"]
    return best["test_accuracy"] - second["test_accuracy"] > 2 * math.sqrt(
        2 * p * (1 - p) / test_count
    )


def _accuracy_findings(rows: list[dict], statistics=None, test_count=None) -> list[str]:
    evaluated = sorted(
        (r for r in rows if r["test_accuracy"] is not None),
        key=lambda r: r["test_accuracy"],
        reverse=True,
    )
    if not evaluated:
        return ["No run has been evaluated yet: run `cnnlab evaluate DIR` for each run directory."]
    best = evaluated[0]
    lines = [f"Most accurate: {name(best)}, {percent(best['test_accuracy'])} test accuracy."]
    if len(evaluated) > 1:
        second, worst = evaluated[1], evaluated[-1]
        gap = 100 * (best["test_accuracy"] - second["test_accuracy"])
        if _gap_is_real(best, second, statistics, test_count):
            lines[0] = lines[0][:-1] + (
                f", {gap:.2f} points ahead of {name(second)} ({percent(second['test_accuracy'])})."
            )
        else:
            lines[0] = (
                f"Most accurate: {name(best)} ({percent(best['test_accuracy'])}) and "
                f"{name(second)} ({percent(second['test_accuracy'])}), not told apart: "
                f"the {gap:.2f}-point gap is within the noise."
            )
        lines.append(
            f"Least accurate: {name(worst)} ({percent(worst['test_accuracy'])}), "
            f"{100 * (best['test_accuracy'] - worst['test_accuracy']):.2f} points behind the best."
        )
    return lines


def _noise_finding(rows: list[dict], test_count: int | None) -> list[str]:
    """How precisely the test set pins an accuracy down: one binomial standard error."""
    accuracies = [r["test_accuracy"] for r in rows if r["test_accuracy"] is not None]
    if not accuracies or not test_count:
        return []
    p = max(accuracies)
    error = 100 * math.sqrt(p * (1 - p) / test_count)
    return [
        f"With {test_count:,} test images an accuracy of {percent(p)} is known to about "
        f"±{error:.2f} points (one standard error), so smaller differences say little."
    ]


def _confusion_findings(matrices: dict[str, np.ndarray], rows: list[dict]) -> list[str]:
    """Each model's own most frequent confusion (a sum over models would count one test image
    once per model and hide which model makes which mistake); the seeds of one model are
    summed, so that they are not set side by side."""
    recipe = {r.get("name"): f"{r['model']} · {r['engine']}" for r in rows}
    grouped: dict[str, list[tuple[str, np.ndarray]]] = {}
    for run_name, cm in matrices.items():
        grouped.setdefault(recipe.get(run_name, run_name), []).append((run_name, np.asarray(cm)))
    per_model = []
    for key, members in grouped.items():
        top = top_confusions(np.sum([cm for _, cm in members], axis=0), k=1)
        if top:
            t = top[0]
            label, over = (
                (key, f" over {len(members)} seeds") if len(members) > 1 else (members[0][0], "")
            )
            per_model.append(
                f"{label}: a true {t['true']} predicted as {t['predicted']} ({t['count']}×{over})"
            )
    if not per_model:
        return []
    return ["Most frequent confusion of each model: " + "; ".join(per_model) + "."]


def _speed_findings(rows: list[dict]) -> list[str]:
    timed = sorted(
        (r for r in rows if r["seconds_per_epoch"]), key=lambda r: r["seconds_per_epoch"]
    )
    if len(timed) < 2:
        return []
    fast, slow = timed[0], timed[-1]
    return [
        f"Fastest: {name(fast)} at {duration(fast['seconds_per_epoch'])} per epoch; slowest: "
        f"{name(slow)} at {duration(slow['seconds_per_epoch'])} per epoch "
        f"({slow['seconds_per_epoch'] / fast['seconds_per_epoch']:.1f}× as long)."
    ]


def _engine_findings(rows: list[dict]) -> list[str]:
    """Scratch against PyTorch for every architecture that has both runs."""
    by_key = _first_by_key(rows)
    ratios = time_ratios(rows)
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        scratch, torch = by_key.get((model, SCRATCH)), by_key.get((model, REFERENCE))
        if scratch is None or torch is None:
            continue
        parts = []
        if scratch["test_accuracy"] is not None and torch["test_accuracy"] is not None:
            diff = 100 * (scratch["test_accuracy"] - torch["test_accuracy"])
            sign = "−" if diff < 0 else "+"
            parts.append(
                f"scratch {percent(scratch['test_accuracy'])} vs PyTorch "
                f"{percent(torch['test_accuracy'])} ({sign}{abs(diff):.2f} points)"
            )
        if model in ratios:
            parts.append(f"scratch takes {ratio(ratios[model])} as long per epoch")
        if parts:
            lines.append(f"{model}: " + "; ".join(parts) + ".")
    return lines


def summarize(
    rows: list[dict],
    matrices: dict[str, np.ndarray],
    test_count: int | None,
    statistics: dict | None = None,
) -> list:
    """Findings, one sentence each, from the summary rows, the confusion matrices, and the
    paired tests of summary.json (`statistics`) where they were computed."""
    from cnnlab.report.significance import significance_findings

    recipes = per_recipe(rows)
    return (
        _accuracy_findings(recipes, statistics, test_count)
        + significance_findings(statistics or {})
        + _noise_finding(rows, test_count)
        + _confusion_findings(matrices, rows)
        + _speed_findings(recipes)
        + _engine_findings(recipes)
    )
