"""The network kernels: the working layout, inference, threads against one thread."""

import time

import numpy as np
import pytest
from fastmlp.kernels import network
from fastmlp.kernels.network import Layout, infer
from helpers import assert_close, random_network, sparse_inputs

import fastmlp
from fastmlp import reference
from fastmlp.names import SOFTMAX


@pytest.mark.parametrize(
    "sizes, transposed",
    [
        ([784, 300, 10], [False, True]),
        ([2, 3, 2], [False, True]),
        ([4, 8, 8, 3], [False, False, True]),
        ([3, 2, 5], [False, False]),
    ],
)
def test_layers_that_narrow_after_the_first_are_transposed(rng, sizes, transposed):
    weights, _ = random_network(rng, sizes, "float64")
    layout = Layout(weights)
    assert layout.transposed.tolist() == transposed
    for W, M, t in zip(weights, layout.Ms, transposed):
        assert M.flags.c_contiguous
        assert (M.shape == W.shape[::-1]) if t else (M is W)


def test_layout_copies_in_on_enter_and_back_on_exit(rng):
    weights, _ = random_network(rng, [5, 6, 2], "float32")
    layout = Layout(weights, write_back=True)
    with layout as L:
        np.testing.assert_array_equal(L.Ms[1], weights[1].T)
        L.Ms[1][0, 0] = 42.0
        assert weights[1][0, 0] != 42.0
    assert weights[1][0, 0] == 42.0


def test_layout_for_reading_never_writes_the_weights(rng):
    """What inference leaves behind: an update made meanwhile (by another thread) stays."""
    weights, _ = random_network(rng, [5, 6, 2], "float32")
    with Layout(weights) as L:
        np.testing.assert_array_equal(L.Ms[1], weights[1].T)
        weights[1][0, 0] = 42.0
    assert weights[1][0, 0] == 42.0


def test_inference_and_gradients_leave_parameters_written_meanwhile(rng, monkeypatch):
    """A kernel call that overlaps an update must not write stale weights over it."""
    model = fastmlp.MLP([6, 9, 3], seed=0)
    X, y = rng.random((5, 6)), np.arange(5) % 3
    update = np.full_like(model.weights[1], 7.0)

    def update_during(kernel):
        def run(*args):
            model.weights[1][...] = update  # another thread's update, mid-call
            return kernel(*args)

        return run

    for task, rows in list(network._INFERENCE.items()):
        monkeypatch.setitem(network._INFERENCE, task, update_during(rows))
    monkeypatch.setattr(
        fastmlp.objective, "_loss_and_gradient", update_during(network._loss_and_gradient)
    )
    for call in (model.predict_proba, lambda X: model.evaluate(X, y)):
        model.weights[1][...] = 0
        call(X)
        np.testing.assert_array_equal(model.weights[1], update)
    model.weights[1][...] = 0
    fastmlp.gradients(model, X, y)
    np.testing.assert_array_equal(model.weights[1], update)


def test_optimizer_state_is_laid_out_like_the_weights(rng):
    weights, _ = random_network(rng, [5, 6, 2], "float64")
    velocities = [rng.normal(size=W.shape) for W in weights]
    with Layout(weights) as W, Layout(velocities, write_back=True) as V:
        assert [M.shape for M in V.Ms] == [M.shape for M in W.Ms]
        np.testing.assert_array_equal(V.Ms[1], velocities[1].T)
        assert V.Ms[0] is velocities[0]
        V.Ms[1][...] = 7.0
    np.testing.assert_array_equal(velocities[1], 7.0)  # written back in the model's layout


def test_gradient_buffers_follow_the_layout(rng):
    weights, _ = random_network(rng, [5, 6, 2], "float64")
    layout = Layout(weights)
    Gs, gbs = layout.gradient_buffers()
    assert [G.shape for G in Gs] == [(5, 6), (2, 6)]
    assert [g.shape for g in gbs] == [(6,), (2,)]
    assert layout.to_model(Gs[1], 1).shape == (6, 2)
    empty, _ = layout.gradient_buffers(needed=False)
    assert [G.size for G in empty] == [0, 0]


