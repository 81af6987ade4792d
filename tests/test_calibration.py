"""The reliability table and the expected calibration error, by hand and on simulated calibrated models."""

import numpy as np
import pytest

from mnist_pipeline.calibration import (
    calibration_csv,
    calibration_error,
    expected_calibration_error,
    read_calibration,
    reliability_table,
)
from mnist_pipeline.errors import ArtifactError


def rows_with_confidence(predicted: list[int], confidence: list[float]) -> np.ndarray:
    """(n, 10) probabilities whose largest is ``confidence`` on ``predicted``, the rest spread evenly."""
    probabilities = np.zeros((len(predicted), 10))
    for i, (digit, c) in enumerate(zip(predicted, confidence, strict=True)):
        probabilities[i] = (1 - c) / 9
        probabilities[i, digit] = c
    return probabilities


def rows(table) -> list[list[float]]:
    assert list(table.columns) == ["confidence", "accuracy", "count"] and table["count"].dtype.kind == "i"
    return table.to_numpy(dtype=float).tolist()


def test_reliability_table_and_ece_by_hand():
    # Two digits at 95% (one right), two at 55% (both right): 15 bins put them in bins 14 and 8.
    probabilities = rows_with_confidence([1, 2, 3, 4], [0.95, 0.95, 0.55, 0.55])
    table = reliability_table(np.array([1, 0, 3, 4]), probabilities)
    np.testing.assert_allclose(rows(table), [[0.55, 1.0, 2], [0.95, 0.5, 2]])
    # (2 x |1 - 0.55| + 2 x |0.5 - 0.95|) / 4
    assert expected_calibration_error(table) == pytest.approx(0.45)


def test_bins_weigh_by_their_size_in_the_ece():
    # Three digits at 95%, all right, and one at 55%, wrong: bins of 3 and 1. Weighted by size the ECE is
    # (3 x |1 - 0.95| + 1 x |0 - 0.55|) / 4 = 0.175; an unweighted mean of the bins' gaps would say 0.3.
    probabilities = rows_with_confidence([1, 2, 3, 4], [0.95, 0.95, 0.95, 0.55])
    table = reliability_table(np.array([1, 2, 3, 0]), probabilities)
    np.testing.assert_allclose(rows(table), [[0.55, 0.0, 1], [0.95, 1.0, 3]])
    assert expected_calibration_error(table) == pytest.approx(0.175)


def test_a_confidence_of_one_falls_in_the_top_bin():
    table = reliability_table(np.array([7]), rows_with_confidence([7], [1.0]))
    np.testing.assert_allclose(rows(table), [[1.0, 1.0, 1]])
    assert expected_calibration_error(table) == 0


def test_a_calibrated_model_has_a_small_ece_and_an_overconfident_one_a_large_one():
    rng = np.random.default_rng(0)
    n = 50_000
    confidence = rng.uniform(0.2, 1.0, n)
    predicted = rng.integers(0, 10, n)
    right = rng.uniform(size=n) < confidence  # right exactly as often as it claims
    actual = np.where(right, predicted, (predicted + 1) % 10)
    calibrated = expected_calibration_error(reliability_table(actual, rows_with_confidence(predicted, confidence)))
    assert calibrated < 0.01
    overconfident = rows_with_confidence(predicted, np.minimum(confidence + 0.1, 1.0))
    assert expected_calibration_error(reliability_table(actual, overconfident)) == pytest.approx(0.1, abs=0.02)


def test_calibration_csv_round_trips():
    table = reliability_table(np.array([1, 0, 3, 4]), rows_with_confidence([1, 2, 3, 4], [0.95, 0.95, 0.55, 0.55]))
    text = calibration_csv(table)
    assert text == "confidence,accuracy,count\n0.550000,1.000000,2\n0.950000,0.500000,2\n"
    np.testing.assert_allclose(rows(read_calibration(text)), rows(table))


@pytest.mark.parametrize("text", ["", "actual,predicted\n1,2\n", "confidence,accuracy,count\n",
                                  "confidence,accuracy,count\n1,2\n"])
def test_a_broken_calibration_csv_names_its_file(text):
    with pytest.raises(ArtifactError, match=r"^reports/calibration/nn\.csv is not a calibration table \("):
        read_calibration(text, source="reports/calibration/nn.csv")
    with pytest.raises(ArtifactError, match=r"^calibration is not a calibration table \("):
        read_calibration(text)


def test_bins_are_open_below_and_closed_above():
    # Ten bins: (0, 0.1], (0.1, 0.2], ..., (0.9, 1]. A confidence on an edge belongs to the bin below it, so
    # 0.1, 0.2, 0.9 and 1 fall in four bins, the first and the last among them.
    def row(confidence: float) -> list[float]:
        return [confidence] + [(1 - confidence) / 9] * 9

    probabilities = np.array([row(0.1), row(0.2), row(0.9), row(1.0)])
    table = reliability_table(np.zeros(4, dtype=int), probabilities, n_bins=10)
    np.testing.assert_allclose(rows(table), [[0.1, 1, 1], [0.2, 1, 1], [0.9, 1, 1], [1.0, 1, 1]])


def test_a_model_never_sure_leaves_the_top_bins_empty():
    # An underconfident model (as the network was before its temperature): no answer reaches the bins above 0.6,
    # the table holds the bins it reached, and the ECE from the confidences is the table's.
    probabilities = rows_with_confidence([0, 1, 2, 3], [0.35, 0.35, 0.55, 0.55])
    digits = np.array([0, 1, 2, 9])  # both right at 0.35, one of two at 0.55
    table = reliability_table(digits, probabilities)
    np.testing.assert_allclose(rows(table), [[0.35, 1.0, 2], [0.55, 0.5, 2]])
    # (2 x |1 - 0.35| + 2 x |0.5 - 0.55|) / 4
    assert calibration_error(probabilities.max(axis=1), probabilities.argmax(axis=1) == digits) == pytest.approx(0.35)
    assert expected_calibration_error(table) == pytest.approx(0.35)


def test_the_ece_from_confidences_is_the_ece_of_the_table():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(10, 0.3), 2_000)
    digits = rng.integers(0, 10, 2_000)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    assert calibration_error(confidence, predicted == digits) == pytest.approx(
        expected_calibration_error(reliability_table(digits, probabilities)), rel=1e-12)
