"""Stage evaluate: each model on the 10,000 test digits and the validation digits, into metrics.json, the
per-model predictions and the per-model reliability tables."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.evaluate` in the project root, or run `dvc repro`")

import logging
from pathlib import Path

import numpy as np

from mnist_pipeline.artifacts import load_arrays, write_json, write_text
from mnist_pipeline.calibration import calibration_csv, expected_calibration_error, reliability_table
from mnist_pipeline.metrics import classification_metrics, predictions_csv
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.params import load_value
from mnist_pipeline.paths import METRICS, MODEL_FILES, PARAMS, PROCESSED_DATA, calibration_file, predictions_file
from mnist_pipeline.significance import accuracy_interval
from mnist_pipeline.stage_runner import run_stage
from mnist_pipeline.tensorflow_env import Compute, configure_inference

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Evaluate in the project folder ``root`` (DVC runs each stage in the project root)."""
    # The network predicts on the kernels it trained on: the same bytes everywhere, or this CPU's fastest.
    configure_inference(load_value(root / PARAMS, "train_nn.compute", Compute))
    data = load_arrays(root / PROCESSED_DATA)
    # Every model is loaded before anything is written: a missing one leaves the old outputs as they were.
    models = {name: load_model(root / path) for name, path in MODEL_FILES.items()}
    metrics = {}
    for name, model in models.items():
        probabilities = predict_proba(model, data["x_test"])
        correct = int((probabilities.argmax(axis=1) == data["y_test"]).sum())
        low, high = accuracy_interval(correct, len(data["y_test"]))
        calibration = reliability_table(data["y_test"], probabilities)
        # Validation accuracy is what tuning may look at; the test set only reports.
        val_predicted = predict_proba(model, data["x_val"]).argmax(axis=1)
        metrics[name] = {
            **classification_metrics(data["y_test"], probabilities),
            "accuracy_ci95_low": round(low, 6),
            "accuracy_ci95_high": round(high, 6),
            "val_accuracy": round(float(np.mean(val_predicted == data["y_val"])), 6),
            "ece": round(expected_calibration_error(calibration), 6),
        }
        log.info("%s: test accuracy %.4f (95%% interval %.4f-%.4f), validation accuracy %.4f, ECE %.4f", name,
                 metrics[name]["accuracy"], low, high, metrics[name]["val_accuracy"], metrics[name]["ece"])
        write_text(root / predictions_file(name), predictions_csv(data["y_test"], probabilities))
        write_text(root / calibration_file(name), calibration_csv(calibration))
    write_json(root / METRICS, metrics)


if __name__ == "__main__":
    run_stage(main)
