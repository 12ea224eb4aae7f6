"""Softmax and cross-entropy as plain functions of logits: the loss, evaluation, predict and CAM
all call these, so the numerically stable form is written once."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities of logits (N, K), shifted by each row's maximum so large
    logits neither overflow nor lose the small ones."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, K), every row's max is 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities (N, K) of logits (N, K)."""
    return np.exp(log_softmax(logits))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean of -log softmax(logits)[label] over the rows: logits (N, K), integer labels (N,)."""
    return float(-log_softmax(logits)[np.arange(len(labels)), labels].mean())
