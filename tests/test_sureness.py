"""The sure threshold by hand: the lowest confidence whose answers, and all surer ones, are right often enough."""

import numpy as np
import pytest

from mnist_pipeline.sureness import EvaluateParams, sure_summary, sure_threshold, sure_threshold_of

# Ten answers, surest first: the 4th and 8th are wrong. The answers at least as sure as each one are right
# 1/1, 2/2, 3/3, 3/4, 4/5, 5/6, 6/7, 6/8, 7/9 and 8/10.
CONFIDENCE = np.array([0.99, 0.98, 0.97, 0.96, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40])
CORRECT = np.array([1, 1, 1, 0, 1, 1, 1, 0, 1, 1], dtype=bool)


@pytest.mark.parametrize(("accuracy", "threshold"), [
    (1.0, 0.97),   # the first three only
    (0.85, 0.70),  # 6/7 = 0.857; below it 6/8 at best
    (0.8, 0.40),   # 8/10: everything
    (0.9, 0.97),   # 3/3; 4/5 and 6/7 fall short
])
def test_the_threshold_by_hand(accuracy, threshold):
    assert sure_threshold(CONFIDENCE, CORRECT, accuracy) == threshold


def test_the_order_of_the_answers_does_not_matter():
    order = np.random.default_rng(0).permutation(10)
    assert sure_threshold(CONFIDENCE[order], CORRECT[order], 0.85) == 0.70


@pytest.mark.parametrize("correct", [[True, False, True], [True, True, False]])
def test_answers_of_equal_confidence_are_sure_or_not_together(correct):
    # Two answers at 0.9, one right and one wrong (whichever comes first), below a right one at 0.95: at 0.9 it is
    # 2 of 3.
    confidence, correct = np.array([0.95, 0.9, 0.9]), np.array(correct)
    assert sure_threshold(confidence, correct, 0.6) == 0.9
    assert sure_threshold(confidence, correct, 0.7) == 0.95  # not 0.9 for its right answer alone


def test_when_even_the_surest_answer_is_wrong_nothing_is_sure():
    assert sure_threshold(np.array([0.9, 0.8]), np.array([False, True]), 0.99) == 1.0


def test_the_summary_counts_the_sure_answers_and_how_many_are_right():
    assert sure_summary(CONFIDENCE, CORRECT, 0.70) == (0.7, pytest.approx(6 / 7))
    assert sure_summary(CONFIDENCE, CORRECT, 1.0) == (0.0, 1.0)


def test_the_threshold_is_never_under_the_sure_probability():
    confidence = np.array([0.99, 0.9, 0.7, 0.6, 0.55])
    correct = np.array([True, True, True, True, False])
    assert sure_threshold_of(confidence, correct, EvaluateParams(sure_accuracy=0.8, sure_probability=0.0)) == 0.55
    assert sure_threshold_of(confidence, correct, EvaluateParams(sure_accuracy=0.8, sure_probability=0.95)) == 0.95
    assert sure_threshold_of(confidence, correct, EvaluateParams(sure_accuracy=1.0, sure_probability=0.5)) == 0.6
