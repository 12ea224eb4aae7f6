"""The report's "Which picture can you trust?" section, from each run's `sanity.json` (of its
current checkpoint only) and the three pictures `cnnlab run` draws into the output folder.

The table has one row per attribution method and one column per network: whether the map
passes the randomisation check (rank correlation with the trained map, after every layer is
randomised, below the threshold), that rank correlation, and the deletion (lower is better)
and insertion (higher is better) areas with their 95 % bootstrap intervals; the last row is a
random pixel order, the baseline every map must beat.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.analysis.stats import ALPHA
from cnnlab.report import cam_captions

# The pictures, in the report's order, and what each one is.
FIGURES = (
    ("trust_cascade.png", "Cascading randomisation"),
    ("trust_test0.png", "Every method of every network on one image"),
    ("trust_disagreement.png", "The same on the test image the networks disagree on most"),
)


def _interval(area: dict) -> str:
    return f"{area['mean']:.2f} [{area['low']:.2f}, {area['high']:.2f}]"


def _cell(figures: dict | None) -> dict | None:
    if figures is None:
        return None
    return {
        "passes": figures["passes"],
        "rho": f"{figures['spearman_randomised']:.2f}",
        "deletion": _interval(figures["deletion_auc"]),
        "insertion": _interval(figures["insertion_auc"]),
    }


def section(runs, names: list[str], out_dir: Path, picture) -> dict | None:
    """The section's context, or None when no run has current sanity figures.

    runs: the report's runs (`.path`); names: their display names; picture(path, caption):
    the report's embedded picture of a file."""
    from cnnlab.explain.trust_runs import current_sanity

    found = [(name, current_sanity(run.path)) for run, name in zip(runs, names, strict=True)]
    found = [(name, record) for name, record in found if record is not None]
    if not found:
        return None
    methods = list(dict.fromkeys(m for _, record in found for m in record["methods"]))
    rows = [
        {"method": m, "cells": [_cell(record["methods"].get(m)) for _, record in found]}
        for m in methods
    ]
    random_order = [
        {key: _interval(area) for key, area in record["random_order"].items()}
        for _, record in found
    ]
    counts = sorted({record["images"] for _, record in found})
    return {
        "networks": [name for name, _ in found],
        "rows": rows,
        "random_order": random_order,
        "images": " or ".join(str(n) for n in counts),
        "pass_below": f"{found[0][1]['pass_below']:g}",
        "level": f"{100 * (1 - ALPHA):g}%",  # of the bootstrap intervals (explain.faithfulness)
        "pictures": [
            picture(out_dir / file, cam_captions.caption(out_dir / file, what))
            for file, what in FIGURES
            if (out_dir / file).is_file()
        ],
    }
