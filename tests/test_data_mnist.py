"""The real MNIST files: known facts, where they are looked for, the split, normalisation."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import (
    MEAN,
    SHA256,
    STD,
    load_mnist,
    normalize,
    resolve_data_dir,
    split_train_val,
    verify_mnist,
)
from cnnlab.errors import UserError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No data directory configured; the cache and home live in tmp_path; no usable mirror."""
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with socket.socket() as sock:  # a loopback port nobody listens on: downloads fail at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CNNLAB_MNIST_MIRROR", f"http://127.0.0.1:{port}/")
    return tmp_path


def test_counts_shapes_and_digests(mnist, mnist_dir):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.train_labels.shape == (60000,)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.test_labels.shape == (10000,)
    assert {a.dtype for a in (mnist.train_images, mnist.test_labels)} == {np.dtype(np.uint8)}
    assert np.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert mnist.digests == SHA256
    assert Path(mnist.directory).resolve() == mnist_dir  # CNNLAB_DATA may be relative


def test_pixel_mean_and_std_match_the_constants(mnist):
    # From the histogram of the 256 pixel values: exact, and no 47M-element float copy.
    hist = np.bincount(mnist.train_images.ravel(), minlength=256)
    value = np.arange(256) / 255.0
    mean = (hist * value).sum() / hist.sum()
    std = np.sqrt((hist * (value - mean) ** 2).sum() / hist.sum())
    assert mean == pytest.approx(MEAN, abs=1e-4)
    assert std == pytest.approx(STD, abs=1e-4)


def test_load_verifies_every_file_and_reports_its_digest(mnist_dir):
    start = time.perf_counter()
    data = load_mnist(mnist_dir, download=False, progress=False)
    # timing is printed for the reader, never asserted (the machines are shared and noisy)
    print(f"load_mnist (decompress + verify 4 files): {time.perf_counter() - start:.3f} s")
    assert data.digests == SHA256
    assert not data.train_images.flags.writeable


def test_normalize(mnist):
    x = normalize(mnist.test_images)
    assert x.dtype == np.float32
    assert x.shape == (10000, 1, 28, 28)
    black, white = -MEAN / STD, (1 - MEAN) / STD
    assert x.min() == pytest.approx(black, rel=1e-6)
    assert x.max() == pytest.approx(white, rel=1e-6)
    np.testing.assert_allclose(x[5, 0], (mnist.test_images[5] / 255 - MEAN) / STD, rtol=1e-5)
    with pytest.raises(TypeError, match="uint8"):
        normalize(x)


def test_data_dir_argument_then_environment_then_cache(clean_env, monkeypatch):
    home_cache = clean_env / "home" / ".cache" / "cnnlab" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_dir() == home_cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert resolve_data_dir() == clean_env / "xdg" / "cnnlab" / "mnist"
    monkeypatch.setenv("CNNLAB_DATA", str(clean_env / "env"))
    assert resolve_data_dir() == clean_env / "env"
    assert resolve_data_dir(clean_env / "arg") == clean_env / "arg"


def test_missing_in_cache_without_downloads(clean_env):
    cache = clean_env / "xdg" / "cnnlab" / "mnist"
    with pytest.raises(UserError) as err:
        load_mnist(download=False, progress=False)
    message = str(err.value)
    assert f"train-images-idx3-ubyte.gz (or train-images-idx3-ubyte) is missing from {cache}" in (
        message
    )
    assert "set CNNLAB_DATA or pass --data-dir" in message
    assert "connect to the network" in message


def test_a_named_directory_is_never_downloaded_into(clean_env):
    empty = clean_env / "empty"
    with pytest.raises(UserError, match=r"is missing from .*empty \(given by --data-dir\)"):
        load_mnist(empty, progress=False)  # downloads allowed, yet it must not try
    assert not empty.exists()


def test_corrupt_file_in_a_named_directory_is_an_error(clean_env, mnist_dir):
    data = clean_env / "data"
    shutil.copytree(mnist_dir, data)
    labels = data / "t10k-labels-idx1-ubyte.gz"
    labels.chmod(0o644)
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[8] ^= 1  # the first label
    labels.write_bytes(gzip.compress(bytes(raw)))
    before = labels.read_bytes()
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte\.gz fails its checksum"):
        load_mnist(data, progress=False)
    assert labels.read_bytes() == before  # left as it was: only the cache is repaired


