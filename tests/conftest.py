"""Shared fixtures: where the real MNIST files are, and the loaded data set (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optional_extras import (  # noqa: F401  (hooks: a core-only install skips what needs an extra)
    pytest_pycollect_makemodule,
    pytest_runtest_call,
    pytest_runtest_setup,
)

MNIST_HINT = "set CNNLAB_DATA to a folder holding the four MNIST files"


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, found the way users find it: $CNNLAB_DATA, else the user cache, else
    downloaded (checksums verified) into that cache."""
    from cnnlab.data import load_mnist
    from cnnlab.errors import UserError

    try:
        return load_mnist(download=True, progress=False)
    except (UserError, OSError) as err:
        pytest.fail(f"MNIST could not be loaded ({err}); {MNIST_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """The four Fashion-MNIST files: $CNNLAB_FASHION_MNIST_DATA, else ../shared/data/fashion-mnist
    beside the checkout (where CI puts them); never downloaded."""
    import os

    env = os.environ.get("CNNLAB_FASHION_MNIST_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared/data/fashion-mnist"
    if not (path / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.fail(f"no Fashion-MNIST in {path}; set CNNLAB_FASHION_MNIST_DATA", pytrace=False)
    return path


@pytest.fixture(scope="session")
def mnist_dir(mnist) -> Path:
    """The directory the MNIST files were actually loaded from."""
    return Path(mnist.directory).resolve()


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, mnist_dir):
    """Short real trainings (one epoch on 6,000 images) of cnn2 in both engines and of mlp3.

    Good enough (~95% test accuracy) for evaluation, CAM and predict tests; returns
    {"cnn2-scratch": Path, "cnn2-torch": Path, "mlp3-scratch": Path}.
    """
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trainer import train

    out = tmp_path_factory.mktemp("runs")
    runs = {}
    for model, engine in (("cnn2", "scratch"), ("cnn2", "torch"), ("mlp3", "scratch")):
        cfg = TrainConfig(
            model=model,
            engine=engine,
            epochs=1,
            train_size=6000,
            val_size=1000,
            out=str(out),
            data_dir=str(mnist_dir),
            threads=2,
        )
        runs[f"{model}-{engine}"] = train(cfg, quiet=True)
    return runs


@pytest.fixture(scope="module")
def one_thread():
    """One torch and one BLAS thread for a module: on cores shared with other jobs, threads
    spin-wait for each other and a small op can take 10x longer; one thread keeps time steady."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_dir):
    """One finished mlp3 run in the NumPy engine on 640 images (seconds to train): a real run
    directory for tests that corrupt, lock or report on one. Copy it before changing it."""
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trainer import train

    cfg = TrainConfig(
        model="mlp3",
        engine="scratch",
        epochs=1,
        train_size=640,
        val_size=200,
        out=str(tmp_path_factory.mktemp("tiny")),
        data_dir=str(mnist_dir),
        threads=1,
    )
    return train(cfg, quiet=True)
