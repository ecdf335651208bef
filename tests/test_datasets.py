import numpy as np
import pytest

from fastmlp.datasets import SYNTH_Q, load_synth


def test_shapes_dtypes_and_split():
    (x, y), (xv, yv), n_classes = load_synth(num_train=500, num_val=200)
    assert n_classes == 2
    assert x.shape == (500, 2) and xv.shape == (200, 2)
    assert y.shape == (500,) and yv.shape == (200,)
    assert y.dtype == yv.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}


def test_labels_follow_the_quadratic_form():
    (x, y), _, _ = load_synth(num_train=1000, num_val=1)
    form = np.array([p @ SYNTH_Q @ p for p in x])
    np.testing.assert_array_equal(y, (form > 0.6).astype(int))


def test_about_56_percent_are_class_one():
    (_, y), (_, yv), _ = load_synth()
    assert np.concatenate([y, yv]).mean() == pytest.approx(0.56, abs=0.01)


def test_seeded():
    a, b, c = load_synth(100, 10, seed=1), load_synth(100, 10, seed=1), load_synth(100, 10, seed=2)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("kwargs", [{"num_train": 0}, {"num_val": -5}])
def test_sizes_must_be_positive(kwargs):
    with pytest.raises(ValueError, match="expected a finite value > 0"):
        load_synth(**kwargs)
