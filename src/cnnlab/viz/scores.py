"""Probabilities written short enough for a label under a digit, yet telling top images apart.

A well-trained network gives its top images scores such as 0.99999999999944: fifteen
characters, and the three images of a row differ only in the last two. Written as the distance
from 1 ("1 − 5.6e-13") the score takes eleven characters and the difference is up front.
"""

from __future__ import annotations

SCORE_NOTE = (
    "Scores are softmax probabilities of the row's class. 1 − 5.6e-13 is 1 minus 0.00000000000056: "
    "near-certain scores are written by their distance from 1, tiny ones in scientific notation "
    "(2.6e-08 is 0.000000026)."
)
NEAR_ONE = 0.01  # closer to 1 than this: written as 1 − d, two digits of d (0.99903 and
# 0.99897 would both read 0.9990 with four decimals; they read 1 − 9.7e-04 and 1 − 1.0e-03)
TINY = 1e-4  # below this (and above 0): scientific notation
MINUS = "\u2212"  # the minus sign, not a hyphen


def short_score(p: float) -> str:
    """0.8734 -> "0.8734"; 0.99903 -> "1 − 9.7e-04"; 0.99999999999944 -> "1 − 5.6e-13";
    2.6e-08 -> "2.6e-08"; 1.0 -> "1"."""
    p = float(p)
    if p >= 1.0:
        return "1"
    if 1.0 - p < NEAR_ONE:
        return f"1 {MINUS} {1.0 - p:.1e}"
    if 0.0 < p < TINY:
        return f"{p:.1e}"
    return f"{p:.4f}"
