"""The Keras network: a CNN (default) or an MLP from (n, 28, 28) raw pixels to class probabilities."""

from __future__ import annotations

import logging
import os

import numpy as np

from mnist_pipeline.idx import IMAGE_SIDE, N_CLASSES
from mnist_pipeline.params import TrainNnParams

log = logging.getLogger(__name__)


def configure_tensorflow(seed: int, threads: int) -> None:
    """Seed every generator, make TensorFlow's ops deterministic and size its thread pools.

    Must run before any TensorFlow op. ``threads`` = 0 uses one intra-op thread per
    core; the inter-op pool gets one thread, since the graph of a small network has
    little to run in parallel and a second pool only competes for the same cores.
    """
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) buries the stage's own log.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads or os.cpu_count() or 1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(params: TrainNnParams):
    """The network, with input scaling and (training-only) augmentation as its first layers."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    x = layers.Rescaling(1 / 255, name="scale")(inputs)
    x = layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(x)
    # Random layers are the identity at inference, so the saved model predicts deterministically.
    if params.augment.rotation:
        x = layers.RandomRotation(params.augment.rotation, fill_mode="constant", seed=params.seed)(x)
    if params.augment.shift:
        x = layers.RandomTranslation(params.augment.shift, params.augment.shift, fill_mode="constant",
                                     seed=params.seed + 1)(x)
    if params.arch == "cnn":
        for filters in params.cnn.filters:
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
            x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        if params.cnn.dense_units:
            x = layers.Dense(params.cnn.dense_units, activation="relu")(x)
        x = layers.Dropout(params.cnn.dropout)(x)
    else:
        x = layers.Flatten()(x)
        for units in params.mlp.hidden_units:
            x = layers.Dense(units, activation="relu")(x)
            x = layers.Dropout(params.mlp.dropout)(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"mnist_{params.arch}")


def train_nn(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
             params: TrainNnParams, callbacks: list = ()):
    """Train on (n, 28, 28) uint8 images with Adam and a cosine-decaying learning rate.

    Returns the trained model. Per-epoch loss and accuracy on both sets reach ``callbacks``.
    """
    import keras

    model = build_model(params)
    steps = params.epochs * int(np.ceil(len(x_train) / params.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(params.learning_rate, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=params.label_smoothing),
        metrics=["accuracy"],
    )
    model.fit(
        x_train, keras.utils.to_categorical(y_train, N_CLASSES),
        validation_data=(x_val, keras.utils.to_categorical(y_val, N_CLASSES)),
        epochs=params.epochs, batch_size=params.batch_size, shuffle=True,
        callbacks=list(callbacks), verbose=2,
    )
    return model
