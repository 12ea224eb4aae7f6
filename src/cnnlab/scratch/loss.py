"""Softmax cross-entropy, the loss every model here trains with."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.functional import log_softmax


class CrossEntropyLoss:
    """`torch.nn.CrossEntropyLoss()`: mean over the batch of -log softmax(logits)[target].

    logits: (N, K) float, targets: (N,) integer class indices.
    """

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._targets: np.ndarray | None = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        log_probs = log_softmax(logits)  # (N, K)
        self._probs, self._targets = np.exp(log_probs), targets
        return float(-log_probs[np.arange(len(targets)), targets].mean())

    __call__ = forward

    def backward(self) -> np.ndarray:
        """dL/dlogits = (softmax(logits) - one_hot(targets)) / N, shape (N, K)."""
        N = len(self._targets)
        dlogits = self._probs.copy()
        dlogits[np.arange(N), self._targets] -= 1
        dlogits /= N
        return dlogits
