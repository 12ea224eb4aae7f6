"""The statistics of a comparison you can trust: intervals, paired tests, family correction.

Two kinds of evidence, both paired because every run sees the same 10,000 test images:

- per image, one run: a bool array `correct` of shape (N,), True where the run's prediction
  was right. Two runs are compared image by image (McNemar, TOST), never by accuracies alone.
- per seed: one accuracy per training seed, compared seed by seed (a t interval).

SciPy supplies the distributions (binomial, Student's t); the bookkeeping is ours. Every
function is pure, takes NumPy arrays and returns plain floats, ints, None, str, lists and dicts,
so its result goes straight into a JSON file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats as sps

ALPHA = 0.05  # the one significance level: every test, interval and verdict of cnnlab uses it
TWIN_MARGIN = 0.002  # ±0.2 accuracy points: how close NumPy and PyTorch twins must be
BOOTSTRAP_BLOCK = 1 << 22  # resampled indices held at once: 32 MB of int64


def _outcomes(correct) -> np.ndarray:
    """`correct` as a non-empty 1-D bool array; 0/1 integers are accepted."""
    array = np.asarray(correct)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"expected a non-empty 1-D array of per-image outcomes, got {array.shape}")
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError("per-image outcomes must be True/False (or 1/0)")
    return array.astype(bool)


def _paired_outcomes(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    """Both runs' outcomes, checked to cover the same images."""
    a, b = _outcomes(correct_a), _outcomes(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes differ in length: {a.size} and {b.size} images")
    return a, b


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, got {level}")


def bootstrap_accuracy_interval(
    correct, resamples: int = 2000, level: float = 1 - ALPHA, seed: int = 0
) -> dict:
    """Accuracy with a percentile-bootstrap interval: images resampled with replacement.

    Deterministic for a given (correct, resamples, seed): the indices come from one seeded
    generator, drawn in blocks of whole resamples, so the draws are the same as one resample
    at a time.
    """
    hits = _outcomes(correct).astype(np.int64)
    _check_level(level)
    if resamples < 1:
        raise ValueError(f"need at least one bootstrap resample, got {resamples}")
    n = hits.size
    rng = np.random.default_rng(seed)
    # int64 indices: the generator then draws exactly as in a loop of size-n calls
    rows_per_block = max(1, BOOTSTRAP_BLOCK // n)
    accuracies = np.empty(resamples)
    for start in range(0, resamples, rows_per_block):
        rows = min(rows_per_block, resamples - start)
        indices = rng.integers(0, n, size=(rows, n), dtype=np.int64)  # (rows, n)
        accuracies[start : start + rows] = hits[indices].sum(axis=1) / n
    tail = (1 - level) / 2
    low, high = np.quantile(accuracies, [tail, 1 - tail])
    return {
        "accuracy": float(hits.mean()),
        "low": float(low),
        "high": float(high),
        "resamples": int(resamples),
        "level": float(level),
        "method": "percentile bootstrap",
    }


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact McNemar test: two-sided binomial test on the images where the runs disagree.

    n01 counts images A got right and B wrong, n10 the reverse; under "equally good" each
    disagreement is a fair coin. No disagreements at all gives p = 1.
    """
    a, b = _paired_outcomes(correct_a, correct_b)
    n01 = int(np.count_nonzero(a & ~b))
    n10 = int(np.count_nonzero(~a & b))
    disagreements = n01 + n10
    p_value = sps.binomtest(n01, disagreements, 0.5).pvalue if disagreements else 1.0
    return {"n01": n01, "n10": n10, "p_value": float(p_value)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given.

    The k-th smallest p (k from 0) is multiplied by (m - k); a running maximum keeps the
    adjusted values in the same order as the raw ones, and they are capped at 1.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("Holm's correction needs a non-empty list of p-values")
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


def equivalence_tost(
    correct_a, correct_b, margin: float = TWIN_MARGIN, alpha: float = ALPHA
) -> dict:
    """Are two runs equally accurate within ±margin? Two one-sided tests (TOST), paired.

    d_i = correct_a_i - correct_b_i per image; the difference of accuracies is mean(d), its
    standard error std(d, ddof=1) / sqrt(N), and both tests use Student's t with N - 1 degrees
    of freedom (for N = 10,000 the same as the normal). `low`/`high` are the (1 - 2 alpha)
    interval (90% by default), the one TOST checks against ±margin; `equivalent` is True when
    both one-sided tests reject at alpha (that interval lies inside ±margin). Failing to show
    equivalence shows no difference: that is McNemar's question (`twin_verdict`).
    Identical outcomes on every image (zero variance) are equivalent, with no NaN.
    """
    a, b = _paired_outcomes(correct_a, correct_b)
    if a.size < 2:
        raise ValueError("an equivalence test needs at least two images")
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie strictly between 0 and 0.5, got {alpha}")
    d = a.astype(float) - b.astype(float)  # (N,) in {-1, 0, 1}
    difference = float(d.mean())
    standard_error = float(d.std(ddof=1) / np.sqrt(d.size))
    df = d.size - 1
    if standard_error == 0:
        # every image gives the same d: the difference is known exactly, no t needed
        inside = abs(difference) < margin
        low = high = difference
        p_value = 0.0 if inside else 1.0
    else:
        p_above_lower = sps.t.sf((difference + margin) / standard_error, df)  # H0: diff <= -m
        p_below_upper = sps.t.cdf((difference - margin) / standard_error, df)  # H0: diff >= m
        p_value = float(max(p_above_lower, p_below_upper))
        one_sided = sps.t.ppf(1 - alpha, df) * standard_error
        low, high = difference - one_sided, difference + one_sided
    return {
        "difference": difference,
        "low": float(low),
        "high": float(high),
        "level": 1 - 2 * alpha,
        "margin": float(margin),
        "p_value": float(p_value),
        "equivalent": bool(p_value < alpha),
    }


def t_interval(values, level: float = 1 - ALPHA) -> dict:
    """Mean of a few numbers (one per seed) with a Student-t interval; std has ddof=1.

    With a single value there is no spread to estimate: std, low and high are None.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D list of values, got shape {x.shape}")
    _check_level(level)
    n = x.size
    mean = float(x.mean())
    summary = {"n": n, "mean": mean, "std": None, "min": float(x.min()), "max": float(x.max())}
    if n == 1:
        return summary | {"low": None, "high": None}
    std = float(x.std(ddof=1))
    half_width = float(sps.t.ppf((1 + level) / 2, n - 1) * std / np.sqrt(n))
    return summary | {"std": std, "low": mean - half_width, "high": mean + half_width}


def paired_seed_comparison(
    acc_a_by_seed: Mapping[int, float], acc_b_by_seed: Mapping[int, float]
) -> dict:
    """Accuracy of A minus B, seed by seed, with a t interval of the mean difference.

    Both mappings go from training seed to test accuracy and must hold the same seeds, so a
    seed-1 run is never paired with a seed-2 run.
    """
    seeds = sorted(acc_a_by_seed)
    if not seeds:
        raise ValueError("no seeds to compare")
    if set(seeds) != set(acc_b_by_seed):
        raise ValueError(
            f"the two runs were trained on different seeds: {seeds} and {sorted(acc_b_by_seed)}"
        )
    differences = [float(acc_a_by_seed[s]) - float(acc_b_by_seed[s]) for s in seeds]
    interval = t_interval(differences)
    return {
        "seeds": seeds,
        "differences": differences,
        "mean": interval["mean"],
        "low": interval["low"],
        "high": interval["high"],
    }


def twin_verdict(equivalence: dict, p_holm: float) -> str:
    """The verdict on two runs meant to be twins (one model, two engines), in three words.

    "equivalent" when TOST shows them equal within ±margin (`equivalence_tost`), else
    "different" when McNemar's Holm-corrected p is below ALPHA, else "inconclusive": a pair
    is never called different only because it was not shown equivalent.
    """
    if equivalence["equivalent"]:
        return "equivalent"
    return "different" if p_holm < ALPHA else "inconclusive"


def _mcnemar_verdict(name_a: str, name_b: str, test: dict, p_holm: float) -> str:
    """Which run is better, in words, when the family-corrected McNemar test says so."""
    if p_holm >= ALPHA:
        return "no significant difference"
    return f"{name_a if test['n01'] > test['n10'] else name_b} better"


def compare_pairs(
    outcomes: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[str, str]],
    margin: float = TWIN_MARGIN,
) -> list[dict]:
    """McNemar on each pair of runs, Holm-corrected over all the pairs given.

    `outcomes` maps a run name to its per-image outcomes. Each entry also carries, for pairs
    that are meant to be twins, the TOST p-value at ±margin (`tost_p`) and the `twin_verdict`.
    """
    if not pairs:
        raise ValueError("no pairs of runs to compare")
    missing = sorted({name for pair in pairs for name in pair} - set(outcomes))
    if missing:
        raise ValueError(f"no per-image outcomes for run(s) {missing}; evaluate them first")
    tests = [mcnemar_exact(outcomes[a], outcomes[b]) for a, b in pairs]
    adjusted = holm([test["p_value"] for test in tests])
    rows = []
    for (a, b), test, p_holm in zip(pairs, tests, adjusted, strict=True):
        equivalence = equivalence_tost(outcomes[a], outcomes[b], margin)
        rows.append(
            {"a": a, "b": b, **test, "p_holm": p_holm}
            | {
                "verdict": _mcnemar_verdict(a, b, test, p_holm),
                "tost_p": equivalence["p_value"],
                "twin_verdict": twin_verdict(equivalence, p_holm),
            }
        )
    return rows
