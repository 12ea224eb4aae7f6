"""The report's statistics section: verdicts that follow their p-values, the across-seed
comparison beside McNemar, spreads in points, and seeds of one model never ranked."""

from __future__ import annotations

import html
import json
import re

import pytest

from cnnlab.report import build_report
from cnnlab.report.significance import MCNEMAR_QUESTION, SEEDS_QUESTION
from test_report import write_run

SEEDS = (0, 1, 2)
ACCURACY = {  # (model, seed) -> test accuracy; cnn2's seeds 0.9871, 0.9884, 0.9877
    ("cnn2", 0): 0.9871,
    ("cnn2", 1): 0.9884,
    ("cnn2", 2): 0.9877,
    ("mlp3", 0): 0.9762,
    ("mlp3", 1): 0.9780,
    ("mlp3", 2): 0.9771,
}


def _seeded_runs(root):
    """cnn2 and mlp3 in the NumPy engine, three seeds each, as `cnnlab run --seeds 3` would."""
    runs = []
    for seed in SEEDS:
        for model in ("cnn2", "mlp3"):
            run = write_run(root / f"seed{seed}", model, "scratch")
            config = json.loads((run / "config.json").read_text()) | {"seed": seed}
            (run / "config.json").write_text(json.dumps(config))
            evaluation = json.loads((run / "evaluation.json").read_text())
            evaluation["accuracy"] = ACCURACY[(model, seed)]
            (run / "evaluation.json").write_text(json.dumps(evaluation))
            runs.append(run)
    return runs


def _statistics() -> dict:
    aggregates = [
        {"model": m, "engine": "scratch", "seeds": list(SEEDS)}
        | {"accuracies": [ACCURACY[(m, s)] for s in SEEDS], "mean": mean, "std": std}
        | {"min": low - 0.001, "max": high + 0.001, "low": low, "high": high}
        for m, mean, std, low, high in (
            ("cnn2", 0.9877333, 0.00065, 0.9861, 0.9894),
            ("mlp3", 0.9771, 0.0009, 0.9749, 0.9793),
        )
    ]
    comparisons = [
        {"a": f"cnn2-scratch-{s}", "b": f"mlp3-scratch-{s}", "kind": "models", "seed": s}
        | {"n01": 150, "n10": 40, "p_value": 1e-16, "p_holm": 3e-16, "verdict": "cnn2 better"}
        | {"a_model": "cnn2", "b_model": "mlp3", "a_engine": "scratch", "b_engine": "scratch"}
        for s in SEEDS
    ]
    seed_comparisons = [
        {"a": "cnn2 · scratch", "b": "mlp3 · scratch", "kind": "models", "seeds": list(SEEDS)}
        | {"differences": [0.0109, 0.0104, 0.0106], "mean": 0.0106333}
        | {"low": 0.0100, "high": 0.0113}
    ]
    return {
        "aggregates": aggregates,
        "comparisons": comparisons,
        "seed_comparisons": seed_comparisons,
        "alpha": 0.05,
        "twin_margin": 0.002,
    }


@pytest.fixture(scope="module")
def seeds_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    runs = _seeded_runs(root)
    html, md = build_report(runs, root / "report.html", statistics=_statistics())
    return {"html": html.read_text(encoding="utf-8"), "md": md.read_text(encoding="utf-8")}


def _findings(md: str) -> list[str]:
    section = md.split("## Findings")[1].split("## ")[0]
    return [line[2:] for line in section.splitlines() if line.startswith("- ")]


def test_the_across_seed_comparison_stands_beside_mcnemar_with_what_each_answers(seeds_report):
    for text in (seeds_report["md"], html.unescape(seeds_report["html"])):
        assert MCNEMAR_QUESTION in text
        assert SEEDS_QUESTION in text
    assert (
        "| cnn2 · scratch | mlp3 · scratch | 3 | +1.06 pt | +1.00 pt to +1.13 pt |"
        in (seeds_report["md"])
    )
    assert '<table id="seed-comparisons">' in seeds_report["html"]


def test_a_spread_of_accuracies_is_written_in_points(seeds_report):
    row = next(
        line
        for line in seeds_report["md"].splitlines()
        if line.startswith("| cnn2 · scratch | 3 |")
    )
    assert "0.07 pt" in row  # std 0.00065
    assert not re.search(r"\b0\.0[67]%", row)


def test_findings_rank_recipes_never_seeds_of_one_model(seeds_report):
    findings = _findings(seeds_report["md"])
    assert findings[0].startswith("Most accurate: cnn2 · scratch over 3 seeds, 98.77% test")
    assert "mlp3 · scratch over 3 seeds (97.71%)" in findings[0]
    assert any(
        line.startswith("As a recipe, cnn2 · scratch beats mlp3 · scratch") for line in findings
    )
    for line in findings:
        for model in ("cnn2", "mlp3"):
            # one sentence never names two seeds of the same model
            assert len(set(re.findall(rf"{model} · scratch · seed (\d)", line))) <= 1, line


def test_markdown_report_escapes_html_from_the_title_and_names(tmp_path):
    """Case 16 of issue 22: report.md passed --title and directory names as raw HTML. Two runs
    of one model, engine and seed are named by their directories."""
    runs = [write_run(tmp_path / folder, "cnn2", "torch") for folder in ("<b>a</b>", "<i>b</i>")]
    config = json.loads((runs[0] / "config.json").read_text())
    config["command"] = "```\n<script>x</script>"
    (runs[0] / "config.json").write_text(json.dumps(config))
    title = "<script>alert('title')</script> & co | more"
    _, md = build_report(runs, tmp_path / "report.html", title=title)
    text = md.read_text(encoding="utf-8")
    assert "# &lt;script&gt;alert('title')&lt;/script&gt; &amp; co \\| more" in text
    assert "### cnn2 · torch (" in text
    assert "&lt;b&gt;a&lt;/b&gt;/cnn2-torch)" in text
    outside_code = re.sub(r"(`{3,})json\n.*?\n\1", "", text, flags=re.S)  # the config blocks
    outside_code = re.sub(r"(`+).*?\1", "", outside_code)  # code spans, where HTML is inert
    for tag in ("<script", "<b>", "<i>"):
        assert tag not in outside_code
    assert "````json" in text  # the config holds ``` so its fence is longer
