"""Stage evaluate: each model on the 10,000 test digits and the validation digits, into metrics.json, the
per-model predictions and the per-model reliability tables; the confidence above which each model's answers are
sure, chosen on the validation digits. It scores the probabilities each training stage wrote with its model
(mnist_pipeline/probabilities.py), so it loads no model and starts no TensorFlow."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.evaluate` in the project root, or run `dvc repro`")

import logging
from pathlib import Path

from mnist_pipeline.artifacts import load_arrays, write_json, write_text
from mnist_pipeline.calibration import calibration_csv, expected_calibration_error, reliability_table
from mnist_pipeline.metrics import classification_metrics
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import (
    METRICS,
    MODEL_NAMES,
    PARAMS,
    PROCESSED_DATA,
    TRAINING_STAGES,
    calibration_file,
    predictions_file,
    probabilities_file,
)
from mnist_pipeline.predictions import predictions_csv
from mnist_pipeline.probabilities import load_probabilities
from mnist_pipeline.significance import accuracy_interval
from mnist_pipeline.stage_runner import run_stage
from mnist_pipeline.sureness import EvaluateParams, sure_summary, sure_threshold_of

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Evaluate in the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "evaluate", EvaluateParams)
    data = load_arrays(root / PROCESSED_DATA)
    labels = {"val": data["y_val"], "test": data["y_test"]}
    # Every model's answers are read before anything is written: a missing one leaves the old outputs as they were.
    answers = {name: load_probabilities(root / probabilities_file(name), labels,
                                        f"dvc repro --force {TRAINING_STAGES[name]}") for name in MODEL_NAMES}
    metrics = {}
    for name, answered in answers.items():
        probabilities = answered["test"]
        correct = probabilities.argmax(axis=1) == data["y_test"]
        low, high = accuracy_interval(int(correct.sum()), len(data["y_test"]))
        calibration = reliability_table(data["y_test"], probabilities)
        # Validation digits choose; the test set only reports.
        val_probabilities = answered["val"]
        val_correct = val_probabilities.argmax(axis=1) == data["y_val"]
        threshold = sure_threshold_of(val_probabilities.max(axis=1), val_correct, params)
        sure_share, sure_accuracy = sure_summary(probabilities.max(axis=1), correct, threshold)
        metrics[name] = {
            **classification_metrics(data["y_test"], probabilities),
            "accuracy_ci95_low": round(low, 6),
            "accuracy_ci95_high": round(high, 6),
            "val_accuracy": round(float(val_correct.mean()), 6),
            "ece": round(expected_calibration_error(calibration), 6),
            "sure_threshold": round(threshold, 6),
            "sure_share": round(sure_share, 6),
            "sure_accuracy": round(sure_accuracy, 6),
        }
        log.info("%s: test accuracy %.4f (95%% interval %.4f-%.4f), validation accuracy %.4f, ECE %.4f", name,
                 metrics[name]["accuracy"], low, high, metrics[name]["val_accuracy"], metrics[name]["ece"])
        log.info("%s: sure at a confidence of %.4f or more: %.2f%% of the test digits, %.2f%% of them right", name,
                 threshold, 100 * sure_share, 100 * sure_accuracy)
        write_text(root / predictions_file(name), predictions_csv(data["y_test"], probabilities))
        write_text(root / calibration_file(name), calibration_csv(calibration))
    write_json(root / METRICS, metrics)


if __name__ == "__main__":
    run_stage(main)
