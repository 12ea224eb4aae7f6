"""The CAM-family methods Captum lacks, checked against their papers' formulas computed
independently here with autograd and torch operations (the hook, gradient, SVD, resize and
softmax all PyTorch's), on small random float64 networks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.explain import explain_image
from cnnlab.explain.resize import nearest_resize
from cnnlab.explain.scratch_net import ScratchNetwork
from cnnlab.models import build_model, spec_from_string

torch = pytest.importorskip("torch")
F = torch.nn.functional

BACKGROUND = -0.4242
GAP_NET = "Conv2d(4, 3) ReLU Conv2d(6, 3, stride=2) ReLU AdaptiveAvgPool2d(1) Flatten Linear(10)"


@pytest.fixture(scope="module", params=["cnn2", "cnn3", GAP_NET])
def case(request):
    spec = spec_from_string(request.param, "gapnet") if "(" in request.param else request.param
    scratch = build_model(spec, "scratch", seed=7)
    model = build_model(scratch.spec, "torch", seed=7).double().eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in scratch.state_dict().items()})
    rng = np.random.default_rng(4)
    x = (rng.uniform(0, 1, (1, 1, 28, 28)) - 0.1307) / 0.3081
    net = ScratchNetwork(scratch)
    target = int(net.logits(x)[0].argmax())
    return net, model, torch.tensor(x), target


def activations_and_gradient(model, x, target):
    """A (C, h, w) at the feature layer and dS_target/dA, by a forward hook and autograd."""
    captured = {}
    layer = getattr(model, model.spec.feature_layer)
    hook = layer.register_forward_hook(lambda _m, _i, out: captured.update(a=out))
    score = model(x)[0, target]
    hook.remove()
    (grad,) = torch.autograd.grad(score, captured["a"])
    return captured["a"][0].detach(), grad[0]


def ours(net, x, target, method) -> np.ndarray:
    return explain_image(net, x.numpy(), (method,), BACKGROUND, target)[2][method]["layer_map"]


def assert_same(ours_map, expected) -> None:
    np.testing.assert_allclose(ours_map, expected.numpy(), rtol=1e-9, atol=1e-12)


def test_cam_decomposes_the_class_score_exactly(case):
    net, model, x, target = case
    head = getattr(model, model.spec.layers[-1].name)
    score = model(x)[0, target].item()
    cam = ours(net, x, target, "cam")
    assert cam.sum() + head.bias[target].item() == pytest.approx(score, rel=1e-12, abs=1e-12)


def test_gradcam_plus_plus_follows_chattopadhyay_et_al(case):
    net, model, x, target = case
    a, g = activations_and_gradient(model, x, target)
    denominator = 2 * g**2 + a.sum(dim=(1, 2), keepdim=True) * g**3
    alpha = torch.where(denominator != 0, g**2 / denominator, torch.zeros_like(g))
    weights = (alpha * F.relu(g)).sum(dim=(1, 2))
    assert_same(
        ours(net, x, target, "gradcam_plus_plus"), F.relu(torch.einsum("c,chw->hw", weights, a))
    )


def test_hirescam_keeps_the_gradient_per_position(case):
    net, model, x, target = case
    a, g = activations_and_gradient(model, x, target)
    assert_same(ours(net, x, target, "hirescam"), F.relu((g * a).sum(dim=0)))


def test_xgradcam_weights_by_activation_share(case):
    net, model, x, target = case
    a, g = activations_and_gradient(model, x, target)
    total = a.sum(dim=(1, 2))
    weights = torch.where(total != 0, (g * a).sum(dim=(1, 2)) / total, torch.zeros_like(total))
    assert_same(ours(net, x, target, "xgradcam"), F.relu(torch.einsum("c,chw->hw", weights, a)))


def test_layercam_uses_positive_gradients_per_position(case):
    net, model, x, target = case
    a, g = activations_and_gradient(model, x, target)
    assert_same(ours(net, x, target, "layercam"), F.relu((F.relu(g) * a).sum(dim=0)))


def test_scorecam_weights_channels_by_the_score_of_their_masked_image(case):
    net, model, x, target = case
    a, _ = activations_and_gradient(model, x, target)
    masks = F.interpolate(a[None], size=x.shape[2:], mode="nearest")[0]  # (C, H, W)
    low = masks.amin(dim=(1, 2), keepdim=True)
    spread = masks.amax(dim=(1, 2), keepdim=True) - low
    masks = torch.where(spread > 0, (masks - low) / spread, torch.zeros_like(masks))
    with torch.no_grad():
        scores = model(BACKGROUND + masks[:, None] * (x - BACKGROUND))[:, target]
    weights = torch.softmax(scores, dim=0)
    assert_same(ours(net, x, target, "scorecam"), F.relu(torch.einsum("c,chw->hw", weights, a)))


def test_eigencam_is_the_first_principal_component_of_the_activations(case):
    net, model, x, target = case
    a, _ = activations_and_gradient(model, x, target)
    c, h, w = a.shape
    positions = a.reshape(c, h * w).T
    centred = positions - positions.mean(dim=0)
    projection = centred @ torch.linalg.svd(centred, full_matrices=False).Vh[0]
    projection *= torch.sign(projection @ positions.sum(dim=1))  # the sign ours chooses
    assert_same(ours(net, x, target, "eigencam"), F.relu(projection.reshape(h, w)))


@pytest.mark.parametrize("size_in", [1, 3, 5, 7, 11, 13, 14, 28])
def test_nearest_resize_matches_pytorch_interpolate(size_in):
    maps = np.random.default_rng(size_in).normal(size=(2, size_in, size_in + 1))
    expected = F.interpolate(torch.tensor(maps)[None], size=(28, 28), mode="nearest")[0]
    np.testing.assert_array_equal(nearest_resize(maps, (28, 28)), expected.numpy())
