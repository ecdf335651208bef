"""Sparse inputs: a scipy.sparse matrix reaches the kernels as CSR, row by row, never densified.

A CSR row is loaded into the same dense buffer row a dense row is copied into,
and every later sum skips zero inputs either way, so training, inference and
gradients on CSR input equal those on the same data dense, bit for bit.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from fastmlp.kernels.network import CSR, kernel_rows
from fastmlp.kernels.sgd import SGD
from helpers import DTYPES, rule_regex, run_python, sparse_inputs

import fastmlp
from fastmlp import kernels

rng = np.random.default_rng(7)
N, D = 103, 12
X_DENSE = sparse_inputs(rng, N, D, np.float64)
X_DENSE[3] = 0  # an empty row
X_DENSE[5] = rng.random(D) + 0.5  # a row with every feature nonzero
Y = rng.integers(0, 3, N)


def twins(dtype, sizes=(D, 6, 3), activation="tanh"):
    """Return two models with the same parameters."""
    a = fastmlp.MLP(list(sizes), activation, dtype)
    b = fastmlp.MLP(list(sizes), activation, dtype)
    b.params[...] = a.params
    return a, b


def messy_csr(X):
    """Return ``X`` as a CSR with unsorted indices, duplicates and explicit zeros."""
    rows, cols = np.nonzero(X)
    vals = X[rows, cols]
    # Split every value into two halves (duplicates), append explicit zeros, shuffle each row.
    rows = np.concatenate([rows, rows, np.arange(len(X))])
    cols = np.concatenate([cols, cols, np.zeros(len(X), np.int64)])
    vals = np.concatenate([vals / 2, vals - vals / 2, np.zeros(len(X))])
    order = np.lexsort((rng.random(rows.size), rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.searchsorted(rows, np.arange(len(X) + 1))
    csr = sp.csr_matrix((vals, cols, indptr), shape=X.shape)
    assert not csr.has_canonical_format
    return csr


def train_both(dtype, X_sparse, **options):
    a, b = twins(dtype)
    options = {"epochs": 2, "lr": 0.1, "progress": False, **options}
    ha = fastmlp.train(a, X_DENSE, Y, **options)
    hb = fastmlp.train(b, X_sparse, Y, **options)
    return a, b, ha, hb


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 1},  # the fused per-sample kernel
        {"batch_size": 7},  # minibatches, the last one ragged
        {"batch_size": 40, "optimizer": "adam"},  # threaded build (from 16 rows), gradients
        {"batch_size": 5, "momentum": 0.9, "l2": 1e-3, "sample_weight": rng.random(N)},
    ],
    ids=["per-sample", "minibatch", "parallel-adam", "momentum-l2-weights"],
)
def test_training_on_csr_equals_training_on_the_dense_data(dtype, options):
    a, b, ha, hb = train_both(dtype, sp.csr_matrix(X_DENSE), **options)
    assert np.array_equal(a.params, b.params)
    assert np.array_equal(ha.step_loss, hb.step_loss) and ha.train_loss == hb.train_loss


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_threaded_minibatch_build_on_csr_equals_dense(dtype):
    # Forced, as in test_jit: whatever the thread count of this machine.
    results = []
    for X in (X_DENSE, sp.csr_matrix(X_DENSE)):
        model = fastmlp.MLP([D, 6, 3], "relu", dtype)
        X = model.check_X(X)
        runner = SGD(model.weights, model.biases, 16)
        runner.parallel, runner.chunks = True, 2
        losses = np.empty(7)
        sw, order = np.ones(N, model.dtype), np.arange(N)
        runner.run(X, Y, sw, order, model._code, model._out_code, 0.1, losses, np.empty(7, int))
        results.append((model.params.copy(), losses))
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 7])
def test_messy_and_converted_formats_train_as_their_dense_form(dtype, batch_size):
    messy = messy_csr(X_DENSE)
    before = (messy.data.copy(), messy.indices.copy(), messy.indptr.copy())
    a, b, _, _ = train_both(dtype, messy, batch_size=batch_size)
    # The halves add up to the dense values in float64, then round to the dtype alike.
    assert np.array_equal(a.params, b.params)
    for X in (sp.csc_matrix(X_DENSE), sp.coo_array(X_DENSE), sp.lil_matrix(X_DENSE)):
        _, c, _, _ = train_both(dtype, X, batch_size=batch_size)
        assert np.array_equal(a.params, c.params), type(X)
    # The caller's matrix is not changed (sorted, summed) in place.
    assert all(map(np.array_equal, before, (messy.data, messy.indices, messy.indptr)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_inference_on_csr_equals_inference_on_the_dense_data(dtype):
    model = fastmlp.MLP([D, 6, 3], "sigmoid", dtype)
    # Enough rows for inference to run on threads (see network.parallel_rows).
    X = np.concatenate([X_DENSE] * 50)
    y = np.concatenate([Y] * 50)
    for S in (sp.csr_matrix(X), sp.csr_array(X), messy_csr(X)):
        assert np.array_equal(model.predict_proba(S), model.predict_proba(X))
        assert np.array_equal(model.predict(S), model.predict(X))
        losses, hits = model.evaluate(S, y)
        expected = model.evaluate(X, y)
        assert np.array_equal(losses, expected[0]) and np.array_equal(hits, expected[1])
        assert model.loss(S, y) == model.loss(X, y)
        assert model.accuracy(S, y) == model.accuracy(X, y)


@pytest.mark.parametrize("output", ["softmax", "logistic", "identity"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_and_gradient_on_csr_equal_dense(dtype, output):
    model = fastmlp.MLP([D, 5, 4, 3], "tanh", dtype, output=output)
    y = Y if output == "softmax" else (rng.random((N, 3)) > 0.5).astype(float)
    sw = rng.random(N)
    expected = fastmlp.loss_and_gradient(model, X_DENSE, y, l2=0.1, sample_weight=sw)
    for S in (sp.csr_matrix(X_DENSE), messy_csr(X_DENSE)):
        loss, grad = fastmlp.loss_and_gradient(model, S, y, l2=0.1, sample_weight=sw)
        assert loss == expected[0] and np.array_equal(grad, expected[1])
    dWs, dbs = fastmlp.gradients(model, sp.csc_matrix(X_DENSE), y)
    eWs, ebs = fastmlp.gradients(model, X_DENSE, y)
    assert all(map(np.array_equal, [*dWs, *dbs], [*eWs, *ebs]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_numpy_backend_takes_csr(dtype):
    options = {"backend": "numpy", "batch_size": 7, "validation": (sp.csr_matrix(X_DENSE), Y)}
    a, b, ha, hb = train_both(dtype, sp.csr_matrix(X_DENSE), **options)
    # Each step densifies its rows: the same arithmetic as on dense data.
    assert np.array_equal(a.params, b.params)
    assert ha.val_loss == hb.val_loss
    dWs, _ = fastmlp.gradients(a, sp.csr_matrix(X_DENSE), Y, backend="numpy")
    eWs, _ = fastmlp.gradients(a, X_DENSE, Y, backend="numpy")
    for got, want in zip(dWs, eWs):
        np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == "float32" else 1e-10)


def test_validation_and_the_kernel_wrappers_take_csr():
    a, b = twins("float32")
    S = sp.csr_matrix(X_DENSE)
    ha = fastmlp.train(a, X_DENSE, Y, batch_size=4, validation=(X_DENSE, Y), progress=False)
    hb = fastmlp.train(b, S, Y, batch_size=4, validation=(S, Y), progress=False)
    assert ha.val_loss == hb.val_loss and np.array_equal(a.params, b.params)
    order = rng.permutation(N)
    la = kernels.sgd_epoch_minibatch(a.weights, a.biases, X_DENSE, Y, order, 0.1, 5, "relu")
    lb = kernels.sgd_epoch_minibatch(b.weights, b.biases, S, Y, order, 0.1, 5, "relu")
    assert np.array_equal(la, lb) and np.array_equal(a.params, b.params)


def test_check_x_returns_a_canonical_int64_csr_of_the_model_dtype():
    model = fastmlp.MLP([D, 4, 3], dtype="float32")
    for S in (messy_csr(X_DENSE), sp.csc_array(X_DENSE), sp.csr_matrix(X_DENSE.astype(int))):
        X = model.check_X(S)
        assert X.format == "csr" and X.has_canonical_format
        assert (X.data.dtype, X.indices.dtype, X.indptr.dtype) == (np.float32, np.int64, np.int64)
        assert isinstance(X, sp.sparray) == isinstance(S, sp.sparray)
        np.testing.assert_array_equal(X.toarray(), S.toarray().astype(np.float32))
        assert model.check_X(X) is X  # a checked CSR passes as it is
    assert isinstance(kernel_rows(X), CSR) and kernel_rows(X_DENSE) is X_DENSE


def corrupted(**changes):
    """Return a CSR of X_DENSE with some of its arrays replaced, bypassing scipy's checks."""
    S = sp.csr_matrix(X_DENSE)
    for name, value in changes.items():
        setattr(S, name, value(getattr(S, name).copy()))
    return S


