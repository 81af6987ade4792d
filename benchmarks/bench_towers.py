"""A training step of the default network with its batch in towers, whole, or split by TensorFlow's own engine
(``tf.distribute.MirroredStrategy`` over logical CPU devices), and the Keras reference's step under each thread
setting, on oneDNN's kernels or Eigen's; then whether each way of splitting writes the same weights whatever the
threads an op (the portable profile's promise).

    python -m benchmarks.bench_towers            # about 5 minutes on 2 cores

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
import hashlib
import json
import os
import subprocess
import sys
import time

from benchmarks import cli
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
    ("this network, MirroredStrategy over 2 logical CPUs, 1 thread an op", "mirrored", 2, 0, "pipeline"),
    ("Keras reference, TensorFlow's defaults", "reference", 0, 0, "tensorflow"),
    ("Keras reference, TensorFlow's defaults but oneDNN's kernels", "reference", 0, 0, "onednn"),
    ("Keras reference, 1 inter-op thread (before)", "reference", 1, 0, "pipeline"),
    ("Keras reference, as this network now", "reference", 2, 0, "pipeline"),
)
WARMUP_STEPS = 5


def time_steps(network: str, towers: int, threads: int, steps: int, *, digest: bool = False) -> float | str:
    """Seconds a training step, in this process set up for ``towers`` and ``threads`` (0 and 0: left alone); with
    ``digest``, the SHA-256 of the weights after the warm-up and ``steps`` steps instead."""
    from benchmarks.bench_models import reference_cnn
    from mnist_pipeline.nn import TrainNnParams, batches, build_model, configure_tensorflow
    from mnist_pipeline.params import load_section
    from mnist_pipeline.paths import PARAMS
    from mnist_pipeline.tensorflow_env import import_keras, import_tensorflow

    keras = import_keras()
    params = load_section(PARAMS, "train_nn", TrainNnParams)
    if towers:
        configure_tensorflow(threads, towers)
    data = cli.processed_data()
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
        if network == "mirrored":
            tf = import_tensorflow()
            # The CPU as ``towers`` logical devices, one replica each; the strategy splits each batch among them
            # and sums the replicas' gradients.
            tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                                       [tf.config.LogicalDeviceConfiguration()] * towers)
            scope = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(towers)]).scope()
        else:
            scope = contextlib.nullcontext()
        with scope:
            model = build_model(params) if network == "mirrored" else for_training(build_model(params),
                                                                                    params.towers)
            model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                          metrics=["accuracy"])
        pipeline = batches(data["x_train"], data["y_train"], params.training.batch_size,
                           shuffle_seed=params.seed, augment=params.augment)

        def train(n):
            model.fit(pipeline.take(n), verbose=0)
    train(WARMUP_STEPS)
    start = time.perf_counter()
    train(steps)
    seconds = (time.perf_counter() - start) / steps
    if digest:
        return hashlib.sha256(b"".join(weight.numpy().tobytes() for weight in model.weights)).hexdigest()
    return seconds


def worker(steps: int, network: str, towers: int, threads: int, kernels: str, digest: bool = False):
    """A function that times a step of the variant in a new process (:func:`time_steps`) and returns its seconds
    (with ``digest``, the weights' SHA-256)."""
    command = [sys.executable, "-m", "benchmarks.bench_towers", "--steps", str(steps),
               "--worker", network, str(towers), str(threads), *(["--digest"] if digest else [])]
    with tensorflow_defaults() if kernels != "pipeline" else contextlib.nullcontext():
        env = dict(os.environ)
    if kernels in ("onednn", "eigen"):
        env[ONEDNN_OPTS] = "1" if kernels == "onednn" else "0"

    def run() -> float:
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if done.returncode:  # its last line says why (TensorFlow's start-up notices come before it)
            raise SystemExit(f"a timed process failed: {(done.stderr.strip().splitlines() or ['no message'])[-1]}")
        return json.loads(done.stdout.splitlines()[-1])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=cli.count, default=40, help="training steps a round (default: 40)")
    parser.add_argument("--rounds", type=cli.count, default=3,
                        help="rounds of each variant, alternated (default: 3)")
    parser.add_argument("--worker", nargs=3, metavar=("NETWORK", "TOWERS", "THREADS"), help=argparse.SUPPRESS)
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        network, towers, threads = args.worker
        print(json.dumps(time_steps(network, int(towers), int(threads), args.steps, digest=args.digest)))
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

    # The portable profile's promise: the same weights whatever the threads an op (1 or 2) and the run.
    print()
    print(f"Weights after {WARMUP_STEPS + args.steps} steps from the same seed, under the portable profile:")
    print()
    print("| split | 1 thread an op, twice | 2 threads an op | the same bytes |")
    print("|---|---|---|---|")
    for label, network in (("2 towers", "ours"), ("MirroredStrategy, 2 logical CPUs", "mirrored")):
        digests = [worker(args.steps, network, 2, threads, "pipeline", digest=True)() for threads in (1, 1, 2)]
        print(f"| {label} | {digests[0][:12]}, {digests[1][:12]} | {digests[2][:12]} | "
              f"{'yes' if len(set(digests)) == 1 else 'no'} |")


if __name__ == "__main__":
    cli.run(main)
