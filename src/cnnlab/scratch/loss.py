"""Softmax cross-entropy, the loss every model here trains with."""

from __future__ import annotations

import numpy as np

from cnnlab.scratch.functional import log_softmax


class CrossEntropyLoss:
    """`torch.nn.CrossEntropyLoss()`: mean over the batch of -log softmax(logits)[target].

    logits: (N, K) float, targets: (N,) integer class indices.
    """

    def __init__(self) -> None:
        self._dlogits: np.ndarray | None = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        losses, self._dlogits = self.losses_and_grad(logits, targets, len(targets))
        return float(losses.mean())

    __call__ = forward

    def backward(self) -> np.ndarray:
        """dL/dlogits = (softmax(logits) - one_hot(targets)) / N, shape (N, K)."""
        return self._dlogits

    @staticmethod
    def losses_and_grad(
        logits: np.ndarray, targets: np.ndarray, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The loss of each row, (N,), and the gradient of the batch's mean loss with respect to
        these rows' logits, (softmax(logits) - one_hot(targets)) / batch_size, (N, K).

        Every row's numbers depend on that row alone, so rows [lo, hi) of a batch get exactly
        what the whole batch would give them: `DataParallel.train_chunks` computes each chunk's
        part beside the others, with `batch_size` the whole batch's size.
        """
        log_probs = log_softmax(logits)  # (N, K)
        rows = np.arange(len(targets))
        dlogits = np.exp(log_probs)
        dlogits[rows, targets] -= 1
        dlogits /= batch_size
        return -log_probs[rows, targets], dlogits
