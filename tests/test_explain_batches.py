"""Batches give the numbers that one image at a time gives: every method on N images at once
equals the method image by image (both engines), the batched deletion and insertion curves
equal each image's own, the networks' pieces equal one batch, and the sanity figures equal
the image-by-image computation they replaced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from cnnlab.explain import available, batches, explain_image, faithfulness, sanity, similarity
from cnnlab.explain.methods import explain_images
from test_explain_engines import BACKGROUND, digit_like, twin_networks  # skips without torch

SMALL_CNN = "Conv2d(4, 3) ReLU MaxPool2d(2) Conv2d(6, 3) ReLU Flatten Linear(10)"  # every method
TOLERANCE = dict(rtol=1e-11, atol=1e-13)  # BLAS may add in another order for another size


def digits(n: int) -> np.ndarray:
    return np.concatenate([digit_like(seed) for seed in range(n)])  # (N, 1, 28, 28)


@pytest.mark.parametrize("engine", [0, 1], ids=["numpy", "torch"])
@pytest.mark.parametrize("arch", [SMALL_CNN, "mlp3"], ids=["cnn", "mlp3"])
def test_every_method_on_a_batch_equals_the_method_image_by_image(arch, engine):
    net = twin_networks(arch)[engine]
    x, methods = digits(3), available(net.spec)
    targets, probabilities, batch = explain_images(net, x, methods, BACKGROUND, [3, 7, 1])
    assert list(targets) == [3, 7, 1]
    for i, target in enumerate(targets):
        _, p, one = explain_image(net, x[i : i + 1], methods, BACKGROUND, int(target))
        np.testing.assert_allclose(probabilities[i], p, **TOLERANCE)
        for name in methods:
            np.testing.assert_allclose(batch[name]["map"][i], one[name]["map"][0], **TOLERANCE)
            if "layer_map" in one[name]:
                got, want = batch[name]["layer_map"][i], one[name]["layer_map"]
                np.testing.assert_allclose(got, want, **TOLERANCE, err_msg=name)
        error = batch["integrated_gradients"]["completeness_error"][i]
        assert error == pytest.approx(one["integrated_gradients"]["completeness_error"], abs=1e-12)


def test_batched_curves_equal_each_image_s_own_curves():
    net, x = twin_networks(SMALL_CNN)[0], digits(3)
    rankings = np.stack([np.random.default_rng(i).permutation(28 * 28) for i in range(3)])
    deletion, insertion = faithfulness.batch_curves(net, x, rankings, [2, 5, 9], BACKGROUND)
    for i, target in enumerate([2, 5, 9]):
        d, n = faithfulness.curves(net, x[i : i + 1], rankings[i], target, BACKGROUND)
        np.testing.assert_allclose(deletion[i], d, **TOLERANCE)
        np.testing.assert_allclose(insertion[i], n, **TOLERANCE)


@pytest.mark.parametrize("engine", [0, 1], ids=["numpy", "torch"])
def test_a_network_answers_a_large_batch_in_pieces_with_the_same_numbers(engine, monkeypatch):
    net, x = twin_networks(SMALL_CNN)[engine], digits(5)
    targets = np.array([0, 4, 4, 9, 2])
    whole = (net.logits(x), *net.input_grad(x, targets, guided=True), *net.layer_grad(x, targets))
    monkeypatch.setattr(batches, "MAX_IMAGES", 2)  # pieces of 2, 2 and 1
    pieces = (net.logits(x), *net.input_grad(x, targets, guided=True), *net.layer_grad(x, targets))
    for a, b in zip(whole, pieces, strict=True):
        np.testing.assert_allclose(a, b, **TOLERANCE)


def billionths(m: np.ndarray) -> np.ndarray:
    """|m| in units of 1e-9 of its peak, rounded: what the rank correlation ranks."""
    return np.round(np.abs(m).ravel() / np.abs(m).max() * 1e9)


def image_by_image_figures(net, x, methods) -> dict:
    """The sanity figures as computed before batching: one image at a time, SciPy's Spearman."""
    stages = [
        type(net).from_state(net.spec, s) for _, s in sanity.cascade_states(net.spec, net.state())
    ]
    rng = np.random.default_rng(sanity.RANDOM_ORDER_SEED)
    figures = {m: {"spearman": [[] for _ in stages], "ssim": [[] for _ in stages], "deletion": [],
                   "insertion": []} for m in (*methods, "random")}  # fmt: skip
    for image in x[:, None]:
        target, _, trained = explain_image(net, image, methods, BACKGROUND)
        orders = {m: faithfulness.ranking_of(r["map"])[0] for m, r in trained.items()}
        orders["random"] = rng.permutation(28 * 28)
        for method, order in orders.items():
            d, n = faithfulness.curves(net, image, order, target, BACKGROUND)
            figures[method]["deletion"].append(faithfulness.area(d))
            figures[method]["insertion"].append(faithfulness.area(n))
        for stage, randomised in enumerate(stages):
            _, _, maps = explain_image(randomised, image, methods, BACKGROUND, target)
            for method, result in maps.items():
                a, b = trained[method]["map"][0, 0], result["map"][0, 0]
                rho = spearmanr(billionths(a), billionths(b)).statistic
                figures[method]["spearman"][stage].append(rho)
                figures[method]["ssim"][stage].append(similarity.ssim(a, b))
    return figures


def test_the_batched_sanity_figures_equal_the_image_by_image_ones():
    net, x = twin_networks(SMALL_CNN)[0], digits(3)
    methods = ("saliency", "smoothgrad", "occlusion", "gradcam", "scorecam")
    figures = sanity.sanity_checks(net, x, methods, BACKGROUND)
    reference = image_by_image_figures(net, x, methods)
    for method in methods:
        got, want = figures["methods"][method], reference[method]
        np.testing.assert_allclose(got["spearman"], np.mean(want["spearman"], axis=1), **TOLERANCE)
        np.testing.assert_allclose(got["ssim"], np.mean(want["ssim"], axis=1), **TOLERANCE)
        for key in ("deletion", "insertion"):
            expected = faithfulness.bootstrap(want[key])
            assert got[f"{key}_auc"] == pytest.approx(expected, rel=1e-11)
    for key in ("deletion", "insertion"):
        expected = faithfulness.bootstrap(reference["random"][key])
        assert figures["random_order"][key] == pytest.approx(expected, rel=1e-11)


def test_rank_correlations_equal_scipy_spearman_ties_and_constants_included():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, (6, 5, 5)).astype(float)  # many ties
    b = rng.normal(size=(6, 5, 5))
    b[2] = 1.0  # a constant map: 0
    rho = similarity.rank_correlations(a, b)
    for i in range(6):
        want = 0.0 if i == 2 else spearmanr(np.abs(a[i]).ravel(), np.abs(b[i]).ravel()).statistic
        assert rho[i] == pytest.approx(want, abs=1e-12)


def test_rank_correlation_does_not_rank_rounding_noise_below_a_billionth_of_the_peak():
    rng = np.random.default_rng(2)
    trained = np.where(rng.uniform(size=(1, 12, 12)) < 0.5, 0.0, rng.uniform(size=(1, 12, 12)))
    other = rng.uniform(size=(1, 12, 12))
    noisy = trained + np.where(trained == 0, rng.normal(0, 1e-17, trained.shape), 0.0)
    same = similarity.rank_correlations(trained, other)
    assert similarity.rank_correlations(noisy, other) == pytest.approx(same, abs=1e-15)
    assert similarity.rank_correlations(noisy, trained)[0] == pytest.approx(1.0)
