"""Download a named set's files (MNIST by default) from its mirrors (urllib only), verified.

Each file is fetched into memory (the largest .gz is under 27 MB; a body over `MAX_BODY` is
refused), decompressed (never past the file's MNIST size) and verified,
and only then written atomically as `<directory>/<name>.gz`. A file that fails verification is
never written; the next mirror is tried instead.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from cnnlab import __version__
from cnnlab.data.datasets import MNIST, IdxSet
from cnnlab.data.idx import RAW_SIZES, CorruptFileError, inflate_idx, verify_idx
from cnnlab.errors import UserError
from cnnlab.fileio import write_bytes

MIRRORS: tuple[str, ...] = MNIST.mirrors
MIRROR_ENV = MNIST.mirror_env
TIMEOUT_S = 30.0  # per connection attempt and per read, not for the whole file
_CHUNK = 1 << 16
# bytes; over twice the largest .gz (Fashion-MNIST's training images, 26.4 MB), so no mirror
# floods us
MAX_BODY = 64 * 1024 * 1024


class BodyTooLargeError(UserError):
    """A server that sends (or announces) more bytes than any MNIST file needs."""


def mirror_list(mirrors: Sequence[str] | None = None, dataset: IdxSet = MNIST) -> list[str]:
    """Base URLs to try, in order: `mirrors` if given, else the set's mirror variable
    ($CNNLAB_MNIST_MIRROR, $CNNLAB_FASHION_MNIST_MIRROR, ...), else its public mirrors.

    A mirror that is set replaces the public ones rather than adding to them, so a test or an
    offline site never reaches the internet by surprise.
    """
    if mirrors is None:
        env = os.environ.get(dataset.mirror_env, "").strip()
        mirrors = [env] if env else list(dataset.mirrors)
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def _content_length(response: http.client.HTTPResponse) -> int | None:
    try:
        return int(response.headers.get("Content-Length") or 0) or None
    except ValueError:
        return None  # a malformed header: count the bytes as they come instead


def fetch(
    url: str, *, timeout: float = TIMEOUT_S, progress: bool = True, max_bytes: int | None = None
) -> bytes:
    """The body of `url`, with a progress bar on stderr when `progress` and stderr is a tty.

    Raises BodyTooLargeError as soon as the body is announced or found to pass `max_bytes`
    (default `MAX_BODY`).
    """
    max_bytes = MAX_BODY if max_bytes is None else max_bytes
    request = urllib.request.Request(url, headers={"User-Agent": f"cnnlab/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = _content_length(response)
        if total is not None and total > max_bytes:
            raise BodyTooLargeError(
                f"the server announces {total} bytes, more than the {max_bytes} an MNIST file needs"
            )
        received = 0
        show = progress and sys.stderr.isatty()
        chunks = []
        name = url.rsplit("/", 1)[-1]
        with tqdm(
            total=total, unit="B", unit_scale=True, desc=name, disable=not show, leave=False
        ) as bar:
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise BodyTooLargeError(
                        f"the server sent more than {max_bytes} bytes, "
                        "more than an MNIST file needs"
                    )
                chunks.append(chunk)
                bar.update(len(chunk))
    data = b"".join(chunks)
    if total is not None and len(data) != total:
        # http.client returns a short body without complaint when the server hangs up early.
        raise ConnectionError(f"connection closed after {len(data)} of {total} bytes")
    return data


def _failure_reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return str(err) or type(err).__name__


def download_file(
    name: str,
    directory: Path,
    mirrors: list[str],
    *,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
    dataset: IdxSet = MNIST,
) -> Path:
    """Fetch `<name>.gz` from the first mirror that serves a verified copy; return its path.

    On success the mirror that worked moves to the front of `mirrors`, so later files try it
    first. A raw `<name>` left beside it is removed: it would shadow the fresh .gz.
    """
    path = directory / f"{name}.gz"
    failures = []
    for base in list(mirrors):
        url = base + path.name
        try:
            data = fetch(url, timeout=timeout, progress=progress)
            source = f"{path.name} from {url}"
            raw = inflate_idx(io.BytesIO(data), cap=RAW_SIZES[name], source=source)
            verify_idx(
                name,
                raw,
                source=source,
                raw_sha256=dataset.raw_sha256,
                gz_sha256=dataset.gz_sha256,
                gz=data,
            )
        except urllib.error.HTTPError as err:
            err.close()  # it holds the error response open
            failures.append(f"{url}: {_failure_reason(err)}")
        except (OSError, EOFError, zlib.error, http.client.HTTPException, ValueError) as err:
            failures.append(f"{url}: {_failure_reason(err)}")
        except BodyTooLargeError as err:
            failures.append(f"{url}: {err}")
        except CorruptFileError as err:
            failures.append(str(err))
        else:
            try:
                write_bytes(path, data)
                with contextlib.suppress(FileNotFoundError):
                    (directory / name).unlink()
            except OSError as err:
                raise UserError(f"cannot write {path}: {err.strerror or err}") from err
            mirrors.remove(base)
            mirrors.insert(0, base)
            return path
    raise UserError(
        f"could not download {path.name} into {directory} ({'; '.join(failures)}); connect to "
        f"the network, set {dataset.mirror_env} to a reachable mirror, or set "
        f"{dataset.data_env} (or pass --data-dir) to a directory holding the four "
        f"{dataset.title} files"
    )


def download_mnist(
    directory: str | os.PathLike,
    names: Sequence[str],
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
    dataset: IdxSet = MNIST,
) -> list[Path]:
    """Download the files `names` of `dataset` (raw names, e.g. "t10k-labels-idx1-ubyte")."""
    directory = Path(directory)
    order = mirror_list(mirrors, dataset)
    return [
        download_file(name, directory, order, progress=progress, timeout=timeout, dataset=dataset)
        for name in names
    ]
