"""fastmlp._sklearn_random draws what scikit-learn's MLPs draw, bit for bit, and leaves the
RandomState where they leave it."""

import itertools
import warnings

import numpy as np
import pytest

from fastmlp import _sklearn_random as skr

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import shuffle
from sklearn.utils.extmath import _approximate_mode

RandomState = np.random.RandomState


def assert_same_state(ours, theirs):
    """The two generators are in the same state: equal state tuples, and the next draw agrees."""
    mine, other = ours.get_state(), theirs.get_state()
    assert mine[0] == other[0]
    np.testing.assert_array_equal(mine[1], other[1])
    assert mine[2:] == other[2:]
    assert ours.random_sample() == theirs.random_sample()


def outcome(function, *args, **kwargs):
    """Return ``("ok", result)`` or ``("error", message)`` of ``function(*args, **kwargs)``."""
    try:
        return ("ok", function(*args, **kwargs))
    except ValueError as error:
        return ("error", str(error))


def compare_split(n, test_size, seed, stratify=None):
    """Split with fastmlp and with train_test_split; check both agree, errors included.

    Returns whether the split succeeded (``False`` when both raised the same error).
    """
    ours_rs, theirs_rs = RandomState(seed), RandomState(seed)
    ours = outcome(skr.validation_split, ours_rs, n, test_size, stratify=stratify)
    X = np.arange(n)
    theirs = outcome(
        train_test_split, X, random_state=theirs_rs, test_size=test_size, stratify=stratify
    )
    assert ours[0] == theirs[0], (n, test_size, seed, ours, theirs)
    if ours[0] == "error":
        assert ours[1] == theirs[1]
    else:
        (train, test), (X_train, X_test) = ours[1], theirs[1]
        np.testing.assert_array_equal(X[train], X_train)
        np.testing.assert_array_equal(X[test], X_test)
        assert train.dtype.kind == test.dtype.kind == "i"
    assert_same_state(ours_rs, theirs_rs)  # errors are raised before anything is drawn
    return ours[0] == "ok"


# --- Glorot initialization --------------------------------------------------------------

LAYER_UNITS = [[1, 1], [3, 1], [4, 5, 2], [10, 7, 3, 4], [64, 100, 10]]
ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_glorot_draws_what_init_coef_draws(activation, dtype):
    for units, seed in itertools.product(LAYER_UNITS, [0, 1, 12345]):
        estimator = MLPClassifier(activation=activation)
        estimator._random_state = RandomState(seed)
        ours_rs = RandomState(seed)
        coefs, intercepts = skr.glorot_parameters(ours_rs, units, activation, dtype)
        assert len(coefs) == len(intercepts) == len(units) - 1
        for coef, intercept, fan_in, fan_out in zip(coefs, intercepts, units[:-1], units[1:]):
            coef_init, intercept_init = estimator._init_coef(fan_in, fan_out, dtype)
            for mine, theirs in ((coef, coef_init), (intercept, intercept_init)):
                assert mine.dtype == theirs.dtype == dtype and mine.flags.c_contiguous
                np.testing.assert_array_equal(mine, theirs, strict=True)
        assert_same_state(ours_rs, estimator._random_state)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_glorot_draws_what_initialize_draws(activation):
    """The whole of MLPRegressor._initialize, layer loop included."""
    for units, seed in itertools.product(LAYER_UNITS, [3, 2**32 - 1]):
        estimator = MLPRegressor(activation=activation)
        estimator._random_state = RandomState(seed)
        estimator._initialize(np.zeros((2, units[-1])), units, np.float64)
        ours_rs = RandomState(seed)
        coefs, intercepts = skr.glorot_parameters(ours_rs, units, activation, np.float64)
        for mine, theirs in zip(coefs + intercepts, estimator.coefs_ + estimator.intercepts_):
            np.testing.assert_array_equal(mine, theirs, strict=True)
        assert_same_state(ours_rs, estimator._random_state)


