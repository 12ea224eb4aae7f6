"""The Keras twin's build and its weight conversion to and from the NumPy state dict."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models import MODEL_NAMES, build_model, get_spec
from cnnlab.models.keras_builder import import_keras
from cnnlab.models.keras_convert import (
    keras_to_numpy,
    load_numpy_state,
    numpy_to_keras,
    weight_from_keras,
    weight_to_keras,
)
from cnnlab.models.shapes import feature_shape

try:
    keras = import_keras()
except ImportError:
    pytest.skip("the keras extra (keras, torch) is not installed", allow_module_level=True)

pytestmark = pytest.mark.torch  # the keras engine runs on the torch backend


def test_weight_layouts():
    conv = np.arange(16 * 3 * 3 * 5, dtype=np.float32).reshape(16, 5, 3, 3)  # (O, I, kh, kw)
    assert weight_to_keras(conv).shape == (3, 3, 5, 16)
    assert weight_to_keras(conv)[1, 2, 4, 7] == conv[7, 4, 1, 2]
    dense = np.arange(30.0).reshape(10, 3)  # (out, in)
    np.testing.assert_array_equal(weight_to_keras(dense), dense.T)
    for weight in (conv, dense, np.arange(4.0)):
        np.testing.assert_array_equal(weight_from_keras(weight_to_keras(weight)), weight)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_starts_from_the_numpy_weights_of_the_same_seed(name):
    model = build_model(name, "keras", seed=3)
    expected = build_model(name, "scratch", seed=3).state_dict()
    state = keras_to_numpy(model)
    assert list(state) == list(expected)
    for key, weight in expected.items():
        np.testing.assert_array_equal(state[key], weight, err_msg=key)
    assert model.spec is get_spec(name)
    own = [layer.name for layer in model.layers[1:] if not layer.name.endswith("_pad")]
    assert own == [layer.name for layer in model.spec.layers]  # padding layers are extra


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_is_exact(name):
    state = build_model(name, "scratch", seed=7).state_dict()
    model = build_model(name, "keras", seed=0)
    for key, kernel in numpy_to_keras(state).items():
        layer, kind = key.split(".")
        keras_name = {"weight": "kernel", "bias": "bias"}[kind]
        assert kernel.shape == tuple(getattr(model.get_layer(layer), keras_name).shape)
    load_numpy_state(model, state)
    back = keras_to_numpy(model)
    for key, weight in state.items():
        np.testing.assert_array_equal(back[key], weight, err_msg=key)
    head_bias = f"{model.spec.layers[-1].name}.bias"
    back[head_bias][0] = 123.0
    assert keras_to_numpy(model)[head_bias][0] != 123.0  # copies, not views of the variables


def test_flatten_keeps_the_channel_height_width_order():
    """fc.weight means the same in every engine: a one-hot weight picks A[c, h, w]."""
    model = build_model("cnn3", "keras", seed=0)
    state = keras_to_numpy(model)
    C, H, W = feature_shape(model.spec)
    state["fc.weight"] = np.zeros_like(state["fc.weight"])
    state["fc.weight"][0, np.ravel_multi_index((5, 1, 2), (C, H, W))] = 1.0
    state["fc.bias"] = np.zeros_like(state["fc.bias"])
    load_numpy_state(model, state)
    features = keras.Model(model.input, model.get_layer("relu3").output)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    a = features(x).detach().numpy()  # (2, C, H, W)
    np.testing.assert_array_equal(model(x).detach().numpy()[:, 0], a[:, 5, 1, 2])


def test_load_is_strict():
    model = build_model("cnn2", "keras", seed=0)
    state = build_model("cnn2", "scratch", seed=0).state_dict()
    with pytest.raises(ValueError, match=r"missing \['fc.bias'\]"):
        load_numpy_state(model, {k: v for k, v in state.items() if k != "fc.bias"})
    with pytest.raises(ValueError, match=r"conv2\.weight has shape"):
        load_numpy_state(model, state | {"conv2.weight": state["conv2.weight"][:, :8]})
    with pytest.raises(ValueError, match=r"unexpected \['fc2.weight'\]"):
        load_numpy_state(model, state | {"fc2.weight": state["fc.weight"]})
