"""MNIST and its look-alikes: where the files are, verifying them, loading them, the split.

Every function takes the data set (`dataset`, default MNIST; see `datasets.py`). Where its four
files are looked for, in order: the `data_dir` argument (`--data-dir`), the set's environment
variable (CNNLAB_DATA for MNIST, CNNLAB_FASHION_MNIST_DATA, CNNLAB_KMNIST_DATA), the user cache
($XDG_CACHE_HOME or ~/.cache, then cnnlab/<name>). Only the cache is ever written to: missing
or corrupt files there are downloaded (once) when downloads are allowed; a directory the user
named is read, never changed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.datasets import MNIST, IdxSet, idx_set
from cnnlab.data.download import download_mnist
from cnnlab.data.idx import FILES, CorruptFileError, read_idx_bytes, verify_idx
from cnnlab.errors import UserError

MEAN = 0.1307  # training-set pixel mean after dividing by 255
STD = 0.3081  # and its standard deviation
DATA_ENV = MNIST.data_env


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == is not a bool
class Mnist:
    """The four MNIST arrays, read-only, and where they came from."""

    train_images: np.ndarray  # (60000, 28, 28) uint8
    train_labels: np.ndarray  # (60000,) uint8
    test_images: np.ndarray  # (10000, 28, 28) uint8
    test_labels: np.ndarray  # (10000,) uint8
    directory: Path  # where the files were read from
    digests: dict[str, str]  # raw file name -> SHA-256 actually verified
    dataset: IdxSet = MNIST  # which set these are: its name, title and class names


@dataclass(frozen=True)
class FileReport:
    """The verdict on one MNIST file (for `cnnlab data verify` and `cnnlab data info`)."""

    name: str  # raw file name, e.g. "train-images-idx3-ubyte"
    path: Path | None  # the file that was checked (.gz or raw); None when missing
    ok: bool
    message: str  # "ok", or one sentence saying what is wrong
    sha256: str | None = None  # digest of the decompressed bytes, when they verified
    count: int | None = None  # number of images or labels, when they verified
    # what is wrong is the file's content (a fresh copy fixes it), not where or how it is stored
    corrupt: bool = False


def as_idx_set(dataset: IdxSet | str) -> IdxSet:
    """`dataset` as an IdxSet: a name is looked up (a UserError names the known ones)."""
    return dataset if isinstance(dataset, IdxSet) else idx_set(dataset)


def cache_dir(dataset: IdxSet | str = MNIST) -> Path:
    """The user cache of a set: $XDG_CACHE_HOME/cnnlab/<name>, else ~/.cache/cnnlab/<name>."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnnlab" / as_idx_set(dataset).name


