"""`cnnlab data info|verify` through `cnnlab.cli.main`: exit codes and the sentences users see."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import pytest

from cnnlab.cli import main
from cnnlab.data import SHA256

SPLITS = ("train", "val", "test")


@pytest.fixture
def data_copy(tmp_path, mnist_dir):
    """A writable copy of the real MNIST directory."""
    copy = tmp_path / "mnist"
    copy.mkdir()
    for path in mnist_dir.glob("*.gz"):
        shutil.copyfile(path, copy / path.name)
    return copy


def rewrite(directory, name, change, *, gz=True) -> bytes:
    """Replace `name` in `directory` with `change(raw bytes)`, gzip'd or raw; return the bytes."""
    source = directory / f"{name}.gz"
    raw = change(bytearray(gzip.decompress(source.read_bytes())))
    source.unlink()
    if gz:
        source.write_bytes(gzip.compress(raw))
    else:
        (directory / name).write_bytes(raw)
    return bytes(raw)


def flip_byte(offset):
    def change(raw):
        raw[offset] ^= 0x40
        return raw

    return change


def run(capsys, *argv):
    code = main(["data", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_verify_real_data(capsys, mnist_dir):
    code, out, err = run(capsys, "verify", "--data-dir", str(mnist_dir))
    assert code == 0
    assert err == ""
    assert out.count("  ok  ") == 4
    assert SHA256["train-images-idx3-ubyte"] in out
    assert "all 4 files verified" in out


@pytest.mark.parametrize(
    ("name", "offset", "gz"),
    [("t10k-labels-idx1-ubyte", 8 + 1234, True), ("t10k-images-idx3-ubyte", 16 + 400, False)],
)
def test_verify_flipped_byte(capsys, data_copy, name, offset, gz):
    actual = hashlib.sha256(rewrite(data_copy, name, flip_byte(offset), gz=gz)).hexdigest()
    code, out, err = run(capsys, "verify", "--data-dir", str(data_copy))
    assert code == 2
    shown = f"{name}.gz" if gz else name
    assert err.startswith(f"cnnlab: error: {data_copy / shown} fails its checksum")
    assert f"is {actual}, expected {SHA256[name]}" in err
    assert err.count("\n") == 1  # one sentence, one line
    assert out.count("  ok  ") == 3
    assert f"FAIL  {name}" in out


def test_verify_truncated(capsys, data_copy):
    name = "t10k-labels-idx1-ubyte"
    rewrite(data_copy, name, lambda raw: raw[:5000])
    code, _, err = run(capsys, "verify", "--data-dir", str(data_copy))
    assert code == 2
    assert f"{name}.gz is truncated" in err
    assert "10008 bytes in all, but it holds 5000 bytes" in err


def test_verify_a_data_file_that_is_a_directory_says_so_without_a_fresh_copy(capsys, data_copy):
    name = "t10k-labels-idx1-ubyte"
    (data_copy / f"{name}.gz").unlink()
    (data_copy / f"{name}.gz").mkdir()
    code, _, err = run(capsys, "verify", "--data-dir", str(data_copy))
    assert code == 2
    assert f"{name}.gz is a directory, not a file" in err
    assert "fresh copy" not in err  # downloading would not help: the file system is the problem


def test_verify_bad_magic(capsys, data_copy):
    name = "train-labels-idx1-ubyte"
    rewrite(data_copy, name, lambda raw: b"\0\0\x08\x03" + raw[4:], gz=False)
    code, _, err = run(capsys, "verify", "--data-dir", str(data_copy))
    assert code == 2
    assert f"{data_copy / name} has the wrong IDX magic number: expected 2049, found 2051" in err


def test_verify_missing_directory(capsys, tmp_path):
    empty = tmp_path / "nothing-here"
    code, _, err = run(capsys, "verify", "--data-dir", str(empty))
    assert code == 2
    assert f"no MNIST files in {empty}" in err
    assert "set CNNLAB_DATA or pass --data-dir" in err


def test_data_dir_flag_wins_over_the_environment(capsys, monkeypatch, mnist_dir, tmp_path):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty"))
    assert run(capsys, "verify")[0] == 2
    code, out, _ = run(capsys, "verify", "--data-dir", str(mnist_dir))
    assert code == 0
    assert f"verifying MNIST in {mnist_dir}" in out


def test_environment_is_used_without_the_flag(capsys, monkeypatch, mnist_dir):
    monkeypatch.setenv("CNNLAB_DATA", str(mnist_dir))
    code, out, _ = run(capsys, "verify")
    assert code == 0
    assert f"verifying MNIST in {mnist_dir}" in out


def test_info(capsys, mnist_dir):
    code, out, _ = run(capsys, "info", "--data-dir", str(mnist_dir))
    assert code == 0
    assert f"MNIST in {mnist_dir}" in out
    split_rows = [line.split() for line in out.splitlines() if line.split()[0] in SPLITS]
    rows = {row[0]: row[1:] for row in split_rows}
    assert rows["train"][0] == "55000"
    assert rows["val"][0] == "5000"
    assert rows["test"][0] == "10000"
    train_plus_val = [
        int(a) + int(b) for a, b in zip(rows["train"][1:], rows["val"][1:], strict=True)
    ]
    assert train_plus_val == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_info_on_a_corrupt_copy(capsys, data_copy):
    rewrite(data_copy, "t10k-labels-idx1-ubyte", flip_byte(20))
    code, _, err = run(capsys, "info", "--data-dir", str(data_copy))
    assert code == 2
    assert "t10k-labels-idx1-ubyte.gz fails its checksum" in err


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "(default: 5000)" in out
    assert "$CNNLAB_DATA" in out
