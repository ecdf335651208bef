import numpy as np
import pytest

from fastmlp.datasets import minmax_scale, standardize


def test_minmax_uses_the_statistics_of_all_arrays_by_default(rng):
    train, val = rng.normal(size=(50, 3)), rng.normal(3, 1, size=(20, 3))
    a, b = minmax_scale(train, val)
    both = np.concatenate([a, b])
    np.testing.assert_allclose(both.min(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(both.max(axis=0), 1)


def test_minmax_with_a_reference_and_a_range(rng):
    train, val = rng.uniform(0, 2, size=(50, 2)), np.array([[4.0, -2.0]])
    scaled_train, scaled_val = minmax_scale(train, val, reference=train, feature_range=(-1, 1))
    np.testing.assert_allclose(scaled_train.min(axis=0), -1, atol=1e-15)
    np.testing.assert_allclose(scaled_train.max(axis=0), 1)
    lo, hi = train.min(axis=0), train.max(axis=0)
    np.testing.assert_allclose(scaled_val, (val - lo) / (hi - lo) * 2 - 1)


def test_a_single_array_comes_back_alone_and_images_keep_their_shape(rng):
    images = rng.integers(0, 256, size=(4, 5, 5)).astype(float)
    scaled = minmax_scale(images)
    assert isinstance(scaled, np.ndarray) and scaled.shape == (4, 5, 5)
    assert scaled.min() >= 0 and scaled.max() <= 1


def test_standardize(rng):
    train, val = rng.normal(5, 2, size=(500, 3)), rng.normal(5, 2, size=(10, 3))
    a, b = standardize(train, val, reference=train)
    np.testing.assert_allclose(a.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.std(axis=0), 1)
    np.testing.assert_allclose(b, (val - train.mean(axis=0)) / train.std(axis=0))


def test_constant_features_do_not_divide_by_zero():
    x = np.array([[1.0, 2.0], [1.0, 4.0]])
    np.testing.assert_array_equal(minmax_scale(x)[:, 0], [0, 0])
    np.testing.assert_array_equal(standardize(x)[:, 0], [0, 0])


def test_mismatched_features_and_no_arrays_are_errors():
    with pytest.raises(ValueError, match="arrays: expected one feature shape"):
        minmax_scale(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="arrays: expected at least one array"):
        standardize()
