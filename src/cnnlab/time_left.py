"""How long a `cnnlab run` has left: the epochs still to train, then the evaluations.

Training is timed per epoch as it goes. An evaluation (10,000 test images, the pictures, the
bootstrap) costs about EVALUATION_SECONDS plus EVALUATION_EPOCHS of one epoch of training until
one has been timed; from then on the timed mean is used. The CAM figures, summary and report
after the last evaluation count as one more evaluation. The report's attribution checks still
to come are given in epochs of training (`trust_runs.expected_epochs`). So the line never says
"0:00 left" while evaluations or checks are still to come.
"""

from __future__ import annotations

EVALUATION_SECONDS = 5.0  # the pictures and the bootstrap, whatever the network
EVALUATION_EPOCHS = 0.2  # the forward pass over the test set, as a share of an epoch


class TimeLeft:
    """Seconds left, from what has been timed so far (None before anything was timed)."""

    def __init__(self, epochs_to_train: int, evaluations: int, check_epochs: float = 0.0):
        self.epochs_left = epochs_to_train
        self.evaluations_left = evaluations + 1  # + the CAM figures, summary and report
        self.check_epochs = check_epochs  # the attribution checks, as epochs of training
        self.epoch_seconds: list[float] = []  # per epoch trained, mean of its run
        self.evaluation_seconds: list[float] = []

    def trained(self, epochs: int, seconds: float) -> None:
        """`epochs` more epochs were trained in `seconds`."""
        self.epochs_left = max(0, self.epochs_left - epochs)
        self.epoch_seconds += [seconds / epochs] * epochs if epochs else []

    def evaluated(self, seconds: float) -> None:
        """One more run was evaluated in `seconds`."""
        self.evaluations_left = max(1, self.evaluations_left - 1)
        self.evaluation_seconds.append(seconds)

    def _per_evaluation(self, per_epoch: float | None) -> float | None:
        if self.evaluation_seconds:
            return sum(self.evaluation_seconds) / len(self.evaluation_seconds)
        if per_epoch is None:
            return None
        return EVALUATION_SECONDS + EVALUATION_EPOCHS * per_epoch

    def seconds(self) -> float | None:
        per_epoch = (
            sum(self.epoch_seconds) / len(self.epoch_seconds) if self.epoch_seconds else None
        )
        per_evaluation = self._per_evaluation(per_epoch)
        if per_evaluation is None or (self.epochs_left and per_epoch is None):
            return None
        epochs = self.epochs_left + self.check_epochs
        training = epochs * per_epoch if epochs else 0.0
        return training + self.evaluations_left * per_evaluation
