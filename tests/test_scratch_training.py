"""A short real training run of the NumPy engine: cnn2 learns MNIST digits."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cnnlab.data import normalize
from cnnlab.models import build_model
from cnnlab.scratch import Adam, CrossEntropyLoss

STEPS, BATCH = 300, 64


def train_steps(model, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
    """STEPS Adam steps over epochs reshuffled each time; an epoch's partial batch is dropped."""
    loss, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3)
    batches_per_epoch = len(x) // BATCH
    for step in range(STEPS):
        if step % batches_per_epoch == 0:
            shuffled = rng.permutation(len(x))
        idx = shuffled[(step % batches_per_epoch) * BATCH :][:BATCH]
        opt.zero_grad()
        loss(model(x[idx]), y[idx])
        model.backward(loss.backward())
        opt.step()


@pytest.mark.slow
def test_cnn2_learns_from_2000_images(mnist):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(mnist.train_labels))
    train, held_out = order[:2000], order[2000:3000]
    x_train, y_train = normalize(mnist.train_images[train]), mnist.train_labels[train]
    x_held, y_held = normalize(mnist.train_images[held_out]), mnist.train_labels[held_out]

    model = build_model("cnn2", "scratch", seed=0)
    # One BLAS thread: on cores shared with other jobs, OpenBLAS threads spin-wait for each
    # other and a step can take 10x longer; one thread keeps this test's time predictable.
    with threadpool_limits(limits=1, user_api="blas"):
        train_steps(model, x_train, y_train, rng)
        model.eval()
        predictions = np.concatenate(
            [model(x_held[i : i + 250]).argmax(axis=1) for i in range(0, 1000, 250)]
        )
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    accuracy = float(np.mean(predictions == y_held))
    print(f"cnn2 scratch, {STEPS} Adam steps of {BATCH}: held-out accuracy {accuracy:.3f}")
    assert accuracy >= 0.90
