"""Outputs softmax, logistic, identity and exp: kernels against the numpy twin and the scalar
oracle, gradients against central differences, the model API, and ``loss_and_gradient``."""

import pickle

import numba
import numpy as np
import pytest
from fastmlp.kernels import network, output_backward, output_transform, sgd_epoch_minibatch
from helpers import assert_close, random_network

import fastmlp
from fastmlp import reference, scalar
from fastmlp.config import GRADCHECK_RTOL
from fastmlp.names import OUTPUTS

OTHERS = ("logistic", "identity", "exp")


def targets(rng, output, n, k):
    """Random targets of ``n`` rows for ``output`` with ``k`` units (classes)."""
    if output == "softmax":
        return rng.integers(0, k, n)
    if output == "logistic":
        return (rng.random((n, k)) < 0.5).astype(np.float64)
    if output == "identity":
        return rng.normal(size=(n, k))
    return rng.poisson(1.5, (n, k)).astype(np.float64)


def extreme_logits(rng, dtype):
    """Rows of ordinary logits, then rows of +-1000 (exp gets its own, see below)."""
    Z = rng.normal(0, 2, (7, 3))
    Z[4] = [1000, -1000, 0]
    Z[5] = [-1000, 1000, 1000]
    Z[6] = [-1000, -1000, -1000]
    return Z.astype(dtype)


@pytest.mark.parametrize("output", list(OUTPUTS))
def test_output_kernel_matches_twin_and_scalar_oracle(rng, dtype, output):
    Z = extreme_logits(rng, dtype)
    if output == "exp":
        Z = np.clip(Z, -1000, 20)  # exp(1000) overflows any float: tested below
    y = targets(rng, output, len(Z), 3)
    losses, delta = output_backward(Z, y, output)
    assert losses.dtype == np.float64 and delta.dtype == dtype
    assert np.isfinite(losses).all() and np.isfinite(delta).all()
    Y = y if output == "softmax" else y.astype(dtype)
    assert_close(losses, reference.output_loss(Z, Y, output)[0], dtype)
    assert_close(delta, reference.output_delta(Z, Y, output), dtype)
    assert_close(output_transform(Z, output), reference.output_transform(Z, output), dtype)
    for z, t, loss, d in zip(Z.astype(np.float64), y, losses, delta):
        target = int(t) if output == "softmax" else list(t)
        _, oracle_loss, oracle_delta = scalar._output(list(z), target, OUTPUTS[output])
        assert_close(loss, oracle_loss, dtype)
        assert_close(d, oracle_delta, dtype)


def test_logistic_loss_at_extreme_logits_is_the_linear_tail():
    losses, delta = output_backward([[1000.0], [-1000.0], [1000.0]], [[0], [1], [1]], "logistic")
    np.testing.assert_allclose(losses, [1000.0, 1000.0, 0.0])
    np.testing.assert_array_equal(delta[:, 0], [1.0, -1.0, 0.0])


def test_exp_output_overflows_to_infinity_never_nan(dtype):
    losses, delta = output_backward(np.array([[1000.0, -1000.0]], dtype), [[0.0, 0.0]], "exp")
    assert losses[0] == np.inf and delta[0, 0] == np.inf and delta[0, 1] == 0


@pytest.mark.parametrize("output", OTHERS)
def test_targets_are_checked_for_the_output(output):
    model = fastmlp.MLP([3, 2], output=output)
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"y: expected a 2-D array of targets, shape \(n, 2\)"):
        model.loss(X, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"y: expected size 2 on axis 0, found shape \(3, 2\)"):
        model.loss(X, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="y: expected finite values"):
        model.loss(X, [[0.0, np.nan], [0.0, 0.0]])
    bad = {"logistic": 0.5, "exp": -1.0}.get(output)
    if bad is not None:
        with pytest.raises(ValueError, match=r"y: expected targets (0 or 1|>= 0)"):
            model.loss(X, [[0.0, bad], [0.0, 0.0]])


def test_one_output_unit_takes_a_1d_target_and_logistic_takes_booleans():
    X = np.random.default_rng(0).normal(size=(4, 3))
    for output, y in (("identity", [0.5, -1, 2, 0]), ("logistic", [True, False, True, True])):
        model = fastmlp.MLP([3, 1], output=output)
        assert model.loss(X, y) == model.loss(X, np.asarray(y, np.float64).reshape(4, 1))


