"""Property tests: whatever bytes the IDX reader is given, it answers with a UserError or data."""

from __future__ import annotations

import contextlib
import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.data.idx import parse_idx, read_idx_bytes, verify_idx
from cnnlab.errors import UserError

LABELS = "t10k-labels-idx1-ubyte"
QUICK = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the directory is reused
)


@pytest.fixture(scope="module")
def real_labels(mnist_dir) -> tuple[bytes, bytes]:
    """(gz, raw) bytes of the real test labels: small, and a real header to mutate."""
    gz = (mnist_dir / f"{LABELS}.gz").read_bytes()
    return gz, gzip.decompress(gz)


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """`data` with some bytes flipped, then perhaps cut short or extended."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        # mostly near the start, where the headers are
        at = draw(st.integers(0, min(len(out) - 1, draw(st.sampled_from([20, 200, len(out)])))))
        out[at] ^= draw(st.integers(1, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(out))))
    if cut is not None:
        out = out[:cut]
    return bytes(out) + draw(st.binary(max_size=draw(st.sampled_from([0, 8, 64]))))


def _read_and_verify(path) -> None:
    # UserError (CorruptFileError included) is the one answer wanted for bad input; any other
    # exception fails the test.
    with contextlib.suppress(UserError):
        verify_idx(LABELS, read_idx_bytes(path), source=path)


@QUICK
@given(raw=st.binary(max_size=200), magic=st.sampled_from([2049, 2051]))
def test_parse_idx_on_random_bytes(raw, magic):
    try:
        array = parse_idx(raw, magic=magic, source="x")
    except UserError:
        return
    assert array.nbytes == len(raw) - 4 - 4 * array.ndim


@QUICK
@given(raw=st.binary(max_size=300), suffix=st.sampled_from(["", ".gz"]))
def test_read_idx_bytes_on_random_files(tmp_path, raw, suffix):
    path = tmp_path / f"{LABELS}{suffix}"
    path.write_bytes(raw)
    _read_and_verify(path)


@QUICK
@given(data=st.data())
def test_mutated_real_gzip_file(tmp_path, real_labels, data):
    path = tmp_path / f"{LABELS}.gz"
    path.write_bytes(data.draw(mutated(real_labels[0])))
    _read_and_verify(path)


@QUICK
@given(data=st.data())
def test_mutated_real_raw_file(tmp_path, real_labels, data):
    path = tmp_path / LABELS
    raw = data.draw(mutated(real_labels[1]))
    path.write_bytes(raw)
    _read_and_verify(path)
    with contextlib.suppress(UserError):
        parse_idx(raw, magic=2049, source=path)  # and parsed directly, whatever its size


@QUICK
@given(data=st.data())
def test_recompressed_mutated_raw_file(tmp_path, real_labels, data):
    # A valid gzip stream around a damaged IDX file: the inflater's cap meets wrong headers.
    path = tmp_path / f"{LABELS}.gz"
    path.write_bytes(gzip.compress(data.draw(mutated(real_labels[1])), compresslevel=1))
    _read_and_verify(path)
