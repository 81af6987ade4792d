"""The Keras network: a CNN (default) or an MLP from (n, 28, 28) raw pixels to class probabilities."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Literal

import numpy as np

from mnist_pipeline.augment import AugmentParams, distort
from mnist_pipeline.cpu import bfloat16_is_faster
from mnist_pipeline.digits import IMAGE_SIDE, N_CLASSES
from mnist_pipeline.params import ParamsError, bounded
from mnist_pipeline.temperature import fit_temperature
from mnist_pipeline.tensorflow_env import (
    Compute,
    configure_environment,
    import_keras,
    import_tensorflow,
    intra_op_threads,
    set_thread_pools,
)

log = logging.getLogger(__name__)

# The CNN's blocks at most: each block's 2x2 pooling halves the 28x28 image (28, 14, 7, 3, 1), and a fifth would
# have nothing left to convolve.
MAX_BLOCKS = 4


@dataclasses.dataclass(frozen=True)
class ArchTraining:
    """How an architecture trains: its cost per step and per sample differ, so each section has its own."""

    epochs: int = bounded(1, 1000)
    batch_size: int = bounded(1, 65_536)
    learning_rate: float = bounded(0, 10, low_open=True)  # peak of the one-cycle schedule
    # Keras' dtype policy for the layers after the input scaling: "mixed_bfloat16" computes in bfloat16 and keeps the
    # weights and the softmax in float32. It pays only where a layer's arithmetic outweighs the casts, and only on
    # some CPUs with bfloat16 instructions: "auto" picks it there under the fast compute profile, and float32
    # elsewhere and under the portable one (compute_precision).
    precision: Literal["auto", "float32", "mixed_bfloat16"]


@dataclasses.dataclass(frozen=True)
class CnnParams(ArchTraining):
    """The CNN's own knobs: ``train_nn.cnn``."""

    # Each block's convolution filters: at most MAX_BLOCKS blocks.
    filters: list[int] = bounded(1, 4096)
    batch_norm: bool
    dense_units: int = bounded(0, 4096)
    dropout: float = bounded(0, 0.95)

    def __post_init__(self):
        if len(self.filters) > MAX_BLOCKS:
            raise ParamsError(f"train_nn.cnn.filters = {self.filters} makes {len(self.filters)} blocks; each halves "
                              f"the 28x28 image, so at most {MAX_BLOCKS} fit")


@dataclasses.dataclass(frozen=True)
class MlpParams(ArchTraining):
    """The MLP's own knobs: ``train_nn.mlp``."""

    hidden_units: list[int] = bounded(1, 65_536)
    dropout: float = bounded(0, 0.95)


@dataclasses.dataclass(frozen=True)
class TrainNnParams:
    """The ``train_nn`` section of params.yaml."""

    arch: Literal["cnn", "mlp"]
    # Which kernels compute (mnist_pipeline/tensorflow_env.py): "portable", the same bytes on any x86-64 with AVX2,
    # or "fast", every instruction this CPU has and bfloat16 where it pays, its own bytes.
    compute: Compute
    # Fraction of the training steps spent warming the learning rate up (one-cycle schedule).
    warmup: float = bounded(0, 0.9)
    label_smoothing: float = bounded(0, 0.5)
    seed: int = bounded(0, 2**31 - 1)
    # Parts of each training batch that the network runs on side by side, one core's threads each (towers.py).
    towers: int = bounded(1, 256)
    # TensorFlow's intra-op threads, for each tower; 0: one under compute: portable, and under fast the CPU's cores
    # shared among the towers (tensorflow_env.intra_op_threads).
    threads: int = bounded(0, 256)
    # Average the saved model's predictions over one-pixel shifts of each image.
    tta: bool
    augment: AugmentParams
    cnn: CnnParams
    mlp: MlpParams

    def __post_init__(self):
        # oneDNN's AVX2 kernels have no bfloat16 convolution: the portable profile computes in float32.
        for arch in ("cnn", "mlp"):
            if self.compute == "portable" and getattr(self, arch).precision == "mixed_bfloat16":
                raise ParamsError(f"train_nn.{arch}.precision = 'mixed_bfloat16' needs train_nn.compute: fast; the "
                                  f"portable profile computes in float32 on every CPU (precision: auto or float32)")

    @property
    def training(self) -> ArchTraining:
        """The chosen architecture's section: its epochs, batch size, learning rate and precision."""
        return self.cnn if self.arch == "cnn" else self.mlp


