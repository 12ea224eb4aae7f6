"""Property tests: whatever bytes the IDX reader is given, it answers with a UserError or data."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.data.idx import parse_idx, read_idx_bytes, verify_idx
from cnnlab.errors import UserError
from fuzzing import QUICK, mutated, outcome

LABELS = "t10k-labels-idx1-ubyte"
ANSWERS = ("accepted", "refused")


@pytest.fixture(scope="module")
def real_labels(mnist_dir) -> tuple[bytes, bytes]:
    """(gz, raw) bytes of the real test labels: small, and a real header to mutate."""
    gz = (mnist_dir / f"{LABELS}.gz").read_bytes()
    return gz, gzip.decompress(gz)


def _read_and_verify(path) -> str:
    # UserError (CorruptFileError included) is the one answer wanted for bad input; any other
    # exception fails the test.
    return outcome(lambda: verify_idx(LABELS, read_idx_bytes(path), source=path))


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
    assert _read_and_verify(path) in ANSWERS


@QUICK
@given(data=st.data())
def test_mutated_real_gzip_file(tmp_path, real_labels, data):
    path = tmp_path / f"{LABELS}.gz"
    path.write_bytes(data.draw(mutated(real_labels[0])))
    assert _read_and_verify(path) in ANSWERS


@QUICK
@given(data=st.data())
def test_mutated_real_raw_file(tmp_path, real_labels, data):
    path = tmp_path / LABELS
    raw = data.draw(mutated(real_labels[1]))
    path.write_bytes(raw)
    assert _read_and_verify(path) in ANSWERS
    assert outcome(lambda: parse_idx(raw, magic=2049, source=path)) in ANSWERS  # parsed directly


@QUICK
@given(data=st.data())
def test_recompressed_mutated_raw_file(tmp_path, real_labels, data):
    # A valid gzip stream around a damaged IDX file: the inflater's cap meets wrong headers.
    path = tmp_path / f"{LABELS}.gz"
    path.write_bytes(gzip.compress(data.draw(mutated(real_labels[1])), compresslevel=1))
    assert _read_and_verify(path) in ANSWERS
