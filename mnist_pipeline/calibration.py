"""Calibration: does a model that says 90% sure get 90% right? The reliability table and its expected error.

The confidence of a prediction is the probability the model gave its predicted digit. Predictions are grouped
into equal-width confidence bins; in a calibrated model each bin's accuracy equals its mean confidence. The
expected calibration error (ECE) is the gap between the two, averaged over bins weighted by their size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mnist_pipeline.csv_tables import read_csv_table, to_csv

# The usual choice (Guo et al. 2017, "On Calibration of Modern Neural Networks"): fixed, so ECEs compare.
N_BINS = 15
CALIBRATION_COLUMNS = ["confidence", "accuracy", "count"]


def reliability_table(y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per non-empty bin, in order of confidence: its ``confidence`` (mean), ``accuracy`` and ``count``."""
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    count, confidence_sum, correct_sum = binned(confidence, predicted == np.asarray(y_true), n_bins)
    occupied = count > 0
    return pd.DataFrame({
        "confidence": confidence_sum[occupied] / count[occupied],
        "accuracy": correct_sum[occupied] / count[occupied],
        "count": count[occupied],
    }, columns=CALIBRATION_COLUMNS).astype({"confidence": np.float64, "accuracy": np.float64, "count": np.int64})


def calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> float:
    """The ECE of predictions given by their ``confidence`` and whether each is ``correct``, without building
    the table: the sum over bins of |right answers - summed confidence|, over all predictions."""
    count, confidence_sum, correct_sum = binned(confidence, correct, n_bins)
    return float(np.abs(correct_sum - confidence_sum).sum() / count.sum())


def binned(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin, in order of confidence: how many predictions, their summed confidence, how many are right."""
    # Bin b holds confidences in (b/n, (b+1)/n]; a confidence of exactly 1 falls in the last bin.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    return (np.bincount(bins, minlength=n_bins), np.bincount(bins, weights=confidence, minlength=n_bins),
            np.bincount(bins, weights=correct, minlength=n_bins))


def expected_calibration_error(table: pd.DataFrame) -> float:
    """Sum over bins of (bin size / total) x |accuracy - mean confidence|, from :func:`reliability_table`."""
    count = table["count"].to_numpy()
    gaps = np.abs(table["accuracy"].to_numpy() - table["confidence"].to_numpy())
    return float(np.sum(count * gaps) / count.sum())


def calibration_csv(table: pd.DataFrame) -> str:
    """The table as the CSV DVC's plots read: ``confidence,accuracy,count``, floats to 6 decimals."""
    return to_csv(table, decimals=6)


def read_calibration(text: str, source: str | Path = "calibration") -> pd.DataFrame:
    """The inverse of :func:`calibration_csv`.

    Raises:
        ArtifactError: naming ``source``, if the text is not such a table.
    """
    return read_csv_table(text, CALIBRATION_COLUMNS, source, "calibration table").astype({"count": np.int64})