def thread_pools(threads: int, towers: int, cores: int, compute: str = "portable") -> tuple[int, int]:
    """TensorFlow's (intra-op, inter-op) thread counts for ``towers`` side by side on ``cores``.

    The inter-op pool gets a thread per tower, which is what a step's graph has to run side by side; each op
    gets :func:`~mnist_pipeline.tensorflow_env.intra_op_threads`: ``threads``, or for 0 one under the portable
    ``compute`` profile and the cores shared among the towers under the fast one.
    """
    return intra_op_threads(threads, compute, cores // towers), towers


def configure_tensorflow(threads: int, towers: int, compute: str = "portable") -> None:
    """Set the kernels of the ``compute`` profile, make TensorFlow's ops deterministic and size its thread pools
    (:func:`thread_pools`) on this machine.

    Kernels and pools can be set only before TensorFlow's first op: a stage process calls this first. In a
    process where TensorFlow already ran (a notebook, the in-process tests), they stay as they are.
    """
    configure_environment(compute)
    tf = import_tensorflow()
    tf.config.experimental.enable_op_determinism()
    intra, inter = thread_pools(threads, towers, os.cpu_count() or 1, compute)
    if set_thread_pools(intra, inter):
        log.info("compute: %s; %d intra-op thread(s) an op, %d inter-op", compute, intra, inter)
    else:
        log.warning("TensorFlow already ran in this process: its thread pools keep their sizes")


def compute_precision(precision: str, compute: str, bfloat16_faster: bool | None = None) -> str:
    """The Keras dtype policy a ``precision`` param stands for under the ``compute`` profile on this machine.

    "auto" is "float32" under the portable profile; under the fast one, "mixed_bfloat16" where the CPU trains
    faster in bfloat16 (``bfloat16_faster``; None: ask this one, :mod:`mnist_pipeline.cpu`) and "float32"
    elsewhere.
    """
    if precision != "auto":
        return precision
    if compute == "portable":
        return "float32"
    faster = bfloat16_is_faster() if bfloat16_faster is None else bfloat16_faster
    return "mixed_bfloat16" if faster else "float32"


def build_model(params: TrainNnParams):
    """The network, from raw pixels (0-255) to probabilities; training distorts its inputs in ``batches``."""
    keras = import_keras()
    layers = keras.layers

    # Scaling stays in float32; the layers after it take the architecture's policy.
    compute = {"dtype": compute_precision(params.training.precision, params.compute)}
    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    x = layers.Rescaling(1 / 255, name="scale")(inputs)
    x = layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(x)
    if params.arch == "cnn":
        for filters in params.cnn.filters:
            x = pooled_convolution(x, filters, use_bias=not params.cnn.batch_norm, **compute)
            # Batch norm makes each step steadier but costs about a quarter of a CPU epoch's time.
            if params.cnn.batch_norm:
                x = layers.BatchNormalization(**compute)(x)
            # Pooling before the ReLU computes the same function (a maximum commutes with it) with the ReLU's
            # passes over a quarter of the values: 6% of a training step.
            x = layers.MaxPooling2D(**compute)(x)
            x = layers.ReLU(**compute)(x)
        x = layers.Flatten(**compute)(x)
        if params.cnn.dense_units:
            x = layers.Dense(params.cnn.dense_units, activation="relu", **compute)(x)
        x = layers.Dropout(params.cnn.dropout, **compute)(x)
    else:
        x = layers.Flatten(**compute)(x)
        for units in params.mlp.hidden_units:
            x = layers.Dense(units, activation="relu", **compute)(x)
            x = layers.Dropout(params.mlp.dropout, **compute)(x)
    # The softmax in float32 whatever the policy: bfloat16's 8-bit mantissa would round the probabilities.
    outputs = layers.Dense(N_CLASSES, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"mnist_{params.arch}")


def pooled_convolution(x, filters: int, *, use_bias: bool = True, dtype=None):
    """A 3x3 convolution of ``x`` as "same" padding computes it, but only the outputs a 2x2 pooling then reads.

    The pooling drops the last row and column of a map of odd size, so on such a map (7 x 7 in the default
    network) the "same" convolution would spend a quarter of its arithmetic on outputs nobody reads. Padding only
    the top and the left and convolving "valid" leaves them out: the same function for less work. A map of even
    sides keeps the plain "same" convolution, with no padding layer to copy it through.
    """
    layers = import_keras().layers
    height, width = x.shape[1:3]
    if height % 2 or width % 2:
        x = layers.ZeroPadding2D(((1, 1 - height % 2), (1, 1 - width % 2)), dtype=dtype)(x)
        return layers.Conv2D(filters, 3, padding="valid", use_bias=use_bias, dtype=dtype)(x)
    return layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, dtype=dtype)(x)