def test_split_is_stratified_disjoint_and_complete(mnist):
    labels = mnist.train_labels
    train_idx, val_idx = split_train_val(labels, val_size=5000, seed=0)
    assert train_idx.dtype == val_idx.dtype == np.int64
    assert (len(train_idx), len(val_idx)) == (55000, 5000)
    assert np.intersect1d(train_idx, val_idx).size == 0
    np.testing.assert_array_equal(np.union1d(train_idx, val_idx), np.arange(60000))
    expected = np.array(TRAIN_COUNTS) * 5000 / 60000
    got = np.bincount(labels[val_idx], minlength=10)
    assert np.abs(got - expected).max() <= 1


def test_split_depends_on_the_seed_only(mnist):
    labels = mnist.train_labels
    first, second = split_train_val(labels, seed=3), split_train_val(labels, seed=3)
    np.testing.assert_array_equal(first[1], second[1])
    other = split_train_val(labels, seed=4)[1]
    assert not np.array_equal(first[1], other)
    np.testing.assert_array_equal(np.bincount(labels[first[1]]), np.bincount(labels[other]))


@pytest.mark.parametrize("val_size", [0, 1, 7, 100])
def test_split_sizes_are_exact(val_size):
    labels = np.repeat(np.arange(3), [50, 30, 20])
    train_idx, val_idx = split_train_val(labels, val_size=val_size, seed=0)
    assert len(val_idx) == val_size
    assert len(train_idx) == 100 - val_size


def test_split_rejects_a_validation_set_larger_than_the_data():
    with pytest.raises(ValueError, match="val_size"):
        split_train_val(np.zeros(10), val_size=11)


def test_data_dir_that_is_a_file(clean_env):
    path = clean_env / "mnist"
    path.write_text("not a directory\n")
    sentence = rf"^{re.escape(str(path))} is a file, not a directory$"
    for data_dir in (path, path / "inner"):
        with pytest.raises(UserError, match=sentence):
            load_mnist(data_dir, progress=False)
        with pytest.raises(UserError, match=sentence):
            verify_mnist(data_dir)


def test_cache_that_is_a_file_is_not_downloaded_over(clean_env):
    cache = clean_env / "xdg" / "cnnlab" / "mnist"
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the cache should be\n")
    with pytest.raises(UserError, match=rf"^{re.escape(str(cache))} is a file, not a directory$"):
        load_mnist(progress=False)  # downloads allowed, yet nothing is fetched or replaced
    assert cache.read_text() == "a file where the cache should be\n"


def test_data_dir_that_is_a_symbolic_link_loop(clean_env):
    loop = clean_env / "mnist"
    loop.symlink_to(loop)
    with pytest.raises(UserError, match=rf"^{re.escape(str(loop))} is a symbolic-link loop$"):
        load_mnist(loop, progress=False)
    with pytest.raises(UserError, match=rf"^{re.escape(str(loop))} is a symbolic-link loop$"):
        verify_mnist(loop)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a directory whatever its permissions")
def test_data_dir_that_cannot_be_read(clean_env):
    locked = clean_env / "mnist"
    locked.mkdir(mode=0)
    try:
        sentence = rf"^{re.escape(str(locked))} cannot be read: permission denied$"
        with pytest.raises(UserError, match=sentence):
            load_mnist(locked, progress=False)
    finally:
        locked.chmod(0o755)


def test_data_file_that_is_a_directory_is_named_not_missing(clean_env, mnist_dir):
    data = clean_env / "data"
    shutil.copytree(mnist_dir, data)
    (data / "t10k-labels-idx1-ubyte").mkdir()  # shadows the good .gz beside it
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte is a directory, not a file$"):
        load_mnist(data, progress=False)
    report = verify_mnist(data)[3]
    assert not report.ok
    assert report.message.endswith("t10k-labels-idx1-ubyte is a directory, not a file")
