"""The benchmark's images: MNIST batches made the way the training loop makes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.bench.settings import MAX_BATCHES, TURN, BenchSettings
from cnnlab.errors import UserError

SYNTHETIC_SOURCE = (
    "synthetic digit-like images (MNIST is not on this machine; `cnnlab data download` fetches it)"
)
MNIST_SOURCE = "real MNIST (training images, batched by iterate_batches; test images)"


@dataclass(frozen=True)
class Inputs:
    batches: list[tuple[np.ndarray, np.ndarray]]  # x (B, 1, 28, 28) float32, y (B,) int64
    images: np.ndarray  # the inference batch (N, 1, 28, 28) float32
    source: str  # what the images are, for the report


def make_inputs(
    settings: BenchSettings,
    data_dir: str | None = None,
    dataset: str = "mnist",
    folder: dict | None = None,
) -> Inputs:
    """Batches exactly as the training loop makes them, a new one for every training call.

    Real MNIST when it is on this machine (`data_dir`, $CNNLAB_DATA or the cache; never
    downloaded), else synthetic digit-like images; normalized once, then batched by
    `iterate_batches`, as the trainer does; the inference batch is a slice of a normalized
    array, as `evaluate` takes it. Why it matters: PyTorch's speed depends on both the pixels
    and the batch's strides (docs/performance.md, "Why the benchmark batches real digits").
    """
    from cnnlab.data import MEAN, STD, iterate_batches, normalize
    from cnnlab.data.source import image_shape, load_dataset, training_statistics

    rng = np.random.default_rng(settings.seed)
    calls = settings.warmup + settings.steps + -(-settings.steps // TURN["train"]) + 1
    n_train = min(calls, MAX_BATCHES) * settings.batch_size
    n_test = settings.inference_batch_size
    try:
        mnist = load_dataset(dataset, data_dir, download=False, progress=False, folder=folder)
    except UserError:
        if data_dir is not None or dataset != "mnist":
            raise
        mnist = None
    if mnist is not None and image_shape(mnist) != (1, 28, 28):
        raise UserError(
            f"bench times the networks on 1 × 28 × 28 images, and {dataset} holds "
            f"{' × '.join(map(str, image_shape(mnist)))} ones; give --image-size 28 --channels 1"
        )
    if mnist is not None:
        pick = rng.choice(
            len(mnist.train_labels), n_train, replace=n_train > len(mnist.train_labels)
        )
        train, labels = mnist.train_images[pick], mnist.train_labels[pick].astype(np.int64)
        test = mnist.test_images[np.arange(n_test) % len(mnist.test_labels)]
        source = MNIST_SOURCE.replace("MNIST", mnist.dataset.title)
        stats = training_statistics(mnist, mnist.train_images)
    else:
        train, test = synthetic_digits(rng, n_train), synthetic_digits(rng, n_test)
        labels = rng.integers(0, 10, n_train, dtype=np.int64)
        source = SYNTHETIC_SOURCE
        stats = (MEAN, STD)
    batches = iterate_batches(
        normalize(train, *stats), labels, settings.batch_size, seed=settings.seed, epoch=0
    )
    return Inputs(list(batches), normalize(test, *stats), source)


def synthetic_digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """uint8 (n, 28, 28): soft blobs on a black background, lit on ~19% of pixels like MNIST."""
    coarse = rng.random((n, 7, 7), dtype=np.float32)
    up = np.kron(coarse, np.ones((4, 4), dtype=np.float32))  # (n, 28, 28), 4x4 blocks
    padded = np.pad(up, ((0, 0), (1, 1), (1, 1)), mode="edge")
    smooth = sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9
    cut = np.quantile(smooth, 0.81, axis=(1, 2), keepdims=True)
    top = smooth.max(axis=(1, 2), keepdims=True)
    lit = np.clip((smooth - cut) / np.maximum(top - cut, 1e-6), 0, 1)
    return (255 * lit).astype(np.uint8)
