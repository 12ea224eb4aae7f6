"""The test set as the lab shows it: a run's confusion grid, the images of one cell, single test
images, and the learning curves of runs.

A run's test-set probabilities come from its `probabilities.npy` (written by `cnnlab
evaluate`) or, before it was evaluated, from one pass over the test set, kept in memory.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from cnnlab.errors import UserError
from cnnlab.lab.runs import TEST_PASS_VALUES, LabRun, UnusableAnswerError, values_per_image
from cnnlab.rundir import PROBABILITIES, RunDir

CELL_IMAGES = 60  # the most images one confusion cell opens, most confident first
CURVE_KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


class NoSuchImageError(LookupError):
    """A test-image index outside 0..9999."""


class TestSet:
    """MNIST's test set, read on first use, and each run's probabilities on it."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, data_dir=None) -> None:
        self.data_dir = data_dir
        self._data = None
        self._lock = threading.Lock()

    def _mnist(self):
        from cnnlab.data import load_mnist

        with self._lock:
            if self._data is None:
                self._data = load_mnist(self.data_dir, download=False, progress=False)
            return self._data

    @property
    def labels(self) -> np.ndarray:
        return self._mnist().test_labels.astype(np.int64)

    def probabilities(self, run: LabRun) -> np.ndarray:
        """(10000, 10) test-set probabilities of `run`."""
        from cnnlab.data import normalize
        from cnnlab.scratch.functional import softmax
        from cnnlab.training.loop import predict_logits

        with run.lock:
            if "probabilities" not in run.cache:
                saved = RunDir(run.path) / PROBABILITIES
                if saved.exists():
                    p = self._saved_probabilities(saved)
                else:
                    images = normalize(self._mnist().test_images)
                    # Batches small enough that a wide network's layer outputs stay bounded.
                    batch = max(1, min(1000, TEST_PASS_VALUES // values_per_image(run.spec)))
                    logits = predict_logits(run.engine, images, batch)
                    p = softmax(logits.astype(np.float64))
                run.cache["probabilities"] = p
            return run.cache["probabilities"]

    def _saved_probabilities(self, path) -> np.ndarray:
        """A run's probabilities.npy, its shape checked before it is read into memory."""
        saved = np.load(path, mmap_mode="r", allow_pickle=False)  # (10000, 10)
        expected = (len(self.labels), 10)
        if saved.shape != expected:
            raise UnusableAnswerError(
                f"its {PROBABILITIES} holds {saved.shape}, not {expected}; "
                "rerun `cnnlab evaluate` on it."
            )
        return np.array(saved, dtype=np.float64)

    def confusion(self, run: LabRun) -> dict[str, Any]:
        """GET /api/confusion/{run}: the 10x10 counts (rows true, columns predicted)."""
        from cnnlab.analysis.metrics import confusion_matrix

        labels = self.labels
        predicted = self.probabilities(run).argmax(axis=1)
        matrix = confusion_matrix(labels, predicted, 10)
        return {
            "run": run.id,
            "matrix": matrix.tolist(),
            "accuracy": float(np.trace(matrix) / max(1, matrix.sum())),
        }

    def cell(self, run: LabRun, true: int, predicted: int) -> dict[str, Any]:
        """The test images of one cell, the most confident first, with their scores."""
        if not (0 <= true <= 9 and 0 <= predicted <= 9):
            raise UserError("true and predicted are classes 0-9.")
        p = self.probabilities(run)
        labels = self.labels
        indices = np.flatnonzero((labels == true) & (p.argmax(axis=1) == predicted))
        order = indices[np.argsort(-p[indices, predicted], kind="stable")][:CELL_IMAGES]
        return {
            "run": run.id,
            "true": true,
            "predicted": predicted,
            "count": int(indices.size),
            "images": [{"index": int(i), "score": round(float(p[i, predicted]), 6)} for i in order],
        }

    def image_png(self, index: int) -> bytes:
        """Test image `index` as a 28x28 greyscale PNG; NoSuchImageError outside the test set."""
        from cnnlab.viz.plots import png_bytes

        images = self._mnist().test_images
        if not 0 <= index < len(images):
            raise NoSuchImageError(index)
        return png_bytes(np.ascontiguousarray(images[index]))


def curves(run: LabRun) -> dict[str, Any]:
    """A run's per-epoch losses and accuracies, from its metrics.jsonl; a file that cannot be
    read gives the run an `error` sentence instead."""
    try:
        records = RunDir(run.path).epoch_records()
        epochs = [int(r["epoch"]) for r in records]
    except Exception as err:  # one damaged file must not take the other runs' curves down
        return {"run": run.id, "error": f"its metrics cannot be read ({type(err).__name__})."}
    series = {key: [_number(r.get(key)) for r in records] for key in CURVE_KEYS}
    return {
        "run": run.id,
        "model": run.config.get("model"),
        "engine": run.config.get("engine"),
        "epochs": epochs,
        **series,
    }


def _number(value: Any) -> float | None:
    """A finite number as a float, anything else (missing, NaN, text) as None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None
