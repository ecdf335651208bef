import numpy as np
import pytest

from fastmlp import MLP, train
from fastmlp.datasets import SYNTHETIC, load_disc, load_moons, load_rings, load_spirals, load_synth
from fastmlp.datasets.synthetic import SYNTH_Q


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


LOADERS = sorted(SYNTHETIC.items())


@pytest.mark.parametrize(("name", "loader"), LOADERS)
def test_every_set_has_the_common_shape_and_is_seeded(name, loader):
    (x, y), (xv, yv), k = loader(num_train=300, num_val=50, seed=3)
    assert x.shape == (300, 2) and xv.shape == (50, 2) and x.dtype == np.float64
    assert y.dtype == yv.dtype == np.int64
    assert set(np.unique(np.concatenate([y, yv]))) == set(range(k))
    again = loader(num_train=300, num_val=50, seed=3)
    np.testing.assert_array_equal(again[0][0], x)
    np.testing.assert_array_equal(again[1][1], yv)


def test_disc_is_half_inside_and_labels_follow_the_radius():
    (x, y), _, _ = load_disc(num_train=20_000)
    assert np.abs(x).max() <= 1
    np.testing.assert_array_equal(y, np.hypot(x[:, 0], x[:, 1]) < np.sqrt(2 / np.pi))
    assert y.mean() == pytest.approx(0.5, abs=0.02)


def test_rings_have_equal_area_bands():
    (x, y), _, k = load_rings(num_train=30_000, num_classes=3)
    assert k == 3
    assert np.bincount(y) / len(y) == pytest.approx([1 / 3] * 3, abs=0.02)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 0].max() < radius[y == 1].min() < radius[y == 2].min()


def test_spirals_and_moons_balance_their_classes():
    (_, y), _, k = load_spirals(num_train=9_000, num_classes=4)
    assert k == 4 and np.bincount(y) / len(y) == pytest.approx([0.25] * 4, abs=0.03)
    (_, y), _, _ = load_moons(num_train=9_000)
    assert y.mean() == pytest.approx(0.5, abs=0.03)


def test_a_relu_net_with_hidden_sizes_3_3_learns_the_disc():
    (x, y), (xv, yv), k = load_disc()
    small = MLP([2, 3, 3, k], "relu", seed=1)
    train(small, x, y, epochs=30, lr=0.01, seed=1)
    large = MLP([2, 32, 32, k], "relu", seed=0)
    train(large, x, y, epochs=20, lr=0.05, seed=0)
    assert small.accuracy(xv, yv) >= 0.95  # a polygon: a few straight cuts
    assert large.accuracy(xv, yv) >= 0.97  # close to round
