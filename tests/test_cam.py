"""CAM and Grad-CAM: the same maps from both engines, exact decompositions, and the command."""

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from cnnlab.analysis.cam import compute_map
from cnnlab.cli import main
from cnnlab.data import normalize
from cnnlab.models import get_spec
from cnnlab.models.shapes import feature_shape
from cnnlab.models.spec import ArchSpec, LayerSpec
from cnnlab.training.engines import ScratchEngine, TorchEngine, make_engine


def _twin_engines(model: str, state=None, seed: int = 3):
    """A float64 scratch engine and a float64 torch engine holding the same weights."""
    from cnnlab.models.torch_builder import load_numpy_state

    scratch = make_engine(model, "scratch", seed=seed, dtype=np.float64)
    twin = make_engine(model, "torch", seed=seed, dtype=np.float64, device="cpu")
    if state is not None:
        scratch.model.load_state_dict({k: v.astype(np.float64) for k, v in state.items()})
        load_numpy_state(twin.model, scratch.model.state_dict())
    return scratch, twin


@pytest.fixture(scope="module")
def trained_state(trained_runs):
    with np.load(trained_runs["cnn2-scratch"] / "checkpoint.npz", allow_pickle=False) as npz:
        return {k[len("model/") :]: npz[k] for k in npz.files if k.startswith("model/")}


@pytest.fixture(scope="module")
def images(mnist):
    return normalize(mnist.test_images[:4]).astype(np.float64)  # (4, 1, 28, 28)


@pytest.mark.parametrize("method", ["cam", "gradcam"])
@pytest.mark.parametrize("model", ["cnn2", "cnn3"])
def test_both_engines_give_the_same_map(model, method, images, trained_state):
    scratch, twin = _twin_engines(model, trained_state if model == "cnn2" else None)
    spec = get_spec(model)
    for i in range(len(images)):
        x = images[i : i + 1]
        for target in (None, 3):
            a = compute_map(scratch, spec, x, target, method)
            b = compute_map(twin, spec, x, target, method)
            assert a["target"] == b["target"]
            assert a["map"].shape == feature_shape(spec)[1:]
            scale = max(np.abs(b["map"]).max(), 1e-12)
            np.testing.assert_allclose(a["map"], b["map"], rtol=0, atol=1e-8 * scale)


@pytest.mark.parametrize("engine_index", [0, 1], ids=["scratch", "torch"])
@pytest.mark.parametrize("model", ["cnn2", "cnn3"])
def test_flatten_head_cam_decomposes_the_class_score_exactly(model, engine_index, images):
    engine = _twin_engines(model)[engine_index]
    spec = get_spec(model)
    _weight, bias = engine.head_parameters()
    for k in range(10):
        logits, _feature_map, _, _ = engine.feature_map_and_grad(images[:1], k)
        cam = compute_map(engine, spec, images[:1], k, "cam")["map"]
        np.testing.assert_allclose(cam.sum() + bias[k], logits[k], rtol=1e-10, atol=1e-10)


GAP_SPEC = ArchSpec(
    name="gap",
    description="conv + global-average-pool + linear: the classic CAM head",
    layers=(
        LayerSpec("conv1", "Conv2d", {"out_channels": 6, "kernel_size": 3}),
        LayerSpec("relu1", "ReLU"),
        LayerSpec("pool1", "MaxPool2d", {"kernel_size": 2}),
        LayerSpec("conv2", "Conv2d", {"out_channels": 8, "kernel_size": 3}),
        LayerSpec("relu2", "ReLU"),
        LayerSpec("gap", "AdaptiveAvgPool2d", {"output_size": 1}),
        LayerSpec("flatten", "Flatten"),
        LayerSpec("fc", "Linear", {"out_features": 10}),
    ),
    feature_layer="relu2",
    head="gap_linear",
)


@pytest.mark.parametrize("engine", ["scratch", "torch"])
def test_gap_head_cam_equals_grad_cam_up_to_a_positive_scale(engine, images):
    import torch

    from cnnlab.models import scratch_builder, torch_builder

    if engine == "scratch":
        model = scratch_builder.build(GAP_SPEC, seed=1)
        model.to(np.float64)
        runner = ScratchEngine(model, "sgd", 0.1, 0.0, 0.0)
    else:
        model = torch_builder.build(GAP_SPEC, seed=1).to(torch.float64)
        runner = TorchEngine(model, "sgd", 0.1, 0.0, 0.0)
    _weight, bias = runner.head_parameters()
    for k in range(10):
        cam = compute_map(runner, GAP_SPEC, images[:1], k, "cam")["map"]
        gradcam = compute_map(runner, GAP_SPEC, images[:1], k, "gradcam")["map"]
        positive = np.maximum(cam, 0)
        assert gradcam.max() > 0 or positive.max() == 0
        ratio = gradcam[positive > 1e-12] / positive[positive > 1e-12]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)  # one positive scale everywhere
        assert ratio[0] > 0
        logits = runner.feature_map_and_grad(images[:1], k)[0]
        np.testing.assert_allclose(cam.sum() + bias[k], logits[k], rtol=1e-10, atol=1e-10)


def test_cam_command_draws_every_run_on_the_same_test_image(tmp_path, trained_runs, mnist_dir):
    runs = [trained_runs[name] for name in ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")]
    args = ["cam", *map(str, runs), "--index", "7", "--out", str(tmp_path)]
    assert main([*args, "--data-dir", str(mnist_dir)]) == 0
    assert (tmp_path / "cam_comparison_test7.png").stat().st_size > 10_000
    for run_dir in runs[:2]:
        pictures = sorted(p.name for p in (run_dir / "cam").glob("*_test7_*.png"))
        assert [p.split("_")[0] for p in pictures] == ["cam", "gradcam"]
        record = json.loads((run_dir / "cam" / pictures[0].replace(".png", ".json")).read_text())
        assert np.array(record["map"]).shape == (11, 11)
        acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"images": 0})
        acc.Reload()
        assert any(tag.startswith("cam/gradcam_test7") for tag in acc.Tags()["images"])
    # the same image and class in both engines: the maps agree to float32 precision
    maps = [
        np.array(json.loads(next((r / "cam").glob("cam_test7_*.json")).read_text())["map"])
        for r in runs[:2]
    ]
    np.testing.assert_allclose(maps[0], maps[1], rtol=1e-3, atol=1e-3 * np.abs(maps[1]).max())