def test_predictions_of_every_output(rng):
    X = rng.normal(size=(6, 3))
    for output in OUTPUTS:
        model = fastmlp.MLP([3, 4, 2], "tanh", "float64", output=output)
        logits = reference.forward(model.weights, model.biases, X, "tanh")[-1]
        prediction = model.predict(X)
        if output == "softmax":
            np.testing.assert_array_equal(prediction, logits.argmax(axis=1))
        elif output == "logistic":
            np.testing.assert_array_equal(prediction, (logits > 0).astype(np.int64))
            assert_close(model.predict_proba(X), 1 / (1 + np.exp(-logits)), "float64")
        else:
            expected = logits if output == "identity" else np.exp(logits)
            assert_close(prediction, expected, "float64")
            with pytest.raises(ValueError, match=f"output: predict_proba needs .* '{output}'"):
                model.predict_proba(X)
            with pytest.raises(ValueError, match=f"output: accuracy needs .* '{output}'"):
                model.accuracy(X, targets(rng, output, 6, 2))


def test_logistic_accuracy_is_subset_accuracy(rng):
    model = fastmlp.MLP([3, 2], output="logistic", dtype="float64")
    X = rng.normal(size=(8, 3))
    Y = model.predict(X).astype(np.float64)
    assert model.accuracy(X, Y) == 1.0
    Y[:3, 1] = 1 - Y[:3, 1]  # one unit of three rows wrong
    assert model.accuracy(X, Y) == 5 / 8
    _, hits = model.evaluate(X, Y)
    np.testing.assert_array_equal(hits, np.arange(8) >= 3)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_logistic_hit_is_what_predict_says_for_tiny_logits(backend):
    """A float32 logit of 1e-8 is above 0, but its sigmoid rounds to 0.5: predict says 0."""
    model = fastmlp.MLP([1, 1], output="logistic", dtype="float32")
    model.weights[0][...], model.biases[0][...] = 1, 0
    X = np.array([[1e-8], [-1e-8], [1e-3]], np.float32)
    np.testing.assert_array_equal(model.predict(X), [[0], [0], [1]])
    Y = np.array([[0], [0], [1]], np.float32)
    if backend == "numba":
        _, hits = model.evaluate(X, Y)
    else:
        _, hits = reference.output_loss(X @ model.weights[0] + model.biases[0], Y, "logistic")
    np.testing.assert_array_equal(hits, [True, True, True])


@pytest.mark.slow  # compiles the threaded gradient kernel (tens of seconds cold)
@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("kind", ["labels", "values"])
def test_gradcheck_every_output_activation_and_dtype(depth, kind):
    """One compiled kernel per depth and kind of target serves every output and activation."""
    rng = np.random.default_rng(depth)
    sizes = [3, *[4] * depth, 3]
    outputs = ["softmax"] if kind == "labels" else list(OTHERS)
    for output in outputs:
        for activation in ("sigmoid", "tanh", "relu", "identity"):
            for dtype in ("float32", "float64"):
                model = fastmlp.MLP(sizes, activation, dtype, seed=1, output=output)
                # Generic parameters: zero biases put relu units exactly on their kink.
                model.params[...] = rng.normal(0, 0.5, model.params.size)
                X = rng.normal(size=(5, 3))
                y = targets(rng, output, 5, 3)
                error = fastmlp.gradcheck(model, X, y)
                assert error < GRADCHECK_RTOL, (output, activation, dtype, error)


@pytest.mark.slow  # compiles the threaded gradient kernel (tens of seconds cold)
@pytest.mark.parametrize("output", OTHERS)
def test_numpy_gradients_match_the_kernels(rng, output, dtype):
    model = fastmlp.MLP([4, 5, 3], "tanh", dtype, output=output)
    X, y = rng.normal(size=(9, 4)), targets(rng, output, 9, 3)
    kernels, twin = fastmlp.gradients(model, X, y), fastmlp.gradients(model, X, y, backend="numpy")
    for got, want in zip([*kernels[0], *kernels[1]], [*twin[0], *twin[1]]):
        assert_close(got, want, dtype)


