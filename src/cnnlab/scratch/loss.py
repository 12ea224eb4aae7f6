"""Softmax cross-entropy, the loss every model here trains with."""

from __future__ import annotations

import numpy as np


class CrossEntropyLoss:
    """`torch.nn.CrossEntropyLoss()`: mean over the batch of -log softmax(logits)[target].

    logits: (N, K) float, targets: (N,) integer class indices. The log-softmax subtracts each
    row's max first, so large logits neither overflow nor lose the small ones.
    """

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._targets: np.ndarray | None = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        shifted = logits - logits.max(axis=1, keepdims=True)  # (N, K), every row's max is 0
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
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
