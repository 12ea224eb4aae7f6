"""The trust figures: rank correlation and SSIM, the cascading randomisation, deletion and
insertion curves with bootstrap intervals, and `cnnlab explain --sanity`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.explain import faithfulness, methods, sanity, similarity
from cnnlab.explain.scratch_net import ScratchNetwork
from cnnlab.models import build_model, spec_from_string

SMALL_CNN = "Conv2d(4, 3) ReLU MaxPool2d(2) Conv2d(6, 3) ReLU Flatten Linear(10)"
BACKGROUND = -0.4242


def small_network(seed: int = 2) -> ScratchNetwork:
    return ScratchNetwork(build_model(spec_from_string(SMALL_CNN, "small"), "scratch", seed=seed))


def images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 1, (n, 1, 28, 28)) * (rng.uniform(size=(n, 1, 28, 28)) < 0.3)
    return (pixels - 0.1307) / 0.3081


def test_rank_correlation_reads_absolute_values():
    a = np.arange(16.0).reshape(4, 4)
    assert similarity.rank_correlation(a, a * 3) == pytest.approx(1.0)
    assert similarity.rank_correlation(a, -a) == pytest.approx(1.0)  # |.|: the sign is dropped
    assert similarity.rank_correlation(a, 15 - a) == pytest.approx(-1.0)
    assert similarity.rank_correlation(a, np.ones((4, 4))) == 0.0


def test_ssim_equals_the_windowed_formula_written_out():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=(12, 12)), rng.uniform(size=(12, 12))
    ua, ub = a / a.max(), b / b.max()
    values = []
    for r in range(3, 9):  # every 7×7 window inside the map (the edges cropped)
        for c in range(3, 9):
            wa, wb = (
                ua[r - 3 : r + 4, c - 3 : c + 4].ravel(),
                ub[r - 3 : r + 4, c - 3 : c + 4].ravel(),
            )
            cov = np.cov(wa, wb)  # sample (co)variances
            numerator = (2 * wa.mean() * wb.mean() + 0.01**2) * (2 * cov[0, 1] + 0.03**2)
            denominator = (wa.mean() ** 2 + wb.mean() ** 2 + 0.01**2) * (
                cov[0, 0] + cov[1, 1] + 0.03**2
            )
            values.append(numerator / denominator)
    assert similarity.ssim(a, b) == pytest.approx(np.mean(values), rel=1e-10)
    assert similarity.ssim(a, a) == pytest.approx(1.0)


def test_the_cascade_reinitialises_one_more_layer_from_the_top_at_each_stage():
    net = small_network()
    trained = net.state()
    fresh = build_model(net.spec, "scratch", seed=sanity.RANDOM_SEED).state_dict()
    stages = sanity.cascade_states(net.spec, trained)
    names = [name for name, _ in stages]
    assert names == ["fc1", "conv2", "conv1"]
    for count, (_, state) in enumerate(stages, start=1):
        top = names[:count]
        for key in state:
            expected = fresh[key] if key.split(".")[0] in top else trained[key]
            np.testing.assert_array_equal(state[key], expected)
        assert any(not np.array_equal(state[k], trained[k]) for k in state if k.startswith(top[-1]))


def test_deletion_and_insertion_curves_match_the_images_they_describe():
    net = small_network()
    x = images(1)
    ranking = np.random.default_rng(0).permutation(28 * 28)
    deletion, insertion = faithfulness.curves(net, x, ranking, 3, BACKGROUND)
    assert len(deletion) == len(insertion) == 28 * 28 // faithfulness.STEP_PIXELS + 1
    p = lambda image: faithfulness.softmax(net.logits(image))[0, 3]  # noqa: E731
    blank = np.full_like(x, BACKGROUND)
    assert deletion[0] == pytest.approx(p(x))
    assert deletion[-1] == pytest.approx(p(blank))
    assert insertion[0] == pytest.approx(p(blank))
    step = 5  # after 5 steps, the first 80 pixels of the ranking are deleted
    flat = x.reshape(-1).copy()
    flat[ranking[: step * faithfulness.STEP_PIXELS]] = BACKGROUND
    assert deletion[step] == pytest.approx(p(flat.reshape(x.shape)))


def test_area_and_bootstrap():
    assert faithfulness.area(np.full(50, 0.3)) == pytest.approx(0.3)
    assert faithfulness.area(np.linspace(1, 0, 50)) == pytest.approx(0.5)
    same = faithfulness.bootstrap(np.full(10, 0.25))
    assert same == {"mean": 0.25, "low": 0.25, "high": 0.25}
    spread = faithfulness.bootstrap(np.arange(20.0))
    assert spread["low"] < spread["mean"] == 9.5 < spread["high"]


def test_a_map_that_ignores_the_weights_fails_randomisation_and_saliency_passes(monkeypatch):
    def the_image(net, x, target, background):  # an "attribution" blind to the network
        return {"map": np.abs(x - background)}

    monkeypatch.setitem(methods.METHODS, "the_image", the_image)
    figures = sanity.sanity_checks(
        small_network(), images(3), ("the_image", "saliency"), BACKGROUND
    )
    assert figures["images"] == 3
    assert figures["stages"] == ["fc1", "conv2", "conv1"]
    blind, saliency = figures["methods"]["the_image"], figures["methods"]["saliency"]
    assert blind["spearman"] == pytest.approx([1.0, 1.0, 1.0])
    assert blind["passes"] is False
    assert "does not depend on what the network learned" in blind["verdict"]
    assert saliency["spearman_randomised"] < sanity.PASS_BELOW
    assert saliency["passes"] is True
    for key in ("deletion_auc", "insertion_auc"):
        assert saliency[key]["low"] <= saliency[key]["mean"] <= saliency[key]["high"]
    assert set(figures["random_order"]) == {"deletion", "insertion"}


def test_explain_sanity_writes_its_figures_for_each_run(trained_runs, mnist_dir, tmp_path):
    from cnnlab.cli import main

    out = tmp_path / "sanity.json"
    argv = ["explain", str(trained_runs["mlp3-scratch"]), "--sanity", "--images", "2"]
    assert main([*argv, "--json", str(out), "--data-dir", str(mnist_dir)]) == 0
    record = json.loads(out.read_text())
    assert record["images"] == 2
    assert record["stages"] == ["fc3", "fc2", "fc1"]
    assert set(record["methods"]) == set(methods.INPUT_METHODS)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ([], "--sanity writes its figures to a file: give --json FILE."),
        (["--json", "x.json", "--images", "10001"], "--images 10001 is more than the 10000"),
        (["--json", "x.json", "--target", "3"], "leave out --out and --target"),
    ],
)
def test_explain_sanity_refuses_bad_input_in_one_sentence(
    trained_runs, mnist_dir, tmp_path, monkeypatch, capsys, extra, words
):
    from cnnlab.cli import main

    monkeypatch.chdir(tmp_path)
    argv = ["explain", str(trained_runs["mlp3-scratch"]), "--sanity", *extra]
    assert main([*argv, "--data-dir", str(mnist_dir)]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_the_figures_in_float32_are_those_of_float64_to_the_digits_shown():
    methods_ = ("saliency", "integrated_gradients", "occlusion", "gradcam", "scorecam")
    figures = {}
    for dtype in (np.float64, sanity.PRECISION):
        net = ScratchNetwork(small_network().model, dtype)
        assert net.logits(images(1)).dtype == dtype
        figures[dtype] = sanity.sanity_checks(net, images(4).astype(dtype), methods_, BACKGROUND)
    wide, narrow = figures[np.float64], figures[sanity.PRECISION]
    assert np.dtype(sanity.PRECISION) == np.float32
    for method in methods_:
        a, b = wide["methods"][method], narrow["methods"][method]
        assert a["passes"] == b["passes"]
        np.testing.assert_allclose(b["spearman"], a["spearman"], atol=1e-3)
        np.testing.assert_allclose(b["ssim"], a["ssim"], atol=1e-3)
        for key in ("deletion_auc", "insertion_auc"):
            assert b[key]["mean"] == pytest.approx(a[key]["mean"], abs=1e-4)
    assert narrow != wide  # it did run in float32
