"""scikit-learn's random draws for its MLPs, reproduced without scikit-learn.

``MLPClassifier`` and ``MLPRegressor`` draw from one legacy
``numpy.random.RandomState`` in a fixed order: the Glorot initialization of
every layer (``_initialize``/``_init_coef``), the early-stopping validation
split (``train_test_split``, stratified for a single-output classifier), then
one shuffle of the sample indices per epoch (``sklearn.utils.shuffle``). The
functions here make the same calls on the ``RandomState`` they are given, in
the same order and with the same arguments, so that an estimator seeded with
the same integer draws bit-identical numbers and leaves the state where
scikit-learn leaves it. scikit-learn is optional for fastmlp: nothing here
imports it; ``tests/test_sklearn_random.py`` compares against it.

The error messages are scikit-learn's, word for word, and every error is a
``ValueError`` raised before anything is drawn, as there.
"""

import math

import numpy as np

from .names import SIGMOID, activation_code

#: The ``test_size`` scikit-learn's ``train_test_split`` takes when given None.
DEFAULT_TEST_SIZE = 0.25


def _as_random_state(random_state):
    """Return ``random_state`` if it is a legacy ``RandomState``, else raise a TypeError.

    An integer seed is refused rather than seeded here: each call would start
    a fresh stream, and the draws of later calls would no longer continue it.
    """
    if not isinstance(random_state, np.random.RandomState):
        found = type(random_state).__name__
        raise TypeError(f"random_state: expected a numpy.random.RandomState, found {found}")
    return random_state


def glorot_parameters(random_state, layer_units, activation, dtype):
    """Draw the initial weights and biases of scikit-learn's MLPs.

    Reproduces ``BaseMultilayerPerceptron._initialize``: for each layer in
    turn, the weights, then the biases, uniform in ``[-b, b)`` with
    ``b = sqrt(factor / (fan_in + fan_out))``, ``factor`` 2 for the logistic
    activation and 6 otherwise.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        Drawn from by two calls to ``uniform`` per layer: weights, then biases.
    layer_units : sequence of int
        The width of every layer, inputs first and outputs last.
    activation : str
        The hidden layers' activation: a name of ``fastmlp.names.ACTIVATIONS``.
        ``"logistic"`` (and its alias ``"sigmoid"``) takes factor 2.
    dtype : numpy dtype
        The parameters' dtype; they are drawn in float64 and cast, as scikit-learn does.

    Returns
    -------
    coefs : list of numpy.ndarray
        ``coefs[l]`` of shape ``(layer_units[l], layer_units[l + 1])``, C-contiguous.
    intercepts : list of numpy.ndarray
        ``intercepts[l]`` of shape ``(layer_units[l + 1],)``.
    """
    rs = _as_random_state(random_state)
    factor = 2.0 if activation_code(activation) == SIGMOID else 6.0
    units = [int(u) for u in layer_units]
    if len(units) < 2 or min(units) < 1:
        raise ValueError(f"layer_units: expected at least 2 widths >= 1, found {list(layer_units)}")
    coefs, intercepts = [], []
    for l in range(len(units) - 1):
        fan_in, fan_out = units[l], units[l + 1]
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rs.uniform(-bound, bound, (fan_in, fan_out))
        intercept = rs.uniform(-bound, bound, fan_out)
        coefs.append(np.ascontiguousarray(coef.astype(dtype, copy=False)))
        intercepts.append(np.ascontiguousarray(intercept.astype(dtype, copy=False)))
    return coefs, intercepts


def shuffled(random_state, indices):
    """Return ``indices`` in the order ``sklearn.utils.shuffle(indices, random_state=rs)`` gives.

    ``shuffle`` (``resample`` without replacement) shuffles ``arange(n)`` in
    place and indexes with it; the values of ``indices`` never reach the
    generator, so only their number matters to the draws.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        Drawn from by one ``shuffle`` of ``len(indices)`` elements.
    indices : array_like of int, 1-D
        The indices to reorder (``MLP``'s ``sample_idx``); left unchanged.

    Returns
    -------
    numpy.ndarray
        A new array: ``indices`` reordered, same dtype.
    """
    rs = _as_random_state(random_state)
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"indices: expected a 1-D array, found shape {indices.shape}")
    order = np.arange(indices.shape[0])
    rs.shuffle(order)
    return indices[order]


def _check_test_size(test_size):
    """Raise as ``train_test_split``'s parameter validation for a ``test_size`` it refuses.

    It takes a Python float (``numpy.float64`` included, ``float32`` not) in
    (0, 1) or an integer >= 1; ``_validate_shuffle_split`` then refuses bools
    and unsigned integers, which the first check lets through.
    """
    is_fraction = isinstance(test_size, float) and 0 < test_size < 1
    is_count = isinstance(test_size, (int, np.integer)) and test_size >= 1
    if not (is_fraction or is_count):
        raise ValueError(
            "The 'test_size' parameter of train_test_split must be a float in the range "
            f"(0.0, 1.0), an int in the range [1, inf) or None. Got {test_size!r} instead."
        )
    if np.asarray(test_size).dtype.kind not in ("i", "f"):
        raise ValueError(f"Invalid value for test_size: {test_size}")


