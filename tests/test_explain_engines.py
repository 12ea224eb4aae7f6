"""Every attribution method gives the same map in the NumPy engine (its own forward and
backward) and in PyTorch (autograd), in float64, to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.explain import available, explain_image
from cnnlab.explain.scratch_net import ScratchNetwork
from cnnlab.models import build_model, spec_from_string

torch = pytest.importorskip("torch")
from cnnlab.explain.torch_net import TorchNetwork  # noqa: E402

# a global-average-pool head with BatchNorm, a strided conv and no max-pool, beside the presets
GAP_NET = (
    "Conv2d(4, 3) BatchNorm2d ReLU Conv2d(6, 3, stride=2) ReLU "
    "AdaptiveAvgPool2d(1) Flatten Linear(10)"
)
ARCHITECTURES = ("cnn2", "cnn3", "mlp3", "lenet5", GAP_NET)
BACKGROUND = -0.4242  # MNIST's normalised 0


def twin_networks(arch: str, seed: int = 3):
    """The same random weights as a float64 NumPy network and a float64 PyTorch network."""
    spec = spec_from_string(arch, "gapnet") if "(" in arch else arch
    model = build_model(spec, "scratch", seed=seed)
    return ScratchNetwork(model), TorchNetwork.from_state(model.spec, model.state_dict())


def digit_like(seed: int = 0) -> np.ndarray:
    """A normalised (1, 1, 28, 28) image: a bright random blob on a faintly noisy background.

    The noise keeps max-pool windows free of exact ties: on a flat background two positions
    are equal up to the last bit, and which one gets the gradient then depends on each
    library's order of additions (PyTorch's convolution is not NumPy's matrix product)."""
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 0.05, (28, 28))
    pixels[6:22, 8:20] = rng.uniform(0, 1, (16, 12))
    return ((pixels - 0.1307) / 0.3081)[None, None]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_method_gives_the_same_map_in_both_engines_to_1e_10(arch):
    scratch, twin = twin_networks(arch)
    x = digit_like()
    methods = available(scratch.spec)
    target_a, p_a, maps_a = explain_image(scratch, x, methods, BACKGROUND)
    target_b, p_b, maps_b = explain_image(twin, x, methods, BACKGROUND)
    assert target_a == target_b
    np.testing.assert_allclose(p_a, p_b, rtol=0, atol=1e-12)
    for name in methods:
        a, b = maps_a[name], maps_b[name]
        assert a["map"].shape == x.shape, name
        assert np.abs(a["map"]).max() > 0, f"{name} gave an empty map"
        np.testing.assert_allclose(a["map"], b["map"], rtol=0, atol=1e-10, err_msg=name)
        if "layer_map" in a:
            np.testing.assert_allclose(a["layer_map"], b["layer_map"], rtol=0, atol=1e-10)


def test_a_chosen_target_class_is_explained_instead_of_the_predicted_one():
    scratch, twin = twin_networks("cnn2")
    x = digit_like(1)
    predicted, _, _ = explain_image(scratch, x, (), BACKGROUND)
    other = (predicted + 1) % 10
    target, _, maps = explain_image(scratch, x, ("saliency", "gradcam"), BACKGROUND, other)
    _, _, own = explain_image(scratch, x, ("saliency", "gradcam"), BACKGROUND)
    assert target == other
    assert not np.allclose(maps["saliency"]["map"], own["saliency"]["map"])
    _, _, torch_maps = explain_image(twin, x, ("saliency",), BACKGROUND, other)
    np.testing.assert_allclose(maps["saliency"]["map"], torch_maps["saliency"]["map"], atol=1e-10)


def test_integrated_gradients_nearly_complete_in_both_engines():
    for net in twin_networks("cnn3"):
        _, _, maps = explain_image(net, digit_like(2), ("integrated_gradients",), BACKGROUND)
        result = maps["integrated_gradients"]
        # completeness: the error is small beside the score difference it explains
        assert abs(result["completeness_error"]) < 0.01 * np.abs(result["map"]).sum()


def test_the_mlp_has_the_input_methods_and_no_cam_family():
    spec = build_model("mlp3", "scratch").spec
    assert set(available(spec)) == {
        "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "occlusion",
        "guided_backprop",
    }  # fmt: skip
    assert "cam" not in available(build_model("lenet5", "scratch").spec)
    assert "gradcam" in available(build_model("lenet5", "scratch").spec)


def test_guided_relu_backward_zeroes_negative_gradients_where_plain_relu_passes_them():
    from cnnlab.scratch.activation import ReLU

    relu = ReLU()
    relu(np.array([[-1.0, 2.0, 3.0]]))
    dy = np.array([[5.0, -4.0, 6.0]])
    np.testing.assert_array_equal(relu.backward(dy), [[0.0, -4.0, 6.0]])
    np.testing.assert_array_equal(relu.guided_backward(dy), [[0.0, 0.0, 6.0]])


def test_each_engine_s_weights_reach_the_network_that_explains_them():
    """`network_of`: PyTorch runs explained by autograd, NumPy and Keras runs by the NumPy
    network, each holding the engine's own weights (same scores as the engine)."""
    from cnnlab.explain.runs import network_of
    from cnnlab.training.engines import make_engine

    x = digit_like(4)
    engines = ["scratch", "torch"]
    try:
        from cnnlab.models.keras_builder import import_keras

        import_keras()
        engines.append("keras")
    except ImportError:
        pass
    for name in engines:
        engine = make_engine("cnn2", name, seed=6)
        expected = engine.logits(x.astype(np.float32)).astype(np.float64)
        net = network_of(engine)
        assert net.engine == ("torch" if name == "torch" else "scratch")
        np.testing.assert_allclose(net.logits(x), expected, rtol=1e-4, atol=1e-5, err_msg=name)
