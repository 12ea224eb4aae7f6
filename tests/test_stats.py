"""analysis.stats against hand-computed numbers, SciPy computed directly, and slow references."""

import json

import numpy as np
import pytest
from scipy import stats as sps

from cnnlab.analysis.stats import (
    ALPHA,
    bootstrap_accuracy_interval,
    compare_pairs,
    equivalence_tost,
    holm,
    mcnemar_exact,
    paired_seed_comparison,
    t_interval,
    twin_verdict,
)


def outcome_pair(n01: int, n10: int, both_right: int = 0, both_wrong: int = 0):
    """Per-image outcomes of two runs with exactly these agreement counts, shuffled."""
    a = np.repeat([True, False, True, False], [n01, n10, both_right, both_wrong])
    b = np.repeat([False, True, True, False], [n01, n10, both_right, both_wrong])
    order = np.random.default_rng(0).permutation(a.size)
    return a[order], b[order]


# McNemar


def test_mcnemar_matches_the_hand_computed_binomial_tail():
    a, b = outcome_pair(n01=10, n10=2, both_right=500, both_wrong=7)
    result = mcnemar_exact(a, b)
    # 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assert result == {"n01": 10, "n10": 2, "p_value": pytest.approx(158 / 4096, rel=1e-12)}


def test_mcnemar_one_sided_run_of_five_disagreements():
    a, b = outcome_pair(n01=5, n10=0, both_right=20)
    assert mcnemar_exact(a, b)["p_value"] == pytest.approx(2 / 32, rel=1e-12)


def test_mcnemar_is_symmetric_when_the_runs_swap():
    a, b = outcome_pair(n01=7, n10=19, both_right=100)
    forward, backward = mcnemar_exact(a, b), mcnemar_exact(b, a)
    assert (backward["n01"], backward["n10"]) == (forward["n10"], forward["n01"])
    assert backward["p_value"] == forward["p_value"]


def test_mcnemar_without_disagreements_gives_p_one():
    a, b = outcome_pair(n01=0, n10=0, both_right=90, both_wrong=10)
    assert mcnemar_exact(a, b) == {"n01": 0, "n10": 0, "p_value": 1.0}


def test_mcnemar_accepts_zero_one_integers():
    a, b = outcome_pair(n01=10, n10=2, both_right=3)
    assert mcnemar_exact(a.astype(int), b.astype(np.uint8)) == mcnemar_exact(a, b)


# Holm


def test_holm_matches_a_hand_example_in_input_order():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02], rel=1e-12)


def test_holm_caps_at_one_and_leaves_a_single_p_alone():
    assert holm([0.5, 0.6, 0.01]) == pytest.approx([1.0, 1.0, 0.03])
    assert holm([0.2]) == [0.2]


@pytest.mark.parametrize("seed", range(5))
def test_holm_is_monotone_and_never_below_the_raw_p(seed):
    p = np.random.default_rng(seed).random(12) ** 3
    adjusted = np.array(holm(p.tolist()))
    order = np.argsort(p)
    assert (np.diff(adjusted[order]) >= 0).all()
    assert (adjusted >= p).all()
    assert (adjusted <= 1).all()


# bootstrap


def test_bootstrap_interval_contains_the_accuracy():
    correct = np.random.default_rng(1).random(10_000) < 0.99
    result = bootstrap_accuracy_interval(correct)
    assert result["accuracy"] == correct.mean()
    assert result["low"] < result["accuracy"] < result["high"]
    assert result["resamples"] == 2000
    assert result["level"] == 0.95
    assert result["method"] == "percentile bootstrap"


def test_bootstrap_interval_narrows_with_more_images():
    pattern = np.arange(100) < 90  # 90% accuracy, repeated
    widths = []
    for repeats in (10, 100):
        result = bootstrap_accuracy_interval(np.tile(pattern, repeats))
        assert result["accuracy"] == pytest.approx(0.9)
        widths.append(result["high"] - result["low"])
    assert widths[1] < 0.5 * widths[0]  # sqrt(10) narrower in theory


