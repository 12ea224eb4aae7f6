"""Dropout2d (`cnnlab.models.layers.dropout2d`): whole channels dropped, the survivors scaled by
1/(1-p) as PyTorch's `nn.Dropout2d`, the same mask in backward, masks from the seeded generator
that checkpoints save, and the batch kept in one piece by `DataParallel`."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.errors import UserError
from cnnlab.models import build_model, spec_from_string
from cnnlab.models.layers.dropout2d import Dropout2d
from cnnlab.training.parallel import DataParallel
from cnnlab.training.rng_state import generator_states, restore_generator_states

X = np.random.default_rng(0).normal(size=(8, 16, 5, 5)) + 5.0  # no value is 0 by chance


def test_each_channel_is_dropped_whole_or_kept_and_scaled():
    layer = Dropout2d(0.25, rng=np.random.default_rng(1))
    y = layer(X)
    dropped = np.all(y == 0, axis=(2, 3))  # (N, C)
    kept = np.all(np.isclose(y, X / 0.75, rtol=1e-12), axis=(2, 3))
    assert np.all(dropped ^ kept)
    assert 0.15 < dropped.mean() < 0.35  # 128 draws of p = 0.25
    dy = np.ones_like(X)
    np.testing.assert_array_equal(layer.backward(dy) == 0, y == 0)  # the same mask


def test_eval_mode_and_p_zero_are_the_identity():
    layer = Dropout2d(0.5, rng=np.random.default_rng(1))
    layer.eval()
    assert layer(X) is X
    assert Dropout2d(0.0)(X) is X


def test_its_masks_follow_the_seed_and_a_restored_generator():
    model = build_model(spec_from_string("Conv2d(4, 3) Dropout2d Flatten Linear(10)", "n"), seed=3)
    x = X[:, :1, :, :].repeat(6, axis=2).repeat(6, axis=3)[:, :, :28, :28]  # (8, 1, 28, 28)
    saved = generator_states(model)
    assert "dropout1" in saved
    first = model(x)
    restore_generator_states(model, saved)
    np.testing.assert_array_equal(model(x), first)
    assert not np.array_equal(model(x), first)  # the generator moved on


def test_data_parallel_keeps_a_batch_with_dropout2d_in_one_chunk():
    model = build_model(spec_from_string("Conv2d(4, 3) Dropout2d Flatten Linear(10)", "n"))
    assert DataParallel(model, workers=4).chunks_for(256) == 1


def test_dropout2d_needs_a_feature_map():
    with pytest.raises(UserError, match="use Dropout after Flatten"):
        spec_from_string("Flatten Dropout2d Linear(10)", "n")


def test_pytorchs_dropout2d_drops_whole_channels_with_the_same_scale():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here")
    torch.manual_seed(0)
    y = torch.nn.Dropout2d(0.25)(torch.from_numpy(X)).numpy()
    dropped = np.all(y == 0, axis=(2, 3))
    assert np.all(dropped | np.all(np.isclose(y, X / 0.75, rtol=1e-12), axis=(2, 3)))
