"""IDX files: read (gzip or raw), parse into NumPy arrays, and verify against the MNIST digests.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the data. MNIST uses unsigned bytes (type 0x08), so
images have magic 2051 (0x00000803, 3 dimensions) and labels 2049 (0x00000801, 1 dimension).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import math
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

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

# The exact decompressed size of each MNIST file. Nothing is inflated or read past these, so a
# small .gz that inflates to gigabytes (a gzip bomb) is refused after a few reads.
RAW_SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}
MAX_RAW_SIZE = max(RAW_SIZES.values())  # the cap for a file whose name is not an MNIST name
_CHUNK = 1 << 20  # bytes inflated per read

MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049


class CorruptFileError(UserError):
    """A data file that exists but does not hold what it should (truncated, wrong, altered)."""


def expected_magic(name: str) -> int:
    """The IDX magic number of an MNIST file, from its name."""
    return MAGIC_IMAGES if "images" in name else MAGIC_LABELS


def size_cap(path: Path) -> int:
    """The most bytes the IDX file `path` may hold once decompressed."""
    return RAW_SIZES.get(path.name.removesuffix(".gz"), MAX_RAW_SIZE)


def _open_error(path: Path, err: OSError) -> UserError:
    """One sentence for a data file that cannot be opened, saying why."""
    if isinstance(err, IsADirectoryError):
        return UserError(f"{path} is a directory, not a file")
    if isinstance(err, PermissionError):
        return UserError(f"{path} cannot be read: permission denied")
    if err.errno == errno.ELOOP:
        return UserError(f"{path} is a symbolic-link loop")
    if isinstance(err, FileNotFoundError) and path.is_symlink():
        return UserError(f"{path} is a symbolic link to a file that does not exist")
    return UserError(f"cannot read {path}: {err.strerror or err}")


def _declared_size(head: bytes | bytearray) -> int | None:
    """Header plus data bytes an IDX header declares, or None while the header is incomplete."""
    if len(head) < 4:
        return None
    header = 4 + 4 * head[3]
    if len(head) < header:
        return None
    return header + math.prod(int.from_bytes(head[i : i + 4], "big") for i in range(4, header, 4))


def inflate_idx(stream: BinaryIO, *, cap: int, source: str | Path) -> bytes:
    """The decompressed bytes of the gzip `stream`, never more than `cap` of them.

    Inflated in chunks: once the IDX header is out, its declared size lowers the cap, and a
    stream that would inflate past the cap is refused at once, with memory for `cap` bytes only.
    """
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as inflater:
            while chunk := inflater.read(min(_CHUNK, cap + 1 - len(out))):
                out += chunk
                declared = _declared_size(out[:1028])  # the longest header: 255 dimensions
                if declared is not None and declared > cap:
                    raise CorruptFileError(
                        f"{source} is not an MNIST file: its header declares {declared} bytes, "
                        f"more than the {cap} bytes this file may hold"
                    )
                if declared is not None:
                    cap = declared
                if len(out) > cap:
                    what = f"its header declares {declared}" if declared else f"the cap is {cap}"
                    raise CorruptFileError(
                        f"{source} is too long: {what} bytes but it inflates to more"
                    )
    except EOFError as err:
        raise CorruptFileError(f"{source} is truncated: its gzip stream ends early") from err
    except (OSError, zlib.error) as err:
        raise CorruptFileError(f"{source} is not a valid gzip file ({err})") from err
    return bytes(out)


def read_idx_bytes(path: Path, *, cap: int | None = None) -> bytes:
    """The raw IDX bytes of `path`, decompressed when its name ends in `.gz`.

    At most `cap` bytes (default: the file's size in MNIST) are read or inflated.
    """
    cap = size_cap(path) if cap is None else cap
    try:
        with path.open("rb") as f:
            if path.suffix == ".gz":
                return inflate_idx(f, cap=cap, source=path)
            size = path.stat().st_size
            if size > cap:
                raise CorruptFileError(
                    f"{path} is not an MNIST file: it holds {size} bytes, "
                    f"more than the {cap} bytes this file may hold"
                )
            return f.read()
    except OSError as err:
        raise _open_error(path, err) from err


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
    declared = header + math.prod(dims)
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


def verify_idx(
    name: str,
    raw: bytes,
    *,
    source: str | Path,
    raw_sha256: Mapping[str, str | None] | None = None,
    gz_sha256: Mapping[str, str] | None = None,
    gz: bytes | Path | None = None,
) -> tuple[np.ndarray, str]:
    """Parse the file `name` from its raw bytes and check it: (array, SHA-256 of `raw`).

    It passes when the digest of `raw` is `raw_sha256[name]` (default: MNIST's), or when `gz`,
    the compressed bytes it came from (or their file), hash to the published `gz_sha256[name]`.
    """
    raw_sha256 = SHA256 if raw_sha256 is None else raw_sha256
    array = parse_idx(raw, magic=expected_magic(name), source=source)
    digest = hashlib.sha256(raw).hexdigest()
    expected = raw_sha256.get(name)
    if digest == expected:
        return array, digest
    published = (gz_sha256 or {}).get(name)
    if published is not None and gz is not None:
        gz_digest = hashlib.sha256(gz if isinstance(gz, bytes) else gz.read_bytes()).hexdigest()
        if gz_digest == published:
            return array, digest
        if expected is None:
            raise CorruptFileError(
                f"{source} fails its checksum: its SHA-256 is {gz_digest}, expected the "
                f"published {published}"
            )
    if expected is None:
        raise CorruptFileError(
            f"{source} cannot be checked: no digest of this data set's decompressed files is "
            "published, so only the original .gz downloads are accepted"
        )
    raise CorruptFileError(
        f"{source} fails its checksum: the SHA-256 of its decompressed bytes is {digest}, "
        f"expected {expected}"
    )
