"""A training step of the default network with its batch in towers or whole, and the Keras reference's step under
each thread setting, on oneDNN's kernels or Eigen's.

    python -m benchmarks.bench_towers            # about 10 minutes on 2 cores

TensorFlow's thread pools are sized once a process, so each variant runs in a process of its own, and the
variants take turns, round after round, so a drift in the machine's speed meets them all; each variant's time
is the median of its rounds (a round: a few warm-up steps off the clock, then ``--steps`` steps). The
reference rows say what the thread and kernel settings do to the recipe that ``bench_models`` compares against,
which is why it trains there in a process of its own with TensorFlow's defaults. Needs `dvc repro preprocess` first.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time

from benchmarks.alternate import alternated_medians, cpu_line
from mnist_pipeline.cpu import CPUINFO, cpuinfo_fields
from mnist_pipeline.tensorflow_env import ONEDNN_OPTS, tensorflow_defaults

# (label, network, towers, threads, kernels): towers 0 leaves TensorFlow's thread settings and op determinism
# alone; kernels "pipeline" is this project's choice (oneDNN's, mnist_pipeline/tensorflow_env.py), "tensorflow"
# TensorFlow's own for this CPU, "onednn" and "eigen" force one.
VARIANTS = (
    ("this network, whole batches, 1 inter-op thread (before)", "ours", 1, 0, "pipeline"),
    ("this network, 2 towers, 1 thread an op (default)", "ours", 2, 0, "pipeline"),
    ("this network, 2 towers, 2 threads an op", "ours", 2, 2, "pipeline"),
    ("this network, 2 towers, Eigen's kernels", "ours", 2, 0, "eigen"),
    ("Keras reference, TensorFlow's defaults", "reference", 0, 0, "tensorflow"),
    ("Keras reference, TensorFlow's defaults but oneDNN's kernels", "reference", 0, 0, "onednn"),
    ("Keras reference, 1 inter-op thread (before)", "reference", 1, 0, "pipeline"),
    ("Keras reference, as this network now", "reference", 2, 0, "pipeline"),
)
WARMUP_STEPS = 5


def time_steps(network: str, towers: int, threads: int, steps: int) -> float:
    """Seconds a training step, in this process set up for ``towers`` and ``threads`` (0 and 0: left alone)."""
    from benchmarks.bench_models import reference_cnn
    from mnist_pipeline.artifacts import load_arrays
    from mnist_pipeline.nn import TrainNnParams, batches, build_model, configure_tensorflow
    from mnist_pipeline.params import load_section
    from mnist_pipeline.paths import PARAMS, PROCESSED_DATA
    from mnist_pipeline.tensorflow_env import import_keras

    keras = import_keras()
    params = load_section(PARAMS, "train_nn", TrainNnParams)
    if towers:
        configure_tensorflow(threads, towers)
    data = load_arrays(PROCESSED_DATA)
    keras.utils.set_random_seed(params.seed)
    if network == "reference":
        model = reference_cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        batch = 128

        def train(n):
            model.fit(data["x_train"][:n * batch], data["y_train"][:n * batch], batch_size=batch, verbose=0)
    else:
        from mnist_pipeline.towers import for_training

        params = dataclasses.replace(params, towers=max(towers, 1))
        model = for_training(build_model(params), params.towers)
        model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                      metrics=["accuracy"])
        pipeline = batches(data["x_train"], data["y_train"], params.training.batch_size,
                           shuffle_seed=params.seed, augment=params.augment)

        def train(n):
            model.fit(pipeline.take(n), verbose=0)
    train(WARMUP_STEPS)
    start = time.perf_counter()
    train(steps)
    return (time.perf_counter() - start) / steps


def worker(steps: int, network: str, towers: int, threads: int, kernels: str):
    """A function that times a step of the variant in a new process (:func:`time_steps`) and returns its seconds."""
    command = [sys.executable, "-m", "benchmarks.bench_towers", "--steps", str(steps),
               "--worker", network, str(towers), str(threads)]
    with tensorflow_defaults() if kernels != "pipeline" else contextlib.nullcontext():
        env = dict(os.environ)
    if kernels in ("onednn", "eigen"):
        env[ONEDNN_OPTS] = "1" if kernels == "onednn" else "0"

    def run() -> float:
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        return json.loads(done.stdout.splitlines()[-1])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps a round (default: 40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each variant, alternated (default: 3)")
    parser.add_argument("--worker", nargs=3, metavar=("NETWORK", "TOWERS", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        network, towers, threads = args.worker
        print(json.dumps(time_steps(network, int(towers), int(threads), args.steps)))
        return

    medians = alternated_medians({label: worker(args.steps, *variant) for label, *variant in VARIANTS}, args.rounds)

    fields = cpuinfo_fields(CPUINFO.read_text()) if CPUINFO.exists() else {}
    print(f"{cpu_line(fields)}; median of {args.rounds} rounds of {args.steps} steps, each variant in its own "
          f"process, alternated")
    print()
    print("| variant | ms a step | time vs the first of its network |")
    print("|---|---|---|")
    firsts = {}
    for label, network, *_ in VARIANTS:
        first = firsts.setdefault(network, medians[label])
        print(f"| {label} | {medians[label] * 1000:.0f} | {medians[label] / first:.2f} |")


if __name__ == "__main__":
    main()
