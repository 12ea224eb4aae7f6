"""The report's sentences and chart from summary.json's statistics (no training needed)."""

import numpy as np

from cnnlab.report.findings import summarize
from cnnlab.report.significance import p_text, significance_findings
from cnnlab.viz.seeds import render_seed_accuracies


def _comparison(a, b, kind, n01, n10, p_holm, verdict, engines=("scratch", "scratch")):
    models = (a.split("-")[0], b.split("-")[0])
    return {
        "a": a,
        "b": b,
        "kind": kind,
        "seed": 0,
        "n01": n01,
        "n10": n10,
        "p_value": p_holm / 2,
        "p_holm": p_holm,
        "verdict": verdict,
        "margin": 0.002,
        "a_model": models[0],
        "b_model": models[1],
        "a_engine": engines[0],
        "b_engine": engines[1],
    }


STATISTICS = {
    "aggregates": [
        {"model": "cnn3", "engine": "scratch", "seeds": [0], "accuracies": [0.99]}
        | {"mean": 0.99, "std": None, "min": 0.99, "max": 0.99, "low": None, "high": None},
    ],
    "comparisons": [
        _comparison("cnn3-scratch", "mlp3-scratch", "models", 96, 18, 1e-17, "cnn3 better"),
        _comparison("cnn2-scratch", "cnn3-scratch", "models", 30, 41, 0.4, "no difference"),
        _comparison(
            "cnn2-scratch", "cnn2-torch", "engines", 3, 4, 1.0, "equivalent", ("scratch", "torch")
        ),
    ],
}


def test_a_significant_pair_is_stated_with_its_disagreements_and_holm_p():
    lines = significance_findings(STATISTICS)
    assert (
        "cnn3 beats mlp3 on the same images (NumPy): 96 vs 18 disagreements, "
        "p < 1e-15 after Holm." in lines
    )


def test_a_pair_within_the_noise_is_not_ranked():
    lines = significance_findings(STATISTICS)
    assert any("cnn2 and cnn3 (NumPy) are not told apart" in line for line in lines)
    assert not any("cnn3 beats cnn2" in line or "cnn2 beats cnn3" in line for line in lines)


def test_twins_get_the_equivalence_verdict():
    lines = significance_findings(STATISTICS)
    assert "NumPy and PyTorch cnn2 are equivalent within ±0.2 points." in lines


def test_the_accuracy_finding_follows_mcnemar_not_the_gap():
    rows = [
        {"model": "cnn3", "engine": "scratch", "test_accuracy": 0.9930, "run_dir": "x/cnn3-scratch"}
        | {"seconds_per_epoch": None},
        {"model": "cnn2", "engine": "scratch", "test_accuracy": 0.9919, "run_dir": "x/cnn2-scratch"}
        | {"seconds_per_epoch": None},
    ]
    lines = summarize(rows, {}, 10_000, STATISTICS)
    assert "not told apart: the 0.11-point gap is within the noise" in lines[0]
    assert "points ahead" not in " ".join(lines)


def test_p_values_read_plainly():
    assert [p_text(p) for p in (1e-20, 3.2e-5, 0.031, 1.0)] == [
        "p < 1e-15",
        "p = 3.2e-05",
        "p = 0.031",
        "p = 1",
    ]


def test_the_seed_chart_is_an_rgb_picture():
    aggregates = [
        {"model": m, "engine": "scratch", "accuracies": [0.98, 0.985, 0.99]}
        | {"mean": 0.985, "low": 0.97, "high": 1.0}
        for m in ("cnn2", "mlp3")
    ]
    rgb = render_seed_accuracies(aggregates)
    assert rgb.dtype == np.uint8
    assert rgb.ndim == 3
    assert rgb.shape[2] == 3