@pytest.fixture
def parts(monkeypatch):
    """Set how many parts ``infer`` cuts any number of rows into."""

    def set_parts(count):
        monkeypatch.setattr(network, "parallel_rows", lambda weights: 1)
        monkeypatch.setattr(network.numba, "get_num_threads", lambda: count)

    return set_parts


@pytest.mark.parametrize("sizes", [[6, 5, 3], [6, 9, 9, 4]])
def test_inference_matches_reference_in_any_number_of_parts(rng, dtype, activation, sizes, parts):
    weights, biases = map(tuple, random_network(rng, sizes, dtype))
    X = sparse_inputs(rng, 37, sizes[0], dtype)
    y = rng.integers(0, sizes[-1], 37)
    code = fastmlp.names.ACTIVATIONS[activation]
    expected = reference.predict_proba(weights, biases, X, activation)
    expected_loss = reference.softmax_xent_forward(
        reference.forward(weights, biases, X, activation)[-1], y
    )
    results = []
    for count in (1, 2, 3, 37):
        parts(count)
        P = np.empty((37, sizes[-1]), dtype)
        losses, hits = np.empty(37), np.empty(37, dtype=np.bool_)
        infer("predict_proba", weights, biases, X, code, SOFTMAX, P)
        infer("evaluate", weights, biases, X, code, SOFTMAX, y, losses, hits)
        assert_close(P, expected, dtype)
        assert_close(losses, expected_loss, dtype)
        np.testing.assert_array_equal(hits, expected.argmax(axis=1) == y)
        results.append((P, losses, hits))
    for P, losses, hits in results[1:]:
        np.testing.assert_array_equal(P, results[0][0])
        np.testing.assert_array_equal(losses, results[0][1])
        np.testing.assert_array_equal(hits, results[0][2])


def test_inference_raises_what_a_part_raised_once_every_part_is_done(rng, parts, monkeypatch):
    weights, biases = map(tuple, random_network(rng, [4, 3, 2], "float64"))
    ran = []

    def rows(*args):
        r0 = args[-2]
        time.sleep(0.05 * (r0 == 0))  # the failing part ends first
        ran.append(r0)
        if r0 > 0:
            raise ValueError(f"part from row {r0}")

    monkeypatch.setitem(network._INFERENCE, "predict_proba", rows)
    parts(2)
    with pytest.raises(ValueError, match="part from row 5"):
        infer("predict_proba", weights, biases, np.zeros((10, 4)), 0, SOFTMAX, np.empty((10, 2)))
    assert sorted(ran) == [0, 5]


def test_predict_proba_gives_the_same_on_many_rows_as_on_few(rng):
    # From parallel_rows rows on, the rows are split between threads.
    model = fastmlp.MLP([20, 16, 4], seed=1)
    X = sparse_inputs(rng, network.parallel_rows(model.weights) + 1, 20, "float32")
    P = model.predict_proba(X)
    np.testing.assert_array_equal(P[:100], model.predict_proba(X[:100]))
    assert_close(P, reference.predict_proba(model.weights, model.biases, X, "sigmoid"), "float32")


def test_first_layer_skips_zero_inputs_in_blocks_of_any_length(rng):
    """Rows with 0 to 9 nonzero inputs: the four-row passes and their remainder."""
    weights, biases = map(tuple, random_network(rng, [12, 7, 3], "float64"))
    X = np.zeros((10, 12))
    for r in range(10):
        X[r, rng.choice(12, r, replace=False)] = rng.normal(size=r)
    model = fastmlp.MLP([12, 7, 3], dtype="float64")
    for W, b, w, c in zip(model.weights, model.biases, weights, biases):
        W[...], b[...] = w, c
    expected = reference.predict_proba(weights, biases, X, "sigmoid")
    assert_close(model.predict_proba(X), expected, "float64")
