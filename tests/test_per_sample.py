"""The fused per-sample SGD kernel against the numpy reference, and its fusions bit for bit."""

import numpy as np
import pytest
from fastmlp.kernels import per_sample, sgd_epoch_minibatch, sgd_epoch_per_sample
from fastmlp.kernels.sgd import SGD
from helpers import assert_close, random_network, sparse_inputs

from fastmlp import optimizers, reference

N = 120

#: No hidden layer; narrowing layers (kept transposed); widening layers (kept as W).
ARCHITECTURES = [[7, 3], [12, 9, 4], [4, 8, 16, 3], [10, 6, 8, 5, 2]]


def problem(rng, sizes, dtype, weighted=False):
    weights, biases = random_network(rng, sizes, dtype)
    X = sparse_inputs(rng, N, sizes[0], dtype, density=0.4)
    y = rng.integers(0, sizes[-1], N)
    order = rng.permutation(N)
    sw = rng.uniform(0.5, 1.5, N).astype(dtype) if weighted else None
    return weights, biases, X, y, order, sw


def run_both(weights, biases, X, y, order, activation, sw=None):
    """Return (kernel step losses, reference step losses, reference network)."""
    ref = [W.copy() for W in weights], [b.copy() for b in biases]
    got = sgd_epoch_per_sample(weights, biases, X, y, order, 0.1, activation, sample_weight=sw)
    want, _ = reference.sgd_epoch(*ref, X, y, order, 0.1, 1, activation, sample_weight=sw)
    return got, want, ref


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_per_sample_kernel_matches_reference(rng, dtype, activation, sizes, weighted):
    weights, biases, X, y, order, sw = problem(rng, sizes, dtype, weighted)
    got, want, (ref_weights, ref_biases) = run_both(weights, biases, X, y, order, activation, sw)
    assert_close(got, want, dtype)
    for param, ref in zip([*weights, *biases], [*ref_weights, *ref_biases]):
        assert param.dtype == dtype
        assert_close(param, ref, dtype)


def test_plain_per_sample_sgd_runs_the_fused_kernel_and_momentum_does_not(rng):
    weights, biases = random_network(rng, [5, 4, 3], "float32")
    assert SGD(weights, biases, 1).per_sample
    assert not SGD(weights, biases, 2).per_sample
    assert not SGD(weights, biases, 1, optimizers.SGD(momentum=0.5)).per_sample
    assert not SGD(weights, biases, 1, weight_decay=1e-3).per_sample
    assert not SGD(weights, biases, 1, l2=1e-3).per_sample
    assert not SGD(weights, biases, 1, average="weights").per_sample
    assert not SGD(weights, biases, 1, optimizers.Adam()).per_sample


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_any_split_of_an_epoch_gives_the_same_bits(rng, dtype, sizes):
    """Each call ends its fusion of layer 0's step with the next forward pass on its own."""
    weights, biases, X, y, order, _ = problem(rng, sizes, dtype)
    whole = [p.copy() for p in (*weights, *biases)]
    parts = [p.copy() for p in (*weights, *biases)]
    n = len(weights)
    loss_whole = sgd_epoch_per_sample(whole[:n], whole[n:], X, y, order, 0.1)
    loss_parts = np.concatenate(
        [
            sgd_epoch_per_sample(parts[:n], parts[n:], X, y, order[a:b], 0.1)
            for a, b in [(0, 1), (1, 2), (2, 50), (50, 51), (51, N)]
        ]
    )
    np.testing.assert_array_equal(loss_whole, loss_parts)
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a, b)


def test_per_sample_kernel_and_batches_of_one_agree(rng, dtype):
    """Batch size 1 through either public entry point is the same fused kernel."""
    weights, biases, X, y, order, _ = problem(rng, [12, 9, 4], dtype)
    other = [W.copy() for W in weights], [b.copy() for b in biases]
    a = sgd_epoch_per_sample(weights, biases, X, y, order, 0.1)
    b = sgd_epoch_minibatch(*other, X, y, order, 0.1, 1)
    np.testing.assert_array_equal(a, b)
    for p, q in zip([*weights, *biases], [*other[0], *other[1]]):
        np.testing.assert_array_equal(p, q)


def test_empty_order_is_rejected_and_the_kernel_takes_no_step(rng):
    weights, biases, X, y, _, _ = problem(rng, [12, 9, 4], "float64")
    before = [p.copy() for p in (*weights, *biases)]
    with pytest.raises(ValueError, match="order: expected at least one index"):
        sgd_epoch_per_sample(weights, biases, X, y, np.arange(0), 0.1)
    sw, none = np.ones(N), np.arange(0)
    SGD(tuple(weights), tuple(biases), 1).run(X, y, sw, none, 0, 0, 0.1, np.empty(0), none.copy())
    for p, q in zip([*weights, *biases], before):
        np.testing.assert_array_equal(p, q)


def test_zero_rows_and_repeated_rows(rng):
    """An all-zero input steps only the biases of layer 0; a row may follow itself."""
    weights, biases, X, y, _, _ = problem(rng, [12, 9, 4], "float64")
    X[3] = 0
    order = np.array([3, 3, 5, 5, 3, 0])
    got, want, (ref_weights, ref_biases) = run_both(weights, biases, X, y, order, "sigmoid")
    assert_close(got, want, "float64")
    for param, ref in zip([*weights, *biases], [*ref_weights, *ref_biases]):
        assert_close(param, ref, "float64")


def test_unit_buffers_have_one_row_per_layer():
    weights = [np.zeros((4, 3), np.float32), np.zeros((3, 2), np.float32)]
    A, D = per_sample.unit_buffers(weights)
    assert [a.shape for a in A] == [(4,), (3,), (2,)]
    # D[0] holds no delta but the two input rows a step loads from a CSR.
    assert [d.shape for d in D] == [(8,), (3,), (2,)]
    assert all(a.dtype == np.float32 for a in (*A, *D))


def test_per_sample_sgd_on_csr_equals_dense_with_repeated_and_empty_rows():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    weights, biases = random_network(rng, [6, 5, 3], np.float64)
    X = sparse_inputs(rng, 8, 6, np.float64)
    X[3], X[5] = 0, rng.random(6) + 0.5  # an empty row, a full one
    y = rng.integers(0, 3, 8)
    order = np.array([3, 3, 5, 5, 3, 0, 7])  # a row twice running: in both halves of D[0]
    params = [[a.copy() for a in (*weights, *biases)] for _ in range(2)]
    losses = []
    for inputs, (*Ws, b0, b1) in zip((X, scipy_sparse.csr_matrix(X)), params):
        losses.append(sgd_epoch_per_sample(Ws, [b0, b1], inputs, y, order, 0.2, "relu"))
    assert np.array_equal(losses[0], losses[1])
    assert all(map(np.array_equal, params[0], params[1]))
