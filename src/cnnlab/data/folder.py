"""A folder of your own pictures as a data set: `--dataset PATH` (see `folder_scan` for the
layouts, `folder_decode` for size and colour).

The decoded set is cached in the user cache, never beside the pictures (nothing is written
where the user did not ask): $XDG_CACHE_HOME/cnnlab/folders/<hash of the folder's resolved
path>/, with a manifest of every file's name, size and modification time (key.json holds its
SHA-256 and that of the decoded pixels). A second load whose
listing matches the manifest reads one .npz and starts at once; a changed folder is decoded
again. Without a test folder, a stratified test split is drawn with a fixed seed (every run on
the folder is tested on the same pictures), `test_fraction` of each class.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data import folder_decode
from cnnlab.data.folder_scan import FolderListing, list_folder
from cnnlab.data.mnist import Mnist
from cnnlab.errors import UserError
from cnnlab.fileio import write_bytes, write_json

TEST_SPLIT_SEED = 0
CACHE_VERSION = 1


@dataclass(frozen=True)
class FolderSet:
    """What `IdxSet` says about a named set, for a folder: `name` is its resolved path."""

    name: str
    title: str
    class_names: tuple[str, ...]
    stats: None = None  # normalised with its training split's statistics


def cache_dir(root: Path) -> Path:
    """$XDG_CACHE_HOME/cnnlab/folders/<20 hex digits of the SHA-256 of the resolved path>."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    key = hashlib.sha256(str(root).encode()).hexdigest()[:20]
    return Path(base) / "cnnlab" / "folders" / key


def test_split(labels: np.ndarray, fraction: float, names, root: Path) -> np.ndarray:
    """A bool mask of the test pictures: round(fraction x count) of each class, at least one,
    chosen with a fixed seed; one sentence when a class cannot give a test and a training one."""
    is_test = np.zeros(len(labels), bool)
    rng = np.random.default_rng(TEST_SPLIT_SEED)
    for label, name in enumerate(names):
        members = np.flatnonzero(labels == label)
        take = round(fraction * len(members))
        if take < 1 or take >= len(members):
            raise UserError(
                f"the class {name!r} in {root} has {len(members)} picture(s): too few for both a "
                f"training and a test picture at --test-fraction {fraction}; add pictures, "
                "change --test-fraction, or give train/ and test/ folders"
            )
        is_test[rng.choice(members, take, replace=False)] = True
    return is_test


def _decode(listing: FolderListing, image_size, channels) -> dict[str, np.ndarray]:
    pictures = folder_decode.open_all(
        listing.root,
        [f.relpath for f in listing.files],
        folder_decode.workers_for(len(listing.files)),
    )
    size = image_size or folder_decode.default_size(pictures)
    channels = channels or folder_decode.default_channels(pictures)
    images = folder_decode.to_array(pictures, size, channels)
    labels = np.array([f.label for f in listing.files], np.uint8)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    return {"images": images, "labels": labels, "digest": digest}


def _manifest_digest(wanted: dict) -> str:
    return hashlib.sha256(json.dumps(wanted, separators=(",", ":")).encode()).hexdigest()


def _read_cache(directory: Path, wanted: dict) -> dict | None:
    """The cached arrays when the cache describes exactly `wanted`, else None. The small
    key.json holds the manifest's digest, so a hit never parses the whole manifest."""
    try:
        key = json.loads((directory / "key.json").read_text())
        if key["manifest"] != _manifest_digest(wanted):
            return None
        with np.load(directory / "pictures.npz", allow_pickle=False) as arrays:
            found = {name: arrays[name] for name in ("images", "labels")}
        return found | {"digest": key["pictures"]}
    except (OSError, ValueError, KeyError, TypeError):  # absent, half-written, damaged
        return None


def _write_cache(directory: Path, wanted: dict, arrays: dict) -> None:
    """Best effort: a cache that cannot be written costs time next run, not this one."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "key.json").unlink(missing_ok=True)  # the arrays change under it
        buffer = io.BytesIO()
        np.savez(buffer, images=arrays["images"], labels=arrays["labels"])
        write_bytes(directory / "pictures.npz", buffer.getvalue())
        write_json(directory / "manifest.json", wanted)  # for a reader: what was decoded
        key = {"manifest": _manifest_digest(wanted), "pictures": arrays["digest"]}
        write_json(directory / "key.json", key)  # last: it vouches for the arrays
    except (OSError, UserError):
        pass


def load_folder(
    path: str | os.PathLike,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    test_fraction: float = 0.2,
) -> Mnist:
    """The folder data set at `path`: train and test arrays, class names, a content digest."""
    folder_decode.check_options(image_size, channels)
    if not 0 < test_fraction < 1:
        raise UserError(f"--test-fraction must be above 0 and below 1, not {test_fraction}")
    listing = list_folder(path)
    wanted = {
        "version": CACHE_VERSION,
        "root": str(listing.root),
        "options": {"image_size": image_size, "channels": channels},
        "class_names": list(listing.class_names),
        "files": listing.manifest(),
    }
    directory = cache_dir(listing.root)
    arrays = _read_cache(directory, wanted)
    if arrays is None:
        arrays = _decode(listing, image_size, channels)
        _write_cache(directory, wanted, arrays)
    images, labels = arrays["images"], arrays["labels"]
    if listing.has_test_folder:
        is_test = np.array([f.split == "test" for f in listing.files])
    else:
        is_test = test_split(labels, test_fraction, listing.class_names, listing.root)
    digest = arrays["digest"]  # of the decoded pixels and labels
    dataset = FolderSet(str(listing.root), listing.root.name, listing.class_names)
    return Mnist(
        train_images=images[~is_test],
        train_labels=labels[~is_test],
        test_images=images[is_test],
        test_labels=labels[is_test],
        directory=listing.root,
        digests={"pictures": digest, "test_split": _split_digest(is_test)},
        dataset=dataset,  # type: ignore[arg-type]  # an IdxSet look-alike
    )


def _split_digest(is_test: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(is_test).tobytes()).hexdigest()
