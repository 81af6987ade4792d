"""The default network's training step in float32 and in bfloat16 on this machine, and what ``precision: auto``
picks here.

    python -m benchmarks.bench_precision            # about a minute on 2 cores

bfloat16 halves a step's time on a CPU with AMX, multiplies it by about 1.3 to 1.5 on an Intel one with AVX512_BF16
but no AMX, and by about nine on one without bfloat16 instructions, where oneDNN emulates them:
``train_nn.cnn.precision: auto`` reads the CPU's flags to choose (:mod:`mnist_pipeline.cpu`). This times the
choice. The two policies train alternately, a few steps at a time, on the pipeline's distorted batches, so a
drift in the machine's speed meets both; each policy's time is the median of its rounds. Needs `dvc repro
preprocess` first.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time

import numpy as np

from benchmarks import cli
from benchmarks.alternate import alternated_medians, cpu_line
from mnist_pipeline.cpu import BFLOAT16_FLAGS, CPUINFO, cpu_flags, cpuinfo_fields
from mnist_pipeline.nn import TrainNnParams, batches, build_model, compute_precision, configure_tensorflow
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS
from mnist_pipeline.tensorflow_env import import_keras

PRECISIONS = ("float32", "mixed_bfloat16")


def step_timer(params: TrainNnParams, precision: str, images: np.ndarray, labels: np.ndarray, steps: int):
    """A function that trains ``steps`` steps of the ``params`` network in ``precision`` and returns the seconds.

    The model is built and its first steps (tracing, oneDNN's kernel set-up) run here, off the clock.
    """
    keras = import_keras()
    keras.utils.set_random_seed(params.seed)
    training = dataclasses.replace(params.training, precision=precision)
    params = dataclasses.replace(params, **{params.arch: training})
    model = build_model(params)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    data = batches(images, labels, training.batch_size, shuffle_seed=params.seed, augment=params.augment)
    model.fit(data.take(2), epochs=1, verbose=0)
    chunk = data.take(steps)

    def train() -> float:
        start = time.perf_counter()
        model.fit(chunk, epochs=1, verbose=0)
        return time.perf_counter() - start

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=cli.count, default=10, help="training steps a round (default: 10)")
    parser.add_argument("--rounds", type=cli.count, default=3,
                        help="rounds of each policy, alternated (default: 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    # bfloat16 needs the fast profile: oneDNN's AVX2 kernels, the portable profile's, have none.
    params = dataclasses.replace(load_section(PARAMS, "train_nn", TrainNnParams), compute="fast")
    configure_tensorflow(params.threads, params.towers, params.compute)
    data = cli.processed_data()
    timers = {precision: step_timer(params, precision, data["x_train"], data["y_train"], args.steps)
              for precision in PRECISIONS}
    steps = alternated_medians(timers, args.rounds)

    fields = cpuinfo_fields(CPUINFO.read_text()) if CPUINFO.exists() else {}
    bfloat16_flags = sorted(cpu_flags(fields) & BFLOAT16_FLAGS)
    steps_an_epoch = int(np.ceil(len(data["y_train"]) / params.training.batch_size))
    print(f"{cpu_line(fields)}; {params.arch}, "
          f"batches of {params.training.batch_size}, {steps_an_epoch} steps an epoch; "
          f"median of {args.rounds} rounds of {args.steps} steps, alternated")
    print()
    print("| precision | ms a step | s an epoch | time vs float32 |")
    print("|---|---|---|---|")
    for precision, seconds in steps.items():
        step = seconds / args.steps
        print(f"| {precision} | {step * 1000:.0f} | {step * steps_an_epoch:.1f} | {seconds / steps['float32']:.2f} |")
    print()
    print(f"precision: auto computes in {compute_precision('auto', params.compute)} here: the CPU's bfloat16 "
          f"instructions: {', '.join(bfloat16_flags) or 'none'} ({fields.get('vendor_id', 'unknown vendor')})")


if __name__ == "__main__":
    cli.run(main)
