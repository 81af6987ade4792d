"""Side by side, in one process on the same data: the recipes a user would copy against this project's defaults.

    python -m benchmarks.bench_models            # all three pairs, the CNN with 3 seeds: about 20 minutes
    python -m benchmarks.bench_models --only logreg

The tables are printed and written to ``benchmarks/results.md`` (``--output``), the file docs/benchmark.md
quotes (``tests/test_docs.py`` checks that they agree).

Every model trains on the pipeline's own training split (``data/processed/mnist.npz``, from `dvc repro
preprocess`) and is scored on the 10,000 test digits. The Keras references validate on the pipeline's
validation split every epoch, as their ``validation_split=0.1`` would. Prints a markdown table: test accuracy,
training seconds, the time ratio against the reference, and the training time to reach 99.2% (the reference
CNN's accuracy) and 99.5%, measured at epoch ends with the per-epoch test scoring itself left out of the clock
(and without test-time augmentation, which only the saved model applies).
This project's CNN trains with three seeds: each, then their mean and standard deviation.

A second table says how far each training runs from the machine's limit (:mod:`benchmarks.limits`): its
arithmetic, from the layer shapes and the number of steps, against the processor's peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.limits import (
    LIMITS_HEADER,
    MATMUL_SIZE,
    limits_row,
    logreg_training_flops,
    measure_matmul_flops,
    this_processor,
    training_flops,
)
from mnist_pipeline.artifacts import load_arrays, write_text
from mnist_pipeline.digits import flatten
from mnist_pipeline.logreg import TrainLogregParams, train_logreg
from mnist_pipeline.model_io import predict_proba
from mnist_pipeline.nn import TrainNnParams, configure_tensorflow, train_nn
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS, PROCESSED_DATA
from mnist_pipeline.tensorflow_env import import_keras

keras = import_keras()
layers = keras.layers

TARGETS = (0.992, 0.995)
CNN_SEEDS = 3
RESULTS = Path("benchmarks/results.md")


def reference_logreg(x_train, y_train):
    """scikit-learn's LogisticRegression() with default settings on pixels / 255."""
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it does not converge in its default 100 iterations; that is the recipe
        return LogisticRegression().fit(flatten(x_train) / 255, y_train)


