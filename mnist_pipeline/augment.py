"""Training-time distortions of a batch of digits, in one resampling: rotation, zoom and shift.

Keras' random layers resample the batch once per layer, inside the model, and each bilinear resampling blurs
the strokes a little more. Here the distortions compose into one affine map per image, from each output pixel
to the point of the input it reads, and TensorFlow's projective-transform kernel reads the image there once
(bilinear, black outside), in the input pipeline: the saved network holds no random layers. Randomness is
stateless: the same ``seed`` (two integers) gives the same distortions.
"""

from __future__ import annotations

import dataclasses
import math

from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.params import bounded
from mnist_pipeline.tensorflow_env import import_tensorflow


@dataclasses.dataclass(frozen=True)
class AugmentParams:
    """Training-time distortions: ``train_nn.augment``. Zero turns a distortion off."""

    shift: float = bounded(0, 0.5)      # fraction of the image, each axis
    rotation: float = bounded(0, 0.5)   # fraction of a full turn, either way
    zoom: float = bounded(0, 0.5)       # scale drawn from [1 - zoom, 1 + zoom]

    @property
    def any(self) -> bool:
        return bool(self.shift or self.rotation or self.zoom)


def affine_maps(n: int, params: AugmentParams, seed):
    """For each of ``n`` images, the map from an output pixel (x, y) to the input point it reads, as the 8
    numbers of a projective transform (the last two 0): (n, 8).

    Output = centre + scale * rotation(input - centre) + shift, so input = rotation^-1(output - centre - shift)
    / scale + centre, with the angle, the scale and the shift drawn uniformly within ``params``' bounds.
    """
    tf = import_tensorflow()
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)

    def uniform(index, bound, shape=(n,)):
        return tf.random.stateless_uniform(shape, seeds[index], -bound, bound)

    angle = uniform(0, params.rotation * 2 * math.pi)
    scale = 1 + uniform(1, params.zoom)
    shift = uniform(2, params.shift * IMAGE_SIDE, (n, 2))
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    centre = (IMAGE_SIDE - 1) / 2
    x0, y0 = centre + shift[:, 0], centre + shift[:, 1]  # where the input's centre lands
    zero = tf.zeros_like(angle)
    return tf.stack([cos, sin, centre - cos * x0 - sin * y0,
                     -sin, cos, centre + sin * x0 - cos * y0, zero, zero], axis=1)


def transform(images, maps):
    """``images`` (n, side, side) read through ``maps`` (:func:`affine_maps`): bilinear, black outside."""
    tf = import_tensorflow()
    pixels = tf.cast(images, tf.float32)[..., None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=pixels, transforms=tf.cast(maps, tf.float32), output_shape=tf.shape(pixels)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return out[..., 0]


def distort(images, params: AugmentParams, seed):
    """A batch of (n, side, side) images, each distorted at random as ``params`` says, as float32 pixels."""
    tf = import_tensorflow()
    return transform(images, affine_maps(tf.shape(images)[0], params, seed))