def test_bootstrap_is_deterministic_for_a_seed():
    correct = np.random.default_rng(2).random(3000) < 0.97
    first, again = (bootstrap_accuracy_interval(correct, resamples=100, seed=5) for _ in "12")
    assert first == again
    # 100 resamples put the 2.5% point between two sorted values, so any new draw shows
    other = bootstrap_accuracy_interval(correct, resamples=100, seed=6)
    assert (other["low"], other["high"]) != (first["low"], first["high"])


def test_bootstrap_matches_a_slow_loop_over_resamples():
    correct = np.random.default_rng(3).random(57) < 0.8
    rng = np.random.default_rng(11)
    accuracies = [correct[rng.integers(0, 57, size=57)].mean() for _ in range(500)]
    low, high = np.quantile(accuracies, [0.05, 0.95])
    result = bootstrap_accuracy_interval(correct, resamples=500, level=0.9, seed=11)
    assert result["low"] == pytest.approx(low, abs=1e-12)
    assert result["high"] == pytest.approx(high, abs=1e-12)


def test_bootstrap_agrees_with_the_binomial_it_approximates():
    # resampling N Bernoulli outcomes draws Binomial(N, accuracy) / N
    correct = np.random.default_rng(4).random(10_000) < 0.99
    n, accuracy = correct.size, correct.mean()
    result = bootstrap_accuracy_interval(correct)
    assert result["low"] == pytest.approx(sps.binom.ppf(0.025, n, accuracy) / n, abs=3 / n)
    assert result["high"] == pytest.approx(sps.binom.ppf(0.975, n, accuracy) / n, abs=3 / n)


# TOST


def test_identical_outcomes_are_equivalent_without_nan():
    correct = np.random.default_rng(5).random(10_000) < 0.99
    result = equivalence_tost(correct, correct.copy())
    assert result["equivalent"] is True
    assert result["difference"] == result["low"] == result["high"] == 0.0
    assert result["p_value"] == 0.0
    json.dumps(result, allow_nan=False)


def test_runs_three_points_apart_on_ten_thousand_images_are_different():
    a, b = outcome_pair(n01=320, n10=20, both_right=9580, both_wrong=80)
    result = equivalence_tost(a, b)
    assert result["difference"] == pytest.approx(0.03)
    assert result["equivalent"] is False
    p_holm = mcnemar_exact(a, b)["p_value"]
    assert twin_verdict(result, p_holm) == "different"


def test_few_images_are_not_shown_equivalent():
    a, b = outcome_pair(n01=2, n10=1, both_right=35, both_wrong=2)
    result = equivalence_tost(a, b)
    assert result["equivalent"] is False
    assert twin_verdict(result, mcnemar_exact(a, b)["p_value"]) == "inconclusive"


def test_a_few_balanced_disagreements_in_ten_thousand_are_equivalent():
    a, b = outcome_pair(n01=5, n10=5, both_right=9890, both_wrong=100)
    result = equivalence_tost(a, b)
    assert result["equivalent"] is True
    assert -0.002 < result["low"] < 0 < result["high"] < 0.002


def test_tost_interval_and_p_value_match_a_direct_computation():
    a, b = outcome_pair(n01=30, n10=12, both_right=9900, both_wrong=58)
    d = a.astype(float) - b.astype(float)
    se = d.std(ddof=1) / np.sqrt(d.size)
    df = d.size - 1
    result = equivalence_tost(a, b, margin=0.005)
    assert result["difference"] == pytest.approx(18 / 10_000)
    half = sps.t.ppf(0.95, df) * se
    assert result["low"] == pytest.approx(18 / 10_000 - half, rel=1e-12)
    assert result["high"] == pytest.approx(18 / 10_000 + half, rel=1e-12)
    p_upper = sps.t.cdf((0.0018 - 0.005) / se, df)  # the binding one-sided test here
    assert result["p_value"] == pytest.approx(p_upper, rel=1e-9)
    assert (result["p_value"] < 0.05) == (result["low"] > -0.005 and result["high"] < 0.005)


