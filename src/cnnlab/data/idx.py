"""IDX files: read (gzip or raw), parse into NumPy arrays, and verify against the MNIST digests.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the data. MNIST uses unsigned bytes (type 0x08), so
images have magic 2051 (0x00000803, 3 dimensions) and labels 2049 (0x00000801, 1 dimension).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError

# Field of `Mnist` -> raw (decompressed) file name; the public mirrors serve `<name>.gz`.
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of each file's decompressed bytes: the widely published digests of the original files.
# The raw bytes are hashed, not the .gz, because a recompressed .gz holds the same data.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049


class CorruptFileError(UserError):
    """A data file that exists but does not hold what it should (truncated, wrong, altered)."""


def expected_magic(name: str) -> int:
    """The IDX magic number of an MNIST file, from its name."""
    return MAGIC_IMAGES if "images" in name else MAGIC_LABELS


def read_idx_bytes(path: Path) -> bytes:
    """The raw IDX bytes of `path`, decompressed when its name ends in `.gz`."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from err
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except EOFError as err:
        raise CorruptFileError(f"{path} is truncated: its gzip stream ends early") from err
    except (OSError, zlib.error) as err:
        raise CorruptFileError(f"{path} is not a valid gzip file ({err})") from err


def parse_idx(raw: bytes, *, magic: int, source: str | Path) -> np.ndarray:
    """An unsigned-byte IDX file as a read-only uint8 array of its declared shape.

    `magic` is the expected magic number; `source` names the file in error messages.
    """
    if len(raw) < 4:
        raise CorruptFileError(f"{source} is truncated: {len(raw)} bytes, too short for a header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise CorruptFileError(
            f"{source} has the wrong IDX magic number: expected {magic}, found {found}"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(
            f"{source} is truncated: its header needs {header} bytes but it holds {len(raw)}"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    declared = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != declared:
        what = "truncated" if len(raw) < declared else "too long"
        shape = "x".join(map(str, dims))
        raise CorruptFileError(
            f"{source} is {what}: its header declares {shape} bytes of data, "
            f"{declared} bytes in all, but it holds {len(raw)} bytes"
        )
    # frombuffer shares the bytes object's memory, so the array is read-only: nothing can
    # alter the verified data in place.
    return np.frombuffer(raw, dtype=np.uint8, count=declared - header, offset=header).reshape(dims)


def verify_idx(name: str, raw: bytes, *, source: str | Path) -> tuple[np.ndarray, str]:
    """Parse the MNIST file `name` from its raw bytes and check its SHA-256: (array, digest)."""
    array = parse_idx(raw, magic=expected_magic(name), source=source)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[name]:
        raise CorruptFileError(
            f"{source} fails its checksum: the SHA-256 of its decompressed bytes is {digest}, "
            f"expected {SHA256[name]}"
        )
    return array, digest
