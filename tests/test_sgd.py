"""Trajectory equivalence: the SGD epoch kernels against the numpy reference, step by step."""

import numpy as np
import pytest
from fastmlp.kernels import sgd_epoch_minibatch, sgd_epoch_per_sample
from fastmlp.kernels.sgd import SGD
from helpers import assert_close, random_network, sparse_inputs

from fastmlp import optimizers, reference

SIZES = [12, 9, 6, 4]
N = 250  # ragged last batches: 250 = 31 * 8 + 2 = 15 * 16 + 10 = 2 * 100 + 50


def problem(rng, dtype, activation):
    weights, biases = random_network(rng, SIZES, dtype)
    X = sparse_inputs(rng, N, SIZES[0], dtype, density=0.5)
    y = rng.integers(0, SIZES[-1], N)
    order = rng.permutation(N)
    ref_weights = [W.copy() for W in weights]
    ref_biases = [b.copy() for b in biases]
    return weights, biases, ref_weights, ref_biases, X, y, order


def assert_same_network(weights, biases, ref_weights, ref_biases, dtype):
    for got, want in zip([*weights, *biases], [*ref_weights, *ref_biases]):
        assert got.dtype == dtype
        assert_close(got, want, dtype)


def test_per_sample_epoch_matches_reference(rng, dtype, activation):
    weights, biases, ref_weights, ref_biases, X, y, order = problem(rng, dtype, activation)
    step_loss = sgd_epoch_per_sample(weights, biases, X, y, order, 0.1, activation)
    ref_loss, _ = reference.sgd_epoch(ref_weights, ref_biases, X, y, order, 0.1, 1, activation)
    assert step_loss.dtype == np.float64 and step_loss.shape == (N,)
    assert_close(step_loss, ref_loss, dtype)
    assert_same_network(weights, biases, ref_weights, ref_biases, dtype)


@pytest.mark.parametrize("batch_size", [1, 8, 16, 100, N, 2 * N])
def test_minibatch_epoch_matches_reference(rng, dtype, activation, batch_size):
    weights, biases, ref_weights, ref_biases, X, y, order = problem(rng, dtype, activation)
    step_loss = sgd_epoch_minibatch(weights, biases, X, y, order, 0.1, batch_size, activation)
    ref_loss, _ = reference.sgd_epoch(
        ref_weights, ref_biases, X, y, order, 0.1, batch_size, activation
    )
    assert step_loss.shape == (-(-N // batch_size),)
    assert_close(step_loss, ref_loss, dtype)
    assert_same_network(weights, biases, ref_weights, ref_biases, dtype)


def test_ragged_last_batch_takes_the_mean_of_its_own_rows(rng):
    """The last step of 250 rows in batches of 100 averages 50 rows, not 100."""
    weights, biases, _, _, X, y, order = problem(rng, "float64", "sigmoid")
    start = [p.copy() for p in (*weights, *biases)]
    sgd_epoch_minibatch(weights, biases, X, y, order[:200], 0.1, 100)
    before_last = [p.copy() for p in (*weights, *biases)]
    sgd_epoch_minibatch(weights, biases, X, y, order[200:], 0.1, 100)
    _, dWs, dbs = reference.mean_gradients(
        [before_last[0], before_last[1], before_last[2]],
        [before_last[3], before_last[4], before_last[5]],
        X[order[200:]],
        y[order[200:]],
        "sigmoid",
    )
    for got, was, grad in zip((*weights, *biases), before_last, (*dWs, *dbs)):
        np.testing.assert_allclose(got, was - 0.1 * grad, rtol=1e-12, atol=1e-15)
    assert not np.array_equal(start[0], weights[0])


def test_batch_of_one_equals_per_sample(rng, dtype):
    a = problem(rng, dtype, "tanh")
    b_weights = [W.copy() for W in a[0]]
    b_biases = [b.copy() for b in a[1]]
    X, y, order = a[4:]
    loss_a = sgd_epoch_per_sample(a[0], a[1], X, y, order, 0.05, "tanh")
    loss_b = sgd_epoch_minibatch(b_weights, b_biases, X, y, order, 0.05, 1, "tanh")
    assert_close(loss_a, loss_b, dtype)
    assert_same_network(a[0], a[1], b_weights, b_biases, dtype)


def test_order_may_repeat_and_skip_rows(rng):
    weights, biases, ref_weights, ref_biases, X, y, _ = problem(rng, "float64", "relu")
    order = np.array([3, 3, 0, 7, 3])
    step_loss = sgd_epoch_per_sample(weights, biases, X, y, order, 0.1, "relu")
    ref_loss, _ = reference.sgd_epoch(ref_weights, ref_biases, X, y, order, 0.1, 1, "relu")
    assert_close(step_loss, ref_loss, "float64")
    assert_same_network(weights, biases, ref_weights, ref_biases, "float64")


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"order": np.array([0, N])},
            ValueError,
            r"order: expected indices in \[0, 250\), found range \[0, 250\]",
        ),
        ({"order": np.array([-1])}, ValueError, r"order: expected indices in \[0, 250\)"),
        ({"order": np.array([0.0])}, TypeError, "order: expected a 1-D integer array"),
        ({"y": np.full(N, 4)}, ValueError, r"y: expected labels in \[0, 4\), found 4 at index 0"),
        (
            {"X": np.zeros((N, 11))},
            ValueError,
            r"X: expected size 12 on axis 1, found shape \(250, 11\)",
        ),
        ({"lr": 0.0}, ValueError, "lr: expected a finite value > 0, found 0.0"),
        ({"lr": float("nan")}, ValueError, "lr: expected a finite value > 0, found nan"),
        ({"activation": "gelu"}, ValueError, "activation: expected one of"),
    ],
)
def test_epoch_inputs_are_validated(rng, change, error, message):
    weights, biases, _, _, X, y, order = problem(rng, "float64", "sigmoid")
    args = {"X": X, "y": y, "order": order, "lr": 0.1, "activation": "sigmoid", **change}
    before = [p.copy() for p in weights]
    with pytest.raises(error, match=message):
        sgd_epoch_per_sample(weights, biases, **args)
    for got, was in zip(weights, before):
        np.testing.assert_array_equal(got, was)


