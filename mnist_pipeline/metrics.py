"""Test-set metrics and the per-sample predictions DVC's confusion plot reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from mnist_pipeline.digits import N_CLASSES
from mnist_pipeline.errors import ArtifactError

DIGITS = list(range(N_CLASSES))
# The columns DVC's confusion template reads.
PREDICTIONS_HEADER = "actual,predicted,confidence"


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, macro F1, log loss and per-class precision and recall.

    Args:
        y_true: (n,) true digits.
        probabilities: (n, 10) predicted class probabilities, rows summing to 1.
    """
    y_pred = probabilities.argmax(axis=1)
    precision, recall, _, _ = precision_recall_fscore_support(y_true, y_pred, labels=DIGITS, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "f1_macro": round(float(f1_score(y_true, y_pred, labels=DIGITS, average="macro", zero_division=0)), 6),
        "log_loss": round(float(log_loss(y_true, probabilities, labels=DIGITS)), 6),
        "precision": {str(d): round(float(p), 6) for d, p in zip(DIGITS, precision, strict=True)},
        "recall": {str(d): round(float(r), 6) for d, r in zip(DIGITS, recall, strict=True)},
    }


def predictions_csv(y_true: np.ndarray, probabilities: np.ndarray) -> str:
    """One row per test digit: ``actual,predicted,confidence`` (the predicted class's probability)."""
    y_pred = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(y_pred)), y_pred]
    rows = [f"{a},{p},{c:.4f}" for a, p, c in zip(y_true, y_pred, confidence, strict=True)]
    return PREDICTIONS_HEADER + "\n" + "\n".join(rows) + "\n"


def parse_predictions_csv(text: str, source: str | Path = "predictions") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inverse of :func:`predictions_csv`: ``(actual, predicted, confidence)`` arrays.

    Raises:
        ArtifactError: naming ``source``, if the text is not such a table.
    """
    table = parse_csv_table(text, PREDICTIONS_HEADER, source, "predictions table")
    return table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2]


def parse_csv_table(text: str, header: str, source: str | Path, kind: str) -> np.ndarray:
    """The rows of numbers under ``header`` in a CSV that evaluate wrote, as an (n, columns) array.

    Raises:
        ArtifactError: naming ``source`` and what it should have been (``kind``), if it is not such a table.
    """
    lines = text.splitlines()
    columns = len(header.split(","))
    try:
        if not lines or lines[0] != header:
            raise ValueError(f"the first line is not {header!r}")
        if len(lines) < 2:
            raise ValueError("no rows")
        table = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
        if table.shape[1] != columns:
            raise ValueError(f"expected rows of {columns} numbers")
    except ValueError as error:
        raise ArtifactError(f"{source} is not a {kind} ({error}); rebuild it with "
                            f"`dvc repro --force evaluate`") from None
    return table


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts, rows the true digit and columns the predicted one (every digit, even if absent)."""
    return sklearn_confusion_matrix(actual, predicted, labels=DIGITS)
