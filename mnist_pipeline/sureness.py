"""When is an answer sure? The confidence above which a model's answers are right often enough.

``evaluate`` chooses, for each model, the lowest confidence at which the validation digits answered with at least
that confidence are ``evaluate.sure_accuracy`` right (99.5% by default), records it in ``reports/metrics.json``
(``sure_threshold``) and reports how many test digits are answered that surely and how many of those are right.
``mnist-predict`` and the drawing page give an answer under its model's threshold as "not sure", with the two
likeliest digits. The probabilities are calibrated (:mod:`mnist_pipeline.temperature`), so the threshold reads
as a chance.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mnist_pipeline.params import bounded


@dataclasses.dataclass(frozen=True)
class EvaluateParams:
    """The ``evaluate`` section of params.yaml."""

    sure_accuracy: float = bounded(0.5, 1, low_open=True)


def sure_threshold(confidence: np.ndarray, correct: np.ndarray, accuracy: float) -> float:
    """The lowest of the ``confidence`` values at which the answers at least that confident are at least
    ``accuracy`` right (``correct``: whether each is); 1.0 if even the surest answers are not.

    Args:
        confidence: (n,) each answer's probability of the digit it gave.
        correct: (n,) whether each answer was right.
        accuracy: the share of sure answers that must be right, between 0 and 1.
    """
    order = np.argsort(-confidence, kind="stable")
    sorted_confidence = confidence[order]
    right_so_far = np.cumsum(correct[order])
    # Answers of equal confidence are sure or not together: judge each distinct level at its last answer.
    last_of_level = np.append(sorted_confidence[1:] != sorted_confidence[:-1], True)
    counted = np.flatnonzero(last_of_level)
    good = right_so_far[counted] >= accuracy * (counted + 1)
    return float(sorted_confidence[counted[good][-1]]) if good.any() else 1.0


def sure_summary(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> tuple[float, float]:
    """The share of answers at or above ``threshold``, and the share of those that are right (1.0 if none)."""
    sure = confidence >= threshold
    return float(sure.mean()), float(correct[sure].mean()) if sure.any() else 1.0