def test_network_shapes_are_validated(rng):
    weights, biases = random_network(rng, [4, 3, 2], "float64")
    X, y, order = np.zeros((2, 4)), np.zeros(2, int), np.arange(2)
    with pytest.raises(ValueError, match=r"weights\[1\]: expected 3 rows to follow weights\[0\]"):
        sgd_epoch_per_sample([weights[0], weights[1][:2].copy()], biases, X, y, order, 0.1)
    with pytest.raises(ValueError, match=r"biases\[0\]: expected shape \(3,\), found \(2,\)"):
        sgd_epoch_per_sample(weights, [biases[1], biases[1]], X, y, order, 0.1)
    with pytest.raises(TypeError, match=r"weights\[1\]: expected a 2-D float64 numpy array"):
        sgd_epoch_per_sample([weights[0], weights[1].astype(np.float32)], biases, X, y, order, 0.1)
    with pytest.raises(ValueError, match=r"weights\[0\]: expected a writeable C-contiguous array"):
        sgd_epoch_per_sample([np.asfortranarray(weights[0]), weights[1]], biases, X, y, order, 0.1)
    with pytest.raises(TypeError, match=r"batch_size: expected an integer, found 2\.0"):
        sgd_epoch_minibatch(weights, biases, X, y, order, 0.1, 2.0)


@pytest.mark.parametrize("options", [{}, {"momentum": 0.9, "weight_decay": 1e-3}])
@pytest.mark.parametrize("batch_size", [1, 16, 40])
def test_serial_and_threaded_runs_are_deterministic_and_agree(rng, dtype, options, batch_size):
    """Each build and part count repeats itself bit for bit; all agree to the dtype's tolerance."""
    weights, biases, _, _, X, y, order = problem(rng, dtype, "sigmoid")
    sw = rng.uniform(0.5, 1.5, N).astype(dtype)
    mu, wd = options.get("momentum", 0.0), options.get("weight_decay", 0.0)

    def run(parallel, chunks):
        net = tuple(p.copy() for p in weights), tuple(p.copy() for p in biases)
        sgd = SGD(*net, batch_size, optimizers.SGD(momentum=mu), wd)
        sgd.parallel, sgd.chunks = parallel, chunks
        step_loss = np.empty(-(-N // batch_size))
        step_correct = np.empty_like(step_loss, dtype=np.int64)
        sgd.run(X, y, sw, order, 0, 0, 0.1, step_loss, step_correct)
        return [*net[0], *net[1], step_loss, step_correct]

    first = run(False, 1)
    for parallel, chunks in [(False, 1), (True, 1), (True, 2), (True, 3)]:
        result = run(parallel, chunks)
        for got, again, want in zip(result, run(parallel, chunks), first):
            np.testing.assert_array_equal(got, again, err_msg=f"{parallel=}, {chunks=}")
            assert_close(got, want, dtype)
