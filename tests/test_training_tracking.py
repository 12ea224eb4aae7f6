"""What a training run leaves behind: config, metrics, TensorBoard events, clear failures."""

import json

import pytest
from tensorboard.backend.event_processing import event_accumulator

from cnnlab.cli import main
from cnnlab.training.config import TrainConfig
from cnnlab.training.trainer import train


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, mnist_dir):
    cfg = TrainConfig(
        model="cnn3",
        engine="scratch",
        epochs=2,
        train_size=640,  # 10 steps per epoch
        val_size=500,
        out=str(tmp_path_factory.mktemp("runs")),
        data_dir=str(mnist_dir),
    )
    return train(cfg, quiet=True)


def test_config_records_everything_needed_to_repeat_the_run(short_run):
    config = json.loads((short_run / "config.json").read_text())
    for key in ("model", "engine", "epochs", "batch_size", "optimizer", "lr", "seed", "val_size"):
        assert key in config
    assert config["data"]["digests"]["train-images-idx3-ubyte"].startswith("ba891046")
    assert config["data"]["split"]["val"] == 500
    assert {"numpy", "python", "cnnlab"} <= set(config["versions"])
    assert config["parameters"] > 0


def test_metrics_hold_every_step_and_every_epoch(short_run):
    records = [json.loads(line) for line in (short_run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == list(range(1, 21))
    assert [r["epoch"] for r in epochs] == [1, 2]
    for r in epochs:
        assert 0.0 <= r["val_accuracy"] <= 1.0
        assert r["seconds"] > 0
    status = json.loads((short_run / "status.json").read_text())
    assert status["complete"] is True
    assert status["epochs_done"] == 2
    assert 0.1 < status["test_accuracy"] <= 1.0


def test_tensorboard_events_read_back_with_tensorboards_reader(short_run):
    acc = event_accumulator.EventAccumulator(str(short_run))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {
        "loss/train",
        "loss/train_epoch",
        "loss/val",
        "accuracy/train",
        "accuracy/val",
        "lr",
    } <= (scalars)
    assert len(acc.Scalars("loss/train")) == 20
    assert len(acc.Scalars("lr")) == 20
    assert [e.step for e in acc.Scalars("accuracy/val")] == [10, 20]
    assert any("model/summary" in tag for tag in acc.Tags()["tensors"])


def test_a_diverging_loss_stops_with_a_clear_sentence(tmp_path, mnist_dir, capsys):
    args = ["train", "--model", "mlp3", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "1"]
    args += ["--train-size", "640", "--val-size", "200", "--quiet"]
    args += ["--out", str(tmp_path), "--data-dir", str(mnist_dir)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "training diverged" in err
    assert "try a lower --lr" in err
    assert "Traceback" not in err
    assert not (tmp_path / "mlp3-scratch" / "checkpoint.npz").exists()


def test_dry_run_trains_one_small_epoch(tmp_path, mnist_dir, capsys):
    args = ["train", "--model", "mlp3", "--dry-run", "--quiet", "--out", str(tmp_path)]
    assert main([*args, "--data-dir", str(mnist_dir)]) == 0
    status = json.loads((tmp_path / "mlp3-scratch" / "status.json").read_text())
    assert status["epochs_done"] == 1
    assert "test accuracy" in capsys.readouterr().out