def set_at(index, value):
    def change(arr):
        arr[index] = value
        return arr

    return change


BROKEN = {
    "index-too-large": ("sparse-indices", corrupted(indices=set_at(4, D))),
    "index-negative": ("sparse-indices", corrupted(indices=set_at(-1, -3))),
    "indptr-start": ("sparse-indptr", corrupted(indptr=set_at(0, 1))),
    "indptr-falls": ("sparse-indptr", corrupted(indptr=set_at(10, 0))),
    "indptr-past-end": ("sparse-indptr", corrupted(indptr=set_at(-1, 10**6))),
    "indptr-length": ("sparse-indptr", corrupted(indptr=lambda p: p[:-1])),
    "indptr-float": ("sparse-index-dtype", corrupted(indptr=lambda p: p.astype(float))),
    "lengths": ("sparse-lengths", corrupted(data=lambda d: d[:-1])),
    "nan": ("finite", corrupted(data=set_at(2, np.nan))),
    "inf": ("finite", corrupted(data=set_at(-1, -np.inf))),
    "too-large-for-float32": ("dtype-range", corrupted(data=set_at(0, 1e300))),
    "coo-row": ("sparse-indices", sp.coo_matrix(X_DENSE)),
    "csc-index": ("sparse-indices", sp.csc_matrix(X_DENSE)),
    "bool": ("numeric", sp.csr_matrix(X_DENSE > 0)),
    "width": ("axis-size", sp.csr_matrix(X_DENSE[:, :-1])),
    "empty": ("non-empty", sp.csr_matrix((0, D))),
    "1-D": ("sparse-format", sp.coo_array(np.ones(D))),
}
BROKEN["csc-index"][1].indices[0] = N + 5
BROKEN["coo-row"][1].row[0] = N  # scipy checks coordinates when it builds a COO, not after


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_corrupt_or_wrong_sparse_input_is_rejected_before_any_kernel_runs(case, monkeypatch):
    key, X = BROKEN[case]
    model = fastmlp.MLP([D, 4, 3], dtype="float32")
    before = model.params.copy()

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel ran")

    monkeypatch.setattr(fastmlp.kernels.network, "infer", no_kernel)
    monkeypatch.setattr(fastmlp.model, "infer", no_kernel)
    monkeypatch.setattr(SGD, "run", no_kernel)
    calls = [
        lambda: fastmlp.train(model, X, Y, progress=False),
        lambda: model.predict_proba(X),
        lambda: model.evaluate(X, Y),
        lambda: fastmlp.loss_and_gradient(model, X, Y),
        lambda: kernels.sgd_epoch_per_sample(model.weights, model.biases, X, Y, [0], 0.1),
    ]
    pattern = rule_regex(key).replace("{name}", "X")
    for call in calls:
        with pytest.raises((TypeError, ValueError)) as caught:
            call()
        assert re.fullmatch(pattern, str(caught.value)), str(caught.value)
    assert np.array_equal(model.params, before)


