"""The test set of each run's data set as the lab shows it: a run's confusion grid, the images
of one cell, single test images, and the learning curves of runs.

A run's test-set probabilities come from its `probabilities.npy` (written by `cnnlab
evaluate`) or, before it was evaluated, from one pass over the test set, kept in memory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data import normalize
from cnnlab.errors import UserError
from cnnlab.lab.runs import TEST_PASS_VALUES, LabRun, UnusableAnswerError, values_per_image
from cnnlab.rundir import PROBABILITIES, RunDir

CELL_IMAGES = 60  # the most images one confusion cell opens, most confident first
CURVE_KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


class NoSuchImageError(LookupError):
    """A test-image index outside the test set."""


class TestSet:
    """The test set of each run's data set, read on first use (once per data set), and each
    run's probabilities on it."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, data_dir=None) -> None:
        self.data_dir = data_dir
        self._sets: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _data(self, run: LabRun):
        """The run's data set (its digests checked against the run's): from the lab's
        --data-dir, else the directory the run was trained from, else the usual places."""
        from cnnlab.data.source import load_run_data

        recorded = run.config.get("data", {}).get("directory")
        places = [self.data_dir, recorded if recorded and Path(recorded).is_dir() else None, None]
        with self._lock:
            failures = []
            for place in dict.fromkeys(places):  # one --data-dir may hold another set
                if run.data.key in self._sets:
                    break
                try:
                    self._sets[run.data.key] = load_run_data(run.config, place)
                except UserError as err:
                    failures.append(err)
            if run.data.key not in self._sets:
                raise failures[0]
            return self._sets[run.data.key]

    def labels(self, run: LabRun) -> np.ndarray:
        return self._data(run).test_labels.astype(np.int64)

    def probabilities(self, run: LabRun) -> np.ndarray:
        """(N, K) test-set probabilities of `run`."""
        from cnnlab.scratch.functional import softmax
        from cnnlab.training.loop import predict_logits

        data = self._data(run)
        with run.lock:
            if "probabilities" not in run.cache:
                saved = RunDir(run.path) / PROBABILITIES
                if saved.exists():
                    p = self._saved_probabilities(saved, run)
                else:
                    images = normalize(data.test_images, run.data.mean, run.data.std)
                    # Batches small enough that a wide network's layer outputs stay bounded.
                    batch = max(1, min(1000, TEST_PASS_VALUES // values_per_image(run.spec)))
                    logits = predict_logits(run.engine, images, batch)
                    p = softmax(logits.astype(np.float64))
                run.cache["probabilities"] = p
            return run.cache["probabilities"]

    def _saved_probabilities(self, path, run: LabRun) -> np.ndarray:
        """A run's probabilities.npy, its shape checked before it is read into memory."""
        saved = np.load(path, mmap_mode="r", allow_pickle=False)  # (N, K)
        expected = (len(self.labels(run)), len(run.data.class_names))
        if saved.shape != expected:
            raise UnusableAnswerError(
                f"its {PROBABILITIES} holds {saved.shape}, not {expected}; "
                "rerun `cnnlab evaluate` on it."
            )
        return np.array(saved, dtype=np.float64)

    def confusion(self, run: LabRun) -> dict[str, Any]:
        """GET /api/confusion/{run}: the K x K counts (rows true, columns predicted)."""
        from cnnlab.analysis.metrics import confusion_matrix

        labels = self.labels(run)
        predicted = self.probabilities(run).argmax(axis=1)
        matrix = confusion_matrix(labels, predicted, len(run.data.class_names))
        return {
            "run": run.id,
            "class_names": list(run.data.class_names),
            "matrix": matrix.tolist(),
            "accuracy": float(np.trace(matrix) / max(1, matrix.sum())),
        }

    def cell(self, run: LabRun, true: int, predicted: int) -> dict[str, Any]:
        """The test images of one cell, the most confident first, with their scores."""
        last = len(run.data.class_names) - 1
        if not (0 <= true <= last and 0 <= predicted <= last):
            raise UserError(f"true and predicted are classes 0-{last}.")
        p = self.probabilities(run)
        labels = self.labels(run)
        indices = np.flatnonzero((labels == true) & (p.argmax(axis=1) == predicted))
        order = indices[np.argsort(-p[indices, predicted], kind="stable")][:CELL_IMAGES]
        return {
            "run": run.id,
            "true": true,
            "predicted": predicted,
            "count": int(indices.size),
            "images": [{"index": int(i), "score": round(float(p[i, predicted]), 6)} for i in order],
        }

    def image_png(self, run: LabRun, index: int) -> bytes:
        """Test image `index` of the run's data set as a PNG (grey or colour);
        NoSuchImageError outside the test set."""
        from cnnlab.viz.plots import png_bytes

        images = self._data(run).test_images  # (N, H, W) or (N, 3, H, W)
        if not 0 <= index < len(images):
            raise NoSuchImageError(index)
        image = images[index] if images.ndim == 3 else images[index].transpose(1, 2, 0)
        return png_bytes(np.ascontiguousarray(image))


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
