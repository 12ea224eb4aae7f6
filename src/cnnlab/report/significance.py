"""The statistics of summary.json in words and tables: which differences are real.

Only a difference that survives Holm's correction is stated as one run beating another; the
twins (one model in two engines) are judged by the equivalence test at ±margin.
"""

from __future__ import annotations

from cnnlab.training.engines import ENGINES


def p_text(p: float) -> str:
    """p < 1e-15, p = 3.2e-05, p = 0.031, p = 1."""
    if p < 1e-15:
        return "p < 1e-15"
    if p < 1e-3:
        return f"p = {p:.1e}"
    return f"p = {p:.2g}"


def _engine_label(engine: str) -> str:
    return ENGINES[engine].label if engine in ENGINES else engine


def _model_sentence(c: dict, several_seeds: bool) -> str:
    where = f"{_engine_label(c['a_engine'])}" + (f", seed {c['seed']}" if several_seeds else "")
    if c["p_holm"] >= 0.05:
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
    verdict = c["verdict"]
    if verdict == "equivalent":
        return f"{engines} {c['a_model']} are equivalent within {points}{seed}."
    if verdict == "different":
        return (
            f"{engines} {c['a_model']} differ{seed}: {c['n01']} vs {c['n10']} disagreements, "
            f"{p_text(c['p_holm'])} after Holm."
        )
    return (
        f"{engines} {c['a_model']}: inconclusive{seed}, neither shown equal within {points} "
        "nor shown different."
    )


def significance_findings(statistics: dict) -> list[str]:
    """One sentence per compared pair of the first seed, and the seed-level spread."""
    comparisons = statistics.get("comparisons", [])
    if not comparisons:
        return []
    seeds = list(dict.fromkeys(c["seed"] for c in comparisons))
    several = len({s for a in statistics.get("aggregates", []) for s in a["seeds"]}) > 1
    first = [c for c in comparisons if c["seed"] == seeds[0]]
    lines = [_model_sentence(c, several) for c in first if c["kind"] == "models"]
    lines += [_twin_sentence(c, several) for c in first if c["kind"] == "engines"]
    significant = sum(c["p_holm"] < 0.05 for c in comparisons if c["kind"] == "models")
    models = sum(c["kind"] == "models" for c in comparisons)
    lines.append(
        f"{significant} of {models} model comparisons are significant after Holm's correction "
        f"over all {len(comparisons)} paired tests; differences that are not are not ranked."
    )
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
