"""Classification metrics from labels and predicted probabilities, in plain NumPy.

Everything here returns NumPy arrays or JSON-ready Python values; nothing plots.
Convention throughout: confusion matrix rows are the true class, columns the predicted class.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """Counts of (true, predicted) pairs as a (num_classes, num_classes) int64 matrix."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} holds values outside 0..{num_classes - 1}")
    # Each (true, pred) pair becomes one flat index into the matrix; bincount counts them all.
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0.0 wherever the denominator is 0 (never NaN)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def per_class_metrics(cm: np.ndarray) -> dict:
    """Precision, recall, F1 and support for every class, plus their unweighted (macro) means.

    A class that is never predicted has precision 0.0, one with no examples has recall 0.0.
    Returns {"precision": [..], "recall": [..], "f1": [..], "support": [..],
    "macro_precision": float, "macro_recall": float, "macro_f1": float}.
    """
    cm = np.asarray(cm, dtype=np.int64)
    true_positives = np.diag(cm)
    support = cm.sum(axis=1)  # examples of each true class
    predicted = cm.sum(axis=0)  # how often each class was predicted
    precision = _safe_divide(true_positives, predicted)
    recall = _safe_divide(true_positives, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
    }


def top_confusions(cm: np.ndarray, k: int = 5) -> list[dict]:
    """The k most frequent off-diagonal cells: [{"true": i, "predicted": j, "count": n}, ...].

    Most frequent first; ties keep row-major order. Cells with a zero count are left out.
    """
    cm = np.asarray(cm, dtype=np.int64)
    errors = cm.copy()
    np.fill_diagonal(errors, 0)
    order = np.argsort(-errors.ravel(), kind="stable")[:k]
    rows, cols = np.unravel_index(order, cm.shape)
    return [
        {"true": int(i), "predicted": int(j), "count": int(errors[i, j])}
        for i, j in zip(rows, cols, strict=True)
        if errors[i, j] > 0
    ]


def top_scoring_images(probabilities: np.ndarray, k: int = 3) -> np.ndarray:
    """For every class c, the indices of the k images with the highest probability for c.

    probabilities: (N, C). Returns (C, min(k, N)) int64, highest first; equal scores are
    ordered by image index (a stable sort of the negated scores).
    """
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, axis=0, kind="stable")  # (N, C), per column
    return order[:k].T.astype(np.int64)


def most_confident_errors(probabilities: np.ndarray, labels, k: int = 16) -> np.ndarray:
    """Indices of the wrongly classified images with the highest predicted probability.

    Highest first, ties by index; at most k (fewer when the model made fewer errors).
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]].astype(np.int64)


def evaluation_summary(labels, probabilities: np.ndarray) -> dict:
    """Everything `evaluation.json` holds, computed from test labels and (N, C) probabilities."""
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities)
    num_classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    cm = confusion_matrix(labels, predicted, num_classes)
    correct = int(np.trace(cm))
    count = int(labels.size)
    return {
        "accuracy": correct / count if count else 0.0,
        "correct": correct,
        "test_count": count,
        "num_classes": num_classes,
        "per_class": per_class_metrics(cm),
        "top_confusions": top_confusions(cm),
        "confusion_matrix": cm.tolist(),
    }


PROBABILITY_NOTE = (
    "Scores are softmax probabilities. One very close to 1 is written with as many decimals as "
    "it takes to show where it differs from 1 (0.99999999996 is 1 minus 4 in 10^11); one very "
    "close to 0 in scientific notation (2.6e-08 is 0.000000026)."
)


def format_probability(p: float) -> str:
    """A probability as one plain decimal number that still tells near-certain scores apart.

    0.8734 -> "0.8734"; 0.99999968 -> "0.99999968" (two significant digits of 1 - p shown;
    four decimals would print "1.0000" for every top image of a well-trained network);
    2.6e-08 -> "2.6e-08"; exactly 1.0 in float64 -> "1".
    """
    p = float(p)
    if p >= 1.0:
        return "1"
    if 0.0 < p < 1e-4:
        return f"{p:.1e}"
    if p < 0.9999:
        return f"{p:.4f}"
    # 1 - p = 3.8e-11 -> 11 zeros-or-nines after the point, plus one more digit
    decimals = int(np.ceil(-np.log10(1.0 - p))) + 1
    return f"{p:.{decimals}f}"


def top_classes(scores, k: int = 3) -> np.ndarray:
    """Indices of the k highest scores (logits or probabilities), highest first, ties by index.

    Rank on logits or full-precision probabilities: rounded ones tie at 0 for every runner-up.
    """
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(-scores, kind="stable")[:k].astype(np.int64)
