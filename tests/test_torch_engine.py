"""The PyTorch engine builds its optimizer only when training needs it (building one imports
torch._dynamo, 1.4 s that evaluating, explaining and the lab never use), and still carries a
checkpoint's optimizer state into a resumed training, or refuses a bad one in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.errors import UserError
from cnnlab.models import spec_from_string

torch = pytest.importorskip("torch")

from cnnlab.training.engines import make_engine  # noqa: E402

ARCH = spec_from_string("Flatten Linear(16) ReLU Linear(10)", "small")


def _batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 8)


def _trained(tmp_path):
    engine = make_engine(ARCH, "torch", seed=0, optimizer="adam")
    for seed in range(3):
        engine.train_step(*_batch(seed))
    path = tmp_path / engine.checkpoint_name
    engine.save(path, {"epoch": 1})
    return engine, path


def test_loading_a_checkpoint_builds_no_optimizer_but_training_gets_its_state(tmp_path):
    trained, path = _trained(tmp_path)
    loaded = make_engine(ARCH, "torch", seed=0, optimizer="adam")
    assert loaded.load(path) == {"epoch": 1}
    assert loaded._optimizer is None  # answering needs none
    np.testing.assert_array_equal(loaded.logits(_batch(5)[0]), trained.logits(_batch(5)[0]))
    saved, restored = trained.optimizer.state_dict(), loaded.optimizer.state_dict()
    assert saved["param_groups"] == restored["param_groups"]
    for key, state in saved["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(restored["state"][key][name], value, rtol=0, atol=0)
    trained.train_step(*_batch(9))
    loaded.train_step(*_batch(9))  # the same next step: the same Adam moments
    np.testing.assert_array_equal(loaded.logits(_batch(5)[0]), trained.logits(_batch(5)[0]))


def test_a_bad_optimizer_state_is_one_sentence_naming_the_checkpoint(tmp_path):
    _, path = _trained(tmp_path)
    state = torch.load(path, weights_only=True)
    state["optimizer"]["param_groups"] = []  # no longer fits the network's parameters
    torch.save(state, path)
    loaded = make_engine(ARCH, "torch", seed=0, optimizer="adam")
    loaded.load(path)  # the weights are fine: evaluating and explaining work
    with pytest.raises(UserError, match=str(path.name)):
        loaded.train_step(*_batch(0))
