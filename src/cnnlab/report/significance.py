"""The statistics of summary.json in words and tables: which differences are real.

Only a difference that survives Holm's correction (p below `stats.ALPHA`) is stated as one run
beating another; the twins (one model in two engines) are "equivalent" (TOST at ±margin),
"different" (McNemar after Holm) or "inconclusive". With several seeds, the mean of the
per-seed differences and its t interval judge the architectures as recipes; seeds of one
model are never ranked against each other.
"""

from __future__ import annotations

from cnnlab.analysis.stats import ALPHA
from cnnlab.training.engines import ENGINES

CONFIDENCE = f"{100 * (1 - ALPHA):g}%"  # "95%": the level of every interval the report shows
MCNEMAR_QUESTION = (
    "McNemar's test answers: do these two trained networks differ on these 10,000 test images?"
)
SEEDS_QUESTION = (
    "The across-seed comparison answers: is one architecture better than the other as a "
    "training recipe, whatever the seed? It takes the accuracy difference of each seed and "
    f"gives the mean with its {CONFIDENCE} t interval."
)


def p_text(p: float) -> str:
    """p < 1e-15, p = 3.2e-05, p = 0.031, p = 1."""
    if p < 1e-15:
        return "p < 1e-15"
    if p < 1e-3:
        return f"p = {p:.1e}"
    return f"p = {p:.2g}"


def signed_points(fraction: float | None) -> str:
    """+0.52 pt, −0.10 pt: a difference of accuracies in percentage points."""
    if fraction is None:
        return "—"
    sign = "−" if fraction < 0 else "+"
    return f"{sign}{abs(100 * fraction):.2f} pt"


def _engine_label(engine: str) -> str:
    return ENGINES[engine].label if engine in ENGINES else engine


def _model_sentence(c: dict, several_seeds: bool) -> str:
    where = f"{_engine_label(c['a_engine'])}" + (f", seed {c['seed']}" if several_seeds else "")
    if c["p_holm"] >= ALPHA:
        return (
            f"{c['a_model']} and {c['b_model']} ({where}) are not told apart on the same images: "
            f"{c['n01']} vs {c['n10']} disagreements, {p_text(c['p_holm'])} after Holm."
        )
    a_wins = c["n01"] > c["n10"]
    winner, loser = (c["a_model"], c["b_model"]) if a_wins else (c["b_model"], c["a_model"])
    more, fewer = max(c["n01"], c["n10"]), min(c["n01"], c["n10"])
    return (
        f"{winner} beats {loser} on the same images ({where}): {more} vs {fewer} "
        f"disagreements, {p_text(c['p_holm'])} after Holm."
    )


def _twin_sentence(c: dict, several_seeds: bool) -> str:
    engines = f"{_engine_label(c['a_engine'])} and {_engine_label(c['b_engine'])}"
    seed = f" (seed {c['seed']})" if several_seeds else ""
    points = f"±{100 * c['margin']:.1f} points"
    disagreements = f"{c['n01']} vs {c['n10']} disagreements, {p_text(c['p_holm'])} after Holm"
    verdict = c["verdict"]
    if verdict == "equivalent":
        return f"{engines} {c['a_model']} are equivalent within {points}{seed}."
    if verdict == "different":
        return f"{engines} {c['a_model']} differ{seed}: {disagreements}."
    return (
        f"{engines} {c['a_model']}: inconclusive{seed}, neither shown equal within {points} "
        f"nor shown different ({disagreements})."
    )


def seed_verdict(s: dict) -> str:
    """Which recipe is better: only when the interval of the mean difference excludes 0."""
    if s["low"] is None or s["low"] <= 0 <= s["high"]:
        return "not told apart"
    return f"{s['a'] if s['mean'] > 0 else s['b']} better"


def _seed_sentence(s: dict) -> str:
    interval = f"{signed_points(s['low'])} to {signed_points(s['high'])}"
    where = f"over {len(s['seeds'])} seeds, {s['a']} minus {s['b']}"
    if seed_verdict(s) == "not told apart":
        return (
            f"As recipes, {s['a']} and {s['b']} are not told apart: {where} is "
            f"{signed_points(s['mean'])} on average ({CONFIDENCE} interval {interval})."
        )
    better, worse = (s["a"], s["b"]) if s["mean"] > 0 else (s["b"], s["a"])
    return (
        f"As a recipe, {better} beats {worse}: {where} is {signed_points(s['mean'])} "
        f"on average ({CONFIDENCE} interval {interval})."
    )


def significance_findings(statistics: dict) -> list[str]:
    """One sentence per compared pair of the first seed, and one per pair across seeds."""
    comparisons = statistics.get("comparisons", [])
    if not comparisons:
        return []
    seeds = list(dict.fromkeys(c["seed"] for c in comparisons))
    several = len({s for a in statistics.get("aggregates", []) for s in a["seeds"]}) > 1
    first = [c for c in comparisons if c["seed"] == seeds[0]]
    lines = [_model_sentence(c, several) for c in first if c["kind"] == "models"]
    lines += [_twin_sentence(c, several) for c in first if c["kind"] == "engines"]
    significant = sum(c["p_holm"] < ALPHA for c in comparisons if c["kind"] == "models")
    models = sum(c["kind"] == "models" for c in comparisons)
    lines.append(
        f"{significant} of {models} model comparisons are significant after Holm's correction "
        f"over all {len(comparisons)} paired tests; differences that are not are not ranked."
    )
    lines += [_seed_sentence(s) for s in statistics.get("seed_comparisons", [])]
    return lines


def aggregate_rows(statistics: dict) -> list[dict]:
    """Rows for the seeds table: name, seeds, mean, std, min, max, low, high."""
    return [
        {"name": f"{a['model']} · {a['engine']}", "count": len(a["seeds"])} | a
        for a in statistics.get("aggregates", [])
    ]


def mcnemar_rows(statistics: dict) -> list[dict]:
    """Rows for the McNemar table, with p-values as text."""
    return [
        c | {"p_text": p_text(c["p_value"]), "p_holm_text": p_text(c["p_holm"])}
        for c in statistics.get("comparisons", [])
    ]


def seed_rows(statistics: dict) -> list[dict]:
    """Rows for the across-seed table: A, B, seeds, mean difference, interval, verdict."""
    return [
        s
        | {
            "count": len(s["seeds"]),
            "mean_text": signed_points(s["mean"]),
            "interval_text": f"{signed_points(s['low'])} to {signed_points(s['high'])}",
            "verdict": seed_verdict(s),
        }
        for s in statistics.get("seed_comparisons", [])
    ]
