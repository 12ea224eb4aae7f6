"""Every random draw of training is seeded and checkpointed: a run stopped anywhere and resumed
ends bit for bit where an uninterrupted run ends, Dropout included, in both engines."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.training import trainer
from cnnlab.training.config import TrainConfig

DROPOUT = "Flatten Linear(32) ReLU Dropout(0.5) Linear(10)"


class _StopAfter:
    """A StopRequest that asks for a stop after `n` steps, as a Ctrl-C would."""

    def __init__(self, n: int):
        self.n, self.calls = n, 0

    def __call__(self):
        self.calls += 1
        return self.calls == self.n

    def installed(self):
        return contextlib.nullcontext(self)


def _stop_after(monkeypatch, n: int) -> None:
    monkeypatch.setattr(trainer, "StopRequest", lambda: _StopAfter(n))


def _config(out, name, engine, **extra) -> TrainConfig:
    from cnnlab.commands.arch_options import arch_fields

    values = arch_fields(DROPOUT, None) | dict(
        engine=engine, epochs=2,
        train_size=640, val_size=200, out=str(out), name=name, threads=1,
    )  # fmt: skip
    return TrainConfig(**values | extra)


def _weights(run_dir, engine) -> dict[str, np.ndarray]:
    if engine == "scratch":
        with np.load(run_dir / "checkpoint.npz", allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files if k.startswith("model/")}
    import torch

    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    return {k: v.numpy() for k, v in state["model"].items()}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)  # bit for bit


@pytest.fixture(scope="module", params=["scratch", pytest.param("torch", marks=pytest.mark.torch)])
def uninterrupted(request, tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("whole")
    engine = request.param
    run = trainer.train(_config(out, "whole", engine, data_dir=str(mnist_dir)), quiet=True)
    return engine, run


def test_two_identical_trainings_with_dropout_are_identical(uninterrupted, tmp_path, mnist_dir):
    engine, whole = uninterrupted
    again = trainer.train(_config(tmp_path, "again", engine, data_dir=str(mnist_dir)), quiet=True)
    _assert_same(_weights(again, engine), _weights(whole, engine))


@pytest.mark.parametrize("stop_at", [4, 13], ids=["mid-epoch-1", "mid-epoch-2"])
def test_a_resumed_dropout_run_equals_an_uninterrupted_one(
    uninterrupted, tmp_path, mnist_dir, monkeypatch, stop_at
):
    engine, whole = uninterrupted
    cfg = _config(tmp_path, "cut", engine, data_dir=str(mnist_dir))
    _stop_after(monkeypatch, stop_at)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cfg, quiet=True)
    monkeypatch.undo()
    cut = trainer.train(cfg, resume=True, quiet=True, given=set())
    _assert_same(_weights(cut, engine), _weights(whole, engine))


def test_a_resume_on_another_thread_count_is_recorded(tiny_run, tmp_path, mnist_dir):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 2  # one more epoch to train, on 2 threads instead of 1
    (run / "config.json").write_text(json.dumps(config))
    argv = ["train", "--out", str(tmp_path), "--name", "run", "--resume"]
    argv += ["--data-dir", str(mnist_dir)]
    assert main([*argv, "--threads", "2", "--quiet"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["threads"] == 2
    assert saved["thread_changes"] == [{"step": 10, "threads_before": 1, "threads": 2}]


def test_a_resume_without_threads_keeps_the_saved_count(tiny_run, tmp_path, mnist_dir):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 2
    (run / "config.json").write_text(json.dumps(config))
    argv = ["train", "--out", str(tmp_path), "--name", "run", "--data-dir", str(mnist_dir)]
    assert main([*argv, "--resume", "--quiet"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["threads"] == 1
    assert "thread_changes" not in saved


@pytest.mark.torch
def test_a_resumed_keras_dropout_run_equals_an_uninterrupted_one(tmp_path, mnist_dir, monkeypatch):
    """Keras' Dropout draws from its layer's SeedGenerator, whose state the checkpoint keeps."""
    from cnnlab.training.checkpoint import load_npz
    from cnnlab.training.engines import available

    if not available("keras"):
        pytest.skip("the keras extra (keras, torch) is not installed")

    whole = trainer.train(_config(tmp_path, "whole", "keras", data_dir=str(mnist_dir)), quiet=True)
    cfg = _config(tmp_path, "cut", "keras", data_dir=str(mnist_dir))
    _stop_after(monkeypatch, 13)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cfg, quiet=True)
    monkeypatch.undo()
    cut = trainer.train(cfg, resume=True, quiet=True, given=set())
    weights = [load_npz(run / "checkpoint.keras.npz")[0] for run in (cut, whole)]
    _assert_same(*weights)
