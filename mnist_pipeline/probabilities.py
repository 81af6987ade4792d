"""What a model says of the validation and test digits: its class probabilities, written by its training stage.

Each training stage, once its model file is written, reads the file back and writes the model's probabilities
for the validation and the test digits (``data/probabilities/<model>.npz``); ``evaluate`` scores those. So the
numbers are still those of the file that is shipped, and a change to one model re-evaluates it without loading
the other: a new logistic regression no longer waits for TensorFlow to start and run the network again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.artifacts import load_arrays, save_arrays
from mnist_pipeline.errors import ArtifactError

SPLITS = ("val", "test")
# A row of probabilities sums to 1 within this: the models' rows do to about 1e-15 (float64, renormalised).
SUM_TOLERANCE = 1e-6


def save_probabilities(path: Path, val: np.ndarray, test: np.ndarray) -> None:
    """Write a model's (n, 10) probabilities for the validation and the test digits, atomically."""
    save_arrays(path, val=val, test=test)


def load_probabilities(path: Path, labels: dict[str, np.ndarray], rebuild: str) -> dict[str, np.ndarray]:
    """A model's probabilities, ``{"val": (n_val, 10), "test": (n_test, 10)}``, checked against the digits'
    ``labels`` (``{"val": y_val, "test": y_test}``) they must answer one by one.

    Raises:
        FileNotFoundError: no such file.
        ArtifactError: the file is not such probabilities, or answers other digits than ``labels`` (written for
            another preprocessing); the message ends with ``rebuild``, the command that writes it again.
    """
    arrays = load_arrays(path, rebuild)
    problems = []
    for split in SPLITS:
        rows, expected = arrays.get(split), (len(labels[split]), 10)
        if rows is None:
            problems.append(f"no {split!r} array")
        elif rows.shape != expected:
            problems.append(f"{split!r} has shape {rows.shape}, not {expected} (one row a digit, one column a class)")
        elif not np.issubdtype(rows.dtype, np.floating) or not np.all(np.isfinite(rows)) or rows.min() < 0 or \
                not np.allclose(rows.sum(axis=1), 1, rtol=0, atol=SUM_TOLERANCE):
            problems.append(f"{split!r} rows are not probabilities (non-negative, summing to 1)")
    if problems:
        raise ArtifactError(f"{path} is not a model's probabilities for these digits: {'; '.join(problems)}; "
                            f"write it again with `{rebuild}`")
    return {split: arrays[split] for split in SPLITS}
