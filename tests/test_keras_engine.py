"""KerasEngine: the Engine protocol on the Keras twin (checkpoints, CAM inputs, training)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from cnnlab.data import iterate_batches, normalize
from cnnlab.errors import UserError
from cnnlab.models import get_spec
from cnnlab.models.keras_builder import import_keras
from cnnlab.models.shapes import feature_shape
from cnnlab.training.engines import KerasEngine, make_engine
from cnnlab.training.loop import loss_and_accuracy, train_epoch

try:
    keras = import_keras()
    import torch  # noqa: F401  (the extra needs it; skip the module without it)
except ImportError:
    pytest.skip("the keras extra (keras, torch) is not installed", allow_module_level=True)

# the keras engine runs on the torch backend
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def images(mnist):
    """64 real training images (64, 1, 28, 28) float32 and their labels."""
    return normalize(mnist.train_images[:64]), mnist.train_labels[:64].astype(np.int64)


def test_make_engine_builds_a_keras_engine():
    engine = make_engine("cnn2", "keras", optimizer="sgd", lr=0.1)
    assert isinstance(engine, KerasEngine)
    assert engine.name == "keras"
    assert engine.checkpoint_name.endswith(".npz")


def test_save_and_load_round_trip(tmp_path, images):
    x, y = images
    kwargs = dict(seed=0, optimizer="adam", lr=1e-3, weight_decay=1e-4)
    engine = make_engine("cnn2", "keras", **kwargs)
    for i in range(3):
        engine.train_step(x[16 * i : 16 * (i + 1)], y[16 * i : 16 * (i + 1)])
    engine.set_lr(5e-4)
    path = tmp_path / engine.checkpoint_name
    engine.save(path, {"epoch": 1, "step": 3})

    restored = make_engine("cnn2", "keras", **kwargs)
    assert restored.load(path) == {"epoch": 1, "step": 3}
    with np.load(path, allow_pickle=False) as npz:
        assert "model/conv1.weight" in npz.files
        assert npz["model/conv1.weight"].shape == (16, 1, 3, 3)  # the NumPy layout
    for a, b in zip(engine.optimizer.variables, restored.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.value.detach().numpy(), b.value.detach().numpy())
    np.testing.assert_array_equal(restored.logits(x), engine.logits(x))
    # The next step continues the same trajectory: weights, Adam moments, step count and lr.
    assert restored.train_step(x[48:], y[48:]) == engine.train_step(x[48:], y[48:])


def test_load_refuses_another_model_or_optimizer(tmp_path):
    path = tmp_path / "checkpoint.keras.npz"
    make_engine("cnn3", "keras", optimizer="sgd").save(path, {})
    with pytest.raises(UserError, match="cannot be used"):
        make_engine("cnn2", "keras", optimizer="sgd").load(path)
    with pytest.raises(UserError, match="optimizer state"):
        make_engine("cnn3", "keras", optimizer="adam").load(path)


@pytest.mark.parametrize(("name", "target"), [("cnn2", None), ("cnn3", 3)])
def test_feature_map_and_grad_match_the_scratch_engine(name, target, images):
    x = images[0][:1]
    keras_result = make_engine(name, "keras", seed=2).feature_map_and_grad(x, target)
    numpy_result = make_engine(name, "scratch", seed=2).feature_map_and_grad(x, target)
    assert keras_result[3] == numpy_result[3]
    assert keras_result[1].shape == keras_result[2].shape == feature_shape(get_spec(name))
    for what, got, expected in zip(
        ("logits", "A", "dS/dA"), keras_result[:3], numpy_result[:3], strict=True
    ):
        error = np.abs(got - expected).max()
        assert error <= 1e-4 * np.abs(expected).max(), f"{what}: max difference {error:.3g}"


def test_head_parameters_match_the_scratch_engine():
    keras_engine = make_engine("cnn3", "keras", seed=4)
    numpy_engine = make_engine("cnn3", "scratch", seed=4)
    for got, expected in zip(
        keras_engine.head_parameters(), numpy_engine.head_parameters(), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


def test_float64_is_refused():
    """Keras multiplies float64 matrices in float32 on its torch backend (JAX's promotion)."""
    assert keras.backend.result_type("float64", "float64") == "float32"  # why
    with pytest.raises(UserError, match="float32 only"):
        make_engine("cnn2", "keras", dtype=np.float64)


def test_require_keras_speaks_to_the_user(monkeypatch):
    KerasEngine.require()
    monkeypatch.setitem(sys.modules, "keras", None)  # what `import keras` sees when missing
    with pytest.raises(UserError, match=r"pip install 'cnnlab\[keras\]'"):
        KerasEngine.require()


def test_another_keras_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(UserError, match="KERAS_BACKEND"):
        import_keras()


@pytest.mark.slow
def test_cnn2_learns_from_2000_images(mnist):
    order = np.random.default_rng(0).permutation(len(mnist.train_labels))
    train, held_out = order[:2000], order[2000:3000]
    x_train, y_train = normalize(mnist.train_images[train]), mnist.train_labels[train]
    x_held, y_held = normalize(mnist.train_images[held_out]), mnist.train_labels[held_out]
    engine = make_engine("cnn2", "keras", seed=0, optimizer="adam", lr=1e-3)
    step = 0
    for epoch in range(10):  # 10 x 32 = 320 steps of 64
        batches = iterate_batches(x_train, y_train.astype(np.int64), 64, seed=0, epoch=epoch)
        step += train_epoch(engine, batches, lambda _: 1e-3, step).steps
    _, accuracy = loss_and_accuracy(engine, x_held, y_held.astype(np.int64))
    print(f"cnn2 keras, {step} Adam steps of 64: held-out accuracy {accuracy:.3f}")
    assert accuracy > 0.85
