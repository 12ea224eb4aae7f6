"""What resuming, reusing and starting a run may and may not do: one list of the settings
that shape a run, finished runs, added epochs, stale evaluations, tampered configs, batches of
one image, and networks too big to allocate."""

from __future__ import annotations

import json
import shutil

import pytest

from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.rundir import RunDir
from cnnlab.training import trainer
from cnnlab.training.config import TrainConfig
from stop_after import StopAfter


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A finished mlp3 run (1 epoch, 640 images, seed 0) to change."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


def _train(run, mnist_dir, *extra):
    argv = ["train", "--out", str(run.parent), "--name", run.name, "--data-dir", str(mnist_dir)]
    return main([*argv, "--quiet", *extra])


def _edit_config(run, **values):
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(config | values))


def test_resuming_a_finished_run_has_nothing_to_do(run_copy, mnist_dir, capsys):
    before = (run_copy / "checkpoint.npz").read_bytes()
    assert _train(run_copy, mnist_dir, "--resume") == 0
    out, err = capsys.readouterr()
    assert "is finished (1 epoch); nothing to do" in out
    assert "--epochs 2" in out
    assert "Traceback" not in err
    assert (run_copy / "checkpoint.npz").read_bytes() == before


def test_more_epochs_continue_a_finished_run_and_make_its_evaluation_stale(run_copy, mnist_dir):
    from cnnlab.analysis.evaluation import evaluate_run

    evaluate_run(run_copy, mnist_dir, quiet=True)
    assert RunDir(run_copy).evaluation() is not None  # of the checkpoint there now
    assert _train(run_copy, mnist_dir, "--resume", "--epochs", "2") == 0
    assert json.loads((run_copy / "config.json").read_text())["epochs"] == 2
    status = json.loads((run_copy / "status.json").read_text())
    assert (status["complete"], status["epochs_done"], status["epochs"]) == (True, 2, 2)
    assert RunDir(run_copy).evaluation() is None  # of epoch 1's checkpoint: never shown
    evaluate_run(run_copy, mnist_dir, quiet=True)
    assert RunDir(run_copy).evaluation()["checkpoint"]["epochs_done"] == 2


def test_ctrl_c_in_an_added_epoch_then_resume_continues(run_copy, mnist_dir, monkeypatch):
    cfg = TrainConfig(out=str(run_copy.parent), name=run_copy.name, data_dir=str(mnist_dir))
    monkeypatch.setattr(trainer, "StopRequest", StopAfter)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(TrainConfig(**vars(cfg) | {"epochs": 2}), resume=True, given={"epochs"})
    monkeypatch.undo()
    assert json.loads((run_copy / "status.json").read_text())["complete"] is False
    trainer.train(cfg, resume=True, quiet=True, given=set())  # as the stop message says
    status = json.loads((run_copy / "status.json").read_text())
    assert (status["complete"], status["epochs_done"]) == (True, 2)
    steps = [r["step"] for r in RunDir(run_copy).records() if r["kind"] == "step"]
    assert steps == list(range(1, 21))  # every step once


def test_an_option_given_with_its_default_value_still_counts(run_copy, mnist_dir, capsys):
    _edit_config(run_copy, seed=1)
    assert _train(run_copy, mnist_dir, "--resume", "--seed", "0") == 2
    err = capsys.readouterr().err
    assert "--seed 0 differs from the saved run's 1" in err


@pytest.mark.parametrize(("key", "value"), [("val_size", 100), ("momentum", 0.5), ("plain", True)])
def test_run_reuses_only_a_run_with_the_same_settings(run_copy, key, value):
    from cnnlab.pipeline import _state

    saved = json.loads((run_copy / "config.json").read_text())
    wanted = TrainConfig.from_dict(saved | {key: value})
    assert _state(TrainConfig.from_dict(saved), RunDir(run_copy)) == "finished"
    with pytest.raises(UserError, match=f"other settings \\({key}\\)"):
        _state(wanted, RunDir(run_copy))


@pytest.mark.parametrize(
    ("key", "value", "sentence"),
    [
        ("seed", -5, "seed -5, which must be a whole number of at least 0"),
        ("lr_schedule", "bogus", 'lr_schedule "bogus", which must be one of none, step, cosine'),
        ("batch_size", 0, "batch_size 0, which must be a whole number of at least 1"),
        ("lr", -1, "lr -1, which must be a finite number above 0"),
    ],
)
def test_a_tampered_config_value_is_one_sentence(run_copy, mnist_dir, capsys, key, value, sentence):
    _edit_config(run_copy, **{key: value})
    for argv in (["evaluate", str(run_copy)], ["report", str(run_copy), "-o", "r.html"]):
        assert main([*argv, "--quiet"] if argv[0] == "evaluate" else argv) == 2
        err = capsys.readouterr().err
        assert sentence in err
        assert "Traceback" not in err
    assert _train(run_copy, mnist_dir, "--resume") == 2
    assert sentence in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["scratch", pytest.param("torch", marks=pytest.mark.torch)])
def test_a_last_batch_of_one_image_is_dropped_when_the_net_has_batchnorm(
    tmp_path, mnist_dir, engine, capsys
):
    argv = ["train", "--arch", "Flatten BatchNorm1d Linear(10)", "--engine", engine]
    argv += ["--batch-size", "27", "--train-size", "649", "--val-size", "200", "--epochs", "2"]
    assert main([*argv, "--out", str(tmp_path), "--data-dir", str(mnist_dir), "--quiet"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    (run,) = tmp_path.iterdir()
    records = RunDir(run).records()
    steps = [r["step"] for r in records if r["kind"] == "step"]
    assert steps == list(range(1, 49))  # 649 = 24 * 27 + 1: 24 batches per epoch
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]


@pytest.mark.parametrize(
    ("arch", "figure"),
    [
        ("Flatten Linear(1000000000) Linear(10)", "795,000,000,010 parameters"),
        ("Conv2d(100000, 3) AdaptiveAvgPool2d(1) Flatten Linear(10)", "16.2 GiB of activations"),
        ("Conv2d(1, 1, padding=5000) Flatten Linear(10)", "1,005,607,852 parameters"),
        ("Conv2d(1, 1, padding=5000) AdaptiveAvgPool2d(1) Flatten Linear(10)", "of activations"),
    ],
)
def test_a_network_too_big_is_refused_before_anything_is_allocated(tmp_path, capsys, arch, figure):
    assert main(["train", "--arch", arch, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert figure in err
    assert "--allow-big" in err
    assert list(tmp_path.iterdir()) == []  # nothing written