def scores_model(model):
    """The trained network ``model`` up to its softmax: the same layers and weights, its scores (logits)."""
    keras = import_keras()
    head = model.get_layer("probabilities")
    scores = keras.layers.Dense(N_CLASSES, dtype="float32", name="scores")
    outputs = scores(head.input)
    scores.set_weights(head.get_weights())
    return keras.Model(model.inputs, outputs, name=model.name)


def with_test_time_augmentation(model):
    """Wrap ``model`` so it averages its outputs over the image and its four one-pixel shifts.

    Built from Keras' own layers only (zero-padding and cropping), so the saved model still loads in
    safe mode; the wrapped model takes and returns what ``model`` does.
    """
    keras = import_keras()
    layers = keras.layers

    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    padded = layers.ZeroPadding2D(1)(layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(inputs))
    views = [model(inputs)]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        shifted = layers.Cropping2D(((1 - dy, 1 + dy), (1 - dx, 1 + dx)))(padded)
        views.append(model(layers.Reshape((IMAGE_SIDE, IMAGE_SIDE))(shifted)))
    return keras.Model(inputs, layers.Average(name="mean")(views), name=f"{model.name}_tta")


def with_temperature(scores, temperature: float):
    """The probabilities ``softmax(scores / temperature)`` of the scores model ``scores``, as a model of Keras' own
    layers (it loads in safe mode); the layer named ``temperature`` holds 1 / temperature."""
    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    scaled = layers.Rescaling(1 / temperature, dtype="float32", name="temperature")(scores(inputs))
    return keras.Model(inputs, layers.Softmax(dtype="float32", name="probabilities")(scaled), name=scores.name)


def calibrate_nn(model, x_val: np.ndarray, y_val: np.ndarray, *, tta: bool) -> tuple[object, float]:
    """The model to save, and its temperature: the trained network ``model``'s scores, averaged over shifted views
    if ``tta``, temperature-scaled on the validation digits (:mod:`mnist_pipeline.temperature`).

    The views average scores, not probabilities, so that one temperature scales the model's final scores; the
    predicted digit is the one of the mean scores whatever the temperature.
    """
    scores = scores_model(model)
    if tta:
        scores = with_test_time_augmentation(scores)
    val_scores = scores.predict(x_val, batch_size=1000, verbose=0)
    temperature = fit_temperature(val_scores, y_val)
    return with_temperature(scores, temperature), temperature


