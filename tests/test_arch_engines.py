"""Every layer kind of the architecture language, built by all three engines from one string:
NumPy against PyTorch in float64 (logits, every gradient, running statistics, train and eval
mode), Keras against NumPy in float32."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models import build_model, spec_from_string
from cnnlab.models.keras_builder import import_keras
from cnnlab.scratch import CrossEntropyLoss

torch = pytest.importorskip("torch")

EVERY_KIND = (
    "Conv2d(4, 3, stride=2, padding=(1, 1), bias=False) BatchNorm2d(momentum=0.2) LeakyReLU(0.1) "
    "MaxPool2d(3, stride=1, padding=1) AvgPool2d(2) Sigmoid Conv2d(6, 3, padding=1) Tanh ReLU "
    "AdaptiveAvgPool2d(1) Flatten BatchNorm1d Dropout(0.0) Linear(10)"
)
TOL = {"rtol": 1e-9, "atol": 1e-11}
KERAS_TOL = {"rtol": 1e-3, "atol": 1e-4}  # float32 through BatchNorm1d on 6 examples


def batches(count: int, n: int = 6):
    rng = np.random.default_rng(0)
    return [
        (rng.standard_normal((n, 1, 28, 28)), rng.integers(0, 10, size=n)) for _ in range(count)
    ]


def numpy_and_torch_twins():
    spec = spec_from_string(EVERY_KIND, "every")
    model = build_model(spec, "scratch", seed=1).to(np.float64)
    twin = build_model(spec, "torch", seed=1).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return model, twin


def test_numpy_and_torch_agree_on_every_layer_kind_in_train_and_eval_mode():
    model, twin = numpy_and_torch_twins()
    loss = CrossEntropyLoss()
    for x, y in batches(3):  # three training batches: the running statistics move three times
        model.zero_grad()
        twin.zero_grad()
        logits = model(x)
        loss(logits, y)
        model.backward(loss.backward())
        logits_t = twin(torch.from_numpy(x))
        torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(y)).backward()
        np.testing.assert_allclose(logits, logits_t.detach().numpy(), **TOL)
    for key, param in twin.named_parameters():
        grad = dict(model.named_parameters())[key].grad
        np.testing.assert_allclose(grad, param.grad.numpy(), **TOL, err_msg=key)
    state, state_t = model.state_dict(), twin.state_dict()
    assert list(state) == list(state_t)
    for key, value in state_t.items():
        np.testing.assert_allclose(state[key], value.numpy(), **TOL, err_msg=key)
    assert state["bn1.num_batches_tracked"] == 3
    model.eval()
    twin.eval()
    x, _ = batches(1)[0]
    np.testing.assert_allclose(model(x), twin(torch.from_numpy(x)).detach().numpy(), **TOL)


def test_keras_momentum_and_axis_are_converted_in_one_place():
    from cnnlab.models.keras_builder import batch_norm_arguments

    assert batch_norm_arguments({"momentum": 0.1, "eps": 1e-5}) == {
        "axis": 1,
        "momentum": 0.9,
        "epsilon": 1e-5,
    }
    assert batch_norm_arguments({})["momentum"] == pytest.approx(0.9)  # PyTorch's default 0.1


def test_keras_builds_every_layer_kind_like_numpy_with_pytorch_running_statistics():
    try:
        import_keras()
    except ImportError:
        pytest.skip("the keras extra is not installed")
    from cnnlab.models.keras_convert import keras_to_numpy

    spec = spec_from_string(EVERY_KIND, "every")
    model = build_model(spec, "scratch", seed=1)
    keras_model = build_model(spec, "keras", seed=1)
    for x, _ in batches(3):
        x = x.astype(np.float32)
        expected = model(x)
        got = keras_model(torch.from_numpy(x), training=True).detach().cpu().numpy()
        np.testing.assert_allclose(got, expected, **KERAS_TOL)
    state, keras_state = model.state_dict(), keras_to_numpy(keras_model, num_batches_tracked=3)
    assert list(keras_state) == list(state)
    for key, value in state.items():  # running_var too: the unbiased update, like PyTorch
        np.testing.assert_allclose(keras_state[key], value, rtol=1e-4, atol=1e-6, err_msg=key)
    model.eval()
    x = batches(1)[0][0].astype(np.float32)
    got = keras_model(torch.from_numpy(x), training=False).detach().cpu().numpy()
    np.testing.assert_allclose(got, model(x), **KERAS_TOL)