def test_cam_rejects_a_bad_index(trained_runs, mnist_dir, capsys):
    args = ["cam", str(trained_runs["cnn2-scratch"]), "--index", "10000"]
    assert main([*args, "--data-dir", str(mnist_dir)]) == 2
    assert "out of range" in capsys.readouterr().err


def test_method_picks_the_panels_and_the_comparison_keeps_both_maps(
    tmp_path, trained_runs, mnist_dir
):
    run_dir = trained_runs["cnn2-torch"]
    args = ["cam", str(run_dir), "--index", "11", "--method", "gradcam", "--out", str(tmp_path)]
    assert main([*args, "--data-dir", str(mnist_dir)]) == 0
    assert [p.name.split("_")[0] for p in (run_dir / "cam").glob("*_test11_*.png")] == ["gradcam"]
    assert (tmp_path / "cam_comparison_test11.png").stat().st_size > 10_000


def test_cam_json_places_the_cells_and_a_rerun_replaces_the_tensorboard_images(
    tmp_path, trained_runs, mnist_dir
):
    run_dir = trained_runs["cnn2-scratch"]
    args = ["cam", str(run_dir), "--index", "3", "--out", str(tmp_path)]
    for _ in range(2):
        assert main([*args, "--data-dir", str(mnist_dir)]) == 0
    for path in (run_dir / "cam").glob("*_test3_*.json"):
        record = json.loads(path.read_text())
        assert record["cell_centers"]["rows"] == [3.5 + 2 * i for i in range(11)]
        assert record["cell_centers"]["cols"] == record["cell_centers"]["rows"]
        assert record["receptive_field"]["size"] == [8, 8]
        upsampled = np.array(record["upsampled_map"])
        assert upsampled.shape == (28, 28)
        raw = np.array(record["map"])
        assert upsampled[3, 3] == pytest.approx(raw[0, 0])  # cell (0, 0) is centred at 3.5
        assert upsampled[24, 25] == pytest.approx(raw[10, 10])  # edge value past 23.5
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"images": 0})
    acc.Reload()
    for tag in ("cam/cam_test3", "cam/gradcam_test3"):
        assert len(acc.Images(tag)) == 1
    assert not list(run_dir.glob(".cam-*"))  # the staging folders are gone


def test_the_disagreement_image_is_the_one_the_runs_split_on_most(tmp_path):
    from cnnlab.analysis.cam_runs import disagreement_index

    labels = np.array([7, 2, 1, 0])
    answers = {"a": [7, 2, 1, 0], "b": [7, 3, 1, 0], "c": [7, 5, 1, 6]}  # image 1: three answers
    runs = []
    for name, predicted in answers.items():
        run = tmp_path / name
        run.mkdir()
        np.save(run / "probabilities.npy", np.eye(10)[predicted])
        runs.append(run)
    assert disagreement_index(runs, labels) == 1
    agree = runs[:1]
    assert disagreement_index(agree, labels) is None  # every run right everywhere
    assert disagreement_index([tmp_path / "none"], labels) is None  # nothing evaluated


def test_cam_leaves_the_reports_figure_alone_and_the_report_captions_what_is_shown(
    tmp_path, trained_runs, mnist_dir, mnist
):
    """`cnnlab cam --index 5` after `cnnlab run`: the report's figure (test image 0) and its
    caption stay; a figure drawn on image 5 under the report's name is captioned image 5."""
    from cnnlab.analysis.cam_runs import COMPARISON_FILE, draw_cams
    from cnnlab.report import build_report
    from cnnlab.viz.plots import png_text

    runs = [trained_runs["cnn2-scratch"], trained_runs["cnn2-torch"]]
    draw_cams(runs, 0, out_dir=tmp_path, data_dir=mnist_dir, comparison_name=COMPARISON_FILE)
    before = (tmp_path / COMPARISON_FILE).read_bytes()
    argv = ["cam", *map(str, runs), "--index", "5", "--out", str(tmp_path)]
    assert main([*argv, "--data-dir", str(mnist_dir)]) == 0
    assert (tmp_path / COMPARISON_FILE).read_bytes() == before
    caption = png_text(tmp_path / "cam_comparison_test5.png")["caption"]
    true_label = int(mnist.test_labels[5])
    assert caption.startswith(f"test image 5 (true label {true_label}); cnn2 · scratch predicts ")
    for run in runs:  # each network's prediction, as its CAM record holds it
        record = json.loads(next((run / "cam").glob("cam_test5_*.json")).read_text())
        predicted = int(np.argmax(record["probabilities"]))
        name = f"cnn2 · {'torch' if run.name.endswith('torch') else 'scratch'}"
        assert f"{name} predicts {predicted} (" in caption

    draw_cams(runs, 5, out_dir=tmp_path, data_dir=mnist_dir, comparison_name=COMPARISON_FILE)
    html, _ = build_report(runs, tmp_path / "report.html", cam_dir=tmp_path)
    text = html.read_text(encoding="utf-8")
    assert f"CAM and Grad-CAM of every CNN: test image 5 (true label {true_label})" in text
    assert "an easy 7" not in text
    assert "test image 0" not in text