def test_a_bad_value_is_named_by_its_row_and_column():
    S = sp.csr_matrix(X_DENSE)
    p = S.indptr[9] + 1
    S.data[p] = np.nan
    with pytest.raises(ValueError, match=rf"first at index \(9, {S.indices[p]}\)"):
        fastmlp.MLP([D, 4, 3]).check_X(S)


# 200,000 x 20,000: 16 GB as a dense float32 array, 24 MB as CSR with 10 entries a row.
HUGE = """
import resource
import numpy as np, scipy.sparse as sp
import fastmlp

n, d, k = 200_000, 20_000, 10
rng = np.random.default_rng(0)
cols = (rng.integers(0, d // k, (n, k)) + np.arange(k) * (d // k)).ravel()
X = sp.csr_matrix((rng.random(n * k, np.float32), cols, np.arange(0, n * k + 1, k)), (n, d))
y = rng.integers(0, 2, n)
model = fastmlp.MLP([d, 8, 2], "relu", "float32")
fastmlp.train(model, X[:400], y[:400], batch_size=200, progress=False)  # compile first
model.predict(X[:10])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
history = fastmlp.train(model, X, y, batch_size=200, progress=False)
predicted = model.predict(X)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, np.isfinite(history.step_loss).all(), predicted.shape[0])
"""


@pytest.mark.slow  # an epoch over 200,000 rows of 20,000 features: ~20 s on 2 cores
def test_a_csr_too_big_to_densify_trains_and_predicts_in_little_memory(tmp_path):
    growth_kb, finite, rows = run_python(HUGE, tmp_path, timeout=600).split()[-3:]
    assert finite == "True" and rows == "200000"
    # The dense form would take 16 GB; allow 300 MB (the copy check_X makes, the outputs).
    assert int(growth_kb) < 300_000, f"peak RSS grew by {int(growth_kb) / 1e6:.2f} GB"
