"""The Keras twin computes what the NumPy model computes: logits, gradients, SGD trajectories.

float32 on both sides, so the tolerance is float32 rounding (~1e-4 relative), on real MNIST.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab import scratch
from cnnlab.data import iterate_batches, normalize
from cnnlab.models import MODEL_NAMES, build_model
from cnnlab.models.keras_builder import import_keras
from cnnlab.models.keras_convert import named_variables, to_numpy, weight_from_keras
from cnnlab.training.engines import make_engine

try:
    keras = import_keras()
    import torch
except ImportError:
    pytest.skip("the keras extra (keras, torch) is not installed", allow_module_level=True)

# the keras engine runs on the torch backend
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("one_thread")]

RTOL = 1e-4


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = RTOL, what: str = ""):
    """max |actual - expected| <= rtol * max |expected|: relative to the array's scale."""
    assert actual.shape == expected.shape, what
    error = float(np.abs(actual - expected).max())
    assert error <= rtol * float(np.abs(expected).max()), f"{what}: max difference {error:.3g}"


@pytest.fixture(scope="module")
def batch(mnist):
    """32 real test images (32, 1, 28, 28) float32 and their labels."""
    return normalize(mnist.test_images[:32]), mnist.test_labels[:32].astype(np.int64)


def keras_loss_and_grads(model, x, y):
    """Logits (B, 10), and d(mean cross-entropy)/d(every weight) in the NumPy layout."""
    logits = model(x, training=True)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    variables = dict(named_variables(model))  # {"conv1.weight": its Keras kernel, ...}
    grads = torch.autograd.grad(loss, [v.value for v in variables.values()])
    return to_numpy(logits), {
        key: weight_from_keras(to_numpy(g)) for key, g in zip(variables, grads, strict=True)
    }


def numpy_loss_and_grads(model, x, y):
    loss = scratch.CrossEntropyLoss()
    logits = model(x)
    loss.forward(logits, y)
    model.zero_grad()
    model.backward(loss.backward())
    return logits, {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_logits_and_gradients_match_numpy(name, batch):
    x, y = batch
    keras_logits, keras_grads = keras_loss_and_grads(build_model(name, "keras", seed=1), x, y)
    numpy_logits, numpy_grads = numpy_loss_and_grads(build_model(name, "scratch", seed=1), x, y)
    assert_close(keras_logits, numpy_logits, what="logits")
    assert keras_grads.keys() == numpy_grads.keys()
    for key, grad in numpy_grads.items():
        assert_close(keras_grads[key], grad, what=key)


def _losses_side_by_side(mnist, model, optimizer, lr, steps=20):
    kwargs = dict(seed=0, optimizer=optimizer, lr=lr, momentum=0.9, weight_decay=1e-4)
    engines = make_engine(model, "keras", **kwargs), make_engine(model, "scratch", **kwargs)
    batches = iterate_batches(
        mnist.train_images[:1280], mnist.train_labels[:1280], 64, seed=0, epoch=1
    )
    losses = np.array([[e.train_step(x, y)[0] for e in engines] for x, y in batches][:steps])
    return losses, engines


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_twenty_sgd_steps_match_numpy(name, mnist):
    """SGD with momentum and L2 decay: Keras' velocity form equals PyTorch's for a fixed lr."""
    losses, (keras_engine, numpy_engine) = _losses_side_by_side(mnist, name, "sgd", lr=0.01)
    assert_close(losses[:, 0], losses[:, 1], what="losses")
    assert losses[-1, 1] < losses[0, 1]  # it did learn something
    keras_state = keras_engine.convert.keras_to_numpy(keras_engine.model)
    for key, weight in numpy_engine.model.state_dict().items():
        # 20 momentum steps accumulate float32 rounding: ~1e-4 relative, so a 1e-3 bound.
        assert_close(keras_state[key], weight, rtol=1e-3, what=key)


def test_adam_follows_numpy_up_to_its_epsilon(mnist):
    """Keras puts Adam's epsilon on the uncorrected sqrt(v): close to PyTorch's Adam, not equal."""
    losses, _ = _losses_side_by_side(mnist, "cnn2", "adam", lr=1e-3)
    assert_close(losses[:, 0], losses[:, 1], rtol=5e-3, what="losses")
