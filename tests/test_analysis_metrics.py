"""cnnlab.analysis.metrics against hand-computed examples and plain NumPy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cnnlab.analysis.metrics import (
    confusion_matrix,
    evaluation_summary,
    most_confident_errors,
    per_class_metrics,
    top_confusions,
    top_scoring_images,
)


def _random_predictions(n: int = 500, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    probabilities = rng.dirichlet(np.ones(10), size=n)
    return labels, probabilities


def test_confusion_matrix_small_example():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    cm = confusion_matrix(y_true, y_pred, num_classes=3)
    expected = np.array([[1, 1, 0], [0, 2, 1], [1, 0, 0]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64


def test_confusion_matrix_sums_to_n_and_diagonal_to_correct():
    labels, probabilities = _random_predictions()
    predicted = probabilities.argmax(axis=1)
    cm = confusion_matrix(labels, predicted)
    assert cm.shape == (10, 10)
    assert cm.sum() == labels.size
    assert np.trace(cm) == int((predicted == labels).sum())
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(labels, minlength=10))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(predicted, minlength=10))


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 10], [0, 1])


def test_per_class_metrics_by_hand():
    # rows = true, columns = predicted
    cm = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    m = per_class_metrics(cm)
    # class 0: precision 3/5, recall 3/4; class 1: precision 4/5, recall 4/6
    assert m["precision"][0] == pytest.approx(3 / 5)
    assert m["recall"][0] == pytest.approx(3 / 4)
    assert m["f1"][0] == pytest.approx(2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4))
    assert m["precision"][1] == pytest.approx(4 / 5)
    assert m["recall"][1] == pytest.approx(4 / 6)
    assert m["support"] == [4, 6, 0]
    # class 2 is never predicted and has no examples: zeros, not NaN
    assert (m["precision"][2], m["recall"][2], m["f1"][2]) == (0.0, 0.0, 0.0)
    assert m["macro_recall"] == pytest.approx((3 / 4 + 4 / 6 + 0) / 3)


def test_per_class_metrics_no_nan_when_a_class_is_never_predicted():
    labels = np.arange(100) % 10
    predicted = np.where(labels == 3, 5, labels)  # 3 is never predicted
    m = per_class_metrics(confusion_matrix(labels, predicted))
    values = np.array([m["precision"], m["recall"], m["f1"]])
    assert np.isfinite(values).all()
    assert m["precision"][3] == 0.0
    assert m["recall"][3] == 0.0
    assert m["precision"][5] == pytest.approx(10 / 20)
    json.dumps(m)  # plain Python numbers


def test_top_confusions_order_and_content():
    cm = np.diag([50] * 4)
    cm[1, 2] = 7
    cm[3, 0] = 9
    cm[0, 1] = 7
    result = top_confusions(cm, k=5)
    assert result == [
        {"true": 3, "predicted": 0, "count": 9},
        {"true": 0, "predicted": 1, "count": 7},  # ties in row-major order
        {"true": 1, "predicted": 2, "count": 7},
    ]


def test_top_scoring_images_is_the_arg_top_k():
    _, probabilities = _random_predictions(n=300, seed=1)
    top = top_scoring_images(probabilities, k=3)
    assert top.shape == (10, 3)
    assert top.dtype == np.int64
    for c in range(10):
        np.testing.assert_array_equal(top[c], np.argsort(probabilities[:, c])[::-1][:3])


def test_top_scoring_images_ties_broken_by_index():
    probabilities = np.full((6, 2), 0.5)
    probabilities[4, 0] = 0.9
    top = top_scoring_images(probabilities, k=3)
    np.testing.assert_array_equal(top[0], [4, 0, 1])
    np.testing.assert_array_equal(top[1], [0, 1, 2])


def test_most_confident_errors():
    labels = np.array([0, 1, 2, 3])
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0, 0.0],  # right
            [0.7, 0.3, 0.0, 0.0],  # wrong, 0.7
            [0.0, 0.0, 0.05, 0.95],  # wrong, 0.95
            [0.0, 0.0, 0.0, 1.0],  # right
        ]
    )
    np.testing.assert_array_equal(most_confident_errors(probabilities, labels, k=16), [2, 1])
    np.testing.assert_array_equal(most_confident_errors(probabilities, labels, k=1), [2])


def test_evaluation_summary_is_json_ready_and_consistent():
    labels, probabilities = _random_predictions(n=400, seed=2)
    summary = evaluation_summary(labels, probabilities)
    predicted = probabilities.argmax(axis=1)
    assert summary["test_count"] == 400
    assert summary["correct"] == int((predicted == labels).sum())
    assert math.isclose(summary["accuracy"], summary["correct"] / 400)
    cm = np.array(summary["confusion_matrix"])
    assert cm.shape == (10, 10)
    assert np.trace(cm) == summary["correct"]
    assert summary["top_confusions"] == top_confusions(cm)
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.5, "0.5000"),
        (0.99984, "0.9998"),
        (1 - 3.2e-7, "0.99999968"),
        (1 - 3.8e-11, "0.999999999962"),
        (2.6e-8, "2.6e-08"),
        (1.0, "1"),
        (0.0, "0.0000"),
    ],
)
def test_format_probability_tells_near_certain_scores_apart(p, text):
    from cnnlab.analysis.metrics import format_probability

    assert format_probability(p) == text
