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
    folder: dict[str, Any] | None = None,
) -> Mnist:
    """The named set `name` (see `datasets.IDX_SETS`), verified, `data_dir` as in `load_mnist`;
    any other `name` is the path of a folder of pictures, read with the options `folder`
    (image_size, channels, test_fraction: see `folder.load_folder`)."""
    if name in IDX_SETS:
        return load_mnist(data_dir, download=download, progress=progress, dataset=name)
    from cnnlab.data.folder import load_folder

    return load_folder(name, **(folder or {}))


def folder_options(cfg: Any) -> dict[str, Any]:
    """The folder options of a TrainConfig (or a config.json dict)."""
    get = cfg.get if isinstance(cfg, dict) else lambda key, default: getattr(cfg, key, default)
    return {
        "image_size": get("image_size", None),
        "channels": get("channels", None),
        "test_fraction": get("test_fraction", 0.2),
    }


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
        "image_shape": list(image_shape(data)),
        "normalization": {"mean": mean, "std": std},
    }


def image_shape(data: Mnist) -> tuple[int, int, int]:
    """(C, H, W) of one image of `data`, as the networks take it."""
    shape = data.train_images.shape[1:]
    return (1, *shape) if len(shape) == 2 else tuple(shape)


def run_dataset(config: dict[str, Any]) -> str:
    """The data set a run was trained on: a name, or a folder's resolved path (runs from
    before `--dataset` trained on MNIST)."""
    return config.get("data", {}).get("dataset") or config.get("dataset") or DEFAULT


def run_normalization(config: dict[str, Any]) -> tuple[float, float]:
    """(mean, std) a run's inputs were normalised with."""
    found = config.get("data", {}).get("normalization")
    return (found["mean"], found["std"]) if found else (MEAN, STD)


def run_class_names(config: dict[str, Any]) -> list[str]:
    """The class names of a run's data set, in label order."""
    names = config.get("data", {}).get("class_names")
    return list(names) if names else list(MNIST.class_names)


def load_run_data(
    config: dict[str, Any], data_dir: str | os.PathLike | None = None, *, progress: bool = False
) -> Mnist:
    """The data set a run was trained on, refused when its digests are not the run's."""
    data = load_dataset(
        run_dataset(config), data_dir, progress=progress, folder=folder_options(config)
    )
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


def shape_and_classes(dataset: str, folder: dict[str, Any] | None = None) -> tuple[tuple, int]:
    """((C, H, W), number of classes) of a data set: 1x28x28 and 10 for the named sets, read
    from the pictures (the cached decode) for a folder."""
    if dataset in IDX_SETS:
        return (1, 28, 28), len(IDX_SETS[dataset].class_names)
    data = load_dataset(dataset, folder=folder)
    return image_shape(data), len(data.dataset.class_names)


def run_shape_and_classes(config: dict[str, Any]) -> tuple[tuple, int]:
    """((C, H, W), number of classes) a run was trained with, from its config.json."""
    data = config.get("data", {})
    shape = tuple(data.get("image_shape") or (1, 28, 28))
    return shape, len(data.get("class_names") or MNIST.class_names)


def check_fits(spec, classes: int, what: str) -> None:
    """One sentence when the network `spec` does not take the data set's images (its
    `input_shape`) or does not give one score per class; `what` names the data set."""
    from cnnlab.models.shapes import ShapeError, infer_shapes

    image = " × ".join(map(str, spec.input_shape))
    try:
        last = infer_shapes(spec)[-1]
    except ShapeError as err:
        raise UserError(
            f"{spec.name} does not fit the {image} images of {what} ({err}); choose a larger "
            "--image-size, or another model or --arch network"
        ) from None
    if last.out_shape != (classes,):
        raise UserError(
            f"{spec.name} gives {' × '.join(map(str, last.out_shape))} scores but {what} has "
            f"{classes} classes; train an --arch network that ends in Flatten Linear({classes}), "
            f"e.g. --arch 'Conv2d(16, 3) ReLU MaxPool2d(2) Flatten Linear({classes})'"
        )
