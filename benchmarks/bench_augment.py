"""Where the training-time distortions run: Keras' random layers inside the model, or one resampling in the input
pipeline (``mnist_pipeline.augment``), against no distortion at all.

    python -m benchmarks.bench_augment            # a few minutes on 2 cores

Three copies of the default network train alternately, one epoch each a round: the first with Keras'
RandomRotation, RandomTranslation (and RandomZoom) layers in front of it (fed the plain batches, as this project trained
before), the second fed the pipeline's distorted batches, the third undistorted batches. Each variant's time is
the median of its rounds' epochs, and its ratio is against the Keras layers' in the same process. Needs `dvc
repro preprocess` first.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time

from benchmarks import cli
from benchmarks.alternate import alternated_medians, cpu_line
from mnist_pipeline.cpu import CPUINFO, cpuinfo_fields
from mnist_pipeline.nn import TrainNnParams, batches, build_model, compute_precision, configure_tensorflow
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS
from mnist_pipeline.tensorflow_env import import_keras


def with_keras_layers(model, params: TrainNnParams):
    """``model`` behind Keras' own random layers for ``params.augment``'s rotation, shift and zoom, as the network
    was built before (it had no zoom then)."""
    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=model.input_shape[1:])
    x = layers.Reshape((*model.input_shape[1:], 1))(inputs)
    x = layers.RandomRotation(params.augment.rotation, fill_mode="constant", seed=params.seed)(x)
    x = layers.RandomTranslation(params.augment.shift, params.augment.shift, fill_mode="constant",
                                 seed=params.seed + 1)(x)
    if params.augment.zoom:
        x = layers.RandomZoom(params.augment.zoom, fill_mode="constant", seed=params.seed + 2)(x)
    x = layers.Reshape(model.input_shape[1:])(x)
    return keras.Model(inputs, model(x))


def epoch_timer(model, feed):
    """A function that trains ``model`` for one epoch of ``feed`` and returns the seconds."""

    def train() -> float:
        start = time.perf_counter()
        model.fit(feed, epochs=1, verbose=0, shuffle=False)  # the batches reshuffle themselves (``batches``)
        return time.perf_counter() - start

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=cli.count, default=3,
                        help="epochs of each variant, alternated (default: 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    keras = import_keras()
    params = load_section(PARAMS, "train_nn", TrainNnParams)
    configure_tensorflow(params.threads, params.towers, params.compute)
    data = cli.processed_data()
    x, y, size = data["x_train"], data["y_train"], params.training.batch_size
    undistorted = dataclasses.replace(params.augment, shift=0.0, rotation=0.0, zoom=0.0)
    variants = {
        "Keras' random layers in the model": (True, None),
        "one resampling in the input pipeline": (False, params.augment),
        "no distortion": (False, undistorted),
    }
    timers = {}
    for name, (keras_layers, augment) in variants.items():
        keras.utils.set_random_seed(params.seed)
        model = build_model(params)
        model = with_keras_layers(model, params) if keras_layers else model
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        feed = batches(x, y, size, shuffle_seed=params.seed, augment=augment)
        model.fit(feed.take(2), epochs=1, verbose=0, shuffle=False)  # tracing and oneDNN's set-up, off the clock
        timers[name] = epoch_timer(model, feed)
    epochs = alternated_medians(timers, args.rounds)

    fields = cpuinfo_fields(CPUINFO.read_text()) if CPUINFO.exists() else {}
    augment = params.augment
    print(f"{cpu_line(fields)}; {params.arch} in "
          f"{compute_precision(params.training.precision, params.compute)}, batches of {size}; "
          f"shift {augment.shift}, rotation "
          f"{augment.rotation}, zoom {augment.zoom}; median of {args.rounds} epochs each, alternated")
    print()
    print("| distortions | s an epoch | time vs Keras' layers |")
    print("|---|---|---|")
    reference = epochs["Keras' random layers in the model"]
    for name, seconds in epochs.items():
        print(f"| {name} | {seconds:.1f} | {seconds / reference:.2f} |")


if __name__ == "__main__":
    cli.run(main)
