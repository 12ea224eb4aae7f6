"""A run on Fashion-MNIST end to end: the run records its data set, evaluation and the report
follow it with class names, and a resumed or evaluated run refuses other data."""

from __future__ import annotations

import json
import shutil

import pytest

from cnnlab.analysis.evaluation import evaluate_run
from cnnlab.cli import main
from cnnlab.data.datasets import FASHION_MNIST
from cnnlab.errors import UserError
from cnnlab.training.config import TrainConfig
from cnnlab.training.trainer import train
from cnnlab.viz.grids import top_scoring_figure


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory, fashion_dir):
    """One evaluated mlp3 run in the NumPy engine on 600 Fashion-MNIST images (seconds)."""
    cfg = TrainConfig(
        model="mlp3",
        engine="scratch",
        epochs=1,
        train_size=600,
        val_size=200,
        out=str(tmp_path_factory.mktemp("fashion")),
        data_dir=str(fashion_dir),
        dataset="fashion-mnist",
        threads=1,
    )
    run_dir = train(cfg, quiet=True)
    evaluate_run(run_dir, fashion_dir, quiet=True)
    return run_dir


def test_the_run_records_its_data_set(fashion_run):
    config = json.loads((fashion_run / "config.json").read_text())
    assert config["dataset"] == "fashion-mnist"
    data = config["data"]
    assert data["class_names"] == list(FASHION_MNIST.class_names)
    assert data["digests"] == FASHION_MNIST.raw_sha256
    # the statistics of the 600 training images, not MNIST's 0.1307 / 0.3081
    assert 0.25 < data["normalization"]["mean"] < 0.32
    assert 0.32 < data["normalization"]["std"] < 0.39


def test_evaluation_names_the_classes(fashion_run):
    evaluation = json.loads((fashion_run / "evaluation.json").read_text())
    assert evaluation["class_names"][9] == "Ankle boot"
    assert evaluation["accuracy"] > 0.5  # it learned clothing, not chance (0.1)
    for name in ("confusion_matrix.png", "top3.png", "worst_errors.png"):
        assert (fashion_run / name).stat().st_size > 0


def test_top3_rows_are_labelled_with_class_names():
    import numpy as np

    images = np.zeros((20, 28, 28), np.uint8)
    labels = np.arange(20) % 10
    probabilities = np.eye(10)[labels]
    indices = np.arange(20).reshape(2, 10).T[:, :2]  # (10, 2)
    figure = top_scoring_figure(images, labels, probabilities, indices, FASHION_MNIST.class_names)
    rows = [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel()]
    assert rows == list(FASHION_MNIST.class_names)


def test_the_report_names_the_data_set(fashion_run, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(fashion_run), "-o", str(out)]) == 0
    assert "on Fashion-MNIST" in out.read_text()
    assert "Test accuracy on the Fashion-MNIST test set" in out.read_text()


def test_a_fashion_run_is_not_evaluated_on_mnist(fashion_run, mnist_dir):
    with pytest.raises(UserError, match="fails its checksum"):
        evaluate_run(fashion_run, mnist_dir, quiet=True)


def test_a_resumed_run_refuses_other_data(fashion_run, fashion_dir, tmp_path):
    copy = tmp_path / fashion_run.name
    shutil.copytree(fashion_run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["data"]["digests"]["t10k-labels-idx1-ubyte"] = "0" * 64
    (copy / "config.json").write_text(json.dumps(config))
    cfg = TrainConfig(
        model="mlp3",
        engine="scratch",
        epochs=2,
        out=str(tmp_path),
        name=copy.name,
        data_dir=str(fashion_dir),
        dataset="fashion-mnist",
        threads=1,
    )
    with pytest.raises(UserError, match="not the ones this run was trained on"):
        train(cfg, resume=True, quiet=True, given={"epochs"})


def test_dataset_option_is_checked_by_argparse(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "cifar10", "--dry-run"])
    assert exit_info.value.code == 2
    assert "--dataset must be one of mnist, fashion-mnist, kmnist" in capsys.readouterr().err


def test_predict_names_the_class_with_the_run_s_preprocessing(
    fashion_run, fashion_dir, tmp_path, capsys
):
    import numpy as np
    from PIL import Image

    from cnnlab.data import load_mnist

    data = load_mnist(fashion_dir, download=False, progress=False, dataset="fashion-mnist")
    index = int(np.flatnonzero(data.test_labels == 1)[0])  # a trouser
    picture = tmp_path / "trouser.png"
    Image.fromarray(data.test_images[index]).resize((56, 56)).save(picture)  # twice the size
    assert main(["predict", str(fashion_run), str(picture), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["class_name"] == "Trouser"
