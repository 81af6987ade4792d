"""Stage evaluate: each model on the 10,000 test digits, into metrics.json and per-model predictions."""

import logging
from pathlib import Path

from mnist_pipeline.artifacts import load_arrays, write_json, write_text
from mnist_pipeline.metrics import classification_metrics, predictions_csv
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.paths import METRICS, MODEL_FILES, PROCESSED_DATA, predictions_file
from mnist_pipeline.stage_runner import run_stage

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Evaluate in the project folder ``root`` (DVC runs each stage in the project root)."""
    data = load_arrays(root / PROCESSED_DATA)
    # Every model is loaded before anything is written: a missing one leaves the old outputs as they were.
    models = {name: load_model(root / path) for name, path in MODEL_FILES.items()}
    metrics = {}
    for name, model in models.items():
        probabilities = predict_proba(model, data["x_test"])
        metrics[name] = classification_metrics(data["y_test"], probabilities)
        log.info("%s: test accuracy %.4f", name, metrics[name]["accuracy"])
        write_text(root / predictions_file(name), predictions_csv(data["y_test"], probabilities))
    write_json(root / METRICS, metrics)


if __name__ == "__main__":
    run_stage(main)
