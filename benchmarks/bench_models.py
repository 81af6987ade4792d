"""Side by side on the same data: the recipes a user would copy against this project's defaults.

    python -m benchmarks.bench_models            # all three pairs, the CNN with 3 seeds, both compute profiles
    python -m benchmarks.bench_models --only cnn --seeds 1 --compute fast

The tables are printed and written to ``benchmarks/results.md`` (``--output``), the file docs/benchmark.md
quotes (``tests/test_docs.py`` checks that they agree).

Every model trains on the pipeline's own training split (``data/processed/mnist.npz``, from `dvc repro
preprocess`) and is scored on the 10,000 test digits. The Keras references validate on the pipeline's
validation split every epoch, as their ``validation_split=0.1`` would. Prints a markdown table: test accuracy,
training seconds, the time ratio against the reference, and the training time to reach 99.2% (the reference
CNN's accuracy) and 99.5%, measured at epoch ends with the per-epoch test scoring itself left out of the clock
(and without test-time augmentation, which only the saved model applies).
This project's CNN trains with three seeds: each, then their mean and standard deviation.

The ratios hold on a machine whose speed drifts from minute to minute (a shared virtual machine's does): each
Keras reference trains a few epochs at a time between the epochs of this project's trainings, so both meet the
same slow and fast minutes, and the two logistic regressions train three times each, alternately. The Keras
references train in a process of their own, with TensorFlow's default settings, as a user who copies them
would: this process's thread pools are set up for this project's network.

Each compute profile (``train_nn.compute``: portable, fast) runs in a process of its own, with a reference of its
own between its epochs: oneDNN fixes its kernels for a whole process. The tables of the profiles follow each
other in the output.

A second table says how far each training runs from the machine's limit (:mod:`benchmarks.limits`): its
arithmetic, from the layer shapes and the number of steps, against the processor's peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import multiprocessing
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks import cli
from benchmarks.limits import (
    LIMITS_HEADER,
    MATMUL_SIZE,
    limits_row,
    logreg_training_flops,
    this_processor,
    training_flops,
)
from mnist_pipeline.artifacts import write_text
from mnist_pipeline.digits import flatten
from mnist_pipeline.logreg import TrainLogregParams, train_logreg
from mnist_pipeline.model_io import predict_proba
from mnist_pipeline.nn import TrainNnParams, compute_precision, configure_tensorflow, train_nn
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS
from mnist_pipeline.tensorflow_env import import_keras, tensorflow_defaults

keras = import_keras()
layers = keras.layers

TARGETS = (0.992, 0.995)
CNN_SEEDS = 3
LOGREG_ROUNDS = 3
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
    """Training seconds at each epoch end and the test accuracy there, what runs between epochs off the clock.

    Between epochs it scores the test digits, then calls ``between_epochs`` (if any) with the number of
    epochs done. A training split over several ``fit`` calls keeps one clock: ``elapsed`` adds up.
    """

    def __init__(self, x_test, y_test, predict, between_epochs=None):
        super().__init__()
        self.x_test, self.y_test, self.predict = x_test, y_test, predict
        self.between_epochs = between_epochs
        # seconds: trained so far; paused: spent off the clock so far, both over every fit.
        self.elapsed, self.accuracy, self.seconds, self.paused = [], [], 0.0, 0.0

    def on_train_begin(self, logs=None):
        self._start, self._paused_before = time.perf_counter(), self.paused

    def _trained(self, now):
        return self.seconds + now - self._start - (self.paused - self._paused_before)

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.elapsed.append(self._trained(now))
        self.accuracy.append(float((self.predict(self.model, self.x_test).argmax(1) == self.y_test).mean()))
        if self.between_epochs:
            self.between_epochs(epoch + 1)
        self.paused += time.perf_counter() - now

    def on_train_end(self, logs=None):
        self.seconds = self._trained(time.perf_counter())

    def time_to(self, target):
        return first_time_to(self.elapsed, self.accuracy, target)


def first_time_to(elapsed, accuracy, target):
    """The first of the ``elapsed`` seconds whose ``accuracy`` reached ``target``; None if none did."""
    reached = [t for t, a in zip(elapsed, accuracy, strict=True) if a >= target]
    return reached[0] if reached else None


def keras_predict(model, images):
    return np.asarray(model.predict(images, batch_size=1000, verbose=0))


class InterleavedReference:
    """A reference Keras recipe trained a few epochs at a time, between the epochs of this project's trainings,
    in a process of its own.

    A machine's speed drifts from minute to minute, and a reference trained before or after this project's
    model can meet a different machine from it; spread through them, it meets the same one. Its own process
    gives it what a user who copies the recipe gets, TensorFlow's defaults (both thread pools a thread per core,
    no op determinism, oneDNN's kernels only where TensorFlow picks them), whatever this process set up for this
    project's network: on 2 cores its steps took
    1.48 times as long with a single inter-op thread, this project's setting before towers, and 1.10 times with
    this project's setting now, on an Intel Xeon (``python -m benchmarks.bench_towers``).
    ``catch_up(done, total)`` trains the reference up to the same fraction of its epochs as ``done`` of
    ``total`` of ours. A ``fit`` per chunk draws its own shuffles, so the reference's accuracy differs a little
    from one unbroken ``fit``'s (the CNN's: 99.21% against 99.15%). ``build`` must be importable by name
    (a module's function): the process is a new interpreter.
    """

    def __init__(self, build, data, *, epochs, batch_size, seed):
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=train_reference, args=(theirs, build, data, batch_size, seed),
                                        daemon=True)
        with tensorflow_defaults():  # its kernels too: TensorFlow's choice, not this project's
            self._process.start()
        self.epochs = epochs
        self.elapsed, self.accuracy, self.seconds = [], [], 0.0

    @property
    def done(self) -> int:
        return len(self.elapsed)

    def catch_up(self, done: int, total: int) -> None:
        target = round(self.epochs * done / total)
        if target > self.done:
            self._connection.send(target)
            self.elapsed, self.accuracy, self.seconds = self._connection.recv()

    def time_to(self, target):
        return first_time_to(self.elapsed, self.accuracy, target)

    def close(self) -> None:
        self._connection.send(None)
        self._process.join()


def train_reference(connection, build, data, batch_size, seed):
    """The reference's process: trains up to each epoch count it receives and answers with its clock's
    (elapsed, accuracy, seconds); None ends it."""
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = EpochClock(data["x_test"], data["y_test"], keras_predict)
    while (target := connection.recv()) is not None:
        model.fit(data["x_train"], data["y_train"], validation_data=(data["x_val"], data["y_val"]),
                  initial_epoch=len(clock.elapsed), epochs=target, batch_size=batch_size, verbose=0,
                  callbacks=[clock])
        connection.send((clock.elapsed, clock.accuracy, clock.seconds))


def row(name, accuracy, seconds, reference_seconds, clock=None):
    ratio = f"{seconds / reference_seconds:.2f}" if reference_seconds else "1.00 (reference)"
    reach = [clock.time_to(target) if clock else None for target in TARGETS]
    reach = " | ".join("—" if t is None else f"{t:.1f}" for t in reach)
    return f"| {name} | {accuracy} | {seconds:.1f} | {ratio} | {reach} |"


def percent(accuracy: float) -> str:
    return f"{accuracy:.2%}"


def bench_logreg(data, rows, limits, processor):
    params = load_section(PARAMS, "train_logreg", TrainLogregParams)
    x_train = flatten(data["x_train"])
    samples, features = x_train.shape
    # Trainings of a few seconds: each recipe trains LOGREG_ROUNDS times, alternately, and the times add up,
    # so a slow minute of the machine weighs on both.
    reference_seconds = seconds = 0.0
    for _ in range(LOGREG_ROUNDS):
        start = time.perf_counter()
        reference = reference_logreg(data["x_train"], data["y_train"])
        reference_seconds += (time.perf_counter() - start) / LOGREG_ROUNDS
        start = time.perf_counter()
        model = train_logreg(x_train, data["y_train"], params)
        seconds += (time.perf_counter() - start) / LOGREG_ROUNDS

    name = "logreg: LogisticRegression() on pixels/255"
    accuracy = reference.score(flatten(data["x_test"]) / 255, data["y_test"])
    rows.append(row(name, percent(accuracy), reference_seconds, None))
    # One loss-and-gradient evaluation per L-BFGS iteration: its line search rarely needs a second.
    flops = logreg_training_flops(samples, features, 10, int(reference.n_iter_.max()))
    limits.append(limits_row(name, flops, reference_seconds, processor.peak_flops))

    accuracy = float((predict_proba(model, data["x_test"]).argmax(1) == data["y_test"]).mean())
    rows.append(row("logreg: this project", percent(accuracy), seconds, reference_seconds))
    # Its classifier reads the kernel features (train_logreg.features: rbf), not the 784 pixels; computing them once
    # is a few percent of the iterations' work, left out.
    flops = logreg_training_flops(samples, model[-1].n_features_in_, 10, int(model[-1].n_iter_.max()))
    limits.append(limits_row("logreg: this project", flops, seconds, processor.peak_flops))


def bench_nn(data, rows, limits, processor, arch, compute, n_seeds):
    params = dataclasses.replace(load_section(PARAMS, "train_nn", TrainNnParams), arch=arch, compute=compute)
    build_reference, epochs, batch_size, label = {
        "cnn": (reference_cnn, 15, 128, "cnn: Keras simple MNIST convnet, 15 epochs"),
        "mlp": (reference_mlp, 10, 32, "mlp: Dense 128 + softmax, 10 epochs"),
    }[arch]
    seeds = range(params.seed, params.seed + (n_seeds if arch == "cnn" else 1))
    samples = len(data["y_train"])
    reference = InterleavedReference(build_reference, data, epochs=epochs, batch_size=batch_size, seed=params.seed)

    # The reference trains between our epochs: after each, it catches up to the same share of its own.
    our_epochs = params.training.epochs * len(seeds)
    runs = []
    for i, seed in enumerate(seeds):
        done_before = i * params.training.epochs
        clock = EpochClock(data["x_test"], data["y_test"], predict_proba,
                           between_epochs=lambda done, before=done_before: reference.catch_up(before + done,
                                                                                              our_epochs))
        start = time.perf_counter()
        model = train_nn(data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                         dataclasses.replace(params, seed=seed), callbacks=[clock])
        seconds = time.perf_counter() - start - clock.paused
        accuracy = float((predict_proba(model, data["x_test"]).argmax(1) == data["y_test"]).mean())
        runs.append((accuracy, seconds, clock))
        flops = training_flops(model, samples, params.training.epochs)  # the augmented views are the same size

    reference.close()
    rows.append(row(label, percent(reference.accuracy[-1]), reference.seconds, None, reference))
    limits.append(limits_row(label, training_flops(build_reference(), samples, epochs), reference.seconds,
                             processor.peak_flops))
    for seed, (accuracy, seconds, clock) in zip(seeds, runs, strict=True):
        name = f"{arch}: this project" + (f", seed {seed}" if arch == "cnn" else "")
        rows.append(row(name, percent(accuracy), seconds, reference.seconds, clock))
    accuracies, times = np.array([run[:2] for run in runs]).T
    if len(runs) > 1:
        mean = f"{accuracies.mean():.2%} ± {accuracies.std(ddof=1):.2%}"
        rows.append(row(f"{arch}: this project, mean of {len(runs)} seeds", mean, times.mean(), reference.seconds))
    # The peak of the precision the layers compute in.
    limits.append(limits_row(f"{arch}: this project", flops, times.mean(),
                             processor.peak_for(compute_precision(params.training.precision, params.compute))))
    keras.backend.clear_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["logreg", "cnn", "mlp"], action="append",
                        help="run only these pairs (repeatable); default: all")
    parser.add_argument("--compute", choices=["portable", "fast"], action="append",
                        help="train_nn's compute profiles to measure (repeatable); default: both")
    parser.add_argument("--seeds", type=cli.count, default=CNN_SEEDS, help=f"CNN seeds (default: {CNN_SEEDS})")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the table (default: {RESULTS})")
    args = parser.parse_args()
    only = args.only or ["logreg", "cnn", "mlp"]
    profiles = args.compute or ["portable", "fast"]
    if len(profiles) > 1:
        # The logistic regression does not depend on the profile: measured once.
        tables = [run_profile(profile, only if i == 0 else [name for name in only if name != "logreg"], args.seeds)
                  for i, profile in enumerate(profiles)]
        write_text(args.output, "\n".join(tables))
        return
    logging.basicConfig(level=logging.WARNING)

    nn_params = load_section(PARAMS, "train_nn", TrainNnParams)
    configure_tensorflow(nn_params.threads, nn_params.towers, profiles[0])
    data = cli.processed_data()
    processor = this_processor(bfloat16=profiles[0] == "fast")
    rows = ["| model | test accuracy | training s | time vs reference | s to 99.2% | s to 99.5% |",
            "|---|---|---|---|---|---|"]
    limits = [LIMITS_HEADER]
    for name in only:
        if name == "logreg":
            bench_logreg(data, rows, limits, processor)
        else:
            bench_nn(data, rows, limits, processor, name, profiles[0], args.seeds)
    table = "\n".join([
        f"train_nn.compute: {profiles[0]}. {processor.describe(MATMUL_SIZE)}; {platform.machine()}; "
        f"train {len(data['y_train'])}, test {len(data['y_test'])} digits", "", *rows, "", *limits])
    print(table)
    write_text(args.output, table + "\n")


def run_profile(profile: str, only: list[str], seeds: int) -> str:
    """This benchmark for one compute profile, in a process of its own; returns its tables."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "results.md"
        command = [sys.executable, "-m", "benchmarks.bench_models", "--compute", profile, "--seeds", str(seeds),
                   "--output", str(output), *(f"--only={name}" for name in only)]
        if done := subprocess.run(command, check=False).returncode:
            raise SystemExit(done)  # the profile's process has said why, on the same terminal
        return output.read_text()


if __name__ == "__main__":
    cli.run(main)
