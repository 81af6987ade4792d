"""Stage train_nn: the Keras network, with per-epoch curves logged by dvclive for `dvc plots`, and what the saved
network says of the validation and test digits, for evaluate."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.train_nn` in the project root, or run `dvc repro`")

import logging
import time
from pathlib import Path

from mnist_pipeline.artifacts import atomic_path, load_arrays
from mnist_pipeline.interrupts import between_batches
from mnist_pipeline.keras_io import load_keras, predict_keras, save_keras
from mnist_pipeline.nn import TrainNnParams, configure_tensorflow, train_nn
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import NN_MODEL, NN_TRAINING_LOG, PARAMS, PROCESSED_DATA, probabilities_file
from mnist_pipeline.probabilities import save_probabilities
from mnist_pipeline.stage_runner import run_stage
from mnist_pipeline.tensorflow_env import import_keras

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Train in the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "train_nn", TrainNnParams)
    data = load_arrays(root / PROCESSED_DATA)
    configure_tensorflow(params.threads, params.towers, params.compute)
    from dvclive import Live
    from dvclive.keras import DVCLiveCallback

    with atomic_path(root / NN_TRAINING_LOG) as log_dir:
        # The stage is already tracked by dvc.yaml: dvclive must not write a dvc.yaml or an experiment of its own.
        live = Live(dir=str(log_dir), save_dvc_exp=False, dvcyaml=None)
        start = time.perf_counter()
        with between_batches() as stop:  # Ctrl-C ends the training after its batch, not inside TensorFlow
            model = train_nn(data["x_train"], data["y_train"], data["x_val"], data["y_val"], params,
                             callbacks=[DVCLiveCallback(live=live), stop.keras_callback(import_keras())])
        log.info("trained %s in %.1f s", params.arch, time.perf_counter() - start)
        save_keras(model, root / NN_MODEL)
    saved = load_keras(root / NN_MODEL)  # evaluate scores the file as shipped
    save_probabilities(root / probabilities_file("nn"), val=predict_keras(saved, data["x_val"]),
                       test=predict_keras(saved, data["x_test"]))


if __name__ == "__main__":
    run_stage(main)