def test_glorot_takes_sigmoid_as_logistic_and_checks_its_arguments():
    logistic = skr.glorot_parameters(RandomState(5), [3, 4, 2], "logistic", np.float64)
    sigmoid = skr.glorot_parameters(RandomState(5), [3, 4, 2], "sigmoid", np.float64)
    relu = skr.glorot_parameters(RandomState(5), [3, 4, 2], "relu", np.float64)
    for mine, theirs in zip(logistic[0] + logistic[1], sigmoid[0] + sigmoid[1]):
        np.testing.assert_array_equal(mine, theirs)
    # Same draws, bound sqrt(2/7) instead of sqrt(6/7): the logistic weights are relu's / sqrt(3).
    np.testing.assert_allclose(logistic[0][0] * np.sqrt(3), relu[0][0], rtol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        skr.glorot_parameters(RandomState(0), [3, 2], "softplus", np.float64)
    with pytest.raises(ValueError, match="layer_units"):
        skr.glorot_parameters(RandomState(0), [3], "relu", np.float64)
    with pytest.raises(TypeError, match="RandomState"):
        skr.glorot_parameters(0, [3, 2], "relu", np.float64)


# --- Shuffling --------------------------------------------------------------------------


def test_shuffled_is_sklearn_shuffle():
    for n, seed in itertools.product([0, 1, 2, 5, 200, 1001], [0, 1, 42]):
        indices = np.arange(n, dtype=int)
        ours_rs, theirs_rs = RandomState(seed), RandomState(seed)
        for _ in range(3):  # one shuffle per epoch, each continuing the stream
            mine = skr.shuffled(ours_rs, indices)
            theirs = shuffle(indices, random_state=theirs_rs)
            np.testing.assert_array_equal(mine, theirs, strict=True)
            indices = mine
        assert_same_state(ours_rs, theirs_rs)


def test_shuffled_reorders_any_values_and_leaves_its_input_alone():
    indices = np.array([7, 3, 9, 1, 4], dtype=np.int32)
    kept = indices.copy()
    mine = skr.shuffled(RandomState(8), indices)
    theirs = shuffle(indices, random_state=RandomState(8))
    np.testing.assert_array_equal(mine, theirs, strict=True)
    np.testing.assert_array_equal(indices, kept)
    np.testing.assert_array_equal(skr.shuffled(RandomState(8), list(indices)), theirs)
    with pytest.raises(ValueError, match="1-D"):
        skr.shuffled(RandomState(0), np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="RandomState"):
        skr.shuffled(np.random.default_rng(0), indices)


# --- Validation split -------------------------------------------------------------------

TEST_SIZES = [0.1, 0.15, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.55, 0.7, 0.9, 0.99, 1, 2, 3, 7, None]


def test_split_sizes_round_as_sklearn():
    for n, test_size in itertools.product(range(0, 60), TEST_SIZES):
        ours = outcome(skr.split_sizes, n, test_size)
        assert (ours[0] == "ok") == compare_split(n, test_size, 0)  # which compares the errors
        if ours[0] == "ok":
            n_train, n_test = ours[1]
            assert n_train + n_test == n and n_train >= 1 and n_test >= 1
    assert skr.split_sizes(100, 0.55) == (44, 56)  # 0.55 * 100 is 55.00000000000001
    assert skr.split_sizes(np.int64(10), np.float64(0.25)) == (7, 3)
    assert skr.split_sizes(10, None) == (7, 3)


def test_validation_split_is_train_test_split():
    for n, test_size, seed in itertools.product(
        [2, 3, 5, 10, 11, 30, 97, 100, 1000], TEST_SIZES, [0, 1, 2]
    ):
        compare_split(n, test_size, seed)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_stratified_split_is_train_test_split(n_classes):
    for n, seed in itertools.product([10, 23, 50, 101, 400], [0, 1, 2]):
        labels = np.random.RandomState(1000 + seed).randint(0, n_classes, n)
        for test_size, kind in itertools.product([0.1, 0.2, 1 / 3, 0.5, 0.8, 5], [int, str]):
            compare_split(n, test_size, seed, stratify=labels.astype(kind))


def test_stratified_by_a_binary_mlps_boolean_column():
    """What MLPClassifier passes: LabelBinarizer's (n, 1) matrix of a binary y, as bools."""
    ran = 0
    for n, seed, share in itertools.product([10, 20, 57, 300], [0, 1, 2, 3], [0.5, 0.2, 0.07]):
        y = np.where(np.random.RandomState(seed).random_sample(n) < share, "spam", "ham")
        stratify = LabelBinarizer().fit_transform(y).astype(bool)
        assert stratify.shape == (n, 1)
        for test_size in [0.1, 0.2, 0.25, 0.5]:
            ran += compare_split(n, test_size, seed, stratify=stratify)
    assert ran > 50  # most splits succeed: the errors are checked, not the only outcome


def test_stratified_by_rows_of_a_matrix_joins_them_as_strings():
    """Rows are classes by their joined strings, so class 10 sorts before class 9."""
    for seed in range(5):
        rs = np.random.RandomState(seed)
        for stratify in (
            rs.randint(8, 12, (80, 1)),
            rs.randint(0, 2, (80, 2)).astype(bool),
            rs.randint(0, 2, (80, 3)) * np.array([1, 10, 100]),
            rs.randint(0, 3, (80, 2)).astype(np.float64) / 2,
        ):
            assert compare_split(80, 0.25, seed, stratify=stratify)


def test_imbalanced_classes_break_ties_at_random_as_sklearn():
    counts_list = [[3, 3, 3], [5, 5, 2, 2], [2, 2, 2, 2, 2, 2], [4, 4, 4, 4, 9], [2, 50], [7, 7]]
    for counts, seed in itertools.product(counts_list, range(4)):
        labels = np.repeat(np.arange(len(counts)), counts)
        np.random.RandomState(seed).shuffle(labels)
        for test_size in [0.2, 0.3, 0.5, len(counts), len(counts) + 1]:
            compare_split(len(labels), test_size, seed, stratify=labels)


def test_approximate_mode_is_sklearns():
    """Ties among the remainders are drawn with choice, also when every tied class is taken."""
    for counts, seed in itertools.product(
        [[3, 3, 3], [1, 1, 1, 1], [5, 5, 2, 2], [10, 1], [4, 4, 4, 4, 9], [6, 3, 3, 2]], range(3)
    ):
        counts = np.array(counts)
        for n_draws in range(1, counts.sum() + 1):
            ours_rs, theirs_rs = RandomState(seed), RandomState(seed)
            mine = skr._approximate_mode(counts, n_draws, ours_rs)
            np.testing.assert_array_equal(mine, _approximate_mode(counts, n_draws, theirs_rs))
            assert mine.sum() == n_draws
            assert_same_state(ours_rs, theirs_rs)


def test_split_errors_are_sklearns():
    bad_sizes = [0.0, 1.0, 1.5, -0.1, float("nan"), 0, -1, 10, 11, True, False]
    bad_sizes += [np.uint8(3), np.float32(0.3), "a", 0.95]
    for test_size in bad_sizes:
        assert not compare_split(10, test_size, 0)
    assert compare_split(10, np.int32(3), 0)
    one_member = np.array([0, 0, 0, 1, 1, 1, 2, 3, 3, 3])
    for stratify, test_size in [
        (one_member, 0.3),  # class 2 has 1 row
        (one_member.astype(str), 0.3),
        (np.array([[True]] * 9 + [[False]]), 0.3),
        (np.arange(10) % 4, 0.2),  # test set of 2 rows for 4 classes
        (np.arange(10) % 4, 0.7),  # train set of 3 rows for 4 classes
        (np.r_[np.nan, np.ones(9)], 0.3),
        (np.r_[np.inf, np.ones(9)], 0.3),
        (np.ones((10, 1, 1)), 0.3),
        (np.ones((10, 0)), 0.3),
        (np.arange(12) % 2, 0.3),
        (np.arange(8) % 2, 0.3),
        (np.arange(10) % 2, 0.0),  # test_size is checked before stratify
    ]:
        assert not compare_split(10, test_size, 0, stratify=stratify)


def test_validation_split_checks_its_generator():
    with pytest.raises(TypeError, match="RandomState"):
        skr.validation_split(0, 10, 0.2)
    with pytest.raises(TypeError, match="n_samples"):
        skr.validation_split(RandomState(0), 10.0, 0.2)


# --- The order of the draws in a whole fit -------------------------------------------------


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_a_fit_draws_glorot_then_the_split_then_one_shuffle_per_epoch(kind, early_stopping):
    """Replaying the calls in MLP's order leaves the RandomState where fit leaves it."""
    seed, n, epochs, hidden = 7, 60, 3, (5, 4)
    rs = np.random.RandomState(0)
    X = rs.standard_normal((n, 3))
    if kind == "regression":
        y = rs.standard_normal((n, 2))
        estimator, outputs, stratify = MLPRegressor, 2, None
    else:
        y = rs.randint(0, 2 if kind == "binary" else 3, n)
        binarized = LabelBinarizer().fit_transform(y).astype(bool)
        outputs = binarized.shape[1]
        estimator, stratify = MLPClassifier, (binarized if outputs == 1 else None)
    model = estimator(
        hidden_layer_sizes=hidden,
        activation="tanh",
        random_state=seed,
        max_iter=epochs,
        batch_size=16,
        early_stopping=early_stopping,
        n_iter_no_change=epochs + 1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ == epochs

    ours_rs = RandomState(seed)
    skr.glorot_parameters(ours_rs, [3, *hidden, outputs], "tanh", X.dtype)
    n_train = n
    if early_stopping:
        train, _ = skr.validation_split(ours_rs, n, 0.1, stratify=stratify)
        n_train = len(train)
    order = np.arange(n_train)
    for _ in range(epochs):
        order = skr.shuffled(ours_rs, order)
    assert_same_state(ours_rs, model._random_state)
