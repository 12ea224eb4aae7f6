"""Inverted dropout: identity in eval, drops about p and rescales in training, same mask back."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.scratch import Dropout


def test_eval_is_the_identity():
    layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).standard_normal((8, 100))
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_train_drops_about_p_and_rescales(p):
    layer = Dropout(p, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(100, 1000)).astype(np.float32)
    y = layer(x)
    kept = y != 0
    assert kept.mean() == pytest.approx(1 - p, abs=0.01)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
    assert y.dtype == np.float32

    dy = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    dx = layer.backward(dy)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx[~kept], 0)
    np.testing.assert_allclose(dx[kept], dy[kept] / (1 - p), rtol=1e-6)


def test_the_mask_comes_from_the_seeded_generator():
    x = np.ones((4, 50))
    a = Dropout(0.5, rng=np.random.default_rng(7))(x)
    b = Dropout(0.5, rng=np.random.default_rng(7))(x)
    np.testing.assert_array_equal(a, b)


def test_p_one_zeroes_everything_and_p_zero_is_the_identity():
    x = np.ones((3, 4))
    np.testing.assert_array_equal(Dropout(1.0)(x), 0)
    np.testing.assert_array_equal(Dropout(0.0)(x), x)


def test_rejects_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(1.5)


def test_a_models_saved_generator_state_replays_the_same_masks():
    """What a checkpoint keeps of Dropout (`cnnlab.training.rng_state`): restoring it makes
    the next masks those that followed the save."""
    import json

    from cnnlab.commands.arch_options import arch_spec
    from cnnlab.models import build_model
    from cnnlab.training.rng_state import generator_states, restore_generator_states

    model = build_model(arch_spec("Flatten Linear(16) Dropout(0.5) Linear(10)", None), seed=3)
    x = np.ones((4, 1, 28, 28), dtype=np.float32)
    model(x)  # a first draw: the saved state is not the fresh generator's
    saved = json.loads(json.dumps(generator_states(model)))  # as the checkpoint stores it
    assert saved, "the Dropout layer's generator was not found"
    first = model(x)
    restore_generator_states(model, saved)
    np.testing.assert_array_equal(model(x), first)
    assert not np.array_equal(model(x), first)  # and the stream goes on from there
