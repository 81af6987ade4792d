"""Stage train_logreg: a scikit-learn logistic regression from raw pixels, saved with skops, and what the saved
model says of the validation and test digits, for evaluate."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.train_logreg` in the project root, or run `dvc repro`")

import logging
import time
from pathlib import Path

from mnist_pipeline.artifacts import load_arrays
from mnist_pipeline.digits import flatten
from mnist_pipeline.logreg import TrainLogregParams, calibrate_logreg, train_logreg
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import LOGREG_MODEL, PARAMS, PROCESSED_DATA, probabilities_file
from mnist_pipeline.probabilities import save_probabilities
from mnist_pipeline.skops_io import load_skops, save_skops
from mnist_pipeline.stage_runner import run_stage

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Train in the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "train_logreg", TrainLogregParams)
    data = load_arrays(root / PROCESSED_DATA)
    start = time.perf_counter()
    model = train_logreg(flatten(data["x_train"]), data["y_train"], params)
    x_val = flatten(data["x_val"])
    log.info("fit in %.1f s; validation accuracy %.4f", time.perf_counter() - start, model.score(x_val, data["y_val"]))
    model, temperature = calibrate_logreg(model, x_val, data["y_val"])
    log.info("calibrated on the validation digits: temperature %.3f", temperature)
    save_skops(model, root / LOGREG_MODEL)
    saved = load_skops(root / LOGREG_MODEL)  # evaluate scores the file as shipped
    save_probabilities(root / probabilities_file("logreg"), val=saved.predict_proba(x_val),
                       test=saved.predict_proba(flatten(data["x_test"])))


if __name__ == "__main__":
    run_stage(main)
