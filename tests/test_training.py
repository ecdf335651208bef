import numpy as np
import pytest
from helpers import assert_close, sparse_inputs

import fastmlp
from fastmlp import MLP, History, gradients, train


def data(rng, n=120, d=10, k=3, dtype="float64"):
    return sparse_inputs(rng, n, d, dtype, density=0.6), rng.integers(0, k, n)


@pytest.mark.parametrize("batch_size", [1, 8, 16, 100])
def test_numba_and_numpy_backends_follow_the_same_trajectory(rng, dtype, activation, batch_size):
    X, y = data(rng, n=230, dtype=dtype)
    a = MLP([10, 7, 3], activation, dtype, seed=5)
    b = a.copy()
    ha = train(a, X, y, epochs=2, lr=0.05, batch_size=batch_size, seed=9)
    hb = train(b, X, y, epochs=2, lr=0.05, batch_size=batch_size, seed=9, backend="numpy")
    assert_close(ha.step_loss, hb.step_loss, dtype)
    assert_close(a.params, b.params, dtype)
    assert a.params.dtype == dtype


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("batch_size", [1, 16])
def test_same_seed_gives_bit_identical_parameters(rng, backend, batch_size):
    X, y = data(rng, dtype="float32")
    runs = []
    for _ in range(2):
        model = MLP([10, 6, 3], seed=1)
        history = train(
            model, X, y, epochs=3, lr=0.1, batch_size=batch_size, seed=42, backend=backend
        )
        runs.append((model.params.copy(), history.step_loss.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    other = MLP([10, 6, 3], seed=1)
    train(other, X, y, epochs=3, lr=0.1, batch_size=batch_size, seed=43, backend=backend)
    assert not np.array_equal(other.params, runs[0][0])


def test_history_records_every_step_and_epoch(rng):
    X, y = data(rng, n=50)
    model = MLP([10, 4, 3], dtype="float64")
    history = train(model, X, y, epochs=3, lr=0.1, batch_size=8)
    assert isinstance(history, History)
    assert history.steps_per_epoch == 7  # 6 full batches and one of 2
    assert history.step_loss.shape == (21,) and history.step_loss.dtype == np.float64
    assert len(history.train_loss) == len(history.epoch_time) == 3
    sizes = np.array([8] * 6 + [2])
    first_epoch = history.step_loss[:7] @ sizes / 50
    assert history.train_loss[0] == pytest.approx(first_epoch, rel=1e-14)
    assert all(t > 0 for t in history.epoch_time)


def test_per_sample_step_losses_are_the_losses_before_each_update(rng):
    X, y = data(rng, n=5)
    model = MLP([10, 4, 3], dtype="float64")
    probe = model.copy()
    history = train(model, X, y, epochs=1, lr=0.1, shuffle=False)
    for i in range(5):
        assert history.step_loss[i] == pytest.approx(
            probe.loss(X[i : i + 1], y[i : i + 1]), rel=1e-12
        )
        train(probe, X[i : i + 1], y[i : i + 1], lr=0.1, shuffle=False)
    np.testing.assert_allclose(probe.params, model.params, rtol=1e-12)


def test_training_learns_a_separable_problem(rng):
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = MLP([2, 4, 2], seed=0)
    before = model.loss(X, y)
    history = train(model, X, y, epochs=10, lr=0.1)
    assert history.train_loss[-1] < history.train_loss[0]
    assert model.loss(X, y) < before / 2
    assert model.accuracy(X, y) > 0.95


def test_gradients_match_between_backends(rng, dtype, activation):
    X, y = data(rng, n=17, dtype=dtype)
    model = MLP([10, 5, 4, 3], activation, dtype, seed=3)
    dW, db = gradients(model, X, y)
    ref_dW, ref_db = gradients(model, X, y, backend="numpy")
    assert len(dW) == len(db) == 3
    for got, want, param in zip([*dW, *db], [*ref_dW, *ref_db], [*model.weights, *model.biases]):
        assert got.shape == param.shape and got.dtype == dtype
        assert_close(got, want, dtype)


def test_gradient_step_lowers_the_loss(rng):
    X, y = data(rng, n=40)
    model = MLP([10, 6, 3], dtype="float64")
    dW, db = gradients(model, X, y)
    before = model.loss(X, y)
    for param, grad in zip([*model.weights, *model.biases], [*dW, *db]):
        param -= 0.01 * grad
    assert model.loss(X, y) < before


def test_one_full_batch_step_is_plain_gradient_descent(rng):
    X, y = data(rng, n=30)
    model = MLP([10, 6, 3], dtype="float64")
    dW, db = gradients(model, X, y)
    expected = [p - 0.5 * g for p, g in zip([*model.weights, *model.biases], [*dW, *db])]
    train(model, X, y, lr=0.5, batch_size=30)
    for got, want in zip([*model.weights, *model.biases], expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, "epochs: expected a finite value > 0, found 0"),
        ({"epochs": 1.5}, TypeError, "epochs: expected an integer, found 1.5"),
        ({"lr": -0.1}, ValueError, "lr: expected a finite value > 0, found -0.1"),
        ({"lr": "fast"}, TypeError, "lr: expected a real number, found 'fast'"),
        ({"batch_size": 0}, ValueError, "batch_size: expected a finite value > 0, found 0"),
        (
            {"backend": "torch"},
            ValueError,
            r"backend: expected one of \['numba', 'numpy'\], found 'torch'",
        ),
    ],
)
def test_bad_hyperparameters_are_named(rng, kwargs, error, message):
    X, y = data(rng, n=10)
    model = MLP([10, 3], dtype="float64")
    before = model.params.copy()
    with pytest.raises(error, match=message):
        train(model, X, y, **kwargs)
    np.testing.assert_array_equal(model.params, before)


def test_bad_data_is_named(rng):
    model = MLP([10, 3])
    X, y = data(rng, n=10)
    with pytest.raises(ValueError, match="y: expected 10 labels"):
        train(model, X, y[:9])
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 3\), found 3"):
        gradients(model, X, np.full(10, 3))
    with pytest.raises(ValueError, match=r"X: expected size 10 on axis 1"):
        fastmlp.gradients(model, X[:, :9], y)
