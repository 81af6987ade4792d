"""Test-set metrics and the per-sample predictions DVC's confusion plot reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from mnist_pipeline.csv_tables import read_csv_table, to_csv
from mnist_pipeline.digits import N_CLASSES

DIGITS = list(range(N_CLASSES))
# The columns DVC's confusion template reads.
PREDICTIONS_COLUMNS = ["actual", "predicted", "confidence"]


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, macro F1, log loss and per-class precision and recall.

    Args:
        y_true: (n,) true digits.
        probabilities: (n, 10) predicted class probabilities, rows summing to 1.
    """
    y_pred = probabilities.argmax(axis=1)
    per_class = per_class_table(y_true, y_pred)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "f1_macro": round(float(f1_score(y_true, y_pred, labels=DIGITS, average="macro", zero_division=0)), 6),
        "log_loss": round(float(log_loss(y_true, probabilities, labels=DIGITS)), 6),
        "precision": {str(d): round(float(p), 6) for d, p in per_class["precision"].items()},
        "recall": {str(d): round(float(r), 6) for d, r in per_class["recall"].items()},
    }


def per_class_table(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """One row per digit (the index, every digit even if absent): ``precision``, ``recall``, ``f1`` and
    ``support`` (how many test digits are of that class); a class never predicted has precision 0."""
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=DIGITS,
                                                                     zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support},
                        index=pd.Index(DIGITS, name="digit"))


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
    return table.astype({"actual": np.int64, "predicted": np.int64})


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts, rows the true digit and columns the predicted one (every digit, even if absent)."""
    return sklearn_confusion_matrix(actual, predicted, labels=DIGITS)
