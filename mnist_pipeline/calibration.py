"""Calibration: does a model that says 90% sure get 90% right? The reliability table and its expected error.

The confidence of a prediction is the probability the model gave its predicted digit. Predictions are grouped
into equal-width confidence bins; in a calibrated model each bin's accuracy equals its mean confidence. The
expected calibration error (ECE) is the gap between the two, averaged over bins weighted by their size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.metrics import parse_csv_table

# The usual choice (Guo et al. 2017, "On Calibration of Modern Neural Networks"): fixed, so ECEs compare.
N_BINS = 15
CALIBRATION_HEADER = "confidence,accuracy,count"


def reliability_table(y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """(k, 3) rows ``(mean confidence, accuracy, count)``, one per non-empty bin, in order of confidence."""
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    correct = predicted == np.asarray(y_true)
    # Bin b holds confidences in (b/n, (b+1)/n]; a confidence of exactly 1 falls in the last bin.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    rows = []
    for b in np.unique(bins):
        members = bins == b
        rows.append((confidence[members].mean(), correct[members].mean(), members.sum()))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def expected_calibration_error(table: np.ndarray) -> float:
    """Sum over bins of (bin size / total) x |accuracy - mean confidence|, from :func:`reliability_table`."""
    confidence, accuracy, count = table.T
    return float(np.sum(count * np.abs(accuracy - confidence)) / count.sum())


def calibration_csv(table: np.ndarray) -> str:
    """The table as the CSV DVC's plots read: ``confidence,accuracy,count``."""
    rows = [f"{c:.6f},{a:.6f},{int(n)}" for c, a, n in table]
    return CALIBRATION_HEADER + "\n" + "\n".join(rows) + "\n"


def parse_calibration_csv(text: str, source: str | Path = "calibration") -> np.ndarray:
    """The inverse of :func:`calibration_csv`.

    Raises:
        ArtifactError: naming ``source``, if the text is not such a table.
    """
    return parse_csv_table(text, CALIBRATION_HEADER, source, "calibration table")
