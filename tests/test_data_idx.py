"""IDX parsing and validation on small files the tests write, gzip'd and raw."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib

import numpy as np
import pytest

from cnnlab.data import FILES, load_mnist, verify_mnist
from cnnlab.data import idx as idx_module
from cnnlab.data.idx import CorruptFileError, parse_idx, read_idx_bytes, verify_idx
from cnnlab.errors import UserError
from peak_memory import measure


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path, raw: bytes):
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_images_and_labels_round_trip(tmp_path, images, suffix):
    labels = np.array([7, 0, 9], dtype=np.uint8)
    image_file = write(tmp_path / f"x-images{suffix}", idx_bytes(2051, images))
    label_file = write(tmp_path / f"x-labels{suffix}", idx_bytes(2049, labels))

    got_images = parse_idx(read_idx_bytes(image_file), magic=2051, source=image_file)
    got_labels = parse_idx(read_idx_bytes(label_file), magic=2049, source=label_file)

    assert got_images.dtype == np.uint8
    assert got_images.shape == (3, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert not got_images.flags.writeable  # verified data cannot be altered in place


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_file_names_declared_and_actual_size(tmp_path, images, suffix):
    raw = idx_bytes(2051, images)
    path = write(tmp_path / f"t10k-images-idx3-ubyte{suffix}", raw[:-100])
    with pytest.raises(CorruptFileError) as err:
        parse_idx(read_idx_bytes(path), magic=2051, source=path)
    message = str(err.value)
    assert path.name in message
    assert "truncated" in message
    assert f"{len(raw)} bytes in all" in message
    assert f"holds {len(raw) - 100} bytes" in message


def test_too_long_file_is_rejected(tmp_path, images):
    path = write(tmp_path / "x", idx_bytes(2051, images) + b"\0")
    with pytest.raises(CorruptFileError, match="is too long"):
        parse_idx(read_idx_bytes(path), magic=2051, source=path)


def test_file_shorter_than_its_header(tmp_path):
    with pytest.raises(CorruptFileError, match=r"truncated: its header needs 16 bytes.* 10$"):
        parse_idx(idx_bytes(2051, np.zeros((1, 1, 1)))[:10], magic=2051, source="x")
    with pytest.raises(CorruptFileError, match="truncated: 2 bytes"):
        parse_idx(b"\0\0", magic=2051, source="x")


def test_bad_magic_names_expected_and_found(tmp_path):
    labels = np.arange(5, dtype=np.uint8)
    path = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(2049, labels))
    with pytest.raises(CorruptFileError) as err:
        parse_idx(read_idx_bytes(path), magic=2051, source=path)
    assert path.name in str(err.value)
    assert "expected 2051, found 2049" in str(err.value)


def test_cut_gzip_stream_is_truncated(tmp_path, images):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(2051, images))[:-20])
    with pytest.raises(CorruptFileError, match=r"x\.gz is truncated: its gzip stream ends early"):
        read_idx_bytes(path)


def test_raw_bytes_named_gz_are_not_gzip(tmp_path, images):
    path = tmp_path / "x.gz"
    path.write_bytes(idx_bytes(2051, images))
    with pytest.raises(CorruptFileError, match=r"x\.gz is not a valid gzip file"):
        read_idx_bytes(path)


def test_checksum_mismatch_gives_both_digests():
    raw = idx_bytes(2049, np.arange(10, dtype=np.uint8))
    with pytest.raises(CorruptFileError) as err:
        verify_idx("t10k-labels-idx1-ubyte", raw, source="t10k-labels-idx1-ubyte.gz")
    message = str(err.value)
    assert message.startswith("t10k-labels-idx1-ubyte.gz fails its checksum")
    assert hashlib.sha256(raw).hexdigest() in message
    assert idx_module.SHA256["t10k-labels-idx1-ubyte"] in message


def write_tiny_mnist(directory, monkeypatch, counts=(4, 4, 2, 2)):
    """Four tiny files with the MNIST names whose digests stand in for the real ones."""
    rng = np.random.default_rng(1)
    for (role, name), n in zip(FILES.items(), counts, strict=True):
        if "images" in role:
            raw = idx_bytes(2051, rng.integers(0, 256, size=(n, 28, 28)))
        else:
            raw = idx_bytes(2049, rng.integers(0, 10, size=n))
        write(directory / f"{name}.gz", raw)
        monkeypatch.setitem(idx_module.SHA256, name, hashlib.sha256(raw).hexdigest())


def test_load_tiny_mnist(tmp_path, monkeypatch):
    write_tiny_mnist(tmp_path, monkeypatch)
    mnist = load_mnist(tmp_path, download=False, progress=False)
    assert mnist.train_images.shape == (4, 28, 28)
    assert mnist.test_labels.shape == (2,)
    assert mnist.directory == tmp_path
    assert mnist.digests == {name: idx_module.SHA256[name] for name in FILES.values()}


def test_image_and_label_counts_must_agree(tmp_path, monkeypatch):
    write_tiny_mnist(tmp_path, monkeypatch, counts=(4, 4, 2, 3))
    with pytest.raises(UserError, match=r"test files in .* disagree: 2 images but 3 labels"):
        load_mnist(tmp_path, download=False, progress=False)
    reports = verify_mnist(tmp_path)
    assert [r.ok for r in reports] == [True, True, True, False]
    assert "holds 3 labels but" in reports[3].message


def gzip_bomb(header: bytes, inflated: int) -> bytes:
    """A gzip file of `header` then zeros, about `inflated` bytes in all, about 1/1000 the size.

    Gzip members may follow one another in a file, so one 16 MiB member of zeros is compressed
    once and repeated: quick to build, and the reader sees one long stream.
    """
    block = 16 << 20
    zeros = gzip.compress(bytes(block), compresslevel=9)
    return gzip.compress(header) + zeros * (inflated // block)


@pytest.mark.parametrize(
    ("name", "dims", "message"),
    [
        # a header that tells the truth about its 2 GB of zeros: refused once it is read
        ("train-images-idx3-ubyte.gz", (2000, 1000, 1000), "declares 2000000016 bytes"),
        # a header that claims an MNIST size but inflates on and on: refused past that size
        ("t10k-images-idx3-ubyte.gz", (10000, 28, 28), "is too long: its header declares 7840016"),
        # an unknown name: the largest MNIST size is the cap
        ("bomb.gz", (4000, 1000, 1000), "more than the 47040016 bytes"),
    ],
)
def test_gzip_bomb_is_refused_without_inflating_it(tmp_path, name, dims, message):
    header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path = tmp_path / name
    path.write_bytes(gzip_bomb(header, 2 << 30))  # 2 GiB of zeros in about 2 MB
    assert path.stat().st_size < 3_000_000
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(path.read_bytes(), 16) == header
    _, (sentence,), before, after = measure(
        tmp_path, "from pathlib import Path\nfrom cnnlab.data.idx import read_idx_bytes",
        "read_idx_bytes(Path(sys.argv[1]))", str(path),
    )  # fmt: skip
    print(f"{name}: peak RSS {after} MiB, {before} MiB before reading")
    assert sentence.startswith(str(path))
    assert message in sentence
    assert after - before < 300


def test_raw_file_larger_than_its_mnist_size_is_refused_unread(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    with path.open("wb") as f:
        f.truncate(10_009)  # one byte more than the real file
    with pytest.raises(CorruptFileError, match=r"holds 10009 bytes, more than the 10008 bytes"):
        read_idx_bytes(path)


def test_data_file_that_is_a_directory(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte").mkdir()
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte is a directory, not a file$"):
        read_idx_bytes(tmp_path / "t10k-labels-idx1-ubyte")


def test_data_file_that_is_a_symbolic_link_loop(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.symlink_to(path)
    with pytest.raises(UserError, match=r"idx1-ubyte\.gz is a symbolic-link loop$"):
        read_idx_bytes(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_unreadable_data_file(tmp_path):
    path = write(tmp_path / "t10k-labels-idx1-ubyte.gz", b"x")
    path.chmod(0)
    with pytest.raises(UserError, match=r"idx1-ubyte\.gz cannot be read: permission denied$"):
        read_idx_bytes(path)