def reference_epoch(weights, biases, X, y, order, lr, batch_size, activation, output):
    """Plain SGD from the numpy twin's mean gradients; returns each step's mean loss."""
    losses = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        loss, dWs, dbs = reference.mean_gradients(
            weights, biases, X[rows], y[rows], activation, output=output
        )
        losses.append(loss)
        for param, grad in zip([*weights, *biases], [*dWs, *dbs]):
            param -= lr * grad
    return np.array(losses)


@pytest.mark.slow  # compiles the SGD kernels for real targets (tens of seconds cold)
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("output", OTHERS)
def test_training_kernels_match_the_twin(rng, dtype, output, batch_size):
    """Batch size 1 runs the fused per-sample kernel; 8 of 21 rows leaves a ragged last batch."""
    weights, biases = random_network(rng, [4, 6, 3], dtype)
    X = rng.normal(size=(21, 4)).astype(dtype)
    y = targets(rng, output, 21, 3).astype(dtype)
    order = rng.permutation(21)
    twin = ([W.copy() for W in weights], [b.copy() for b in biases])
    got = sgd_epoch_minibatch(
        weights, biases, X, y, order, 0.05, batch_size, "sigmoid", output=output
    )
    want = reference_epoch(*twin, X, y, order, 0.05, batch_size, "sigmoid", output)
    assert_close(got, want, dtype)
    for a, b in zip([*weights, *biases], [*twin[0], *twin[1]]):
        assert_close(a, b, dtype)


def test_training_a_regression_lowers_its_loss(rng):
    X = rng.normal(size=(200, 2))
    y = np.column_stack([X[:, 0] - 2 * X[:, 1], np.sin(X[:, 0])])
    model = fastmlp.MLP([2, 8, 2], "tanh", output="identity")
    before = model.loss(X, y)
    fastmlp.train(model, X, y, epochs=5, lr=0.05, batch_size=1, seed=0)
    assert model.loss(X, y) < before / 2


def test_hidden_identity_layers_are_linear(rng):
    model = fastmlp.MLP([3, 4, 4, 2], "identity", "float64", output="identity")
    X = rng.normal(size=(5, 3))
    W, b = np.eye(3), np.zeros(3)
    for Wl, bl in zip(model.weights, model.biases):
        W, b = W @ Wl, b @ Wl + bl
    assert_close(model.predict(X), X @ W + b, "float64")


def test_logistic_is_another_name_of_sigmoid(rng, tmp_path):
    X = rng.normal(size=(4, 3))
    named = fastmlp.MLP([3, 4, 2], "logistic", seed=3)
    assert named.activation == "logistic"
    np.testing.assert_array_equal(
        named.predict_proba(X), fastmlp.MLP([3, 4, 2], "sigmoid", seed=3).predict_proba(X)
    )
    loaded = fastmlp.load(named.save(tmp_path / "m.npz"))
    assert loaded.activation == "logistic"


@pytest.mark.parametrize("output", list(OUTPUTS))
def test_files_copies_and_pickles_keep_the_output(rng, tmp_path, output):
    model = fastmlp.MLP([3, 4, 2], "relu", output=output, seed=2)
    X = rng.normal(size=(3, 3))
    for other in (
        fastmlp.load(model.save(tmp_path / "m.npz")),
        model.copy(),
        pickle.loads(pickle.dumps(model)),
    ):
        assert other.output == output
        np.testing.assert_array_equal(other.predict(X), model.predict(X))
    assert ("output=" in repr(model)) == (output != "softmax")


def test_a_bad_output_is_named():
    with pytest.raises(ValueError, match=r"output: expected one of \['exp', 'identity', "):
        fastmlp.MLP([3, 2], output="poisson")