def reference_cnn():
    """Keras' "simple MNIST convnet" example (keras.io/examples/vision/mnist_convnet)."""

    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Rescaling(1 / 255),
        layers.Reshape((28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def reference_mlp():
    """The typical notebook MLP: one hidden layer of 128, softmax, Adam."""

    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Rescaling(1 / 255),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


class EpochClock(keras.callbacks.Callback):
    """Training seconds at each epoch end and the test accuracy there, the scoring itself off the clock."""

    def __init__(self, x_test, y_test, predict):
        super().__init__()
        self.x_test, self.y_test, self.predict = x_test, y_test, predict

    def on_train_begin(self, logs=None):
        self.elapsed, self.accuracy, self.paused = [], [], 0.0
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.elapsed.append(now - self._start - self.paused)
        self.accuracy.append(float((self.predict(self.model, self.x_test).argmax(1) == self.y_test).mean()))
        self.paused += time.perf_counter() - now

    def time_to(self, target):
        reached = [t for t, a in zip(self.elapsed, self.accuracy, strict=True) if a >= target]
        return reached[0] if reached else None


def keras_predict(model, images):
    return np.asarray(model.predict(images, batch_size=1000, verbose=0))


def fit_reference_keras(model, data, *, epochs, batch_size, clock):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data["x_train"], data["y_train"], validation_data=(data["x_val"], data["y_val"]),
              epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - start - clock.paused
    keras.backend.clear_session()
    return model, seconds


def row(name, accuracy, seconds, reference_seconds, clock=None):
    ratio = f"{seconds / reference_seconds:.2f}" if reference_seconds else "1.00 (reference)"
    reach = [clock.time_to(target) if clock else None for target in TARGETS]
    reach = " | ".join("—" if t is None else f"{t:.1f}" for t in reach)
    return f"| {name} | {accuracy} | {seconds:.1f} | {ratio} | {reach} |"


def percent(accuracy: float) -> str:
    return f"{accuracy:.2%}"


def bench_logreg(data, rows, limits, processor):
    params = load_section(PARAMS, "train_logreg", TrainLogregParams)
    samples, features = flatten(data["x_train"]).shape
    start = time.perf_counter()
    reference = reference_logreg(data["x_train"], data["y_train"])
    reference_seconds = time.perf_counter() - start
    accuracy = reference.score(flatten(data["x_test"]) / 255, data["y_test"])
    name = "logreg: LogisticRegression() on pixels/255"
    rows.append(row(name, percent(accuracy), reference_seconds, None))
    # One loss-and-gradient evaluation per L-BFGS iteration: its line search rarely needs a second.
    flops = logreg_training_flops(samples, features, 10, int(reference.n_iter_.max()))
    limits.append(limits_row(name, flops, reference_seconds, processor.peak_flops))

    start = time.perf_counter()
    model = train_logreg(flatten(data["x_train"]), data["y_train"], params)
    seconds = time.perf_counter() - start
    accuracy = float((predict_proba(model, data["x_test"]).argmax(1) == data["y_test"]).mean())
    rows.append(row("logreg: this project", percent(accuracy), seconds, reference_seconds))
    flops = logreg_training_flops(samples, features, 10, int(model[-1].n_iter_.max()))
    limits.append(limits_row("logreg: this project", flops, seconds, processor.peak_flops))


def bench_nn(data, rows, limits, processor, arch):
    params = dataclasses.replace(load_section(PARAMS, "train_nn", TrainNnParams), arch=arch)
    reference, epochs, batch_size, label = {
        "cnn": (reference_cnn, 15, 128, "cnn: Keras simple MNIST convnet, 15 epochs"),
        "mlp": (reference_mlp, 10, 32, "mlp: Dense 128 + softmax, 10 epochs"),
    }[arch]
    samples = len(data["y_train"])
    keras.utils.set_random_seed(params.seed)
    clock = EpochClock(data["x_test"], data["y_test"], keras_predict)
    model = reference()
    model, reference_seconds = fit_reference_keras(model, data, epochs=epochs, batch_size=batch_size, clock=clock)
    rows.append(row(label, percent(clock.accuracy[-1]), reference_seconds, None, clock))
    limits.append(limits_row(label, training_flops(model, samples, epochs), reference_seconds, processor.peak_flops))

    runs = []
    for seed in range(params.seed, params.seed + (CNN_SEEDS if arch == "cnn" else 1)):
        clock = EpochClock(data["x_test"], data["y_test"], lambda m, x: predict_proba(m, x))
        start = time.perf_counter()
        model = train_nn(data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                         dataclasses.replace(params, seed=seed), callbacks=[clock])
        seconds = time.perf_counter() - start - clock.paused
        accuracy = float((predict_proba(model, data["x_test"]).argmax(1) == data["y_test"]).mean())
        runs.append((accuracy, seconds))
        name = f"{arch}: this project" + (f", seed {seed}" if arch == "cnn" else "")
        rows.append(row(name, percent(accuracy), seconds, reference_seconds, clock))
        flops = training_flops(model, samples, params.training.epochs)  # the augmented views are the same size
        keras.backend.clear_session()
    accuracies, times = np.array(runs).T
    if len(runs) > 1:
        mean = f"{accuracies.mean():.2%} ± {accuracies.std(ddof=1):.2%}"
        rows.append(row(f"{arch}: this project, mean of {len(runs)} seeds", mean, times.mean(), reference_seconds))
    # The peak of the precision the layers compute in: a bfloat16 network's is twice float32's on this CPU.
    limits.append(limits_row(f"{arch}: this project", flops, times.mean(),
                             processor.peak_for(params.training.precision)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["logreg", "cnn", "mlp"], action="append",
                        help="run only these pairs (repeatable); default: all")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the table (default: {RESULTS})")
    args = parser.parse_args()
    only = args.only or ["logreg", "cnn", "mlp"]
    logging.basicConfig(level=logging.WARNING)

    nn_params = load_section(PARAMS, "train_nn", TrainNnParams)
    configure_tensorflow(nn_params.threads)
    data = load_arrays(PROCESSED_DATA)
    processor = this_processor(measure_matmul_flops())
    rows = ["| model | test accuracy | training s | time vs reference | s to 99.2% | s to 99.5% |",
            "|---|---|---|---|---|---|"]
    limits = [LIMITS_HEADER]
    for name in only:
        if name == "logreg":
            bench_logreg(data, rows, limits, processor)
        else:
            bench_nn(data, rows, limits, processor, name)
    table = "\n".join([
        f"{processor.describe(MATMUL_SIZE)}; {platform.machine()}; "
        f"train {len(data['y_train'])}, test {len(data['y_test'])} digits", "", *rows, "", *limits])
    print(table)
    write_text(args.output, table + "\n")


if __name__ == "__main__":
    main()