def test_a_constant_nonzero_difference_is_different():
    a, b = outcome_pair(n01=50, n10=0)  # A right and B wrong on every image
    result = equivalence_tost(a, b)
    assert result["difference"] == result["low"] == result["high"] == 1.0
    assert result["p_value"] == 1.0
    assert result["equivalent"] is False


# t intervals over seeds


def test_t_interval_matches_scipy_directly():
    values = np.array([0.9912, 0.9925, 0.9906, 0.9931, 0.9918])
    low, high = sps.t.interval(0.95, df=4, loc=values.mean(), scale=sps.sem(values))
    result = t_interval(values)
    assert result["n"] == 5
    assert result["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert result["std"] == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert (result["min"], result["max"]) == (0.9906, 0.9931)
    assert result["low"] == pytest.approx(low, rel=1e-12)
    assert result["high"] == pytest.approx(high, rel=1e-12)


def test_t_interval_of_one_value_has_no_spread():
    result = t_interval([0.99])
    assert result == {"n": 1, "mean": 0.99, "min": 0.99, "max": 0.99} | dict.fromkeys(
        ["std", "low", "high"]
    )
    assert '"low": null' in json.dumps(result)


def test_paired_seed_comparison_pairs_by_seed_not_by_order():
    a = {1: 0.991, 2: 0.993, 3: 0.990}
    b = {3: 0.989, 1: 0.988, 2: 0.992}
    result = paired_seed_comparison(a, b)
    assert result["seeds"] == [1, 2, 3]
    assert result["differences"] == pytest.approx([0.003, 0.001, 0.001])
    interval = t_interval(result["differences"])
    assert [result[key] for key in ("mean", "low", "high")] == [
        interval[key] for key in ("mean", "low", "high")
    ]


# comparing several runs


def test_compare_pairs_corrects_over_the_family():
    right, wrong = outcome_pair(n01=40, n10=10, both_right=9900, both_wrong=50)
    outcomes = {"cnn3-scratch": right, "cnn3-torch": wrong, "cnn2-scratch": right.copy()}
    pairs = [("cnn3-torch", "cnn3-scratch"), ("cnn3-scratch", "cnn2-scratch")]
    rows = compare_pairs(outcomes, pairs)
    assert [(row["a"], row["b"]) for row in rows] == pairs
    assert [row["p_holm"] for row in rows] == holm([row["p_value"] for row in rows])
    assert all(row["p_holm"] >= row["p_value"] for row in rows)
    assert rows[0]["verdict"] == "cnn3-scratch better"  # B better: n10 > n01
    assert rows[1]["verdict"] == "no significant difference"
    assert rows[1]["twin_verdict"] == "equivalent"
    json.dumps(rows, allow_nan=False)


def test_compare_pairs_can_lose_significance_to_the_correction():
    a, b = outcome_pair(n01=10, n10=2, both_right=100)  # p = 0.0386 alone
    rows = compare_pairs({"x": a, "y": b, "z": a.copy()}, [("x", "y"), ("z", "y")])
    assert rows[0]["p_value"] < 0.05 <= rows[0]["p_holm"]
    assert rows[0]["verdict"] == "no significant difference"


def test_twins_are_different_only_when_holm_says_so():
    """The default run's mlp3 twins: n01=10, n10=22, p = 0.05 alone, 0.25 after Holm. Not
    shown equivalent, and not Holm-significant: inconclusive, never "different"."""
    a, b = outcome_pair(n01=10, n10=22, both_right=9780, both_wrong=188)
    others = outcome_pair(n01=60, n10=5, both_right=9800, both_wrong=135)
    outcomes = {"mlp3-scratch": a, "mlp3-torch": b, "x": others[0], "y": others[1]}
    pairs = [("mlp3-scratch", "mlp3-torch"), ("x", "y"), ("x", "mlp3-torch"), ("y", "a")]
    outcomes["a"] = others[0].copy()
    rows = compare_pairs(outcomes, pairs)
    twins = rows[0]
    assert twins["p_value"] == pytest.approx(0.050, abs=0.001)
    assert twins["p_holm"] >= ALPHA
    assert twins["twin_verdict"] == "inconclusive"
    # the same twins alone in the family: McNemar's p is then the Holm p, still not below ALPHA
    alone = compare_pairs(outcomes, pairs[:1])[0]
    assert alone["twin_verdict"] == "inconclusive"
    # every twin verdict agrees with the table's numbers
    for row in rows:
        if row["twin_verdict"] == "different":
            assert row["p_holm"] < ALPHA
        if row["twin_verdict"] == "equivalent":
            assert row["tost_p"] < ALPHA


def test_a_holm_significant_twin_pair_is_different():
    a, b = outcome_pair(n01=10, n10=60, both_right=9800, both_wrong=130)
    row = compare_pairs({"s": a, "t": b}, [("s", "t")])[0]
    assert row["p_holm"] < ALPHA
    assert row["tost_p"] >= ALPHA
    assert row["twin_verdict"] == "different"


def test_one_alpha_and_one_margin_are_written_once_in_the_sources():
    """No source but stats.py writes the significance level, its 95% or the twins' margin: not
    as a Python number, not in a string ("0.2 points", "p < 0.05"), not in a template."""
    import io
    import re
    import tokenize
    from pathlib import Path

    import cnnlab

    root = Path(cnnlab.__file__).parent
    numbers = {"0.05", "0.95", "0.002", "0.025", "0.975"}
    # the same numbers meaning something else: a poll interval, figure inches and margins
    not_statistics = ("time.sleep(", "CELL_WIDTH", "bottom=")
    in_text = re.compile(r"0\.05\b|\b95%|0\.2 point|±0\.2\b|0\.002")

    def statistical(token) -> bool:
        if any(other in token.line for other in not_statistics):
            return False
        if token.type == tokenize.NUMBER:
            return token.string in numbers
        # a string the user reads; docstrings (triple quotes) describe, they do not decide
        quoted = token.type == tokenize.STRING and not token.string.endswith('"""')
        return quoted and bool(in_text.search(token.string))

    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "stats.py":
            continue
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        offenders += [
            f"{path.relative_to(root)}:{t.start[0]} {t.string}" for t in tokens if statistical(t)
        ]
    for path in sorted(root.rglob("*.j2")):
        offenders += [f"{path.name} {m[0]}" for m in in_text.finditer(path.read_text())]
    assert offenders == []


def test_compare_pairs_names_a_missing_run():
    a, b = outcome_pair(n01=1, n10=1)
    with pytest.raises(ValueError, match="cnn9"):
        compare_pairs({"x": a, "y": b}, [("x", "cnn9")])


# bad input

SHORT, LONG = np.ones(5, bool), np.ones(6, bool)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: bootstrap_accuracy_interval(np.array([], bool)), id="bootstrap-empty"),
        pytest.param(lambda: bootstrap_accuracy_interval(SHORT, level=1.0), id="bootstrap-level"),
        pytest.param(
            lambda: bootstrap_accuracy_interval(np.array([0, 2, 1])), id="bootstrap-not-binary"
        ),
        pytest.param(lambda: mcnemar_exact(SHORT, LONG), id="mcnemar-lengths"),
        pytest.param(
            lambda: mcnemar_exact(np.array([], bool), np.array([], bool)), id="mcnemar-empty"
        ),
        pytest.param(lambda: holm([]), id="holm-empty"),
        pytest.param(lambda: holm([0.2, 1.5]), id="holm-out-of-range"),
        pytest.param(lambda: equivalence_tost(SHORT, LONG), id="tost-lengths"),
        pytest.param(lambda: equivalence_tost(SHORT, SHORT, margin=0), id="tost-margin"),
        pytest.param(lambda: t_interval([]), id="t-empty"),
        pytest.param(lambda: paired_seed_comparison({}, {}), id="seeds-empty"),
        pytest.param(
            lambda: paired_seed_comparison({1: 0.9, 2: 0.9}, {1: 0.9}), id="seeds-mismatched"
        ),
        pytest.param(
            lambda: compare_pairs({"x": SHORT, "y": LONG}, [("x", "y")]), id="pairs-lengths"
        ),
        pytest.param(lambda: compare_pairs({"x": SHORT}, []), id="pairs-empty"),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        call()
