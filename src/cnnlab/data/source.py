"""The data set of a run: `--dataset NAME` when training, the run's config.json afterwards.

Training records in config.json's "data" the set's name, its class names, the digests of what
was read and the normalisation (mean and std of the training split). Every later reader
(evaluate, cam, predict, report, lab) takes the set and the normalisation from there, so a run
is always analysed with the data and the preprocessing it was trained on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from cnnlab.data.datasets import IDX_SETS, MNIST
from cnnlab.data.mnist import MEAN, STD, Mnist, load_mnist
from cnnlab.errors import UserError

DEFAULT = MNIST.name


def load_dataset(
    name: str = DEFAULT,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Mnist:
    """The data set `name` (see `datasets.IDX_SETS`), verified; `data_dir` as in `load_mnist`."""
    if name not in IDX_SETS:
        raise UserError(f"there is no data set named {name!r}; use one of {', '.join(IDX_SETS)}")
    return load_mnist(data_dir, download=download, progress=progress, dataset=name)


def training_statistics(data: Mnist, train_images: np.ndarray) -> tuple[float, float]:
    """(mean, std) of the pixels after dividing by 255: MNIST's published constants (its runs
    stay bit-identical), else those of `train_images`, the images the run trains on."""
    if data.dataset.stats is not None:
        return data.dataset.stats
    pixels = train_images.astype(np.float64) / 255.0
    return round(float(pixels.mean()), 6), round(float(pixels.std()), 6)


def data_record(data: Mnist, mean: float, std: float) -> dict[str, Any]:
    """What config.json's "data" says about the set (the split is added by the trainer)."""
    return {
        "dataset": data.dataset.name,
        "title": data.dataset.title,
        "class_names": list(data.dataset.class_names),
        "directory": str(data.directory),
        "digests": data.digests,
        "normalization": {"mean": mean, "std": std},
    }


def run_dataset(config: dict[str, Any]) -> str:
    """The data set a run was trained on (runs from before `--dataset` trained on MNIST)."""
    return config.get("dataset") or config.get("data", {}).get("dataset") or DEFAULT


def run_normalization(config: dict[str, Any]) -> tuple[float, float]:
    """(mean, std) a run's inputs were normalised with."""
    found = config.get("data", {}).get("normalization")
    return (found["mean"], found["std"]) if found else (MEAN, STD)


def run_class_names(config: dict[str, Any]) -> list[str]:
    """The class names of a run's data set, in label order."""
    names = config.get("data", {}).get("class_names")
    return list(names) if names else list(IDX_SETS[run_dataset(config)].class_names)


def load_run_data(
    config: dict[str, Any], data_dir: str | os.PathLike | None = None, *, progress: bool = False
) -> Mnist:
    """The data set a run was trained on, refused when its digests are not the run's."""
    data = load_dataset(run_dataset(config), data_dir, progress=progress)
    check_same_data(config, data)
    return data


def check_same_data(config: dict[str, Any], data: Mnist) -> None:
    """A UserError when `data` is not what the run of `config` was trained on."""
    saved = config.get("data", {}).get("digests")
    if saved and saved != data.digests:
        raise UserError(
            f"the {data.dataset.title} files in {data.directory} are not the ones this run was "
            "trained on (their SHA-256 digests differ from its config.json); point --data-dir "
            "at the files it was trained on, or add --force to start the run over"
        )
