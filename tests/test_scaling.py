"""The chunked scaler fits what scikit-learn's StandardScaler fits and transforms to the same values."""

import tracemalloc

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from mnist_pipeline.scaling import _BLOCK, ChunkedStandardScaler


def pixels(dtype) -> np.ndarray:
    """More rows than one block, with a constant column, a nearly constant one and a wide-ranging one."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (_BLOCK * 2 + 17, 6)).astype(dtype)
    x[:, 0] = 0
    x[:, 1] = 3.5
    x[::1000, 2] += 1
    x[:, 3] *= 1e4
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fits_and_transforms_as_standard_scaler(dtype):
    x = pixels(dtype)
    ours, theirs = ChunkedStandardScaler().fit(x), StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.var_, theirs.var_, rtol=1e-9)
    np.testing.assert_array_equal(ours.scale_ == 1, theirs.scale_ == 1)  # the constant columns stay unscaled
    np.testing.assert_allclose(ours.transform(x), theirs.transform(x), rtol=1e-5, atol=1e-5)
    assert ours.transform(x).dtype == dtype and ours.n_features_in_ == 6


def test_constant_columns_come_out_zero():
    out = ChunkedStandardScaler().fit_transform(pixels(np.float32))
    assert not np.isnan(out).any()
    assert np.all(out[:, :2] == 0)


@pytest.mark.parametrize("options", [{"with_mean": False}, {"with_std": False}])
def test_other_options_fit_as_standard_scaler_does(options):
    x = pixels(np.float32)
    np.testing.assert_array_equal(ChunkedStandardScaler(**options).fit_transform(x),
                                  StandardScaler(**options).fit_transform(x))


def test_sample_weights_fit_as_standard_scaler_does():
    x = pixels(np.float64)[:, 2:]  # StandardScaler's weighted variance of a constant column comes out negative
    weights = np.linspace(0.5, 2, len(x))
    np.testing.assert_allclose(ChunkedStandardScaler().fit(x, sample_weight=weights).mean_,
                               StandardScaler().fit(x, sample_weight=weights).mean_)


def test_refuses_non_finite_pixels_as_standard_scaler_does():
    x = pixels(np.float32)
    x[5, 4] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ChunkedStandardScaler().fit(x)


def test_a_nearly_constant_float32_column_is_left_unscaled_as_standard_scaler_does():
    # 0.1 in float32 sums to a variance of rounding errors, not 0: scikit-learn's constant-feature test keeps
    # its scale at 1 instead of dividing by the square root of that noise.
    rng = np.random.default_rng(0)
    x = rng.random((300, 4)).astype(np.float32)
    x[:, 2] = np.float32(0.1)
    ours, theirs = ChunkedStandardScaler().fit(x), StandardScaler().fit(x)
    assert ours.n_samples_seen_ == theirs.n_samples_seen_ == 300
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-6)
    assert ours.scale_[2] == 1
    assert ours.transform(x).dtype == theirs.transform(x).dtype == np.float32


@pytest.mark.parametrize("options", [{"with_mean": False}, {"with_std": False}])
def test_without_centring_or_scaling_it_fits_as_standard_scaler_does(options):
    x = np.random.default_rng(1).random((50, 3)) * 10
    ours, theirs = ChunkedStandardScaler(**options).fit(x), StandardScaler(**options).fit(x)
    for attribute in ("mean_", "var_", "scale_"):
        a, b = getattr(ours, attribute), getattr(theirs, attribute)
        assert (a is None and b is None) or np.allclose(a, b)


def test_a_column_constant_up_to_rounding_keeps_a_scale_of_one_as_standard_scaler_does():
    # A million and the next float64 after it: a standard deviation of 6e-11, too large for the rule that zero
    # means zero, which scikit-learn's constant-feature test calls rounding. Divided by it instead, the column
    # would come out in the billions.
    x = np.random.default_rng(2).random((300, 3))
    x[:, 1] = np.where(np.arange(300) % 2, 1e6, np.nextafter(1e6, 2e6))
    ours, theirs = ChunkedStandardScaler().fit(x), StandardScaler().fit(x)
    assert 1e-22 < ours.var_[1] < 1e-20
    assert ours.scale_[1] == theirs.scale_[1] == 1
    np.testing.assert_allclose(ours.transform(x), theirs.transform(x), atol=1e-9)


def test_fits_without_a_float64_copy_of_the_whole_matrix():
    x = np.random.default_rng(0).uniform(0, 255, (_BLOCK * 6, 200)).astype(np.float32)
    whole_copy = x.size * 8

    def peak(scaler) -> int:
        tracemalloc.start()
        try:
            scaler.fit(x)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(StandardScaler()) >= whole_copy  # the control: scikit-learn's fit copies it all
    assert peak(ChunkedStandardScaler()) < whole_copy / 2