def test_loss_and_gradient_matches_the_twin(rng, dtype):
    model = fastmlp.MLP([4, 5, 3], "tanh", dtype, output="logistic")
    X, Y = rng.normal(size=(30, 4)), targets(rng, "logistic", 30, 3)
    sw = rng.random(30)
    for average in ("rows", "weights"):
        loss, grad = fastmlp.loss_and_gradient(
            model, X, Y, l2=0.3, sample_weight=sw, average=average
        )
        assert grad.dtype == np.float64 and grad.shape == model.params.shape
        Xd, Yd, swd = (a.astype(dtype) for a in (X, Y, sw))
        mean, dWs, dbs = reference.mean_gradients(
            model.weights, model.biases, Xd, Yd, "tanh", swd, output="logistic"
        )
        scale = 1.0 if average == "rows" else 30 / swd.astype(np.float64).sum()
        penalty = sum(float((W.astype(np.float64) ** 2).sum()) for W in model.weights)
        divisor = 30 if average == "rows" else swd.astype(np.float64).sum()
        assert_close(loss, mean * scale + 0.3 / 2 * penalty / divisor, dtype)
        parts = []
        for W, dW, db in zip(model.weights, dWs, dbs):
            parts += [(dW * scale + 0.3 * W / divisor).ravel(), db * scale]
        assert_close(grad, np.concatenate(parts), dtype)


def test_loss_scale_scales_the_data_term_of_the_loss_only(rng):
    model = fastmlp.MLP([4, 5, 3], "tanh", "float64", output="identity")
    X, Y = rng.normal(size=(30, 4)), targets(rng, "identity", 30, 3)
    whole, grad = fastmlp.loss_and_gradient(model, X, Y, l2=0.3)
    third, same = fastmlp.loss_and_gradient(model, X, Y, l2=0.3, loss_scale=1 / 3)
    penalty = 0.3 / 2 * sum(float((W**2).sum()) for W in model.weights) / 30
    np.testing.assert_allclose(third - penalty, (whole - penalty) / 3, rtol=1e-12)
    np.testing.assert_array_equal(grad, same)
    with pytest.raises(ValueError, match=r"^loss_scale: expected"):
        fastmlp.loss_and_gradient(model, X, Y, loss_scale=0)


@pytest.mark.slow  # compiles the threaded gradient kernel (tens of seconds cold)
@pytest.mark.parametrize("output", ["softmax", "exp"])
def test_loss_and_gradient_is_bit_identical_on_one_and_two_threads(rng, monkeypatch, output):
    # 4 rows per chunk: every block walks several chunks.
    monkeypatch.setattr(network, "GRADIENT_ROWS", 4)
    model = fastmlp.MLP([5, 7, 3], "relu", "float32", output=output)
    X, Y = rng.normal(size=(101, 5)), targets(rng, output, 101, 3)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fastmlp.loss_and_gradient(model, X, Y, l2=0.01)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fastmlp.loss_and_gradient(model, X, Y, l2=0.01)
    finally:
        numba.set_num_threads(threads)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])
    monkeypatch.setattr(network, "GRADIENT_ROWS", 256)
    assert_close(fastmlp.loss_and_gradient(model, X, Y, l2=0.01)[1], one[1], "float32")


@pytest.mark.slow  # compiles the threaded gradient kernel (tens of seconds cold)
def test_loss_and_gradient_drives_scipy_lbfgs(rng):
    optimize = pytest.importorskip("scipy.optimize")
    model = fastmlp.MLP([2, 6, 1], "tanh", "float64", output="logistic")
    X = rng.normal(size=(80, 2))
    Y = (X[:, :1] * X[:, 1:] > 0).astype(np.float64)

    def objective(params):
        model.params[...] = params
        return fastmlp.loss_and_gradient(model, X, Y, l2=1e-3)

    start = model.params.copy()
    first = objective(start)[0]
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B")
    assert result.fun < first / 2
    model.params[...] = result.x
    assert model.accuracy(X, Y) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"l2": -1.0}, ValueError, "l2: expected a finite value >= 0, found -1.0"),
        ({"l2": "x"}, TypeError, "l2: expected a real number, found 'x'"),
        ({"average": "mean"}, ValueError, r"average: expected one of \['rows', 'weights'\]"),
        (
            {"average": "weights", "sample_weight": np.zeros(4)},
            ValueError,
            "sample_weight: expected a positive sum of weights",
        ),
    ],
)
def test_loss_and_gradient_names_a_bad_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        fastmlp.loss_and_gradient(fastmlp.MLP([3, 2]), np.zeros((4, 3)), [0, 1, 1, 0], **kwargs)
