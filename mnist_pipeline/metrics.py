"""Test-set metrics: accuracy, macro F1, log loss, per-class precision and recall (scikit-learn's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from mnist_pipeline.digits import N_CLASSES

DIGITS = list(range(N_CLASSES))


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
