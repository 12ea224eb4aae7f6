"""The named sets in the MNIST file format: Fashion-MNIST offline, downloads from a loopback
mirror, the two ways a file passes its checksum, and each set's own cache and variables."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.data import FILES, load_mnist, verify_mnist
from cnnlab.data.datasets import FASHION_MNIST, IDX_SETS, KMNIST, MNIST, idx_set
from cnnlab.data.download import download_mnist, mirror_list
from cnnlab.errors import UserError
from test_data_download import server  # noqa: F401  (the loopback mirror fixture)

LABELS = "t10k-labels-idx1-ubyte"


@pytest.fixture(scope="module")
def fashion(fashion_dir):
    return load_mnist(fashion_dir, download=False, progress=False, dataset="fashion-mnist")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache; no data directory or mirror variable of any set is set."""
    for dataset in IDX_SETS.values():
        monkeypatch.delenv(dataset.data_env, raising=False)
        monkeypatch.delenv(dataset.mirror_env, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cnnlab"


def test_fashion_mnist_loads_offline_with_its_known_facts(fashion):
    assert fashion.dataset is FASHION_MNIST
    assert fashion.train_images.shape == (60000, 28, 28)
    assert fashion.test_images.shape == (10000, 28, 28)
    assert np.bincount(fashion.train_labels).tolist() == [6000] * 10
    pixels = fashion.train_images / 255.0
    assert round(float(pixels.mean()), 4) == 0.2860
    assert round(float(pixels.std()), 4) == 0.3530
    assert fashion.digests == FASHION_MNIST.raw_sha256
    assert fashion.dataset.class_names[0] == "T-shirt/top"
    assert fashion.dataset.class_names[9] == "Ankle boot"


def test_fashion_mnist_is_not_mnist(fashion_dir):
    with pytest.raises(UserError, match=r"fails its checksum.*expected ba891046"):
        load_mnist(fashion_dir, download=False, progress=False)


def test_an_unknown_set_lists_the_known_ones():
    with pytest.raises(UserError, match="use one of mnist, fashion-mnist, kmnist"):
        idx_set("cifar10")


def test_each_set_has_its_own_variables_and_cache(cache, monkeypatch):
    assert MNIST.data_env == "CNNLAB_DATA"
    assert MNIST.mirror_env == "CNNLAB_MNIST_MIRROR"
    assert FASHION_MNIST.data_env == "CNNLAB_FASHION_MNIST_DATA"
    assert KMNIST.mirror_env == "CNNLAB_KMNIST_MIRROR"
    assert mirror_list(dataset=KMNIST) == list(KMNIST.mirrors)
    monkeypatch.setenv("CNNLAB_KMNIST_MIRROR", "http://127.0.0.1:1/k")
    assert mirror_list(dataset=KMNIST) == ["http://127.0.0.1:1/k/"]
    assert mirror_list(dataset=MNIST) == list(MNIST.mirrors)  # the other sets are untouched
    with pytest.raises(UserError) as err:
        load_mnist(download=False, progress=False, dataset="fashion-mnist")
    message = str(err.value)
    assert f"missing from {cache / 'fashion-mnist'} (the cache; downloads are off)" in message
    assert "CNNLAB_FASHION_MNIST_DATA" in message
    assert "cnnlab data download --dataset fashion-mnist" in message


def test_the_set_variable_names_the_offline_directory(fashion_dir, cache, monkeypatch):
    monkeypatch.setenv("CNNLAB_FASHION_MNIST_DATA", str(fashion_dir))
    reports = verify_mnist(fashion_dir, "fashion-mnist")
    assert all(r.ok for r in reports)
    data = load_mnist(progress=False, dataset=FASHION_MNIST)
    assert data.directory == fashion_dir
    assert not cache.exists()  # nothing downloaded or written


def test_fashion_mnist_downloads_into_its_cache_from_the_mirror_variable(
    server,  # noqa: F811
    fashion_dir,
    cache,
    monkeypatch,
):
    for name in FILES.values():
        server.routes[f"/f/{name}.gz"] = (fashion_dir / f"{name}.gz").read_bytes()
    monkeypatch.setenv("CNNLAB_FASHION_MNIST_MIRROR", f"{server.base}/f/")
    data = load_mnist(progress=False, dataset="fashion-mnist")
    assert data.directory == cache / "fashion-mnist"
    assert data.digests == FASHION_MNIST.raw_sha256
    assert len(server.requests) == 4


def _gz_only(body: bytes):
    """A set like KMNIST (no raw digest) whose test labels are `body`, published as is."""
    published = {LABELS: hashlib.sha256(body).hexdigest()}
    return dataclasses.replace(KMNIST, gz_sha256=published)


def test_a_set_without_raw_digests_accepts_the_published_gz(server, tmp_path, mnist_dir):  # noqa: F811
    body = (mnist_dir / f"{LABELS}.gz").read_bytes()
    dataset = _gz_only(body)
    server.routes[f"/k/{LABELS}.gz"] = body
    (path,) = download_mnist(
        tmp_path, [LABELS], mirrors=[f"{server.base}/k/"], progress=False, dataset=dataset
    )
    assert path.read_bytes() == body
    labels = next(r for r in verify_mnist(tmp_path, dataset) if r.name == LABELS)
    assert labels.ok
    assert labels.count == 10000


def test_a_set_without_raw_digests_refuses_other_bytes(server, tmp_path, mnist_dir):  # noqa: F811
    body = (mnist_dir / f"{LABELS}.gz").read_bytes()
    dataset = _gz_only(body)
    recompressed = gzip.compress(gzip.decompress(body))  # the same data, other .gz bytes
    server.routes[f"/k/{LABELS}.gz"] = recompressed
    with pytest.raises(UserError, match="expected the published"):
        download_mnist(
            tmp_path, [LABELS], mirrors=[f"{server.base}/k/"], progress=False, dataset=dataset
        )
    assert not (tmp_path / f"{LABELS}.gz").exists()
    (tmp_path / LABELS).write_bytes(gzip.decompress(body))  # a raw file cannot be checked
    labels = next(r for r in verify_mnist(tmp_path, dataset) if r.name == LABELS)
    assert not labels.ok
    assert "only the original .gz downloads are accepted" in labels.message


def test_cli_verify_and_info_take_the_set(fashion_dir, capsys):
    assert (
        main(["data", "verify", "--dataset", "fashion-mnist", "--data-dir", str(fashion_dir)]) == 0
    )
    assert "verifying Fashion-MNIST" in capsys.readouterr().out
    args = ["data", "info", "--dataset", "fashion-mnist", "--data-dir", str(fashion_dir)]
    assert main(args) == 0
    assert "9 Ankle boot" in capsys.readouterr().out
    assert main(["data", "verify", "--dataset", "kmnist", "--data-dir", str(fashion_dir)]) == 2
    assert "expected the published 51467d22" in capsys.readouterr().err
