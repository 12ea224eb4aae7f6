"""CrossEntropyLoss against torch.nn.functional.cross_entropy in float64."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.scratch import CrossEntropyLoss
from torch_oracle import torch

TOL = {"rtol": 1e-10, "atol": 1e-12}


@pytest.mark.parametrize("scale", [1.0, 1000.0], ids=["plain", "huge_logits"])
@pytest.mark.parametrize("classes", [3, 10])
@pytest.mark.parametrize("batch", [1, 7])
def test_matches_torch(batch, classes, scale):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((batch, classes)) * scale
    targets = rng.integers(0, classes, size=batch)
    logits_t = torch.from_numpy(logits).requires_grad_()
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(targets))
    loss_t.backward()

    loss = CrossEntropyLoss()
    value = loss(logits, targets)
    assert isinstance(value, float)
    assert np.isfinite(value)
    np.testing.assert_allclose(value, loss_t.item(), **TOL)
    np.testing.assert_allclose(loss.backward(), logits_t.grad.numpy(), **TOL)


def test_uniform_logits_give_log_k():
    loss = CrossEntropyLoss()
    assert loss(np.zeros((4, 10)), np.array([0, 3, 5, 9])) == pytest.approx(np.log(10))
