"""Seeded batches: the order of an epoch is a pure function of (seed, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.data import MEAN, STD, iterate_batches, num_batches

N = 10


@pytest.fixture
def data():
    """N images whose pixels all equal their label, so a batch shows which examples it holds."""
    labels = np.arange(N, dtype=np.uint8)
    images = np.broadcast_to(labels[:, None, None], (N, 28, 28)).copy()
    return images, labels


def order(data, **kwargs):
    return np.concatenate([y for _, y in iterate_batches(*data, 3, **kwargs)])


def test_same_seed_and_epoch_give_the_same_order(data):
    first = order(data, seed=1, epoch=2)
    np.testing.assert_array_equal(first, order(data, seed=1, epoch=2))
    np.testing.assert_array_equal(first, np.random.default_rng([1, 2]).permutation(N))


def test_every_epoch_is_a_new_permutation(data):
    epochs = [order(data, seed=1, epoch=e) for e in range(3)]
    for ys in epochs:
        np.testing.assert_array_equal(np.sort(ys), np.arange(N))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], order(data, seed=2, epoch=0))


def test_no_shuffle_keeps_the_data_order(data):
    np.testing.assert_array_equal(order(data, seed=1, epoch=5, shuffle=False), np.arange(N))


def test_shapes_dtypes_and_the_partial_last_batch(data):
    batches = list(iterate_batches(*data, 4, seed=0, epoch=0))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert x.shape == (4, 1, 28, 28)
    assert x.dtype == np.float32
    assert y.dtype == np.int64
    # Pixels equal the label, so the normalized image is known from the label.
    np.testing.assert_allclose(x[:, 0, 0, 0], (y / 255 - MEAN) / STD, rtol=1e-6)


def test_start_batch_gives_the_tail_of_the_same_sequence(data):
    full = list(iterate_batches(*data, 3, seed=4, epoch=1))
    tail = list(iterate_batches(*data, 3, seed=4, epoch=1, start_batch=2))
    assert len(tail) == len(full) - 2
    for (x_full, y_full), (x_tail, y_tail) in zip(full[2:], tail, strict=True):
        np.testing.assert_array_equal(y_full, y_tail)
        np.testing.assert_array_equal(x_full, x_tail)
    assert list(iterate_batches(*data, 3, seed=4, epoch=1, start_batch=4)) == []


def test_float_images_pass_through(data):
    images = np.random.default_rng(0).standard_normal((N, 1, 28, 28))
    x, _ = next(iterate_batches(images, data[1], 5, seed=0, epoch=0, shuffle=False))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, images[:5], rtol=1e-6)


@pytest.mark.parametrize(
    ("n", "batch_size", "expected"),
    [(10, 3, 4), (9, 3, 3), (0, 3, 0), (1, 64, 1), (60000, 64, 938)],
)
def test_num_batches_keeps_the_last_partial_batch(n, batch_size, expected):
    assert num_batches(n, batch_size) == expected


def test_bad_arguments_are_refused(data):
    with pytest.raises(ValueError, match="batch_size"):
        num_batches(10, 0)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        iterate_batches(data[0], data[1][:9], 3, seed=0, epoch=0)
    with pytest.raises(ValueError, match="start_batch"):
        iterate_batches(*data, 3, seed=0, epoch=0, start_batch=5)
