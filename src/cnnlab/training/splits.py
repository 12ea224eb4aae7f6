"""`load_splits(cfg)`: the run's data set cut into its training, validation and test arrays.

The trainer and the benchmark's epoch timing both take their data from here, so they train on
the same images in the same form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.data import Mnist, normalize, split_train_val
from cnnlab.data.source import data_record, folder_options, load_dataset, training_statistics
from cnnlab.errors import UserError
from cnnlab.training.config import TrainConfig


@dataclass(frozen=True, eq=False)
class Splits:
    """Normalised float32 images (N, 1, 28, 28) and int64 labels (N,) of each split."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    mnist: Mnist  # which set, where the files came from, and their digests
    normalization: tuple[float, float]  # (mean, std) of the training pixels, after / 255

    def record(self) -> dict:
        """What config.json says about the data."""
        return data_record(self.mnist, *self.normalization) | {
            "split": {
                "train": len(self.train[1]),
                "val": len(self.val[1]),
                "test": len(self.test[1]),
                "method": "stratified, seeded",
            },
        }


def check_split_sizes(available: int, val_size: int, train_size: int | None = None) -> None:
    """A UserError, saying how many images there are, when `val_size` leaves no training image
    or `train_size` asks for more than remain: a subset is never clamped silently."""
    if val_size >= available:
        raise UserError(
            f"--val-size {val_size} leaves no training images: the training set has "
            f"{available:,} images; hold out fewer (the default is 5000)."
        )
    remaining = available - val_size
    if train_size is not None and train_size > remaining:
        raise UserError(
            f"--train-size {train_size} is more than the {remaining:,} training images left "
            f"after --val-size {val_size} (of {available:,}); ask for at most {remaining}."
        )


def adapted_val_size(val_size: int, available: int, classes: int) -> int:
    """The default `val_size` (5000, a twelfth of MNIST's training set) for a smaller set:
    a twelfth of its training images, at least one per class; any other value is kept."""
    if val_size != TrainConfig.val_size or available >= 12 * val_size:
        return val_size
    return max(classes, round(available / 12))


def load_splits(cfg, progress: bool = True) -> Splits:
    """The splits of a resolved `TrainConfig`: `val_size` images held out of the training set,
    stratified and seeded by `seed`; `train_size` keeps a seeded subset of the rest."""
    data = load_dataset(cfg.dataset, cfg.data_dir, progress=progress, folder=folder_options(cfg))
    val_size = adapted_val_size(cfg.val_size, len(data.train_labels), len(data.dataset.class_names))
    check_split_sizes(len(data.train_labels), val_size, cfg.train_size)
    train_idx, val_idx = split_train_val(data.train_labels, val_size, cfg.seed)
    if cfg.train_size is not None:
        # a seeded subset, so a --train-size run sees the same images every time
        subset = np.random.default_rng([cfg.seed, 1]).permutation(len(train_idx))
        train_idx = np.sort(train_idx[subset[: cfg.train_size]])
    labels = data.train_labels.astype(np.int64)
    train_images = data.train_images[train_idx]
    mean, std = training_statistics(data, train_images)
    return Splits(
        train=(normalize(train_images, mean, std), labels[train_idx]),
        val=(normalize(data.train_images[val_idx], mean, std), labels[val_idx]),
        test=(normalize(data.test_images, mean, std), data.test_labels.astype(np.int64)),
        mnist=data,
        normalization=(mean, std),
    )
