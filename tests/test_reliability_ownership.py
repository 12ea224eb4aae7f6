"""Nothing already written is lost: ownership marker, --force, --resume, failed trainings."""

from __future__ import annotations

import json
import shutil

import pytest

from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.rundir import RunDir
from cnnlab.training.config import TrainConfig
from cnnlab.training.trainer import _resumed

TINY = ["--model", "mlp3", "--epochs", "1", "--train-size", "640", "--val-size", "200"]
TINY += ["--threads", "1", "--quiet"]


def _cnnlab_run(path, **extra):
    """A hand-made cnnlab run directory: marked config, a checkpoint's bytes, a status."""
    path.mkdir(parents=True)
    config = {"format": "cnnlab-run", "format_version": 1, "model": "mlp3", "engine": "scratch"}
    config |= {"created": "2025", "epochs": 2, "lr": 0.001, "batch_size": 64} | extra
    (path / "config.json").write_text(json.dumps(config))
    (path / "checkpoint.npz").write_bytes(b"weights")
    (path / "status.json").write_text('{"complete": false, "epochs_done": 1}')
    return RunDir(path)


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one sentence, no traceback
    return err


def test_train_refuses_a_directory_cnnlab_did_not_write(tmp_path, mnist_dir, capsys):
    mine = tmp_path / "mlp3-scratch"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    argv = ["train", *TINY, "--out", str(tmp_path), "--data-dir", str(mnist_dir)]
    for extra in ([], ["--force"]):
        assert main(argv + extra) == 2
        assert "not a cnnlab run directory" in _error(capsys)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_train_refuses_a_checkpoint_without_a_config(tmp_path, capsys):
    run = tmp_path / "mlp3-scratch"
    run.mkdir()
    (run / "checkpoint.npz").write_bytes(b"precious")
    assert main(["train", *TINY, "--out", str(tmp_path), "--force"]) == 2
    assert "holds checkpoint.npz but no config.json" in _error(capsys)
    assert (run / "checkpoint.npz").read_bytes() == b"precious"


def test_force_deletes_only_what_cnnlab_wrote(tmp_path):
    run = _cnnlab_run(tmp_path / "r")
    (run / "notes.txt").write_text("mine")
    (run / "cam").mkdir()
    (run / "cam" / "cam_test0_class7.png").write_bytes(b"png")
    (run / "cam" / "my_drawing.png").write_bytes(b"mine")
    run.clear()
    left = sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*"))
    assert left == ["cam", "cam/my_drawing.png", "notes.txt"]


def test_force_needs_the_marker_and_old_runs_are_recognised(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"model": "mlp3"}')  # not cnnlab's: no created/engine
    with pytest.raises(UserError, match="not a cnnlab run directory"):
        RunDir(foreign).clear()
    assert (foreign / "config.json").exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text('{"model": "mlp3", "engine": "scratch", "created": "x"}')
    assert RunDir(old).is_cnnlabs()  # written before the marker existed: still cnnlab's


def test_resume_without_a_checkpoint_says_so(tmp_path, capsys):
    run = _cnnlab_run(tmp_path / "mlp3-scratch")
    (run / "checkpoint.npz").unlink()
    assert main(["train", *TINY, "--out", str(tmp_path), "--resume"]) == 2
    assert "no checkpoint.npz to continue from" in _error(capsys)
    assert main(["train", *TINY, "--out", str(tmp_path), "--name", "nothing", "--resume"]) == 2
    assert "holds no run to continue" in _error(capsys)
    assert not (tmp_path / "nothing").exists()


def test_resume_refuses_an_option_that_contradicts_the_saved_run(tmp_path, capsys):
    _cnnlab_run(tmp_path / "mlp3-scratch")
    argv = ["train", "--model", "mlp3", "--out", str(tmp_path), "--resume", "--quiet"]
    assert main([*argv, "--lr", "0.1"]) == 2
    err = _error(capsys)
    assert "--lr 0.1 differs from the saved run's 0.001" in err
    assert main([*argv, "--batch-size", "32"]) == 2
    assert "--batch-size 32 differs from the saved run's 64" in _error(capsys)
    assert main([*argv, "--epochs", "1"]) == 2  # fewer epochs than saved: a different schedule
    assert "--epochs 1 differs" in _error(capsys)


def test_resume_takes_options_not_given_from_the_saved_config(tmp_path):
    run = _cnnlab_run(tmp_path / "r", optimizer="sgd")
    cfg = TrainConfig(model="mlp3", out=str(tmp_path), name="r").resolved()  # 6 epochs default
    resumed = _resumed(run, cfg, given={"model"})
    assert (resumed.epochs, resumed.lr, resumed.optimizer) == (2, 0.001, "sgd")
    more = TrainConfig(model="mlp3", epochs=5, out=str(tmp_path), name="r").resolved()
    assert _resumed(run, more, given={"model", "epochs"}).epochs == 5  # more epochs: allowed


def test_a_failed_training_leaves_no_run_directory(tmp_path, capsys):
    empty_data = tmp_path / "no-mnist"
    empty_data.mkdir()
    out = tmp_path / "runs"
    argv = ["train", *TINY, "--out", str(out), "--data-dir", str(empty_data)]
    assert main(argv) == 2
    capsys.readouterr()
    assert not (out / "mlp3-scratch").exists()


def test_a_real_run_carries_the_marker(tiny_run, tmp_path):
    config = json.loads((tiny_run / "config.json").read_text())
    assert (config["format"], config["format_version"]) == ("cnnlab-run", 1)
    copy = shutil.copytree(tiny_run, tmp_path / "copy")
    assert RunDir(copy).is_cnnlabs()
