"""The progress line of `cnnlab run` counts the evaluations still to come, not only training."""

from __future__ import annotations

import pytest

from cnnlab.pipeline_analysis import progress as _progress
from cnnlab.time_left import EVALUATION_EPOCHS, EVALUATION_SECONDS, TimeLeft


def test_nothing_timed_yet_gives_no_estimate():
    assert TimeLeft(epochs_to_train=8, evaluations=2).seconds() is None


def test_when_training_is_done_the_evaluations_are_still_ahead():
    left = TimeLeft(epochs_to_train=4, evaluations=2)
    left.trained(4, 40.0)  # 10 s per epoch
    guess = EVALUATION_SECONDS + EVALUATION_EPOCHS * 10.0
    assert left.seconds() == pytest.approx(3 * guess)  # two evaluations, then CAM and report
    left.evaluated(15.0)
    assert left.seconds() == pytest.approx(2 * 15.0)  # from now on the timed evaluation
    left.evaluated(17.0)
    assert left.seconds() == pytest.approx(16.0)  # the CAM figures and the report


def test_training_left_adds_to_the_evaluations():
    left = TimeLeft(epochs_to_train=6, evaluations=2)
    left.trained(2, 30.0)
    guess = EVALUATION_SECONDS + EVALUATION_EPOCHS * 15.0
    assert left.seconds() == pytest.approx(4 * 15.0 + 3 * guess)


def test_the_progress_line_says_how_long_evaluation_has_to_go(capsys):
    left = TimeLeft(epochs_to_train=1, evaluations=1)
    left.trained(1, 50.0)
    _progress(1, 1, "cnn3 · scratch", "evaluating on its test set", 0.0, left.seconds())
    line = capsys.readouterr().out
    assert "about 0:30 left" in line  # 2 x (5 s + 0.2 x 50 s)
    assert "about 0:00 left" not in line


def test_the_attribution_checks_still_to_come_count_as_epochs():
    from cnnlab.explain.trust_runs import EPOCHS_PER_CHECK, expected_epochs, sanity_workers

    checks = expected_epochs(6, 100)
    assert checks == pytest.approx(6 * EPOCHS_PER_CHECK / sanity_workers(6, 100))
    assert expected_epochs(6, 5) == pytest.approx(6 * EPOCHS_PER_CHECK * 5 / 100)  # in-process
    assert expected_epochs(0, 100) == 0.0
    left = TimeLeft(epochs_to_train=2, evaluations=1, check_epochs=checks)
    left.trained(2, 20.0)
    left.evaluated(4.0)
    assert left.seconds() == pytest.approx(checks * 10.0 + 4.0)  # the checks, then the report
