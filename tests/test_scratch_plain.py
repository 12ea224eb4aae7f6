"""The plain network first: `build_model` gives the layers as written, and the engine's speed
rewrites (one step, `cnnlab.scratch.speed`, and `DataParallel`) change no number that matters:
a plain training step and the fast one agree in float64."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models import build_model, resolve_spec
from cnnlab.scratch import ReLU
from cnnlab.scratch.fused import ConvPool
from cnnlab.training.engines import make_engine

BATCH_NORM = "Conv2d(8, 3) BatchNorm2d ReLU MaxPool2d(2) Flatten Linear(10)"
NETS = ["cnn2", "cnn3", "mlp3", "bn"]


def _spec(name: str):
    return resolve_spec(name, BATCH_NORM if name == "bn" else None)


@pytest.mark.parametrize("name", NETS)
def test_build_model_gives_the_layers_as_written(name):
    model = build_model(_spec(name), engine="scratch")
    assert model.order == list(model.named_children())
    assert not any(isinstance(m, ReLU) and m.inplace for m in model)
    assert not any(isinstance(step, ConvPool) for _, step in model.order)


@pytest.mark.parametrize("name", NETS)
def test_a_plain_training_step_gives_the_fast_steps_numbers(name):
    spec = _spec(name)
    fast = make_engine(spec, "scratch", seed=2, dtype=np.float64, optimizer="sgd", lr=0.1)
    plain = make_engine(spec, "scratch", seed=2, dtype=np.float64, optimizer="sgd", lr=0.1,
                        plain=True)  # fmt: skip
    assert plain.model.order == list(plain.model.named_children())
    assert fast.model.order != plain.model.order or name == "mlp3"  # mlp3 has nothing to rewrite
    rng = np.random.default_rng(0)
    for _ in range(2):
        x = rng.normal(size=(64, 1, 28, 28))
        y = rng.integers(0, 10, size=64)
        loss, correct = fast.train_step(x, y)
        plain_loss, plain_correct = plain.train_step(x, y)
        assert plain_loss == pytest.approx(loss, rel=1e-12)
        assert plain_correct == correct
    expected = plain.model.state_dict()
    for key, value in fast.model.state_dict().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-10, atol=1e-13, err_msg=key)


def test_plain_is_the_numpy_engines_option(capsys):
    from cnnlab.cli import main

    assert main(["train", "--engine", "torch", "--plain", "--quiet"]) == 2
    assert "--plain is the scratch engine's option" in capsys.readouterr().err
