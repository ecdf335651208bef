"""The drop-in estimators fit scikit-learn's numbers: same weights, curves and counts.

Each test fits fastmlp's estimator and scikit-learn's with the same data,
parameters and integer ``random_state``, and compares ``coefs_`` and
``intercepts_`` (relative to each array's largest entry), ``n_iter_``,
``loss_curve_`` and the validation scores. Runs are bounded (a few dozen
epochs), where scikit-learn itself moves by under 1e-12 when its input
changes in the last bit.
"""

import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

import fastmlp

#: Relative tolerance on the weights: float64 stochastic, L-BFGS, float32.
RTOL = {"float64": 1e-8, "lbfgs": 1e-6, "float32": 1e-3}
ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = ["sgd", "adam", "lbfgs"]


def problem(kind, dtype="float64", n=90):
    """Return ``(estimator class name, X, y)`` of a small problem of ``kind``."""
    rs = np.random.RandomState(0)
    if kind in ("multiclass", "binary"):
        X, y = make_classification(
            n, 6, n_informative=4, n_classes=3 if kind == "multiclass" else 2, random_state=0
        )
        return "MLPClassifier", X.astype(dtype), y
    if kind == "multilabel":
        X, Y = make_multilabel_classification(n, 6, n_classes=3, random_state=0)
        return "MLPClassifier", (X / X.max()).astype(dtype), Y
    X = rs.normal(size=(n, 5))
    if kind == "poisson":
        return "MLPRegressor", X.astype(dtype), rs.poisson(np.exp(0.3 * X[:, 0] + 0.5))
    Y = np.column_stack([X @ rs.normal(size=5), np.sin(X[:, 1])]) + 0.1 * rs.normal(size=(n, 2))
    return "MLPRegressor", X.astype(dtype), Y


KINDS = ["multiclass", "binary", "multilabel", "regression", "poisson"]


def fit_both(kind, dtype="float64", sample_weight=None, fit_kwargs=None, **params):
    """Fit fastmlp's and scikit-learn's estimator alike; return ``(ours, theirs, X, y)``."""
    name, X, y = problem(kind, dtype)
    if kind == "poisson":
        params["loss"] = "poisson"
    fit_kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(fastmlp, name)(**params).fit(X, y, **fit_kwargs)
        theirs = getattr(sk, name)(**params).fit(X, y, **fit_kwargs)
    return ours, theirs, X, y


def largest_difference(ours, theirs):
    """The largest difference of a parameter array, relative to the array's largest entry."""
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
    return max(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300) for a, b in pairs)


def assert_same_fit(ours, theirs, rtol):
    assert [a.shape for a in ours.coefs_] == [b.shape for b in theirs.coefs_]
    assert [a.dtype for a in ours.coefs_] == [b.dtype for b in theirs.coefs_]
    assert largest_difference(ours, theirs) <= rtol
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    if theirs.solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
        assert ours.t_ == theirs.t_


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_activation_and_output_fits_scikit_learns_weights(solver, activation, kind):
    params = dict(
        hidden_layer_sizes=(7, 5),
        activation=activation,
        solver=solver,
        max_iter=15,
        random_state=3,
        batch_size=16,
        learning_rate_init=0.01 if kind != "poisson" else 0.002,
    )
    ours, theirs, X, _ = fit_both(kind, **params)
    assert_same_fit(ours, theirs, RTOL["lbfgs" if solver == "lbfgs" else "float64"])
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_input_fits_scikit_learns_weights_to_float32_accuracy(solver, kind):
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=10, random_state=1)
    ours, theirs, _, _ = fit_both(
        kind, "float32", batch_size=20, learning_rate_init=0.005, **params
    )
    # sgd and adam keep float32 weights. scikit-learn's L-BFGS evaluates its objective in
    # float32 too (SciPy keeps the float32 start's dtype), and returns float64 weights.
    expected = np.float64 if solver == "lbfgs" else np.float32
    assert all(W.dtype == expected for W in ours.coefs_ + ours.intercepts_)
    assert_same_fit(ours, theirs, RTOL["float32"])


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_splits_scores_and_restores_as_scikit_learn(solver, kind):
    params = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        tol=1e-3,
        max_iter=40,
        random_state=5,
        learning_rate_init=0.05,
    )
    ours, theirs, _, _ = fit_both(kind, **params)
    assert_same_fit(ours, theirs, RTOL["float64"])
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-12)
    assert ours.best_loss_ is None and theirs.best_loss_ is None


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sample_weights_fit_scikit_learns_weights(solver, kind, early_stopping):
    weights = np.random.RandomState(7).uniform(0.1, 3.0, 90)
    if early_stopping and solver == "lbfgs":
        pytest.skip("early_stopping applies to sgd and adam only")
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=12, random_state=2)
    ours, theirs, _, _ = fit_both(
        kind, sample_weight=weights, early_stopping=early_stopping, batch_size=13, **params
    )
    assert_same_fit(ours, theirs, RTOL["lbfgs" if solver == "lbfgs" else "float64"])


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_schedules_and_momenta_follow_scikit_learn(schedule, nesterov):
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.2,
        nesterovs_momentum=nesterov,
        momentum=0.8,
        n_iter_no_change=1,
        tol=0.05,
        max_iter=30,
        random_state=4,
        batch_size=32,
    )
    ours, theirs, _, _ = fit_both("multiclass", **params)
    assert_same_fit(ours, theirs, RTOL["float64"])
    assert ours._optimizer.learning_rate == pytest.approx(
        theirs._optimizer.learning_rate, rel=1e-12
    )