def batches(images: np.ndarray, labels: np.ndarray, batch_size: int, *, shuffle_seed: int | None = None,
            augment: AugmentParams | None = None, min_size: int = 1):
    """A tf.data pipeline of (images, one-hot labels) batches, reshuffled each epoch if ``shuffle_seed`` is given.

    An epoch's last batch is left out if it holds fewer than ``min_size`` digits (towers need a digit each).

    With ``augment`` (and a ``shuffle_seed``), each batch is distorted afresh every epoch (:mod:`augment`), from
    seeds drawn from ``shuffle_seed``: the same seed gives the same batches.

    Keras' own pipeline for arrays autotunes its parallelism, and the end of each epoch waits for the
    autotuner's thread, which sleeps for seconds between its rounds: on 2 cores that added up to 5 s to an
    epoch of 5 s. This one gathers and distorts each batch in one map, which has nothing to tune, so it turns
    autotuning off.
    """
    tf = import_tensorflow()
    keras = import_keras()
    images = tf.constant(images)
    one_hot = tf.constant(keras.utils.to_categorical(labels, N_CLASSES))
    indices = tf.data.Dataset.range(len(labels))
    if shuffle_seed is not None:
        indices = indices.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size)
    if min_size > 1:
        # Keras reads an epoch's steps from the cardinality, which a filter leaves unknown.
        full, last = divmod(len(labels), batch_size)
        indices = indices.filter(lambda batch: tf.size(batch) >= min_size).apply(
            tf.data.experimental.assert_cardinality(full + (last >= min_size)))
    if shuffle_seed is not None and augment is not None and augment.any:
        seeds = tf.data.Dataset.random(seed=shuffle_seed + 1, rerandomize_each_iteration=True).batch(2)
        pipeline = tf.data.Dataset.zip(indices, seeds).map(
            lambda batch, seed: (distort(tf.gather(images, batch), augment, seed), tf.gather(one_hot, batch)))
    else:
        pipeline = indices.map(lambda batch: (tf.gather(images, batch), tf.gather(one_hot, batch)))
    options = tf.data.Options()
    options.autotune.enabled = False
    return pipeline.prefetch(1).with_options(options)


def train_nn(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
             params: TrainNnParams, callbacks: list = ()):
    """Train on (n, 28, 28) uint8 images with Adam and a one-cycle learning rate.

    The rate climbs linearly from a tenth of the architecture's ``learning_rate`` to it over the first
    ``warmup`` fraction of the steps, then follows a cosine down to zero. With ``params.towers`` above 1, each
    batch trains in that many parts side by side (:mod:`towers`), for the whole batch's loss. Per-epoch loss
    and accuracy on both sets reach ``callbacks``. Returns the model to save: the network alone, wrapped for
    test-time augmentation if ``params.tta``, calibrated on the validation digits (:func:`calibrate_nn`).
    """
    keras = import_keras()

    # Seeding here, not once per process, makes the result independent of whatever ran before.
    keras.utils.set_random_seed(params.seed)
    model = build_model(params)
    training = params.training
    log.info("%s computes in %s (precision: %s, compute: %s)", params.arch,
             compute_precision(training.precision, params.compute), training.precision, params.compute)
    train_batches = batches(x_train, y_train, training.batch_size, shuffle_seed=params.seed, augment=params.augment,
                            min_size=params.towers)
    steps = training.epochs * int(train_batches.cardinality())
    warmup_steps = int(steps * params.warmup)
    schedule = keras.optimizers.schedules.CosineDecay(
        training.learning_rate / 10 if warmup_steps else training.learning_rate,
        decay_steps=steps - warmup_steps,
        warmup_target=training.learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    from mnist_pipeline.towers import for_training  # imports Keras: only where a network trains

    trained = for_training(model, params.towers)
    trained.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=params.label_smoothing),
        metrics=["accuracy"],
    )
    trained.fit(
        train_batches,
        validation_data=batches(x_val, y_val, training.batch_size),
        epochs=training.epochs, shuffle=False, callbacks=list(callbacks), verbose=2,  # the batches reshuffle
    )
    calibrated, temperature = calibrate_nn(model, x_val, y_val, tta=params.tta)
    log.info("calibrated on the validation digits: temperature %.3f", temperature)
    return calibrated
