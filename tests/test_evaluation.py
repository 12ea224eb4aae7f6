"""`cnnlab evaluate` on real (short) runs of both engines."""

import csv
import json

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from cnnlab.analysis.tensorboard_summary import top3_tag
from cnnlab.cli import main
from cnnlab.viz.scores import short_score


@pytest.fixture(scope="module", params=["cnn2-scratch", "cnn2-torch"])
def evaluated(request, trained_runs, mnist_dir):
    run_dir = trained_runs[request.param]
    assert main(["evaluate", str(run_dir), "--data-dir", str(mnist_dir), "--quiet"]) == 0
    return run_dir


def test_confusion_matrix_counts_every_test_image(evaluated, mnist):
    summary = json.loads((evaluated / "evaluation.json").read_text())
    cm = np.array(summary["confusion_matrix"])
    assert cm.shape == (10, 10)
    assert cm.sum() == 10_000
    assert np.trace(cm) == summary["correct"] == round(summary["accuracy"] * 10_000)
    assert (cm.sum(axis=1) == np.bincount(mnist.test_labels, minlength=10)).all()
    with (evaluated / "confusion_matrix.csv").open() as f:
        rows = list(csv.reader(f))
    assert np.array([[int(v) for v in row[1:]] for row in rows[1:]]).tolist() == cm.tolist()
    assert summary["accuracy"] > 0.9  # one epoch on 6,000 images


def test_accuracy_matches_the_stored_probabilities(evaluated, mnist):
    probabilities = np.load(evaluated / "probabilities.npy", allow_pickle=False)
    assert probabilities.shape == (10_000, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    summary = json.loads((evaluated / "evaluation.json").read_text())
    predicted = probabilities.argmax(axis=1)
    assert int((predicted == mnist.test_labels).sum()) == summary["correct"]


def test_top3_are_the_arg_top3_of_the_probabilities(evaluated):
    probabilities = np.load(evaluated / "probabilities.npy", allow_pickle=False)
    summary = json.loads((evaluated / "evaluation.json").read_text())
    for entry in summary["top_scoring"]:
        c = entry["class"]
        expected = np.argsort(-probabilities[:, c], kind="stable")[:3]
        assert entry["indices"] == expected.tolist()
        np.testing.assert_allclose(entry["scores"], probabilities[expected, c], rtol=1e-6)


@pytest.mark.parametrize(
    "name", ["confusion_matrix", "confusion_matrix_normalized", "top3", "curves", "worst_errors"]
)
def test_pictures_are_valid_pngs(evaluated, name):
    with Image.open(evaluated / f"{name}.png") as image:
        image.verify()
    with Image.open(evaluated / f"{name}.png") as image:
        assert image.width >= 300
        assert image.height >= 300


def test_tensorboard_holds_the_evaluation_images(evaluated):
    acc = event_accumulator.EventAccumulator(str(evaluated), size_guidance={"images": 0})
    acc.Reload()
    tags = acc.Tags()["images"]
    assert "evaluation/confusion_matrix" in tags
    assert "evaluation/top3" in tags
    summary = json.loads((evaluated / "evaluation.json").read_text())
    # each class's image is tagged with the class and its three scores (the Images tab)
    assert sorted(t for t in tags if t.startswith("top3/")) == sorted(
        top3_tag(e["class"], e["scores"], e["true_labels"]) for e in summary["top_scoring"]
    )
    first = summary["top_scoring"][0]
    text = acc.Tensors("top3/scores/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert f"| 0 | {first['indices'][0]} | {short_score(first['scores'][0])} |" in text


def test_missing_checkpoint_is_a_clear_error(tmp_path, trained_runs, capsys):
    run_dir = tmp_path / "copy"
    run_dir.mkdir()
    (run_dir / "config.json").write_text((trained_runs["cnn2-scratch"] / "config.json").read_text())
    assert main(["evaluate", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "has no checkpoint.npz" in err
    assert "Traceback" not in err


def test_wrong_checkpoint_is_a_clear_error(tmp_path, trained_runs, capsys):
    run_dir = tmp_path / "wrong"
    run_dir.mkdir()
    config = json.loads((trained_runs["cnn2-scratch"] / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps(config | {"model": "cnn3"}))
    (run_dir / "checkpoint.npz").write_bytes(
        (trained_runs["cnn2-scratch"] / "checkpoint.npz").read_bytes()
    )
    assert main(["evaluate", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot be used" in err
    assert "Traceback" not in err


def test_evaluating_twice_leaves_one_value_and_one_image_per_tag(trained_runs, mnist_dir):
    run_dir = trained_runs["cnn2-scratch"]
    for _ in range(2):
        assert main(["evaluate", str(run_dir), "--data-dir", str(mnist_dir), "--quiet"]) == 0
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"images": 0})
    acc.Reload()
    (test_accuracy,) = acc.Scalars("accuracy/test")
    summary = json.loads((run_dir / "evaluation.json").read_text())
    assert test_accuracy.value == pytest.approx(summary["accuracy"])
    last_epoch = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert test_accuracy.step == last_epoch["step"]  # at the end of training, not at step 0
    for tag in acc.Tags()["images"]:
        assert len(acc.Images(tag)) == 1, tag


def test_evaluation_writes_hparams_and_a_custom_scalars_layout(trained_runs, mnist_dir):
    from tensorboard.plugins.hparams import metadata as hparams_metadata

    run_dir = trained_runs["cnn2-torch"]
    assert main(["evaluate", str(run_dir), "--data-dir", str(mnist_dir), "--quiet"]) == 0
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG]
    )
    assert start.hparams["model"].string_value == "cnn2"
    assert start.hparams["engine"].string_value == "torch"
    assert start.hparams["lr"].number_value > 0
    best_val = acc.Scalars("hparams/best_val_accuracy")
    assert len(best_val) == 1
    assert 0.5 < best_val[0].value <= 1
    assert acc.Scalars("hparams/seconds_per_epoch")[0].value > 0
    assert "custom_scalars__config__" in acc.Tags()["tensors"]