def _resolve(data_dir: str | os.PathLike | None, dataset: IdxSet) -> tuple[Path, str]:
    """(directory, where that choice came from) for messages and for the may-download rule."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(dataset.data_env)
    if env:
        return Path(env).expanduser(), dataset.data_env
    return cache_dir(dataset), "cache"


def resolve_data_dir(
    data_dir: str | os.PathLike | None = None, dataset: IdxSet | str = MNIST
) -> Path:
    """The directory a set is read from: `data_dir`, else its variable, else the user cache."""
    return _resolve(data_dir, as_idx_set(dataset))[0]


def check_directory(directory: Path) -> None:
    """Raise UserError when `directory` exists but cannot hold the files: a file, a symbolic-link
    loop, a directory that cannot be read. A directory that does not exist passes (the files are
    then missing, and the cache may be downloaded into).
    """
    try:
        mode = directory.stat().st_mode
        if stat.S_ISDIR(mode):
            os.listdir(directory)
    except FileNotFoundError:
        return
    except PermissionError:
        raise UserError(f"{directory} cannot be read: permission denied") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UserError(f"{directory} is a symbolic-link loop") from None
        if err.errno == errno.ENOTDIR:  # a file stands where a parent directory should be
            blocker = next((p for p in reversed(directory.parents) if p.is_file()), directory)
            raise UserError(f"{blocker} is a file, not a directory") from None
        raise UserError(f"cannot read {directory}: {err.strerror or err}") from None
    if not stat.S_ISDIR(mode):
        raise UserError(f"{directory} is a file, not a directory")


def find_file(directory: Path, name: str) -> Path | None:
    """The raw file `name` in `directory`, else `name.gz`, else None (raw wins: no inflating).

    Anything standing under either name counts, a directory or a broken link too, so that
    reading it says what is wrong with it rather than calling it missing.
    """
    for candidate in (directory / name, directory / f"{name}.gz"):
        if os.path.lexists(candidate):
            return candidate
    return None


def _dataset_option(dataset: IdxSet) -> str:
    return "" if dataset is MNIST else f" --dataset {dataset.name}"


def _missing_message(directory: Path, source: str, name: str, dataset: IdxSet) -> str:
    env = dataset.data_env
    where = {"--data-dir": "given by --data-dir", env: f"from ${env}"}.get(
        source, "the cache; downloads are off"
    )
    fix = _dataset_option(dataset) + (f" --data-dir {directory}" if source == "--data-dir" else "")
    return (
        f"{dataset.title} file {name}.gz (or {name}) is missing from {directory} ({where}); set "
        f"{env} or pass --data-dir to a directory holding the four {dataset.title} files, or "
        f"connect to the network and run `cnnlab data download{fix}`"
    )


def read_mnist_file(
    directory: Path, name: str, dataset: IdxSet = MNIST
) -> tuple[np.ndarray, str, Path]:
    """Read and verify one file of `dataset`: (array, sha256 of its raw bytes, path).

    Raises FileNotFoundError when it is absent, CorruptFileError when it fails verification.
    """
    path = find_file(directory, name)
    if path is None:
        raise FileNotFoundError(directory / name)
    array, digest = verify_idx(
        name,
        read_idx_bytes(path),
        source=path,
        raw_sha256=dataset.raw_sha256,
        gz_sha256=dataset.gz_sha256,
        gz=path if path.suffix == ".gz" else None,
    )
    return array, digest, path


def verify_mnist(directory: str | os.PathLike, dataset: IdxSet | str = MNIST) -> list[FileReport]:
    """Check every file of `dataset` in `directory`: one report per file, in FILES order."""
    directory = Path(directory)
    dataset = as_idx_set(dataset)
    check_directory(directory)
    reports = {}
    for role, name in FILES.items():
        try:
            array, digest, path = read_mnist_file(directory, name, dataset)
        except FileNotFoundError:
            message = f"{name}.gz (or {name}) is missing from {directory}"
            reports[role] = FileReport(name, None, False, message)
        except UserError as err:
            corrupt = isinstance(err, CorruptFileError)
            path = find_file(directory, name)
            reports[role] = FileReport(name, path, False, str(err), corrupt=corrupt)
        else:
            reports[role] = FileReport(name, path, True, "ok", digest, len(array))
    for split in ("train", "test"):
        images, labels = reports[f"{split}_images"], reports[f"{split}_labels"]
        if images.ok and labels.ok and images.count != labels.count:
            message = (
                f"{labels.path} holds {labels.count} labels but {images.path} holds "
                f"{images.count} images; the two files do not belong together"
            )
            reports[f"{split}_labels"] = FileReport(
                labels.name, labels.path, False, message, corrupt=True
            )
    return list(reports.values())


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    mirrors: Sequence[str] | None = None,
    dataset: IdxSet | str = MNIST,
) -> Mnist:
    """Load and verify the four files of `dataset` (the module docstring says where they are).

    Every file is verified on every load (magic, size, SHA-256). In the cache, a missing or
    corrupt file is downloaded once when `download` is set; anywhere else it is an error.
    """
    dataset = as_idx_set(dataset)
    directory, source = _resolve(data_dir, dataset)
    check_directory(directory)
    may_download = download and source == "cache"
    fetch = dict(mirrors=mirrors, progress=progress, dataset=dataset)
    if may_download:
        missing = [name for name in FILES.values() if find_file(directory, name) is None]
        if missing:  # in one call, so a mirror that failed once is not retried for each file
            download_mnist(directory, missing, **fetch)
    arrays, digests = {}, {}
    for role, name in FILES.items():
        try:
            arrays[role], digests[name], _ = read_mnist_file(directory, name, dataset)
        except FileNotFoundError:
            raise UserError(_missing_message(directory, source, name, dataset)) from None
        except CorruptFileError as err:
            if not may_download:
                fix = _dataset_option(dataset)
                fix += "" if source == "cache" else f" --data-dir {directory}"
                raise UserError(
                    f"{err}; replace it with a fresh copy, e.g. `cnnlab data download{fix}`"
                ) from None
            download_mnist(directory, [name], **fetch)
            arrays[role], digests[name], _ = read_mnist_file(directory, name, dataset)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise UserError(
                f"the {dataset.title} {split} files in {directory} disagree: {n_images} images "
                f"but {n_labels} labels; replace them with a fresh copy"
            )
    return Mnist(**arrays, directory=directory, digests=digests, dataset=dataset)


def split_train_val(
    labels: np.ndarray, val_size: int = 5000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of `labels` indices: (train_idx, val_idx), sorted int64.

    Each class gives the validation set its share of `val_size` (largest-remainder rounding,
    so the total is exact); which examples go is random, fixed by `seed`.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if not 0 <= val_size <= n:
        raise ValueError(f"val_size must be in [0, {n}], got {val_size}")
    _, class_of, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = val_size * counts / n
    take = np.floor(quota).astype(np.int64)
    # The classes with the largest fractional parts get the images left over after flooring.
    leftover = val_size - int(take.sum())
    take[np.argsort(-(quota - take), kind="stable")[:leftover]] += 1

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    grouped = perm[np.argsort(class_of[perm], kind="stable")]  # by class, shuffled within
    starts = np.cumsum(counts) - counts
    rank = np.arange(n) - np.repeat(starts, counts)  # position within its class
    is_val = rank < np.repeat(take, counts)
    return np.sort(grouped[~is_val]).astype(np.int64), np.sort(grouped[is_val]).astype(np.int64)


def normalize(images: np.ndarray, mean: float = MEAN, std: float = STD) -> np.ndarray:
    """uint8 images (N, H, W) or (N, 1, H, W) -> float32 (N, 1, H, W), (x/255 - mean)/std.

    `mean` and `std` are those of the run's training pixels (MNIST's by default)."""
    if images.dtype != np.uint8:
        raise TypeError(f"normalize expects uint8 images, got {images.dtype}")
    x = images.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]  # (N, 28, 28) -> (N, 1, 28, 28)
    x /= 255.0
    x -= mean
    x /= std
    return x