@pytest.mark.parametrize("batch_size", [1, 7, 200])
def test_per_sample_ragged_and_oversized_batches_follow_scikit_learn(batch_size):
    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # batch_size 200 > 90 rows is clipped
        ours, theirs, _, _ = fit_both("binary", batch_size=batch_size, shuffle=True, **params)
    assert_same_fit(ours, theirs, RTOL["float64"])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_partial_fit_calls_follow_scikit_learn(solver, kind):
    name, X, y = problem(kind)
    params = dict(hidden_layer_sizes=(5,), solver=solver, random_state=0, batch_size=10)
    ours, theirs = getattr(fastmlp, name)(**params), getattr(sk, name)(**params)
    for call in range(4):
        rows = slice(call * 20, call * 20 + 30)
        extra = {"classes": np.unique(y)} if name == "MLPClassifier" else {}
        ours.partial_fit(X[rows], y[rows], **extra)
        theirs.partial_fit(X[rows], y[rows], **extra)
        assert_same_fit(ours, theirs, RTOL["float64"])
    assert ours.n_iter_ == 1  # counted per call, as scikit-learn's


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_fits_follow_scikit_learn(solver):
    name, X, y = problem("multiclass")
    params = dict(hidden_layer_sizes=(5,), solver=solver, random_state=0, max_iter=6)
    ours, theirs = getattr(fastmlp, name)(**params), getattr(sk, name)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in (ours, theirs):
            estimator.fit(X, y)
            estimator.set_params(warm_start=True, max_iter=4)
            estimator.fit(X[:70], y[:70])
    assert_same_fit(ours, theirs, RTOL["lbfgs" if solver == "lbfgs" else "float64"])


def test_a_diverging_regressor_scores_nan_as_scikit_learn():
    params = dict(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        random_state=0,
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs, _, _ = fit_both("regression", **params)
    assert np.isnan(ours.validation_scores_[-1]) and np.isnan(theirs.validation_scores_[-1])
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(
        np.isnan(ours.validation_scores_), np.isnan(theirs.validation_scores_)
    )
    assert_same_fit(ours, theirs, RTOL["float64"])


def test_verbose_prints_scikit_learns_lines(capsys):
    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0, verbose=True)
    printed = []
    for module in (fastmlp, sk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, X, y = problem("multiclass")
            module.MLPClassifier(early_stopping=True, **params).fit(X, y)
        printed.append(capsys.readouterr().out)
    assert printed[0].count("Iteration") == 3 and printed[0].count("Validation score") == 3
    ours = [line.split("=")[0] for line in printed[0].splitlines()]
    assert ours == [line.split("=")[0] for line in printed[1].splitlines()]


def test_running_out_of_iterations_warns_as_scikit_learn():
    _, X, y = problem("multiclass")
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        fastmlp.MLPClassifier((4,), solver="sgd", max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 2 iteration"):
        fastmlp.MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


@pytest.mark.slow  # MNIST-sized rows: about 10 s
def test_scikit_learns_defaults_on_digits_fit_the_same_weights():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fastmlp.MLPClassifier(max_iter=5, random_state=0).fit(X, y)
        theirs = sk.MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    assert_same_fit(ours, theirs, RTOL["float32"])