def split_sizes(n_samples, test_size):
    """Return ``(n_train, n_test)`` as ``train_test_split(..., test_size=test_size)`` splits.

    Reproduces ``_validate_shuffle_split`` with ``train_size=None``: a
    fraction's test set is rounded up and the train set is the rest.

    Parameters
    ----------
    n_samples : int
        The number of rows, >= 0.
    test_size : float, int or None
        A fraction in (0, 1) (a Python float), a number of rows >= 1, or None
        for ``DEFAULT_TEST_SIZE``.

    Returns
    -------
    n_train, n_test : int
        They add up to ``n_samples``; ``n_train`` >= 1.

    Raises
    ------
    ValueError
        With scikit-learn's message, for a ``test_size`` it refuses or one
        that leaves no row to train on.
    """
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool):
        raise TypeError(f"n_samples: expected an int, found {type(n_samples).__name__}")
    if n_samples < 0:
        raise ValueError(f"n_samples: expected an int >= 0, found {n_samples}")
    test_size = DEFAULT_TEST_SIZE if test_size is None else test_size
    _check_test_size(test_size)
    if isinstance(test_size, float):
        # The float product, as scikit-learn rounds it up: ceil(0.55 * 100) is 56.
        n_test = math.ceil(test_size * n_samples)
    elif test_size >= n_samples:
        raise ValueError(
            f"test_size={test_size} should be either positive and smaller than the number "
            f"of samples {n_samples} or a float in the (0, 1) range"
        )
    else:
        n_test = int(test_size)
    n_train = int(n_samples - n_test)
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size=None, the "
            "resulting train set will be empty. Adjust any of the aforementioned parameters."
        )
    return n_train, int(n_test)


def validation_split(random_state, n_samples, test_size, stratify=None):
    """Return the rows ``train_test_split`` puts in the train and the test set.

    ``X[train], X[test]`` are what ``train_test_split(X, ..., test_size=test_size,
    random_state=rs, stratify=stratify)`` returns for ``X``: ``ShuffleSplit``'s
    first split without ``stratify``, ``StratifiedShuffleSplit``'s with it.
    scikit-learn's MLPs split so with ``early_stopping``, stratified by the
    label-binarized boolean targets when a classifier has one output (a
    binary problem's ``(n, 1)`` matrix).

    Parameters
    ----------
    random_state : numpy.random.RandomState
        Drawn from as scikit-learn does; nothing is drawn when an error is raised.
    n_samples : int
        The number of rows to split.
    test_size : float, int or None
        See ``split_sizes``.
    stratify : array_like of shape (n_samples,) or (n_samples, n_labels), optional
        Class labels to keep the proportions of; a 2-D array's rows are
        classes, each row joined into one string as scikit-learn does.

    Returns
    -------
    train, test : numpy.ndarray of int
        Row indices, in the order scikit-learn returns them.

    Raises
    ------
    ValueError
        With scikit-learn's message: see ``split_sizes``; for ``stratify``,
        non-finite labels, a wrong shape or length, a class of fewer than 2
        rows, or a train or test set smaller than the number of classes.
    """
    rs = _as_random_state(random_state)
    n_train, n_test = split_sizes(n_samples, test_size)
    if stratify is None:
        permutation = rs.permutation(n_samples)
        return permutation[n_test : n_test + n_train], permutation[:n_test]
    counts, members = _classes(_stratify_labels(stratify, n_samples), n_train, n_test)
    return _stratified_split(rs, counts, members, n_train, n_test)


def _stratify_labels(stratify, n_samples):
    """Return ``stratify`` checked as ``check_array(y, ensure_2d=False, dtype=None)`` does, 1-D.

    A 2-D array's rows become strings, joined as scikit-learn joins them
    (not ``str(row)``, which elides long rows), so classes sort as strings.
    """
    y = np.asarray(stratify)
    if y.ndim not in (1, 2):
        raise ValueError(f"Found array with dim {y.ndim}, while dim <= 2 is required.")
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={y.shape}) while a minimum of 1 is required."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        found = "NaN" if np.isnan(y).any() else f"infinity or a value too large for {y.dtype!r}"
        raise ValueError(f"Input y contains {found}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {y.shape[0]}]"
        )
    if y.ndim == 2:
        y = np.array([" ".join(row.astype("str")) for row in y])
    return y


def _classes(y, n_train, n_test):
    """Return each class's row count and rows (ascending), as ``StratifiedShuffleSplit``.

    Raises its errors: a class of one row, or a set too small to hold every class.
    """
    classes, y_indices, counts = np.unique(y, return_inverse=True, return_counts=True)
    if np.min(counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The "
            "minimum number of groups for any class cannot be less than 2. Classes with too "
            f"few members are: {classes[counts < 2].tolist()}"
        )
    for name, size in (("train_size", n_train), ("test_size", n_test)):
        if size < classes.shape[0]:
            raise ValueError(
                f"The {name} = {size} should be greater or equal to the number of "
                f"classes = {classes.shape[0]}"
            )
    members = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(counts)[:-1])
    return counts, members


def _stratified_split(rs, counts, members, n_train, n_test):
    """Draw ``StratifiedShuffleSplit``'s first split from class ``counts`` and ``members``."""
    n_i = _approximate_mode(counts, n_train, rs)
    t_i = _approximate_mode(counts - n_i, n_test, rs)
    train, test = [], []
    for rows, count, n, t in zip(members, counts, n_i, t_i):
        rows = rows.take(rs.permutation(count))
        train.append(rows[:n])
        test.append(rows[n : n + t])
    return rs.permutation(np.concatenate(train)), rs.permutation(np.concatenate(test))


def _approximate_mode(class_counts, n_draws, rs):
    """Return scikit-learn's ``_approximate_mode``: per-class draws adding up to ``n_draws``.

    Each class gets the floor of its share, and the rows left over go to the
    largest remainders; among equal remainders, more than are needed, the
    lucky classes are drawn at random. ``choice`` draws even when every tied
    class is taken, so it is called exactly as scikit-learn calls it.
    """
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rs.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
