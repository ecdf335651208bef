import pickle
import warnings

import numpy as np
import pytest
from helpers import run_python

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
