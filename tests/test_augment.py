"""The training-time distortions: one resampling, stateless seeds, and the input pipeline that applies them."""

import dataclasses

import numpy as np
import pytest

from mnist_pipeline.augment import AugmentParams, affine_maps, distort, transform

# TensorFlow's image ops do the distortions: seconds to load, in `make test`, not in the inner loop.
pytestmark = pytest.mark.heavy

NONE = AugmentParams(shift=0.0, rotation=0.0, zoom=0.0)
DEFAULT = dataclasses.replace(NONE, shift=0.1, rotation=0.028)
EVERYTHING = dataclasses.replace(DEFAULT, zoom=0.1)
SEED = (3, 4)
CENTRE = 13.5


@pytest.fixture(scope="module")
def digits():
    """Eight 28x28 uint8 'digits': bright crosses of different sizes and places, black borders."""
    images = np.zeros((8, 28, 28), np.uint8)
    for i in range(8):
        images[i, 6 + i:20, 13:15] = 250
        images[i, 12:14, 6:22 - i] = 200
    return images


def maps_for(a, b, n=8):
    """The same map for ``n`` images: input x = a . (x, y, 1), input y = b . (x, y, 1)."""
    return np.tile(np.array([*a, *b, 0, 0], np.float32), (n, 1))


def test_no_distortion_is_the_identity(digits):
    np.testing.assert_array_equal(affine_maps(8, NONE, SEED).numpy(), maps_for((1, 0, 0), (0, 1, 0)))
    out = distort(digits, NONE, SEED).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, digits)


def test_transform_reads_whole_pixels_exactly_and_black_outside(digits):
    # Each output pixel reads the one below it: the image moves up a row, and the last row reads outside.
    out = transform(digits, maps_for((1, 0, 0), (0, 1, 1))).numpy()
    np.testing.assert_array_equal(out[:, :-1], digits[:, 1:])
    np.testing.assert_array_equal(out[:, -1], 0)
    for offset in (100, -100):  # far outside the image, whatever the direction: black
        np.testing.assert_array_equal(transform(digits, maps_for((1, 0, offset), (0, 1, offset))).numpy(), 0)


def test_transform_interpolates_between_pixels(digits):
    out = transform(digits, maps_for((1, 0, 0.25), (0, 1, 0))).numpy()
    expected = 0.75 * digits[:, :, :-1].astype(np.float32) + 0.25 * digits[:, :, 1:]
    np.testing.assert_allclose(out[:, :, :-1], expected, rtol=0, atol=1e-3)


def test_the_same_seed_gives_the_same_distortions_and_another_seed_others(digits):
    first = distort(digits, EVERYTHING, SEED).numpy()
    np.testing.assert_array_equal(first, distort(digits, EVERYTHING, SEED).numpy())
    assert not np.array_equal(first, distort(digits, EVERYTHING, (3, 5)).numpy())
    # Each image of a batch gets its own distortion: two copies of one digit come out different.
    twins = distort(np.repeat(digits[:1], 2, axis=0), EVERYTHING, SEED).numpy()
    assert not np.array_equal(twins[0], twins[1])


@pytest.mark.parametrize("params", [DEFAULT, EVERYTHING], ids=["shift and rotation", "with zoom"])
def test_distortions_move_ink_a_little_and_keep_pixel_values_in_range(digits, params):
    out = distort(digits, params, SEED).numpy()
    assert out.min() >= 0 and out.max() <= 255
    assert not np.array_equal(out, digits)
    # The crosses lie well inside the frame: moved, turned and scaled, they stay near where they were and keep
    # their ink, give or take what a zoom of 10% and thin strokes resampled bilinearly change.
    ink = out.sum(axis=(1, 2)) / digits.sum(axis=(1, 2))
    assert np.all((ink > 0.75) & (ink < 1.3))
    moved = np.linalg.norm(centre_of_ink(out) - centre_of_ink(digits), axis=1)
    assert np.all(moved < 5)


def centre_of_ink(images):
    rows, columns = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    weights = images.reshape(len(images), -1).astype(np.float64)
    return weights @ np.stack([rows.ravel(), columns.ravel()], -1) / weights.sum(axis=1, keepdims=True)


def test_each_distortion_stays_within_its_bounds():
    # A pure shift: the identity plus an offset within 10% of 28 pixels on each axis, using its range.
    maps = affine_maps(500, dataclasses.replace(NONE, shift=0.1), SEED).numpy()
    np.testing.assert_array_equal(maps[:, [0, 1, 3, 4]], np.tile([1, 0, 0, 1], (500, 1)))
    offsets = maps[:, [2, 5]]
    assert np.abs(offsets).max() <= 2.8 + 1e-5 and np.abs(offsets).max() > 2.0
    # A pure zoom: the scale about the centre, whose image stays put.
    maps = affine_maps(500, dataclasses.replace(NONE, zoom=0.1), SEED).numpy()
    inverse_scale = maps[:, 0]
    np.testing.assert_allclose(maps[:, 4], inverse_scale)
    assert np.all((inverse_scale > 1 / 1.1 - 1e-6) & (inverse_scale < 1 / 0.9 + 1e-6))
    np.testing.assert_allclose(maps[:, 2], CENTRE * (1 - inverse_scale), atol=1e-5)
    # A pure rotation: a turn about the centre, at most 10 degrees either way.
    maps = affine_maps(500, dataclasses.replace(NONE, rotation=0.028), SEED).numpy()
    cos, sin = maps[:, 0], maps[:, 1]
    np.testing.assert_allclose(cos ** 2 + sin ** 2, 1, atol=1e-6)
    np.testing.assert_allclose(maps[:, 4], cos)
    np.testing.assert_allclose(maps[:, 3], -sin)
    assert np.abs(np.degrees(np.arctan2(sin, cos))).max() <= 10.08 + 1e-4
    centre = np.array([CENTRE, CENTRE, 1.0])
    np.testing.assert_allclose(maps[:, :3] @ centre, CENTRE, atol=1e-4)
    np.testing.assert_allclose(maps[:, 3:6] @ centre, CENTRE, atol=1e-4)


def test_the_pipeline_distorts_each_epoch_afresh_and_repeats_itself_from_the_same_seed(digits):
    from mnist_pipeline.nn import batches

    labels = np.arange(8) % 10

    def epochs(pipeline, n=2):
        return [[images.numpy() for images, _ in pipeline] for _ in range(n)]

    first = epochs(batches(digits, labels, 4, shuffle_seed=7, augment=EVERYTHING))
    again = epochs(batches(digits, labels, 4, shuffle_seed=7, augment=EVERYTHING))
    np.testing.assert_array_equal(np.array(first), np.array(again))
    assert not np.array_equal(np.sort(first[0][0].ravel()), np.sort(first[1][0].ravel()))
    # Validation batches (no shuffle seed) and an augmentation of nothing pass the pixels through untouched.
    plain = [images.numpy() for images, _ in batches(digits, labels, 4, augment=EVERYTHING)]
    np.testing.assert_array_equal(np.concatenate(plain), digits)
    undistorted = epochs(batches(digits, labels, 8, shuffle_seed=7, augment=NONE), n=1)[0][0]
    np.testing.assert_array_equal(np.sort(undistorted.ravel()), np.sort(digits.ravel()))
