import copy
import functools
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import run_python
from test_crash_safety import case, run_cases

import fastmlp
from fastmlp import MLPClassifier
from fastmlp.errors import ModelFileError
from fastmlp.estimator import ConvergenceWarning, NotFittedError

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

#: Checks the estimator is known to fail, with the reason.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "SGD takes one step per row in a shuffled order: a row of weight 2 is one step "
        "with twice the gradient, not two steps, so weights and repeated rows differ"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "as check_sample_weight_equivalence_on_dense_data (sparse input is densified)"
    ),
}


@parametrize_with_checks(
    [MLPClassifier()], expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def blobs(rng, n=120, k=3, d=4, spread=0.6):
    centres = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(scale=spread, size=(n, d)), y


def fit(estimator, X, y, **kwargs):
    """Fit, accepting the ConvergenceWarning of a run that uses all its epochs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "emu"]), np.array([3, 7, 11]), np.array([-1.0, 0.5, 2.0])],
    ids=["strings", "sparse-ints", "floats"],
)
def test_any_labels_map_through_classes(rng, labels):
    X, codes = blobs(rng)
    y = labels[codes]
    if labels.dtype.kind == "f":
        # Non-integer float labels are a regression target, not classes.
        with pytest.raises(ValueError, match="Unknown label type: continuous"):
            MLPClassifier(random_state=0).fit(X, y)
        return
    clf = fit(MLPClassifier((8,), learning_rate=0.05, max_epochs=30, random_state=0), X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert clf.classes_.dtype == labels.dtype
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(clf.predict_log_proba(X), np.log(proba))


def test_binary_problems_have_two_probability_columns(rng):
    X, y = blobs(rng, k=2)
    clf = fit(MLPClassifier((4,), max_epochs=5, random_state=0), X, np.array(["no", "yes"])[y])
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert [W.shape for W in clf.coefs_] == [(4, 4), (4, 2)]
    assert [b.shape for b in clf.intercepts_] == [(4,), (2,)]


def test_fitted_attributes(rng):
    X, y = blobs(rng)
    clf = fit(
        MLPClassifier((5, 4), max_epochs=7, validation_fraction=0.25, tol=0.0, random_state=0),
        X,
        y,
    )
    assert clf.n_features_in_ == 4
    assert clf.n_iter_ == 7 and clf.converged_ is False
    assert len(clf.loss_curve_) == 7 and clf.loss_ == clf.loss_curve_[-1]
    # A validation split is recorded without early stopping too.
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == 7
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    assert isinstance(clf.history_, fastmlp.History) and clf.history_.epochs == 7
    assert clf.history_.config["n_samples"] == 90  # a quarter of 120 held out
    assert isinstance(clf.model_, fastmlp.MLP) and clf.model_.sizes == (4, 5, 4, 3)
    assert clf.model_.dtype == np.float32


def test_max_epochs_without_convergence_warns(rng):
    X, y = blobs(rng)
    with pytest.warns(ConvergenceWarning, match="max_epochs=3 reached"):
        MLPClassifier(max_epochs=3, random_state=0).fit(X, y)


def test_training_stops_when_the_loss_stops_improving(rng):
    X, y = blobs(rng)
    clf = MLPClassifier((8,), learning_rate=0.1, max_epochs=500, n_iter_no_change=3, tol=1e-2)
    clf.set_params(random_state=0).fit(X, y)
    assert clf.converged_ and clf.n_iter_ < 500
    # Stopped because each of the last 3 epochs improved on the best loss so far by
    # less than tol (as scikit-learn's n_iter_no_change counts).
    curve = clf.loss_curve_
    for epoch in range(len(curve) - 3, len(curve)):
        assert curve[epoch] >= min(curve[:epoch]) - 1e-2
    assert any(curve[e] < min(curve[:e]) - 1e-2 for e in range(1, len(curve) - 3))


def test_early_stopping_keeps_the_best_validation_epoch(rng):
    X, y = blobs(rng, n=200, spread=2.5)
    clf = MLPClassifier(
        (64,), learning_rate=0.2, max_epochs=300, early_stopping=True, n_iter_no_change=5
    )
    clf.set_params(random_state=0).fit(X, y)
    assert clf.converged_ and clf.n_iter_ < 300
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    best = int(np.argmin(clf.validation_loss_curve_))
    assert clf.history_.best_epoch == best < clf.n_iter_ - 1
    assert clf.history_.config["n_samples"] == 180  # a tenth of 200 held out


def test_partial_fit_continues_schedule_momentum_and_counts(rng):
    X, y = blobs(rng)
    options = dict(
        hidden_layer_sizes=(6,),
        batch_size=8,
        momentum=0.9,
        shuffle=False,
        lr_schedule=fastmlp.StepDecay(0.1, factor=0.5, every=1),
        n_iter_no_change=10,
        random_state=3,
    )
    whole = fit(MLPClassifier(max_epochs=3, **options), X, y)
    parts = MLPClassifier(**options)
    rates = []
    for _ in range(3):
        parts.partial_fit(X, y, classes=[0, 1, 2])
        rates += parts.history_.lr
    assert rates == whole.history_.lr == [0.1, 0.05, 0.025]
    assert parts.n_iter_ == 3 and parts.loss_curve_ == whole.loss_curve_
    np.testing.assert_array_equal(parts.model_.params, whole.model_.params)


def test_partial_fit_checks_classes(rng):
    X, y = blobs(rng)
    clf = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes: expected every class label on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"y: expected labels among \[0, 1, 2\], found 5"):
        clf.partial_fit(X, np.full(len(X), 5))
    with pytest.raises(ValueError, match=r"classes: expected \[0, 1, 2\] as in the first call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)


def test_warm_start_continues_from_the_fitted_parameters(rng):
    X, y = blobs(rng)
    clf = fit(MLPClassifier((4,), max_epochs=2, tol=0.0, warm_start=True, random_state=0), X, y)
    first = clf.model_.params.copy()
    fit(clf, X, y)
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4
    cold = fit(MLPClassifier((4,), max_epochs=2, tol=0.0, random_state=0), X, y)
    np.testing.assert_array_equal(cold.model_.params, first)
    assert not np.array_equal(clf.model_.params, first)
    with pytest.raises(ValueError, match=r"y: warm_start expects the classes \[0, 1, 2\]"):
        clf.fit(X, np.where(y == 2, 9, y))


def test_same_random_state_gives_identical_models(rng):
    X, y = blobs(rng)
    a = fit(MLPClassifier((4,), max_epochs=3, random_state=7), X, y)
    b = fit(MLPClassifier((4,), max_epochs=3, random_state=7), X, y)
    c = fit(MLPClassifier((4,), max_epochs=3, random_state=8), X, y)
    np.testing.assert_array_equal(a.model_.params, b.model_.params)
    assert not np.array_equal(a.model_.params, c.model_.params)


def test_sparse_input_gives_the_same_model_as_dense(rng):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = blobs(rng)
    X[np.abs(X) < 1] = 0
    dense = fit(MLPClassifier((4,), max_epochs=3, random_state=0), X, y)
    sparse = fit(MLPClassifier((4,), max_epochs=3, random_state=0), scipy_sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.model_.params, dense.model_.params)
    np.testing.assert_array_equal(
        sparse.predict_proba(scipy_sparse.csr_array(X)), dense.predict_proba(X)
    )


def test_pipeline_grid_search_and_cross_validation(rng):
    X, y = blobs(rng, n=150)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((8,), learning_rate=0.05, max_epochs=20, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        search = GridSearchCV(pipe, {"mlpclassifier__learning_rate": [0.01, 0.1]}, cv=3)
        search.fit(X, y)
    assert scores.mean() > 0.9
    assert search.best_params_["mlpclassifier__learning_rate"] in (0.01, 0.1)
    assert search.score(X, y) > 0.9
    assert clone(pipe).get_params()["mlpclassifier__hidden_layer_sizes"] == (8,)


def test_predicting_before_fit_raises_not_fitted(rng):
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        MLPClassifier().predict(rng.normal(size=(2, 3)))
    assert not hasattr(MLPClassifier(), "coefs_")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_epochs": 0}, "max_epochs: expected an integer >= 1, found 0"),
        ({"n_iter_no_change": 1.5}, "n_iter_no_change: expected an integer >= 1, found 1.5"),
        ({"tol": -1.0}, r"tol: expected a real number >= 0, found -1.0"),
        ({"validation_fraction": 1.5}, r"validation_fraction: expected a number in \(0, 1\)"),
        ({"batch_size": "big"}, "batch_size: expected an integer or 'auto', found 'big'"),
        ({"random_state": "x"}, "random_state: expected None, an integer"),
        ({"activation": "swish"}, "activation"),
        ({"dtype": "float16"}, "dtype: expected one of"),
        ({"learning_rate": -0.1}, "learning_rate: expected a finite value > 0"),
    ],
)
def test_bad_parameters_are_named_in_fit_not_init(rng, params, message):
    X, y = blobs(rng, n=20)
    clf = MLPClassifier(**params)  # __init__ only stores them
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)


def test_batch_size_auto_takes_up_to_200_rows(rng):
    X, y = blobs(rng, n=300)
    clf = fit(MLPClassifier((4,), batch_size="auto", max_epochs=1, random_state=0), X, y)
    assert clf.history_.steps_per_epoch == 2
    small = fit(
        MLPClassifier((4,), batch_size="auto", max_epochs=1, random_state=0), X[:50], y[:50]
    )
    assert small.history_.steps_per_epoch == 1


@pytest.mark.parametrize(
    "labels", [np.array(["cat", "dog", "emu"]), np.array([3, 7, 11], dtype=np.int32)]
)
def test_save_and_load_round_trip_exactly(tmp_path, rng, labels):
    X, codes = blobs(rng)
    y = labels[codes]
    clf = fit(MLPClassifier((5,), max_epochs=4, validation_fraction=0.2, random_state=0), X, y)
    path = clf.save(tmp_path / "clf.npz")
    loaded = fastmlp.load(path)
    assert isinstance(loaded, MLPClassifier)
    assert loaded.get_params() == clf.get_params()
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.loss_curve_ == clf.loss_curve_ and loaded.n_iter_ == clf.n_iter_
    assert loaded.validation_scores_ == clf.validation_scores_
    # The loaded estimator keeps training.
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == clf.n_iter_ + 1


def test_a_changed_parameter_byte_is_detected(tmp_path, rng):
    X, y = blobs(rng)
    path = fit(MLPClassifier((3,), max_epochs=1, random_state=0), X, y).save(tmp_path / "c.npz")
    with np.load(path, allow_pickle=False) as archive:
        params, metadata = archive["params"].copy(), archive["metadata"]
    params[0] += 1
    with open(path, "wb") as f:
        np.savez(f, params=params, metadata=metadata)
    with pytest.raises(ModelFileError, match="do not match the digest"):
        fastmlp.load(path)


def test_pickle_round_trip(rng):
    X, y = blobs(rng)
    clf = fit(MLPClassifier((3,), max_epochs=2, random_state=0), X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


WITHOUT_SKLEARN = """
import sys, warnings
sys.modules["sklearn"] = None  # import sklearn now raises ImportError
import numpy as np
from fastmlp import MLPClassifier
from fastmlp.estimator import ConvergenceWarning, NotFittedError
assert [c.__name__ for c in MLPClassifier.__mro__[1:3]] == ["_Params", "object"]
clf = MLPClassifier((4,), max_epochs=5, random_state=0)
assert clf.get_params()["hidden_layer_sizes"] == (4,)
assert clf.set_params(learning_rate=0.1) is clf and clf.learning_rate == 0.1
try:
    clf.set_params(speed=3)
except ValueError as error:
    assert "unknown parameter 'speed'" in str(error)
try:
    clf.predict(np.zeros((1, 2)))
except NotFittedError:
    pass
twin = type(clf)(**clf.get_params())  # what clone does
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 2)); y = np.where(X[:, 0] > 0, "right", "left")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(X, y); twin.fit(X, y)
assert (clf.predict_proba(X) == twin.predict_proba(X)).all()
print(repr(clf), clf.score(X, y) > 0.9, issubclass(NotFittedError, AttributeError))
"""


def test_works_without_scikit_learn(tmp_path):
    out = run_python(WITHOUT_SKLEARN, tmp_path)
    assert out == (
        "MLPClassifier(hidden_layer_sizes=(4,), learning_rate=0.1, max_epochs=5, "
        "random_state=0) True True"
    )


# -- assigned coefs_ / intercepts_ ---------------------------------------------------------


def fitted_3_4_3(rng, **params):
    """A fitted 4 -> 3 -> 3 estimator on blobs, and its data."""
    X, y = blobs(rng, n=60)
    return fit(MLPClassifier((3,), max_epochs=2, random_state=0, **params), X, y), X, y


def forward(coefs, intercepts, X):
    """Probabilities of a sigmoid network with these parameters, in float64."""
    a = np.asarray(X, np.float64)
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        z = a @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        a = 1 / (1 + np.exp(-z)) if l < len(coefs) - 1 else z
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_coefs_read_after_fit_are_the_fitted_weights(rng):
    clf, X, _ = fitted_3_4_3(rng)
    assert all(W is V for W, V in zip(clf.coefs_, clf.model_.weights))
    assert all(b is c for b, c in zip(clf.intercepts_, clf.model_.biases))
    assert clf.coefs_ is clf.coefs_  # one list, so clf.coefs_[0] = W is kept
    np.testing.assert_allclose(
        clf.predict_proba(X), forward(clf.coefs_, clf.intercepts_, X), rtol=1e-5, atol=1e-6
    )


def test_assigned_coefs_and_intercepts_are_used(rng):
    clf, X, _ = fitted_3_4_3(rng)
    coefs = [rng.normal(size=(4, 3)), rng.normal(size=(3, 3))]  # float64, a float32 model
    intercepts = [rng.normal(size=3), rng.normal(size=3)]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    assert clf.coefs_ is coefs  # read back as assigned, as in scikit-learn
    expected = forward(coefs, intercepts, X)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf.model_.weights[1], coefs[1].astype(np.float32))
    # Entries replaced in the list are used too (scikit-learn's tests do this).
    clf.coefs_[1] = np.ascontiguousarray(coefs[1][:, ::-1])
    clf.intercepts_[1] = intercepts[1][::-1]
    np.testing.assert_allclose(clf.predict_proba(X), expected[:, ::-1], rtol=1e-5, atol=1e-6)
    assert clf.score(X, clf.classes_[expected[:, ::-1].argmax(axis=1)]) == 1.0


def test_assigned_coefs_of_other_hidden_sizes_make_a_new_network(rng, tmp_path):
    clf, X, y = fitted_3_4_3(rng, momentum=0.5)
    coefs = [rng.normal(size=(4, 6)), rng.normal(size=(6, 2)), rng.normal(size=(2, 3))]
    intercepts = [np.zeros(6), np.ones(2), rng.normal(size=3)]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    expected = forward(coefs, intercepts, X)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    assert clf.model_.sizes == (4, 6, 2, 3)
    loaded = fastmlp.load(clf.save(tmp_path / "clf.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)  # momentum starts afresh for the new shapes
    assert [W.shape for W in clf.coefs_] == [(4, 6), (6, 2), (2, 3)]


def test_a_fresh_fit_replaces_assigned_coefs(rng):
    clf, X, y = fitted_3_4_3(rng)
    clf.coefs_ = [np.ones((2, 2))]  # never used: fit starts afresh
    fit(clf, X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 3), (3, 3)]
    assert clf.predict(X).shape == (60,)


def bad_assignments():
    """``(coefs, intercepts, error, message)``: assignments that do not fit a 4 -> 3 -> 3 net."""
    w0, w1, b0, b1 = np.ones((4, 3)), np.ones((3, 3)), np.zeros(3), np.zeros(3)
    return {
        # The reproduction, a much wider last layer, via the estimator.
        "wide": (
            [w0, np.ones((3, 100000), np.float32)],
            [b0, np.zeros(100000, np.float32)],
            ValueError,
            r"coefs_\[1\]: expected 3 columns \(one per class of classes_\), "
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
        "empty": (
            [],
            [],
            ValueError,
            r"coefs_, intercepts_: expected two lists.*found lengths 0 and 0",
        ),
        "nan": (
            [w0, np.full((3, 3), np.nan)],
            [b0, b1],
            ValueError,
            r"coefs_\[1\]: expected finite values, found 9 non-finite",
        ),
        "huge": (
            [w0 * 1e300, w1],
            [b0, b1],
            ValueError,
            r"coefs_\[0\]: expected values within the range of float32",
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
    model, params = clf.model_, clf.model_.params.copy()
    coefs, intercepts, error, message = bad_assignments()[case]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    with pytest.raises(error, match=message):
        USES[use](clf, np.ones((2000, 4)) if use.startswith("pred") else X, y, tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
    assert clf.model_ is model and clf.model_.params.tobytes() == params.tobytes()
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
                case(f"{name}-{use}", error, call, named=message, unchanged=[clf.model_.params])


def test_assigned_coefs_that_do_not_fit_never_crash_the_interpreter(tmp_path):
    records = run_cases(child_assigned_coefs, tmp_path, minimum=len(bad_assignments()) * len(USES))
    assert all("expected" in r for r in records.values())


def test_pickled_estimator_keeps_views_and_assignments(rng):
    clf, X, _ = fitted_3_4_3(rng)
    assert clf.coefs_  # hands out the list of views
    again = pickle.loads(pickle.dumps(clf))
    assert again.coefs_[0] is again.model_.weights[0]
    coefs = [rng.normal(size=(4, 3)), rng.normal(size=(3, 3))]
    clf.coefs_ = coefs
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(again.coefs_[1], coefs[1].astype(np.float32))


# -- rejected calls change nothing ---------------------------------------------------------


def fitted_state(clf):
    """The fitted attributes (public, ending in ``_``) and the parameters, for comparison."""
    state = {k: copy.deepcopy(v) for k, v in vars(clf).items() if k.endswith("_")}
    state.pop("model_", None), state.pop("history_", None)
    if clf.__sklearn_is_fitted__():
        state["model_ object"] = id(clf.model_)
        state["history_ object"] = id(clf.history_)
        state["params"] = clf.model_.params.tobytes()
        state["coefs_"] = [W.copy() for W in clf.coefs_]
    return state


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        elif name == "coefs_":
            for a, b in zip(after[name], value):
                np.testing.assert_array_equal(a, b)
        else:
            assert after[name] == value, name


def test_a_rejected_warm_start_fit_changes_nothing(rng):
    clf, X, y = fitted_3_4_3(rng, warm_start=True)
    before, predicted = fitted_state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.fit(X[:, :3], y)
    assert clf.n_features_in_ == 4
    assert_same_state(before, fitted_state(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), predicted)


INVALID_PARAMETERS = [
    ("learning_rate", -0.1, "learning_rate: expected a finite value > 0"),
    ("momentum", 1.5, r"momentum: expected a value in \[0, 1\)"),
    ("weight_decay", -1.0, "weight_decay: expected a finite value >= 0"),
    ("batch_size", "big", "batch_size: expected an integer or 'auto'"),
    ("batch_size", 0, "batch_size: expected a finite value > 0"),
    ("lr_schedule", "sometimes", "lr_schedule"),
    ("backend", "cuda", "backend: expected one of"),
    ("hidden_layer_sizes", (0,), "hidden_layer_sizes: expected layer sizes >= 1"),
    ("activation", "swish", "activation: expected one of"),
    ("dtype", "float16", "dtype: expected one of"),
    ("random_state", "x", "random_state: expected None, an integer"),
]


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize(("name", "value", "message"), INVALID_PARAMETERS)
def test_fit_with_an_invalid_parameter_changes_nothing(rng, name, value, message, warm_start):
    clf, X, y = fitted_3_4_3(rng, warm_start=warm_start)
    before = fitted_state(clf)
    clf.set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)
    assert_same_state(before, fitted_state(clf))


@pytest.mark.parametrize(("name", "value", "message"), INVALID_PARAMETERS)
def test_partial_fit_with_an_invalid_parameter_changes_nothing(rng, name, value, message):
    X, y = blobs(rng, n=60)
    options = dict(hidden_layer_sizes=(3,), momentum=0.5, random_state=0)
    clf, twin = MLPClassifier(**options), MLPClassifier(**options)
    clf.set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=message):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert fitted_state(clf) == {} and not clf.__sklearn_is_fitted__()
    clf.set_params(**{name: twin.get_params()[name]})
    for estimator in (clf, twin):
        estimator.partial_fit(X, y, classes=[0, 1, 2])
    before = fitted_state(clf)
    clf.set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=message):
        clf.partial_fit(X, y)
    assert_same_state(before, fitted_state(clf))
    # Not even the random stream of the sample orders moved.
    clf.set_params(**{name: twin.get_params()[name]})
    for estimator in (clf, twin):
        estimator.partial_fit(X, y)
    assert clf.model_.params.tobytes() == twin.model_.params.tobytes()
