"""The stratified train/validation split and the flattening for scikit-learn."""

import numpy as np
import pytest

from mnist_pipeline.dataset import split_train_val
from mnist_pipeline.digits import N_CLASSES, flatten
from mnist_pipeline.params import ParamsError


@pytest.fixture
def digits():
    """200 tiny 'images' whose first pixel is the sample's index, with unbalanced classes."""
    labels = np.repeat(np.arange(10, dtype=np.uint8), np.arange(10, 30, 2))  # 10, 12, ..., 28 of each digit
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    images.reshape(len(labels), -1)[:, :2] = np.stack([np.arange(len(labels)) % 256,
                                                       np.arange(len(labels)) // 256], axis=1)
    return images, labels


def sample_ids(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).astype(int)
    return flat[:, 0] + 256 * flat[:, 1]


def test_split_sizes_shapes_and_dtypes(digits):
    images, labels = digits
    x_train, y_train, x_val, y_val = split_train_val(images, labels, val_size=38, seed=0)
    assert (len(x_train), len(y_train), len(x_val), len(y_val)) == (len(labels) - 38, len(labels) - 38, 38, 38)
    assert x_train.shape[1:] == x_val.shape[1:] == (28, 28)
    assert x_train.dtype == x_val.dtype == np.uint8 and y_train.dtype == y_val.dtype == np.uint8


def test_split_is_a_partition_that_keeps_images_with_their_labels(digits):
    images, labels = digits
    x_train, y_train, x_val, y_val = split_train_val(images, labels, val_size=50, seed=3)
    ids = np.concatenate([sample_ids(x_train), sample_ids(x_val)])
    assert sorted(ids.tolist()) == list(range(len(labels)))
    np.testing.assert_array_equal(labels[sample_ids(x_train)], y_train)
    np.testing.assert_array_equal(labels[sample_ids(x_val)], y_val)


def test_split_is_stratified_by_class(digits):
    images, labels = digits
    _, y_train, _, y_val = split_train_val(images, labels, val_size=95, seed=1)  # half of the 190 samples
    counts = np.bincount(labels, minlength=10)
    val_counts = np.bincount(y_val, minlength=10)
    # Each class keeps its share of the data to within one sample (rounding).
    assert np.all(np.abs(val_counts - counts * 95 / len(labels)) <= 1), val_counts
    assert np.all(np.abs(np.bincount(y_train, minlength=10) - counts * 95 / len(labels)) <= 1)


def test_same_seed_same_split(digits):
    first = split_train_val(*digits, val_size=40, seed=7)
    second = split_train_val(*digits, val_size=40, seed=7)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_splits(digits):
    _, _, x_val_a, _ = split_train_val(*digits, val_size=40, seed=7)
    _, _, x_val_b, _ = split_train_val(*digits, val_size=40, seed=8)
    assert set(sample_ids(x_val_a)) != set(sample_ids(x_val_b))


def test_split_is_shuffled(digits):
    _, y_train, _, _ = split_train_val(*digits, val_size=40, seed=0)
    assert not np.all(np.diff(y_train.astype(int)) >= 0)  # the input was sorted by class


def test_train_limit_keeps_the_first_training_samples(digits):
    full = split_train_val(*digits, val_size=40, seed=5)
    limited = split_train_val(*digits, val_size=40, seed=5, train_limit=60)
    assert len(limited[0]) == len(limited[1]) == 60
    np.testing.assert_array_equal(limited[0], full[0][:60])
    np.testing.assert_array_equal(limited[1], full[1][:60])
    # The validation set does not depend on the limit.
    np.testing.assert_array_equal(limited[2], full[2])
    np.testing.assert_array_equal(limited[3], full[3])


def test_train_limit_larger_than_the_training_set_keeps_everything(digits):
    x_train, _, _, _ = split_train_val(*digits, val_size=40, seed=5, train_limit=10_000)
    assert len(x_train) == len(digits[1]) - 40


def test_a_train_limit_that_leaves_out_a_class_is_refused_naming_it(digits):
    _, y_train, _, _ = split_train_val(*digits, val_size=40, seed=5)
    short = next(n for n in range(1, len(y_train)) if len(np.unique(y_train[:n])) < N_CLASSES
                 and len(np.unique(y_train[:n + 1])) == N_CLASSES)  # the last limit still missing a class
    with pytest.raises(ParamsError, match=rf"^preprocess\.train_limit = {short} keeps training digits of 9 of the "
                                          r"10 classes: .*raise it \(0 keeps all\)$"):
        split_train_val(*digits, val_size=40, seed=5, train_limit=short)
    assert len(split_train_val(*digits, val_size=40, seed=5, train_limit=short + 1)[1]) == short + 1


@pytest.mark.parametrize("val_size", [0, -1, 190, 191])
def test_bad_val_size_is_refused(digits, val_size):
    with pytest.raises(ValueError, match=f"val_size={val_size} must be between 1 and 189"):
        split_train_val(*digits, val_size=val_size, seed=0)


def test_flatten():
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    rows = flatten(images)
    assert rows.shape == (3, 784) and rows.dtype == np.uint8
    np.testing.assert_array_equal(rows[1], images[1].ravel())
