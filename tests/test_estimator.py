"""``MLPClassifier`` and ``MLPRegressor`` as scikit-learn estimators: the interface.

The numbers (same weights as scikit-learn's) are tested in
``test_sklearn_fit.py``; here: scikit-learn's own checks and its own test
module, labels, layouts, files, pickles, pandas, sparse input, and
assigned ``coefs_`` / ``intercepts_`` checked on use.
"""

import copy
import functools
import pickle
import re
import tempfile
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse
from helpers import run
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_crash_safety import case, run_cases

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp.errors import ModelFileError


@parametrize_with_checks([MLPClassifier(max_iter=50), MLPRegressor(max_iter=50)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    # No expected failures: with gradients divided by the summed sample weights (as
    # scikit-learn's), the sample-weight equivalence checks pass too.
    check(estimator)


#: Tests of scikit-learn's module that call its private methods, and why they cannot pass.
PRIVATE = {"test_gradient": "calls the private _loss_grad_lbfgs"}


@pytest.mark.slow  # about 20 s: scikit-learn's whole MLP test module
def test_scikit_learns_own_mlp_tests_pass_with_fastmlp_substituted(tmp_path):
    import sklearn.neural_network.tests.test_mlp as theirs

    source = Path(theirs.__file__).read_text()
    line = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    assert line in source
    test = tmp_path / "test_mlp_fastmlp.py"
    test.write_text(source.replace(line, "from fastmlp import MLPClassifier, MLPRegressor"))
    code = (
        "import sys, pytest\n"
        f"sys.exit(pytest.main([{str(test)!r}, '-q', '-p', 'sklearn.conftest', "
        "'-p', 'no:cacheprovider', '-rf', '--no-header', '-o', 'addopts=']))\n"
    )
    output = run(["-c", code], tmp_path, check=False).stdout
    failed = set(re.findall(r"FAILED \S+::(\w+)", output))
    passed = re.search(r"(\d+) passed", output)
    assert failed == set(PRIVATE), output[-3000:]
    assert passed and int(passed.group(1)) >= 50, output[-3000:]


def blobs(rng, n=120, k=3, d=4, spread=0.6):
    centres = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(scale=spread, size=(n, d)), y


def fit(estimator, X, y, **kwargs):
    """Fit, accepting the ConvergenceWarning of a run that uses all its epochs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


def test_the_constructors_are_scikit_learns_plus_fastmlps_keywords():
    import inspect

    from sklearn.neural_network import MLPRegressor as SklearnRegressor

    extras = ["dtype", "backend", "lr_schedule"]
    for ours, theirs in ((MLPClassifier, SklearnClassifier), (MLPRegressor, SklearnRegressor)):
        mine = inspect.signature(ours).parameters
        sk = inspect.signature(theirs).parameters
        assert list(mine)[: len(sk)] == list(sk) and list(mine)[len(sk) :] == extras
        for name, p in sk.items():
            assert mine[name].default == p.default and mine[name].kind == p.kind, name


@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "emu"]), np.array([3, 7, 11]), np.array([-1.0, 0.5, 2.0])],
    ids=["strings", "sparse-ints", "floats"],
)
def test_any_labels_map_through_classes(rng, labels):
    X, codes = blobs(rng)
    y = labels[codes]
    if labels.dtype.kind == "f":
        with pytest.raises(ValueError, match="Unknown label type"):
            MLPClassifier(random_state=0).fit(X, y)
        return
    clf = fit(MLPClassifier((8,), learning_rate_init=0.05, max_iter=30, random_state=0), X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_array_equal(clf.predict_log_proba(X), np.log(proba))


def test_binary_problems_have_one_logistic_output_as_scikit_learn(rng):
    X, y = blobs(rng, k=2)
    clf = fit(MLPClassifier((4,), max_iter=5, random_state=0), X, np.array(["no", "yes"])[y])
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert [W.shape for W in clf.coefs_] == [(4, 4), (4, 1)]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])


def test_multilabel_targets_get_logistic_outputs_and_indicator_predictions(rng):
    X = rng.normal(size=(80, 5))
    Y = (X[:, :3] > 0).astype(int)
    clf = fit(MLPClassifier((16,), max_iter=200, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    prediction = clf.predict(X)
    assert prediction.shape == (80, 3) and set(np.unique(prediction)) <= {0, 1}
    np.testing.assert_array_equal(prediction, (clf.predict_proba(X) > 0.5).astype(int))
    theirs = fit(SklearnClassifier((16,), max_iter=200, random_state=0), X, Y)
    np.testing.assert_array_equal(prediction, theirs.predict(X))
    assert clf.score(X, Y) == theirs.score(X, Y) > 0.5


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_the_regressor_predicts_values_of_its_targets_shape(rng, loss):
    X = rng.normal(size=(100, 3))
    y = np.exp(0.5 * X[:, 0]) if loss == "poisson" else X @ [1.0, -2.0, 0.5]
    reg = fit(MLPRegressor(loss, (8,), max_iter=300, random_state=0), X, y)
    assert reg.out_activation_ == ("exp" if loss == "poisson" else "identity")
    assert reg.predict(X).shape == (100,)
    assert reg.score(X, y) > 0.8
    two = fit(MLPRegressor(loss, (8,), max_iter=5, random_state=0), X, np.column_stack([y, y]))
    assert two.predict(X).shape == (100, 2) and two.n_outputs_ == 2


def test_fitted_attributes_and_history(rng):
    X, y = blobs(rng)
    clf = fit(MLPClassifier((5, 4), solver="sgd", max_iter=7, tol=0.0, random_state=0), X, y)
    assert clf.n_features_in_ == 4 and clf.n_layers_ == 4 and clf.n_outputs_ == 3
    assert clf.n_iter_ == 7 and clf.t_ == 7 * 120
    assert len(clf.loss_curve_) == 7 and clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None
    assert isinstance(clf.history_, fastmlp.History) and clf.history_.epochs == 7
    assert clf.history_.train_loss == clf.loss_curve_
    assert all(W.dtype == np.float64 for W in clf.coefs_)


def test_float32_input_and_the_dtype_keyword(rng):
    X, y = blobs(rng)
    follows = fit(MLPClassifier((4,), max_iter=2, random_state=0), X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in follows.coefs_ + follows.intercepts_)
    forced = fit(MLPClassifier((4,), max_iter=2, random_state=0, dtype="float32"), X, y)
    assert all(W.dtype == np.float32 for W in forced.coefs_)
    np.testing.assert_array_equal(forced.coefs_[0], follows.coefs_[0])


def test_the_numpy_backend_fits_the_same_network(rng):
    X, y = blobs(rng)
    options = dict(hidden_layer_sizes=(6,), max_iter=4, random_state=0, batch_size=16)
    numba = fit(MLPClassifier(**options), X, y)
    numpy = fit(MLPClassifier(backend="numpy", **options), X, y)
    for a, b in zip(numba.coefs_ + numba.intercepts_, numpy.coefs_ + numpy.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_fastmlp_schedule_sets_the_rate_of_each_epoch(rng):
    X, y = blobs(rng)
    schedule = fastmlp.StepDecay(0.1, factor=0.5, every=1)
    clf = fit(MLPClassifier((4,), solver="sgd", max_iter=3, lr_schedule=schedule), X, y)
    assert clf.history_.lr == [0.1, 0.05, 0.025]


def test_partial_fit_is_for_stochastic_solvers_and_checks_classes(rng):
    X, y = blobs(rng)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    clf = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.out_activation_ == "softmax"
    with pytest.raises(ValueError, match=r"`y` has classes not in `self\.classes_`"):
        clf.partial_fit(X, np.full(len(X), 5))
    with pytest.raises(ValueError, match=r"is not the same as on last call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_sparse_input_gives_the_same_network_as_dense(rng):
    X, y = blobs(rng)
    X[np.abs(X) < 1] = 0
    for solver in ("adam", "lbfgs"):
        options = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, solver=solver)
        dense = fit(MLPClassifier(**options), X, y)
        sparse = fit(MLPClassifier(**options), scipy.sparse.csr_matrix(X), y)
        for a, b in zip(sparse.coefs_, dense.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(
            sparse.predict_proba(scipy.sparse.csr_array(X)), dense.predict_proba(X), rtol=1e-12
        )


def test_pandas_feature_names_are_kept_and_checked(rng):
    pd = pytest.importorskip("pandas")
    X, y = blobs(rng)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = fit(MLPClassifier((4,), max_iter=2, random_state=0), frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="The feature names should match"):
        clf.predict(frame[["b", "a", "c", "d"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))


def test_pipeline_grid_search_with_processes_and_cross_validation(rng):
    X, y = blobs(rng, n=150)
    grid = {"mlpclassifier__learning_rate_init": [0.01, 0.1]}
    results = []
    for estimator in (MLPClassifier, SklearnClassifier):
        pipe = make_pipeline(StandardScaler(), estimator((8,), max_iter=40, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_val_score(pipe, X, y, cv=3)
            # n_jobs=2: joblib pickles the estimators into worker processes.
            search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
        results.append((scores, search.cv_results_["mean_test_score"], search.best_params_))
    ours, theirs = results
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2] == theirs[2]
    assert clone(pipe).get_params()["mlpclassifier__hidden_layer_sizes"] == (8,)


def test_pickle_and_joblib_round_trips_keep_training(tmp_path, rng):
    X, y = blobs(rng)
    clf = MLPClassifier((3,), solver="sgd", random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    # The optimizer's state travels too: both go on identically.
    for estimator in (clf, loaded):
        estimator.partial_fit(X, y)
    for a, b in zip(clf.coefs_, loaded.coefs_):
        np.testing.assert_array_equal(a, b)


def test_predicting_before_fit_raises_not_fitted(rng):
    for estimator in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            estimator.predict(rng.normal(size=(2, 3)))
    assert not hasattr(MLPClassifier(), "coefs_")


#: A bad parameter and the start of scikit-learn's own message for it.
INVALID_PARAMETERS = [
    ("alpha", -1.0),
    ("momentum", 1.5),
    ("batch_size", "big"),
    ("batch_size", 0),
    ("max_iter", 0),
    ("learning_rate", "sometimes"),
    ("learning_rate_init", 0.0),
    ("solver", "newton"),
    ("activation", "swish"),
    ("n_iter_no_change", 1.5),
    ("validation_fraction", 1.0),
    ("beta_2", 1.0),
    ("epsilon", 0.0),
    ("random_state", "x"),
    ("shuffle", "yes"),
    ("tol", -1.0),
    ("max_fun", 0),
]


@pytest.mark.parametrize(("name", "value"), INVALID_PARAMETERS)
def test_bad_parameters_raise_scikit_learns_errors_in_fit(rng, name, value):
    X, y = blobs(rng, n=20)
    with pytest.raises((ValueError, TypeError)) as theirs:
        SklearnClassifier(**{name: value}).fit(X, y)
    clf = MLPClassifier(**{name: value})  # __init__ only stores them
    with pytest.raises(type(theirs.value)) as ours:
        clf.fit(X, y)
    assert options_sorted(str(ours.value)) == options_sorted(str(theirs.value))


def options_sorted(message):
    """``message`` with the options it lists in braces sorted (a set prints in any order)."""
    return re.sub(r"\{([^}]*)\}", lambda m: str(sorted(m.group(1).split(", "))), message)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("dtype", "float16", "'dtype' parameter"), ("backend", "cuda", "'backend' parameter")],
)
def test_bad_fastmlp_keywords_are_named_too(rng, name, value, message):
    X, y = blobs(rng, n=20)
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**{name: value}).fit(X, y)


def test_batch_size_auto_takes_up_to_200_rows(rng):
    X, y = blobs(rng, n=300)
    clf = fit(MLPClassifier((4,), max_iter=1, random_state=0), X, y)
    assert clf.history_.steps_per_epoch == 2
    small = fit(MLPClassifier((4,), max_iter=1, random_state=0), X[:50], y[:50])
    assert small.history_.steps_per_epoch == 1


# -- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels", [np.array(["cat", "dog", "emu"]), np.array([3, 7, 11], dtype=np.int32)]
)
def test_save_and_load_round_trip_exactly(tmp_path, rng, labels):
    X, codes = blobs(rng)
    y = labels[codes]
    for early_stopping in (True, False):
        clf = MLPClassifier((5,), max_iter=4, early_stopping=early_stopping, random_state=0)
        fit(clf, X, y)
        loaded = fastmlp.load(clf.save(tmp_path / "clf.npz"))
        assert isinstance(loaded, MLPClassifier)
        assert loaded.get_params() == clf.get_params()
        assert loaded.classes_.dtype == clf.classes_.dtype
        np.testing.assert_array_equal(loaded.classes_, clf.classes_)
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        assert loaded.loss_curve_ == clf.loss_curve_ and loaded.n_iter_ == clf.n_iter_
        assert loaded.validation_scores_ == clf.validation_scores_
        assert loaded.best_validation_score_ == clf.best_validation_score_
        assert loaded.best_loss_ == clf.best_loss_ and loaded.t_ == clf.t_
    loaded.partial_fit(X, y)  # keeps training
    assert loaded.n_iter_ == 1 and len(loaded.loss_curve_) == clf.n_iter_ + 1


@pytest.mark.parametrize("kind", ["binary", "multilabel", "regressor"])
def test_every_layout_round_trips_through_a_file(tmp_path, rng, kind):
    X = rng.normal(size=(60, 4))
    if kind == "regressor":
        y = X @ [1.0, 2.0, 0.0, -1.0]
        est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    else:
        y = (X[:, :2] > 0).astype(int) if kind == "multilabel" else (X[:, 0] > 0).astype(int)
        est = MLPClassifier((3,), max_iter=3, random_state=0)
    fit(est, X, y)
    loaded = fastmlp.load(est.save(tmp_path / "est.npz"))
    assert type(loaded) is type(est) and loaded.out_activation_ == est.out_activation_
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.best_loss_ == est.best_loss_


def test_a_changed_parameter_byte_is_detected(tmp_path, rng):
    X, y = blobs(rng)
    path = fit(MLPClassifier((3,), max_iter=1, random_state=0), X, y).save(tmp_path / "c.npz")
    with np.load(path, allow_pickle=False) as archive:
        params, metadata = archive["params"].copy(), archive["metadata"]
    params[0] += 1
    with open(path, "wb") as f:
        np.savez(f, params=params, metadata=metadata)
    with pytest.raises(ModelFileError, match="do not match the digest"):
        fastmlp.load(path)


# -- assigned coefs_ / intercepts_ ---------------------------------------------------------------


def fitted_3_4_3(rng, **params):
    """A fitted 4 -> 3 -> 3 estimator on blobs, and its data."""
    X, y = blobs(rng, n=60)
    options = dict(solver="sgd", max_iter=2, random_state=0) | params
    return fit(MLPClassifier((3,), **options), X, y), X, y


def forward(coefs, intercepts, X):
    """Probabilities of a relu network with a softmax output, in float64."""
    a = np.asarray(X, np.float64)
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        z = a @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        a = np.maximum(z, 0) if l < len(coefs) - 1 else z
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_assigned_coefs_and_intercepts_are_used(rng):
    clf, X, _ = fitted_3_4_3(rng)
    coefs = [rng.normal(size=(4, 3)), rng.normal(size=(3, 3))]
    intercepts = [rng.normal(size=3), rng.normal(size=3)]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    assert clf.coefs_ is coefs  # read back as assigned, as in scikit-learn
    expected = forward(coefs, intercepts, X)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    # Entries replaced in the list are used too (scikit-learn's tests do this).
    clf.coefs_[1] = np.ascontiguousarray(coefs[1][:, ::-1])
    clf.intercepts_[1] = intercepts[1][::-1]
    np.testing.assert_allclose(clf.predict_proba(X), expected[:, ::-1], rtol=1e-12)


def test_assigned_coefs_of_other_hidden_sizes_train_on(rng, tmp_path):
    clf, X, y = fitted_3_4_3(rng)
    coefs = [rng.normal(size=(4, 6)), rng.normal(size=(6, 2)), rng.normal(size=(2, 3))]
    intercepts = [np.zeros(6), np.ones(2), rng.normal(size=3)]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    np.testing.assert_allclose(clf.predict_proba(X), forward(coefs, intercepts, X), rtol=1e-12)
    loaded = fastmlp.load(clf.save(tmp_path / "clf.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 6), (6, 2), (2, 3)]


def bad_assignments():
    """``(coefs, intercepts, error, message)``: assignments that do not fit a 4 -> 3 -> 3 net."""
    w0, w1, b0, b1 = np.ones((4, 3)), np.ones((3, 3)), np.zeros(3), np.zeros(3)
    return {
        "wide": (
            [w0, np.ones((3, 100000), np.float32)],
            [b0, np.zeros(100000, np.float32)],
            ValueError,
            r"coefs_\[1\]: expected 3 columns \(one per output, n_outputs_\), "
            r"found shape \(3, 100000\)",
        ),
        "narrow": (
            [np.ones((4, 2)), w1],
            [np.zeros(2), b1],
            ValueError,
            r"coefs_\[1\]: expected 2 rows \(the columns of coefs_\[0\]\), found shape",
        ),
        "inputs": (
            [np.ones((5, 3)), w1],
            [b0, b1],
            ValueError,
            r"coefs_\[0\]: expected 4 rows \(n_features_in_ = 4\), found shape \(5, 3\)",
        ),
        "bias": (
            [w0, w1],
            [b0, np.zeros(4)],
            ValueError,
            r"intercepts_\[1\]: expected shape \(3,\) \(the columns of coefs_\[1\]\), "
            r"found \(4,\)",
        ),
        "layers": (
            [w0, w1],
            [b0],
            ValueError,
            r"coefs_, intercepts_: expected two lists of the same length >= 1.*found "
            r"lengths 2 and 1",
        ),
        "empty": ([], [], ValueError, r"coefs_, intercepts_: expected two lists.*lengths 0 and 0"),
        "nan": (
            [w0, np.full((3, 3), np.nan)],
            [b0, b1],
            ValueError,
            r"coefs_\[1\]: expected finite values, found 9 non-finite",
        ),
        "complex": (
            [w0 + 1j, w1],
            [b0, b1],
            TypeError,
            r"coefs_\[0\]: expected a numeric array, found dtype complex128",
        ),
        "strings": (
            [w0, w1],
            [b0, np.array(["a", "b", "c"])],
            TypeError,
            r"intercepts_\[1\]: expected a numeric array, found dtype <U1",
        ),
        "1-D": (
            [w0, np.ones(9)],
            [b0, b1],
            ValueError,
            r"coefs_\[1\]: expected a 2-D array, found shape \(9,\)",
        ),
        "placeholder": (
            [0, 0],
            [b0, b1],
            ValueError,
            r"coefs_\[0\]: expected a 2-D array, found shape \(\)",
        ),
        "array": (
            np.ones((2, 3, 3)),
            [b0, b1],
            TypeError,
            "coefs_: expected a list of arrays, one per layer, found ndarray",
        ),
        "none": ([w0, w1], None, TypeError, "intercepts_: expected a list of arrays"),
    }


USES = {
    "predict": lambda clf, X, y, path: clf.predict(X),
    "predict_proba": lambda clf, X, y, path: clf.predict_proba(X),
    "predict_log_proba": lambda clf, X, y, path: clf.predict_log_proba(X),
    "score": lambda clf, X, y, path: clf.score(X, y),
    "partial_fit": lambda clf, X, y, path: clf.partial_fit(X, y),
    "warm_start_fit": lambda clf, X, y, path: clf.set_params(warm_start=True).fit(X, y),
    "save": lambda clf, X, y, path: clf.save(path),
}


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("case", bad_assignments())
def test_assigned_coefs_that_do_not_fit_are_named_on_use(rng, tmp_path, case, use):
    clf, X, y = fitted_3_4_3(rng)
    model, params = clf._model, clf._model.params.copy()
    coefs, intercepts, error, message = bad_assignments()[case]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    with pytest.raises(error, match=message):
        USES[use](clf, np.ones((2000, 4)) if use.startswith("pred") else X, y, tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
    assert clf._model is model and clf._model.params.tobytes() == params.tobytes()
    assert clf.n_iter_ == 2 and clf.coefs_ is coefs  # still as assigned, still rejected


def child_assigned_coefs():
    """Crash-safety child: every bad assignment, every use, in a fresh interpreter."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for name, (coefs, intercepts, error, message) in bad_assignments().items():
            for use, call in USES.items():
                clf, X, y = fitted_3_4_3(rng)
                clf.coefs_, clf.intercepts_ = coefs, intercepts
                X = np.ones((2000, 4)) if use.startswith("pred") else X
                call = functools.partial(call, clf, X, y, Path(folder) / "c.npz")
                case(f"{name}-{use}", error, call, named=message, unchanged=[clf._model.params])


def test_assigned_coefs_that_do_not_fit_never_crash_the_interpreter(tmp_path):
    records = run_cases(child_assigned_coefs, tmp_path, minimum=len(bad_assignments()) * len(USES))
    assert all("expected" in r for r in records.values())


# -- rejected calls change nothing ---------------------------------------------------------------


def fitted_state(clf):
    """The fitted attributes (public, ending in ``_``) and the parameters, for comparison."""
    state = {k: copy.deepcopy(v) for k, v in vars(clf).items() if k.endswith("_")}
    state.pop("history_", None)
    if hasattr(clf, "coefs_"):
        state["history_ object"] = id(clf.history_)
        state["params"] = clf._model.params.tobytes()
    return state


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name, value in before.items():
        if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            for a, b in zip(after[name], value):
                np.testing.assert_array_equal(a, b)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        else:
            assert after[name] == value, name


def test_a_rejected_warm_start_fit_changes_nothing(rng):
    clf, X, y = fitted_3_4_3(rng, warm_start=True)
    before, predicted = fitted_state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.fit(X[:, :3], y)
    assert_same_state(before, fitted_state(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), predicted)


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize(("name", "value"), INVALID_PARAMETERS[:6])
def test_fit_with_an_invalid_parameter_changes_nothing(rng, name, value, warm_start):
    clf, X, y = fitted_3_4_3(rng, warm_start=warm_start)
    before = fitted_state(clf)
    clf.set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=f"The '{name}' parameter"):
        clf.fit(X, y)
    assert_same_state(before, fitted_state(clf))
