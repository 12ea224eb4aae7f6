"""The PyTorch side of every method Captum has equals Captum 0.9.0's result, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.explain import explain_image, integrated
from cnnlab.explain.gradients import SMOOTHGRAD_SAMPLES, smoothgrad, smoothgrad_noise
from cnnlab.explain.occlusion import STRIDE, WINDOW
from cnnlab.models import build_model

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")
from cnnlab.explain.torch_net import TorchNetwork  # noqa: E402

BACKGROUND = -0.4242
# Captum tells (as a warning) that it hooks the ReLU modules for guided backpropagation
RELU_HOOK_NOTE = "ignore:Setting backward hooks on ReLU activations:UserWarning"


@pytest.fixture(scope="module", params=["cnn2", "cnn3"])
def case(request):
    model = build_model(request.param, "scratch", seed=5)
    net = TorchNetwork.from_state(model.spec, model.state_dict())
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (1, 1, 28, 28)) * (rng.uniform(size=(1, 1, 28, 28)) < 0.4)
    x = (x - 0.1307) / 0.3081
    target = int(net.logits(x)[0].argmax())
    return net, x, target


def ours(net, x, target, method) -> dict:
    return explain_image(net, x, (method,), BACKGROUND, target)[2][method]


def inputs(x: np.ndarray):
    return torch.tensor(x, requires_grad=True)  # as Captum expects its inputs


def same(ours_map, captum_map) -> None:
    np.testing.assert_allclose(ours_map, captum_map.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_saliency_equals_captum_saliency(case):
    net, x, target = case
    expected = captum_attr.Saliency(net.model).attribute(inputs(x), target=target)
    same(ours(net, x, target, "saliency")["map"], expected)


def test_input_x_gradient_equals_captum_input_x_gradient(case):
    net, x, target = case
    expected = captum_attr.InputXGradient(net.model).attribute(inputs(x), target=target)
    same(ours(net, x, target, "input_x_gradient")["map"], expected)


def test_integrated_gradients_and_completeness_equal_captum_with_the_background_baseline(
    case, monkeypatch
):
    net, x, target = case
    # Captum rounds the quadrature weights to float32 (`torch.tensor(step_sizes).float()`);
    # with ours rounded the same way the two agree to float64 rounding
    alphas, weights = integrated.gauss_legendre()
    rounded = weights.astype(np.float32).astype(np.float64)
    monkeypatch.setattr(integrated, "gauss_legendre", lambda: (alphas, rounded))
    expected, delta = captum_attr.IntegratedGradients(net.model).attribute(
        inputs(x), baselines=BACKGROUND, target=target, n_steps=50,
        return_convergence_delta=True,
    )  # fmt: skip
    result = ours(net, x, target, "integrated_gradients")
    same(result["map"], expected)
    assert result["completeness_error"] == pytest.approx(float(delta), rel=1e-6, abs=1e-12)


def test_smoothgrad_equals_captum_noise_tunnel_over_saliency_given_the_same_noise(
    case, monkeypatch
):
    net, x, target = case
    sigma, noise = smoothgrad_noise(x)
    # Captum draws its noise with torch.normal; hand it ours so both average the same samples
    monkeypatch.setattr(torch, "normal", lambda mean, std: torch.tensor(noise))
    expected = captum_attr.NoiseTunnel(captum_attr.Saliency(net.model)).attribute(
        inputs(x), nt_type="smoothgrad", nt_samples=SMOOTHGRAD_SAMPLES, stdevs=sigma,
        target=target,
    )  # fmt: skip
    same(smoothgrad(net, x, target, BACKGROUND, noise=noise)["map"], expected)
    same(ours(net, x, target, "smoothgrad")["map"], expected)  # the default draws that noise


def test_occlusion_equals_captum_occlusion_with_the_background_fill(case):
    net, x, target = case
    expected = captum_attr.Occlusion(net.model).attribute(
        inputs(x), sliding_window_shapes=(1, WINDOW, WINDOW), strides=(1, STRIDE, STRIDE),
        baselines=BACKGROUND, target=target, perturbations_per_eval=200,
    )  # fmt: skip
    # Captum divides the summed drops by the window counts in float32 (`.float() / weight`)
    assert expected.dtype == torch.float32
    np.testing.assert_allclose(
        ours(net, x, target, "occlusion")["map"], expected.numpy(), rtol=1e-6, atol=1e-12
    )


@pytest.mark.filterwarnings(RELU_HOOK_NOTE)
def test_guided_backprop_equals_captum_guided_backprop(case):
    net, x, target = case
    expected = captum_attr.GuidedBackprop(net.model).attribute(inputs(x), target=target)
    same(ours(net, x, target, "guided_backprop")["map"], expected)


def test_gradcam_equals_captum_layer_gradcam_with_relu(case):
    net, x, target = case
    layer = getattr(net.model, net.spec.feature_layer)
    expected = captum_attr.LayerGradCam(net.model, layer).attribute(
        inputs(x), target=target, relu_attributions=True
    )
    same(ours(net, x, target, "gradcam")["layer_map"], expected[0, 0])


@pytest.mark.filterwarnings(RELU_HOOK_NOTE)
def test_guided_gradcam_equals_captum_guided_gradcam(case):
    net, x, target = case
    layer = getattr(net.model, net.spec.feature_layer)
    expected = captum_attr.GuidedGradCam(net.model, layer).attribute(inputs(x), target=target)
    same(ours(net, x, target, "guided_gradcam")["map"], expected)
