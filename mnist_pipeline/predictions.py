"""The per-digit predictions table evaluate writes (DVC's confusion plot reads it), its reader, and the confusion
matrix drawn from it. Apart from the metrics (:mod:`mnist_pipeline.metrics`), so that visualize, which only
reads the table, loads no scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mnist_pipeline.csv_tables import read_csv_table, to_csv
from mnist_pipeline.digits import N_CLASSES
from mnist_pipeline.errors import ArtifactError

# The columns DVC's confusion template reads.
PREDICTIONS_COLUMNS = ["actual", "predicted", "confidence"]


def predictions_table(y_true: np.ndarray, probabilities: np.ndarray) -> pd.DataFrame:
    """One row per test digit: ``actual``, ``predicted`` and ``confidence`` (the predicted class's probability)."""
    if len(y_true) != len(probabilities):
        raise ValueError(f"{len(y_true)} labels for {len(probabilities)} predictions")
    predicted = probabilities.argmax(axis=1)
    return pd.DataFrame({"actual": np.asarray(y_true, dtype=np.int64), "predicted": predicted.astype(np.int64),
                         "confidence": probabilities[np.arange(len(predicted)), predicted]})


def predictions_csv(y_true: np.ndarray, probabilities: np.ndarray) -> str:
    """:func:`predictions_table` as the CSV DVC's confusion plot reads, confidences to 4 decimals."""
    return to_csv(predictions_table(y_true, probabilities), decimals=4)


def read_predictions(text: str, source: str | Path = "predictions") -> pd.DataFrame:
    """The inverse of :func:`predictions_csv`: its table, ``actual`` and ``predicted`` as integers.

    Raises:
        ArtifactError: naming ``source``, if the text is not such a table.
    """
    table = read_csv_table(text, PREDICTIONS_COLUMNS, source, "predictions table")
    digits = table[["actual", "predicted"]].to_numpy()
    if not (np.all(digits == np.round(digits)) and digits.min() >= 0 and digits.max() < N_CLASSES):
        raise ArtifactError(f"{source} is not a predictions table (a digit that is not a whole number from 0 to "
                            f"{N_CLASSES - 1}); rebuild it with `dvc repro --force evaluate`")
    return table.astype({"actual": np.int64, "predicted": np.int64})


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts, rows the true digit and columns the predicted one (every digit, even if absent)."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (np.asarray(actual), np.asarray(predicted)), 1)
    return counts
