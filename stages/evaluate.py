"""Stage evaluate: each model on the 10,000 test digits, into metrics.json and per-model predictions."""

import logging

from mnist_pipeline.artifacts import load_arrays, write_json, write_text
from mnist_pipeline.cli import run_stage
from mnist_pipeline.metrics import classification_metrics, predictions_csv
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.paths import METRICS, MODEL_FILES, PROCESSED_DATA, predictions_file

log = logging.getLogger(__name__)


def main() -> None:
    data = load_arrays(PROCESSED_DATA)
    models = {name: load_model(name, path) for name, path in MODEL_FILES.items()}
    metrics = {}
    for name, model in models.items():
        probabilities = predict_proba(name, model, data["x_test"])
        metrics[name] = classification_metrics(data["y_test"], probabilities)
        log.info("%s: test accuracy %.4f", name, metrics[name]["accuracy"])
        write_text(predictions_file(name), predictions_csv(data["y_test"], probabilities))
    write_json(METRICS, metrics)


if __name__ == "__main__":
    run_stage(main)
