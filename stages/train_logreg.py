"""Stage train_logreg: a scikit-learn logistic regression from raw pixels, saved with skops."""

import logging
import time

from mnist_pipeline.artifacts import load_arrays
from mnist_pipeline.cli import run_stage
from mnist_pipeline.digits import flatten
from mnist_pipeline.logreg import TrainLogregParams, train_logreg
from mnist_pipeline.model_io import save_logreg
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import LOGREG_MODEL, PARAMS, PROCESSED_DATA

log = logging.getLogger(__name__)


def main() -> None:
    params = load_section(PARAMS, "train_logreg", TrainLogregParams)
    data = load_arrays(PROCESSED_DATA)
    start = time.perf_counter()
    model = train_logreg(flatten(data["x_train"]), data["y_train"], params)
    log.info("fit in %.1f s; validation accuracy %.4f", time.perf_counter() - start,
             model.score(flatten(data["x_val"]), data["y_val"]))
    save_logreg(model, LOGREG_MODEL)


if __name__ == "__main__":
    run_stage(main)
