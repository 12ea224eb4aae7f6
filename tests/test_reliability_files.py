"""Every bad file gets one sentence and exit 2: corrupt checkpoints, misshapen run JSON, an
evaluation that fails half-way, and an unfinished run evaluated."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.rundir import RunDir


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no message"
    return err[-1]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


CORRUPTIONS = {
    "truncated": _truncated,
    "empty": lambda data: b"",
    "random": lambda data: os.urandom(2048),
    "pickle": lambda data: pickle.dumps({"model": np.zeros(3)}),
}


@pytest.fixture
def digit_png(tmp_path):
    path = tmp_path / "seven.png"
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_corrupt_npz_checkpoint_is_one_sentence(tiny_run, tmp_path, how, digit_png, capsys):
    run = shutil.copytree(tiny_run, tmp_path / "mlp3-scratch")
    checkpoint = run / "checkpoint.npz"
    checkpoint.write_bytes(CORRUPTIONS[how](checkpoint.read_bytes()))
    commands = [
        ["evaluate", str(run)],
        ["train", "--model", "mlp3", "--out", str(tmp_path), "--resume", "--quiet"],
    ]
    if how == "truncated":  # every reader of a checkpoint, once (cam loads the test set)
        commands += [["predict", str(run), str(digit_png)], ["cam", str(run)]]
    for argv in commands:
        assert main(argv) == 2, argv
        err = _error(capsys)
        assert f"the checkpoint {checkpoint} cannot be used" in err, (argv, err)
        assert "allow_pickle" not in err
        assert "weights_only" not in err
    assert not (run / "evaluation.json").exists()


@pytest.mark.parametrize("how", ["empty", "random", "pickle"])
def test_a_corrupt_torch_checkpoint_is_one_sentence(tmp_path, how):
    pytest.importorskip("torch")
    from cnnlab.training.engines import make_engine

    path = tmp_path / "checkpoint.pt"
    path.write_bytes(CORRUPTIONS[how](b""))
    engine = make_engine("mlp3", "torch", device="cpu")
    with pytest.raises(UserError, match="cannot be used") as err:
        engine.load(path)
    assert "weights_only" not in str(err.value)
    assert "pickle" not in str(err.value).lower()


def test_any_bytes_in_a_torch_checkpoint_give_the_one_sentence(tmp_path):
    """Random bytes once made torch's unpickler raise IndexError, which escaped as a traceback;
    a seeded sweep of lengths and first bytes (pickle opcodes, the zip magic) checks that
    whatever it raises becomes the one sentence."""
    pytest.importorskip("torch")
    from cnnlab.training.engines import make_engine

    engine = make_engine("mlp3", "torch", device="cpu")
    rng = np.random.default_rng(0)
    path = tmp_path / "checkpoint.pt"
    for i in range(200):
        head = [b"", b"\x80\x02", b"\x80\x04", b"PK\x03\x04", b"\x8a\x0a"][i % 5]
        path.write_bytes(head + rng.bytes(int(rng.integers(1, 4096))))
        with pytest.raises(UserError, match="cannot be used"):
            engine.load(path)


@pytest.mark.parametrize("how", ["empty", "random", "pickle"])
def test_a_corrupt_torch_checkpoint_in_a_run_is_one_sentence_from_the_cli(
    trained_runs, tmp_path, how, digit_png, capsys
):
    run = shutil.copytree(trained_runs["cnn2-torch"], tmp_path / "cnn2-torch")
    checkpoint = run / "checkpoint.pt"
    checkpoint.write_bytes(CORRUPTIONS[how](checkpoint.read_bytes()))
    for argv in (["evaluate", str(run)], ["predict", str(run), str(digit_png)]):
        assert main(argv) == 2, argv
        err = _error(capsys)
        assert f"the checkpoint {checkpoint} cannot be used" in err, (argv, err)
        assert "weights_only" not in err
        assert "allow_pickle" not in err


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ([1, 2], "holds a list, not a JSON object"),
        ({"engine": "scratch"}, "has no 'model' field"),
        ({"model": "resnet", "engine": "scratch"}, "unknown model 'resnet' in its 'model' field"),
        ({"model": "mlp3", "engine": "jax"}, "unknown engine 'jax'"),
        ({"model": "mlp3", "engine": "scratch", "lr": "fast"}, "a string in its 'lr' field"),
    ],
)
def test_a_misshapen_config_names_the_file_and_field(tiny_run, tmp_path, config, said, capsys):
    run = shutil.copytree(tiny_run, tmp_path / "r")
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=said):
        RunDir(run).config()
    assert main(["report", str(run), "-o", str(tmp_path / "report.html")]) == 2
    err = _error(capsys)
    assert str(run / "config.json") in err


def test_a_misshapen_evaluation_names_the_file_and_field(tiny_run, tmp_path, capsys):
    run = shutil.copytree(tiny_run, tmp_path / "r")
    (run / "evaluation.json").write_text('{"accuracy": "high", "confusion_matrix": []}')
    assert main(["report", str(run), "-o", str(tmp_path / "report.html")]) == 2
    err = _error(capsys)
    assert "evaluation.json has a string in its 'accuracy' field" in err
    assert not (tmp_path / "report.html").exists()


def test_a_failed_evaluation_leaves_the_previous_files(tiny_run, tmp_path, monkeypatch, capsys):
    from cnnlab.viz import grids

    run = shutil.copytree(tiny_run, tmp_path / "r")
    (run / "evaluation.json").write_text('{"accuracy": 0.5}')

    def broken(*args, **kwargs):
        raise UserError("the pictures could not be drawn")

    monkeypatch.setattr(grids, "render_worst_errors", broken)
    assert main(["evaluate", str(run), "--quiet"]) == 2
    assert (run / "evaluation.json").read_text() == '{"accuracy": 0.5}'
    assert not (run / "probabilities.npy").exists()
    assert not (run / "confusion_matrix.csv").exists()


def test_evaluating_an_unfinished_run_warns_with_the_epochs_done(tiny_run, tmp_path, capsys):
    run = shutil.copytree(tiny_run, tmp_path / "r")
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps(status | {"complete": False, "epochs": 3}))
    assert main(["evaluate", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err
    assert "unfinished (1 of 3 epochs done)" in err
    assert (run / "evaluation.json").exists()
