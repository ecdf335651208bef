"""Property-based tests: any input to a public entry point ends in a documented error or a result.

Hypothesis draws inputs for ``MLP(...)``, ``train``, ``gradients``, ``predict``,
``predict_proba``, ``evaluate``, ``loss``, ``accuracy``, ``MLPClassifier.fit``
and ``predict``, ``fastmlp.load`` and ``load_mnist``: random shapes (0-D to 4-D,
0 rows or columns), dtypes (bool, int8/32/64, uint8, float16/32/64, complex,
object, str), NaN/inf/out-of-range values anywhere, labels out of range,
negative, huge or fractional, mismatched lengths, ragged lists, C, Fortran and
reversed layouts, and bad hyperparameters (0, negative, NaN, inf, huge, bool,
str, None). An oracle lists the defects of each input; the call must then
raise an error of one of those defects' classes whose message names the
argument, or, for an input without defects, return a result that is checked
(shapes, dtypes, finite probabilities summing to 1, labels in range). A
training run may also end in ``TrainingDivergedError`` (the loss turned
non-finite), with the model back at finite parameters.

The classes of bad input and what each gets (``BAD_INPUT_CLASSES``;
``test_bad_input_census`` checks that every class is tried and prints how often).
The classes of argument validation (ragged to seed, and data-dir-type) take their
exception classes and whole messages from the rules table,
``fastmlp._checks.RULES``; the fragments below are the start of those messages:

===============  ==========================================================================
class            bad input -> exception: message fragment
===============  ==========================================================================
ragged           ragged nested lists for X, y, sample_weight
                 -> ValueError: ``X: expected an array, found a list numpy cannot convert``
dtype            bool, complex, object, str arrays
                 -> TypeError: ``X: expected a numeric array, found dtype``
ndim             0-D, 1-D, 4-D X; 0-D or 2-D+ sample_weight
                 -> ValueError: ``X: expected a 2-D array, found shape``
images           3-D X (n, h, w) with h * w != sizes[0]
                 -> ValueError: ``X: expected a 2-D array of shape (n, d) or 3-D images``
empty            0 rows or 0 columns
                 -> ValueError: ``X: expected a non-empty array, found shape``
width            rows of the wrong width, sample_weight of the wrong length
                 -> ValueError: ``X: expected size d on axis 1, found shape``
nonfinite        NaN, inf or -inf anywhere
                 -> ValueError: ``X: expected finite values, found k non-finite (first at``
range            finite values beyond float32 (1e39, -1e300) for a float32 model
                 -> ValueError: ``X: expected values within the range of float32``
label-range      labels >= n_classes, -1, 2**40, 2**62, 1e20
                 -> ValueError: ``y: expected labels in [0, k), found``
label-fraction   labels 0.5, NaN, inf
                 -> ValueError: ``y: expected whole-number class labels, found``
label-dtype      bool, complex, str, object, datetime labels
                 -> TypeError: ``y: expected integer class labels, found dtype``
label-count      len(y) != len(X)
                 -> ValueError: ``y: expected n labels (one per row of X), found``
label-ndim       y of 0 or 2 dimensions
                 -> ValueError: ``y: expected a 1-D array of class labels``
count-type       epochs, batch_size of 2.0, NaN, True, "2", None, [1], 1j
                 -> TypeError: ``batch_size: expected an integer, found``
count-value      epochs, batch_size of 0, -1, 2**63, 2**70
                 -> ValueError: ``batch_size: expected a finite value > 0`` / ``a value <= 2**63-1``
real-type        lr, momentum, weight_decay of True, "2", None, [1], 1j
                 -> TypeError: ``lr: expected a real number, found``
real-value       lr 0, -0.1, NaN, inf, 10**400; momentum 1, -0.1; weight_decay < 0, NaN
                 -> ValueError: ``lr: expected a finite value > 0``,
                 ``momentum: expected a value in [0, 1)``,
                 ``weight_decay: expected a finite value >= 0``
negative-weight  sample_weight < 0
                 -> ValueError: ``sample_weight: expected weights >= 0, found``
backend          backend="torch"
                 -> ValueError: ``backend: expected one of``
sizes            < 2 entries, 0, -1, 1.5, NaN, "a", True, None, 7, too large to allocate
                 -> TypeError/ValueError: ``sizes: expected ...``
activation       "identity", "Sigmoid", "", None, 1
                 -> ValueError: ``activation: expected one of``
dtype-name       float16, int32, int64, complex128, bool, object, None, "nope", []
                 -> ValueError: ``dtype: expected one of ['float32', 'float64']``
seed             -1, 1.5, "a", [-1], NaN
                 -> TypeError/ValueError: ``seed: expected None, an integer >= 0, ...``
estimator-param  MLPClassifier hidden_layer_sizes None, -1, "10"; learning_rate_init 0, NaN,
                 "x"; batch_size 0, "big", 2.5; max_iter 0, 1.5; momentum 1.5, "x";
                 dtype float16
                 -> scikit-learn's InvalidParameterError, word for word as its own
                 MLPClassifier words it (``The 'max_iter' parameter of MLPClassifier must
                 be ...``; fastmlp's ``dtype`` in the same words)
estimator-data   MLPClassifier X or y: one class, NaN, 0.5, complex, wrong length, 2-D y, None;
                 hidden_layer_sizes (0,), (1.5,), (True,)
                 -> the error scikit-learn's own MLPClassifier raises for the same fit, its
                 type and message
model-file       random bytes, npz files with random entries, params or metadata
                 -> ModelFileError (a ValueError): ``<path>: ...``
mnist-missing    empty folder, some files missing, a missing folder
                 -> DatasetError (a ValueError): ``train-images-idx3-ubyte: not found in <dir>``
mnist-corrupt    random, gzip-compressed random, broken gzip or IDX-header files
                 -> DatasetError: ``<file>: SHA-256 of the decompressed ...``,
                 ``<file>: not a readable gzip file``
mnist-not-dir    data_dir is a file
                 -> DatasetError: ``data_dir: expected a folder of MNIST files``
data-dir-type    data_dir 5, 3.5, b"/tmp", ["a"], object()
                 -> TypeError: ``data_dir: expected a folder as str or os.PathLike``
diverged         valid but huge lr (1e3, 1e30) or weight decay (1e3)
                 -> TrainingDivergedError (a FloatingPointError): ``training diverged in epoch``
===============  ==========================================================================

A batch larger than the data is not an error: ``train`` warns (UserWarning
``batch_size: N is larger than the n rows of X; using n``) and trains; the
tests require that warning and allow no other (ConvergenceWarning,
DataConversionWarning and scikit-learn's batch-size clipping warning are allowed
for the estimator, which is scikit-learn's drop-in: it answers every input as
scikit-learn's own MLPClassifier does). The low-level kernel
wrappers (``fastmlp.kernels``) get bad input in a subprocess, in
``test_crash_safety.py``.

Examples per run: 300 + 200 + 300 + 150 + 150 + 100 + 100 + 80 = 1380 drawn
inputs (a tenth under the quick Hypothesis profile of ``nox -s quick``), plus 43
explicit ``@example`` cases and the plain tests.
"""

from __future__ import annotations

import collections
import gzip
import itertools
import json
import math
import numbers
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import rule_regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.utils._param_validation import InvalidParameterError

import fastmlp
from fastmlp import MLP, MLPClassifier, gradients, names, train
from fastmlp._checks import RULES
from fastmlp.datasets import fetch_mnist, load_mnist
from fastmlp.datasets.mnist import FILES
from fastmlp.errors import DatasetError, ModelFileError, TrainingDivergedError


def rules(*keys, **fields):
    """Return the exception classes and the message regex of the ``RULES`` ``keys`` (any of them).

    The regex is the whole message: each rule's template as ``rule_regex``
    writes it, ``fields`` pinning some of its fields.
    """
    types = tuple(dict.fromkeys(RULES[key].error for key in keys))
    return types, r"^(?:" + "|".join(rule_regex(key, **fields) for key in keys) + r")\Z"


SIZES_TYPES, SIZES_REGEX = rules("sizes-type", "sizes-length", "sizes-value")
#: Not a rule of the table: the sizes are valid, the memory is short (``MLP.__init__``).
TOO_LARGE = r"^{name}: \[[\d, ]+\] needs \d+ parameters \(.* GiB\), more than can be allocated"

#: key -> (bad input, exception types, regex the message must match; {name} is the argument).
#: The classes of argument validation take their exceptions and messages from the table of
#: rules, ``fastmlp._checks.RULES``; the others are not argument checks and keep their own:
#: model-file (a file's format), mnist-* (the data set's files),
#: estimator-data (scikit-learn's wording) and diverged (a run's outcome).
BAD_INPUT_CLASSES = {
    "ragged": ("ragged nested lists", *rules("unconvertible", kind="list")),
    "dtype": ("non-numeric dtype", *rules("numeric")),
    "ndim": ("wrong number of dimensions", *rules("ndim", ndim=r"\d")),
    "images": ("3-D images of the wrong size", *rules("images", width=r"\d+")),
    "empty": ("0 rows or columns", *rules("non-empty")),
    "width": ("wrong width or length", *rules("axis-size", size=r"\d+", axis=r"\d")),
    "nonfinite": ("NaN or inf", *rules("finite", count=r"\d+")),
    "range": ("beyond the model dtype's range", *rules("dtype-range", dtype="float32")),
    "label-range": (
        "label out of range",
        *rules("label-range", n_classes=r"\d+", index=r"\d+"),
    ),
    "label-fraction": ("fractional or non-finite label", *rules("label-whole")),
    "label-dtype": ("non-integer label dtype", *rules("label-dtype")),
    "label-count": ("one label per row", *rules("label-count", n=r"\d+", count=r"\d+")),
    "label-ndim": ("labels not 1-D", *rules("label-ndim")),
    "count-type": ("count of the wrong type", *rules("integer")),
    "count-value": ("count < 1 or beyond int64", *rules("positive", "int64")),
    "real-type": ("real of the wrong type", *rules("real")),
    "real-value": ("real out of range", *rules("positive", "unit-interval", "nonnegative")),
    "negative-weight": ("negative weight", *rules("weights")),
    "backend": ("unknown backend", *rules("choice")),
    "sizes": ("bad layer sizes", SIZES_TYPES, rf"{SIZES_REGEX}|{TOO_LARGE}"),
    # fastmlp.names (below _checks) words its activation check as the "choice" rule does.
    "activation": ("unknown activation", *rules("choice")),
    "dtype-name": (
        "unsupported model dtype",
        *rules("choice", choices=re.escape("['float32', 'float64']")),
    ),
    "seed": ("bad seed", *rules("random-state", "random-state-type")),
    # The drop-in's errors are scikit-learn's, message for message: {name} is the message.
    "estimator-param": ("bad estimator parameter", (InvalidParameterError,), r"^{name}\Z"),
    "estimator-data": ("bad estimator data", (TypeError, ValueError), r"^{name}\Z"),
    "model-file": ("not a fastmlp model file", (ModelFileError,), r"^{name}: "),
    "mnist-missing": (
        "MNIST files missing",
        (DatasetError,),
        r": not found in {name} \(raw or \.gz\)",
    ),
    "mnist-corrupt": (
        "MNIST files corrupted",
        (DatasetError,),
        r"^{name}.*: (SHA-256 of the decompressed|not a readable gzip file|cannot read the file)",
    ),
    "mnist-not-dir": ("data_dir is a file", (DatasetError,), r"^data_dir: expected a folder"),
    "data-dir-type": ("data_dir of a wrong type", *rules("folder-type")),
    "diverged": ("training diverged", (TrainingDivergedError,), r"training diverged in epoch \d+"),
}
#: How many drawn inputs of each class were tried (and got the documented error).
TRIED = collections.Counter()
#: How many valid inputs each test checked the result of.
CHECKED = collections.Counter()

PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


def examples(count):
    """Return ``count`` scaled by the Hypothesis profile (the default draws 100 a test)."""
    return max(1, count * settings().max_examples // 100)


MODEL_DTYPES = ("float32", "float64")
NUMERIC_DTYPES = ("int8", "int32", "int64", "uint8", "float16", "float32", "float64")
OTHER_DTYPES = ("bool", "complex128", "object", "str")
SPECIAL_VALUES = (np.nan, np.inf, -np.inf, 1e39, -1e300)
RAGGED = [[1.0, 2.0], [3.0]]
BATCH_WARNING = r"^batch_size: \d+ is larger than the \d+ rows of X; using \d+"


# -- checking outcomes -------------------------------------------------------------------------


def matches(key, name, error):
    _, types, pattern = BAD_INPUT_CLASSES[key]
    return isinstance(error, types) and re.search(
        pattern.replace("{name}", re.escape(str(name))), str(error)
    )


def outcome(call, defects, *, may_diverge=False, maybe=False, warns=()):
    """Run ``call``; return its result, or None when it raised the error of one of ``defects``.

    ``defects`` is a set of ``(class key, argument name)``: empty means the
    input is valid and the call must succeed (or, with ``may_diverge``, raise
    ``TrainingDivergedError``); with ``maybe`` the input may or may not be
    valid, so either a result or one of the errors will do. ``warns`` lists
    ``(category, regex)`` of the warnings allowed; any other fails the test.
    """
    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as error:
            if may_diverge and not defects and matches("diverged", None, error):
                TRIED["diverged"] += 1
            else:
                found = [(k, n) for k, n in sorted(defects, key=str) if matches(k, n, error)]
                assert found, (
                    f"{'valid input' if not defects else f'input with {sorted(defects, key=str)}'}"
                    f" raised {type(error).__module__}.{type(error).__name__}: {error}"
                )
                TRIED[found[0][0]] += 1
        else:
            assert maybe or not defects, (
                f"bad input {sorted(defects, key=str)} was accepted, returning {result!r}"
            )
            CHECKED[sys._getframe(1).f_code.co_name] += 1
    for w in caught:
        allowed = any(
            issubclass(w.category, category) and re.search(pattern, str(w.message))
            for category, pattern in warns
        )
        assert allowed, f"unexpected {w.category.__name__}: {w.message}"
    return result


def check_probabilities(P, n, k, dtype):
    assert P.shape == (n, k) and P.dtype == dtype
    assert np.isfinite(P).all() and (P >= 0).all() and (P <= 1).all()
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)


# -- strategies ----------------------------------------------------------------------------


@st.composite
def any_array(draw, shapes, *, ragged=True, bound=20.0):
    """An array-like: of a shape from ``shapes`` or any shape, of any dtype, maybe a NaN, inf or
    out-of-range value anywhere, in C, Fortran or reversed layout or as nested lists."""
    if ragged and draw(st.integers(0, 24)) == 0:
        return RAGGED
    shape = draw(
        st.one_of(shapes, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    )
    values = draw(
        hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_subnormal=False))
    )
    special = draw(st.one_of(st.none(), st.sampled_from(SPECIAL_VALUES)))
    if special is not None and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = special
    dtype = draw(st.sampled_from(NUMERIC_DTYPES + NUMERIC_DTYPES + OTHER_DTYPES))
    with np.errstate(all="ignore"):
        if dtype == "bool":
            a = values > 0
        elif np.dtype(dtype).kind in "iu":
            whole = np.round(np.nan_to_num(values, nan=0.0, posinf=9.0, neginf=-9.0))
            a = np.clip(np.abs(whole) if dtype == "uint8" else whole, -100, 100).astype(dtype)
        elif dtype == "str":
            a = values.astype(str)
        else:
            a = values.astype(dtype)
    layout = draw(st.sampled_from(["C", "C", "F", "reversed", "list"]))
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "reversed" and a.ndim:
        a = a[::-1]
    elif layout == "list":
        a = a.tolist()
    return a


def array_defects(name, a, ndim, shape, dtype):
    """The defects ``as_float_array(name, a, dtype, ndim, shape)`` finds in ``a``."""
    try:
        arr = np.asarray(a)
    except ValueError:
        return {("ragged", name)}
    found = set()
    if arr.dtype.kind not in "iuf":
        found.add("dtype")
    if arr.ndim != ndim:
        found.add("ndim")
    if arr.size == 0:
        found.add("empty")
    if any(w is not None and w != g for w, g in zip(shape, arr.shape)) and arr.ndim == ndim:
        found.add("width")
    if arr.dtype.kind == "f" and arr.size:
        if not np.isfinite(arr).all():
            found.add("nonfinite")
        elif np.abs(arr).max() > np.finfo(dtype).max:
            found.add("range")
    return {(key, name) for key in found}


def x_defects(X, width, dtype):
    """The defects ``MLP.check_X`` finds: as ``array_defects``, with 3-D images accepted."""
    try:
        arr = np.asarray(X)
    except ValueError:
        return {("ragged", "X")}
    if arr.ndim != 3:
        return array_defects("X", arr, 2, (None, width), dtype)
    found = array_defects("X", arr, 3, (None, None, None), dtype)
    if arr.shape[1] * arr.shape[2] != width:
        found.add(("images", "X"))
    return found


def label_defects(name, y, n, n_classes):
    """The defects ``as_labels`` finds in ``y`` for ``n`` rows of ``n_classes`` classes."""
    try:
        arr = np.asarray(y)
    except ValueError:
        return {("ragged", name)}
    if arr.ndim != 1:
        return {("label-ndim", name)}
    found = set()
    if len(arr) != n:
        found.add("label-count")
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr) & (arr == np.round(arr))).all():
            found.add("label-fraction")
        elif arr.size and (arr.min() < 0 or arr.max() >= n_classes):
            found.add("label-range")
    elif arr.dtype.kind not in "iu":
        found.add("label-dtype")
    elif arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        found.add("label-range")
    return {(key, name) for key in found}


@st.composite
def any_labels(draw, n, n_classes):
    """Labels: mostly valid, else out of range, negative, huge, fractional, NaN, of another
    dtype, length or dimension, or ragged."""
    kind = draw(
        st.sampled_from(
            ["valid", "valid", "valid", "range", "fraction", "dtype", "length", "ndim", "ragged"]
        )
    )
    y = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    if kind == "range":
        bad = draw(st.sampled_from([n_classes, -1, 2**40, -(2**40), 2**62]))
        y[draw(st.integers(0, n - 1))] = bad
        return draw(st.sampled_from([y, y.astype(np.float64), y.tolist()]))
    if kind == "fraction":
        y = y.astype(np.float64)
        y[draw(st.integers(0, n - 1))] = draw(st.sampled_from([0.5, np.nan, np.inf, -0.25]))
        return y
    if kind == "dtype":
        return draw(
            st.sampled_from(
                [
                    y.astype(bool),
                    y.astype(complex),
                    y.astype(str),
                    y.astype(object),
                    np.full(n, np.datetime64("2020-01-01")),
                ]
            )
        )
    if kind == "length":
        m = draw(st.integers(0, n + 3).filter(lambda m: m != n))
        return np.resize(y, m)
    if kind == "ndim":
        return draw(st.sampled_from([y[:1].reshape(()), y.reshape(1, n), np.stack([y, y], 1)]))
    if kind == "ragged":
        return [[0, 1], [1]]
    return draw(
        st.sampled_from(
            [
                y,
                y.astype(np.int8),
                y.astype(np.uint8),
                y.astype(np.int32),
                y.astype(np.uint64),
                y.astype(np.float16),
                y.astype(np.float32),
                y.astype(np.float64),
                y.tolist(),
                y[::-1],
            ]
        )
    )


def count_defect(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return {("count-type", name)}
    if not 1 <= value <= 2**63 - 1:
        return {("count-value", name)}
    return set()


def real_defect(name, value, low=0.0, high=math.inf, closed=False):
    """Defects of a real in ``(low, high)`` (``[low, high)`` when ``closed``), finite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return {("real-type", name)}
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    inside = (low <= as_float if closed else low < as_float) and as_float < high
    if not (math.isfinite(as_float) and inside):
        return {("real-value", name)}
    return set()


def mostly(valid, bad):
    """Valid values three times in four: a run of several arguments is then often all valid."""
    return st.sampled_from([valid, valid, valid, bad]).flatmap(lambda values: values)


BAD_COMMON = [True, False, "2", None, [1], 1 + 0j]
COUNTS = mostly(
    st.integers(1, 3),
    st.sampled_from([0, -1, -(2**70), 2**70, 2.0, 1.5, np.nan, *BAD_COMMON]),
)
BATCH_SIZES = mostly(
    st.one_of(st.integers(1, 12), st.sampled_from([np.int64(3), 2**40, 2**63 - 1])),
    st.sampled_from([0, -3, 2**63, 2**70, 2.0, np.nan, *BAD_COMMON]),
)
LRS = mostly(
    st.one_of(st.floats(1e-3, 1.0), st.sampled_from([np.float32(0.1), 1, 1e3, 1e30])),
    st.sampled_from([0, 0.0, -0.1, np.nan, np.inf, -np.inf, 10**400, *BAD_COMMON]),
)
MOMENTA = mostly(
    st.sampled_from([0, 0.0, 0.5, 0.9]),
    st.sampled_from([1, 1.0, -0.1, np.nan, np.inf, 10**400, *BAD_COMMON]),
)
WEIGHT_DECAYS = mostly(
    st.sampled_from([0, 0.0, 1e-4, 0.1, 1e3]),
    st.sampled_from([-1e-3, np.nan, np.inf, -np.inf, 10**400, *BAD_COMMON]),
)


# -- MLP inputs ----------------------------------------------------------------------------


def small_model(dtype, activation="sigmoid", sizes=(4, 5, 3), seed=0):
    return MLP(list(sizes), activation, dtype, seed=seed)


X_SHAPES = st.one_of(
    st.tuples(st.integers(1, 6), st.just(4)),
    st.tuples(st.integers(1, 6), st.sampled_from([1, 2, 4]), st.sampled_from([1, 2, 4])),
)


@settings(PROPERTY, max_examples=examples(300))
@given(
    X=any_array(X_SHAPES),
    dtype=st.sampled_from(MODEL_DTYPES),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
)
@example(X=np.ones((2, 4)), dtype="float32", activation="relu")
@example(X=np.ones((3, 2, 2), np.uint8), dtype="float64", activation="tanh")
@example(X=np.full((2, 4), 1e39), dtype="float32", activation="sigmoid")
@example(X=RAGGED, dtype="float32", activation="sigmoid")
@example(X=np.ones((3, 2, 3)), dtype="float32", activation="sigmoid")
@example(X=np.ones((2, 4), bool), dtype="float32", activation="sigmoid")
@example(X=np.ones((0, 4)), dtype="float32", activation="sigmoid")
@example(X=np.ones((2, 5)), dtype="float32", activation="sigmoid")
@example(X=np.ones(4), dtype="float32", activation="sigmoid")
@example(X=np.array([[1, 2, np.nan, 4]]), dtype="float64", activation="sigmoid")
def test_inference_on_any_X(X, dtype, activation):
    model = small_model(dtype, activation)
    defects = x_defects(X, 4, model.dtype)
    P = outcome(lambda: model.predict_proba(X), defects)
    if P is None:
        return
    flat = np.asarray(X).reshape(len(P), -1)
    check_probabilities(P, flat.shape[0], 3, model.dtype)
    np.testing.assert_array_equal(P, model.predict_proba(np.ascontiguousarray(flat)))
    labels = model.predict(X)
    assert labels.dtype == np.int64 and labels.shape == (len(P),)
    assert ((labels >= 0) & (labels < 3)).all()
    np.testing.assert_array_equal(labels, P.argmax(axis=1))


N_LABELS = 5


@settings(PROPERTY, max_examples=examples(200))
@given(
    y=any_labels(N_LABELS, 3),
    dtype=st.sampled_from(MODEL_DTYPES),
    entry=st.sampled_from(
        ["evaluate", "loss", "accuracy", "gradients", "gradients-numpy", "train"]
    ),
)
@example(y=np.array([0, 1, 2, 3, 0]), dtype="float32", entry="train")
@example(y=np.array([0, 1, -1, 2, 0]), dtype="float32", entry="gradients")
@example(y=np.array([0, 1, 2**40, 2, 0]), dtype="float64", entry="evaluate")
@example(y=np.array([0, 1, 2**63, 2, 0], np.uint64), dtype="float64", entry="evaluate")
@example(y=np.array([0, 1, 1e20, 2, 0]), dtype="float64", entry="loss")
@example(y=np.array([0, 1, 0.5, 2, 0]), dtype="float64", entry="accuracy")
def test_labels_of_any_kind(y, dtype, entry):
    n = N_LABELS
    model = small_model(dtype)
    X = np.linspace(-1, 1, n * 4).reshape(n, 4)
    defects = label_defects("y", y, n, 3)
    before = model.params.copy()
    calls = {
        "evaluate": lambda: model.evaluate(X, y),
        "loss": lambda: model.loss(X, y),
        "accuracy": lambda: model.accuracy(X, y),
        "gradients": lambda: gradients(model, X, y),
        "gradients-numpy": lambda: gradients(model, X, y, backend="numpy"),
        "train": lambda: train(model, X, y, epochs=1, lr=0.1),
    }
    result = outcome(calls[entry], defects)
    if result is None:
        np.testing.assert_array_equal(model.params, before)  # nothing ran
        return
    if entry == "evaluate":
        losses, hits = result
        assert losses.shape == hits.shape == (n,) and losses.dtype == np.float64
        assert hits.dtype == np.bool_ and np.isfinite(losses).all() and (losses >= 0).all()
    elif entry in ("loss", "accuracy"):
        assert isinstance(result, float) and math.isfinite(result) and result >= 0
        assert entry == "loss" or result <= 1
    elif entry.startswith("gradients"):
        dWs, dbs = result
        for g, p in zip([*dWs, *dbs], [*model.weights, *model.biases]):
            assert g.shape == p.shape and g.dtype == p.dtype and np.isfinite(g).all()
    else:
        assert result.epochs == 1 and np.isfinite(result.train_loss).all()
        assert np.isfinite(model.params).all()


SAMPLE_WEIGHTS = st.one_of(
    st.none(),
    st.just(np.linspace(0, 2, 8)),
    st.just(np.zeros(8)),
    any_array(st.just((8,)), bound=2.0),
)
GOOD = {
    "dtype": "float32",
    "activation": "sigmoid",
    "epochs": 1,
    "lr": 0.1,
    "batch_size": 1,
    "momentum": 0.0,
    "weight_decay": 0.0,
    "backend": "numba",
    "sample_weight": None,
}


@settings(PROPERTY, max_examples=examples(300))
@given(
    dtype=st.sampled_from(MODEL_DTYPES),
    activation=st.sampled_from(["sigmoid", "relu"]),
    epochs=COUNTS,
    lr=LRS,
    batch_size=BATCH_SIZES,
    momentum=MOMENTA,
    weight_decay=WEIGHT_DECAYS,
    backend=st.sampled_from(["numba", "numba", "numba", "numpy", "torch"]),
    sample_weight=SAMPLE_WEIGHTS,
)
@example(**GOOD)
@example(**{**GOOD, "lr": 1e30})
@example(**{**GOOD, "activation": "relu", "lr": 1e30})
@example(**{**GOOD, "activation": "relu", "lr": 1e30, "batch_size": 3, "momentum": 0.9})
@example(**{**GOOD, "activation": "relu", "lr": 1.0, "weight_decay": 1e3})
@example(**{**GOOD, "activation": "relu", "lr": 1e30, "backend": "numpy"})
@example(**{**GOOD, "batch_size": 2**40, "momentum": 0.5})
@example(**{**GOOD, "batch_size": 2**40, "backend": "torch"})
@example(**{**GOOD, "sample_weight": -np.ones(8)})
@example(**{**GOOD, "sample_weight": [[1.0, 2.0], [3.0]]})
@example(**{**GOOD, "lr": None})  # the optimizer's own rate
def test_train_hyperparameters(
    dtype, activation, epochs, lr, batch_size, momentum, weight_decay, backend, sample_weight
):
    n = 8
    model = small_model(dtype, activation, sizes=(3, 4, 3))
    X, y = np.random.default_rng(0).normal(size=(n, 3)), np.arange(n) % 3
    defects = count_defect("epochs", epochs) | count_defect("batch_size", batch_size)
    # None is the optimizer's own rate (plain SGD's 0.01), a valid lr.
    defects |= set() if lr is None else real_defect("lr", lr)
    defects |= real_defect("momentum", momentum, 0.0, 1.0, closed=True)
    defects |= real_defect("weight_decay", weight_decay, 0.0, closed=True)
    if backend not in ("numba", "numpy"):
        defects.add(("backend", "backend"))
    if sample_weight is not None:
        sw_defects = array_defects("sample_weight", sample_weight, 1, (n,), model.dtype)
        if not sw_defects and (np.asarray(sample_weight) < 0).any():
            sw_defects = {("negative-weight", "sample_weight")}
        defects |= sw_defects
    # A batch larger than the data warns before the later arguments are checked.
    big_batch = not count_defect("batch_size", batch_size) and batch_size > n
    before = model.params.copy()
    history = outcome(
        lambda: train(
            model,
            X,
            y,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            momentum=momentum,
            weight_decay=weight_decay,
            sample_weight=sample_weight,
            backend=backend,
        ),
        defects,
        may_diverge=True,
        warns=[(UserWarning, BATCH_WARNING)] if big_batch else [],
    )
    assert np.isfinite(model.params).all()
    if history is None:
        if defects:
            np.testing.assert_array_equal(model.params, before)
        return
    steps = -(-n // min(batch_size, n))
    assert history.epochs == epochs and len(history.step_loss) == epochs * steps
    assert np.isfinite(history.train_loss).all() and np.isfinite(history.step_loss).all()
    assert all(0 <= a <= 1 for a in history.train_accuracy)


def test_a_batch_larger_than_the_data_warns_and_trains():
    model = small_model("float64", sizes=(3, 4, 3))
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 3
    twin = model.copy()
    with pytest.warns(UserWarning, match=BATCH_WARNING):
        train(model, X, y, epochs=2, batch_size=2**40, shuffle=False)
    train(twin, X, y, epochs=2, batch_size=8, shuffle=False)
    np.testing.assert_array_equal(model.params, twin.params)


# -- the model's constructor ---------------------------------------------------------------

SIZES = st.one_of(
    st.lists(st.integers(1, 5), min_size=2, max_size=4),
    st.lists(st.integers(-2, 5), min_size=0, max_size=4),
    st.lists(
        st.one_of(st.floats(allow_nan=True), st.booleans(), st.text(max_size=2), st.none()),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([[2**40, 2], [2, 2**62, 2], 7, None, "42", np.array([3, 2])]),
)
ACTIVATIONS = st.sampled_from(["sigmoid", "tanh", "relu", "identity", "Sigmoid", "", None, 1])
DTYPE_ARGS = st.sampled_from(
    [
        "float32",
        "float64",
        np.float32,
        np.dtype("float64"),
        "f4",
        "<f8",
        float,
        "float16",
        "int32",
        np.int64,
        "complex128",
        bool,
        None,
        "nope",
        object,
        [],
    ]
)
SEEDS = st.one_of(st.none(), st.integers(0, 2**70), st.sampled_from([-1, 1.5, "a", [-1], np.nan]))


def sizes_defect(sizes):
    try:
        entries = tuple(sizes)
    except TypeError:
        return {("sizes", "sizes")}
    if len(entries) < 2 or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in entries
    ):
        return {("sizes", "sizes")}
    if max(entries) > 2**30:
        return {("sizes", "sizes")}  # too many parameters to allocate
    return set()


def dtype_defect(dtype):
    try:
        ok = dtype is not None and np.dtype(dtype).name in MODEL_DTYPES
    except TypeError:
        ok = False
    return set() if ok else {("dtype-name", "dtype")}


def seed_defect(seed):
    if seed is None or (isinstance(seed, numbers.Integral) and seed >= 0):
        return set()
    return {("seed", "seed")}


@settings(PROPERTY, max_examples=examples(150))
@given(sizes=SIZES, activation=ACTIVATIONS, dtype=DTYPE_ARGS, seed=SEEDS)
@example(sizes=[3, 4, 2], activation="relu", dtype="float64", seed=2**64)
@example(sizes=[1, 1], activation="tanh", dtype=np.float32, seed=None)
@example(sizes=[3, 2], activation="relu", dtype="float32", seed=-1)
@example(sizes=[3, 2], activation="relu", dtype="float32", seed="a")
@example(sizes=[2**40, 2], activation="relu", dtype="float32", seed=0)
@example(sizes=[3, 0, 2], activation="relu", dtype="float32", seed=0)
@example(sizes=[3, 2], activation="identity", dtype="float32", seed=0)
@example(sizes=[3, 2], activation="relu", dtype=None, seed=0)
def test_model_constructor(sizes, activation, dtype, seed):
    defects = sizes_defect(sizes) | dtype_defect(dtype) | seed_defect(seed)
    if not isinstance(activation, str) or activation not in names.ACTIVATIONS:
        defects.add(("activation", "activation"))
    model = outcome(lambda: MLP(sizes, activation, dtype, seed), defects)
    if model is None:
        return
    sizes = tuple(int(s) for s in sizes)
    assert model.sizes == sizes and model.dtype.name in MODEL_DTYPES
    n_params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    assert model.params.shape == (n_params,) and model.params.dtype == model.dtype
    assert np.isfinite(model.params).all()
    assert [W.shape for W in model.weights] == list(itertools.pairwise(sizes))
    if seed is not None:
        np.testing.assert_array_equal(MLP(sizes, activation, dtype, seed).params, model.params)
    check_probabilities(model.predict_proba(np.ones((2, sizes[0]))), 2, sizes[-1], model.dtype)


# -- the estimator -------------------------------------------------------------------------

HIDDEN = mostly(
    st.sampled_from([(), (3,), [2, 2], 3, np.int64(2)]),
    st.sampled_from([(0,), (1.5,), "10", None, -1, (True,)]),
)
LEARNING_RATES = mostly(
    st.sampled_from([0.05, 0.2]), st.sampled_from([0, -1.0, np.nan, np.inf, "x", None, True])
)
EST_BATCH = mostly(
    st.sampled_from([1, 4, "auto", 100]), st.sampled_from([0, "big", 2.5, None, True])
)
EST_ITERATIONS = mostly(st.sampled_from([1, 2, 3]), st.sampled_from([0, -1, 1.5, None, True]))
EST_MOMENTA = mostly(st.sampled_from([0.0, 0.5]), st.sampled_from([1.5, -1, "x"]))
EST_DTYPES = mostly(st.sampled_from([None, *MODEL_DTYPES]), st.sampled_from(["float16", "int32"]))
#: The warnings scikit-learn's MLPClassifier gives for valid input.
EST_WARNINGS = [
    (ConvergenceWarning, "Maximum iterations"),
    (DataConversionWarning, "column-vector y"),
    (UserWarning, r"Got `batch_size` less than 1 or larger than sample size"),
]


def sklearn_parameter_errors(params):
    """Return scikit-learn's message for each of ``params`` its MLPClassifier refuses."""
    messages = []
    for name, value in params.items():
        try:
            SklearnClassifier(**{name: value})._validate_params()
        except InvalidParameterError as error:
            messages.append(str(error))
    return messages


def dtype_message(dtype):
    """Return the message of fastmlp's own ``dtype`` parameter, in scikit-learn's words."""
    return (
        "The 'dtype' parameter of MLPClassifier must be None or a str among "
        f"{set(MODEL_DTYPES)}. Got {dtype!r} instead."
    )


def sklearn_fit(params, X, y):
    """Return scikit-learn's MLPClassifier fitted with ``params``, or the error its fit raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return SklearnClassifier(**params).fit(X, y)
        except Exception as error:
            return error


def rows_of(X):
    """The rows of ``X`` (N_EST when it is no 2-D array: the fit refuses it then)."""
    try:
        arr = np.asarray(X)
    except ValueError:
        return N_EST
    return arr.shape[0] if arr.ndim == 2 else N_EST


@st.composite
def estimator_labels(draw, n):
    kind = draw(st.sampled_from(["ints", "strings", "floats", "column", "bad"]))
    codes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[codes]
    if kind == "floats":
        return codes * 2.0 - 1
    if kind == "column":
        return codes.reshape(n, 1)
    if kind == "bad":
        return draw(
            st.sampled_from(
                [
                    np.zeros(n),
                    np.full(n, np.nan),
                    codes + 0.5,
                    codes.astype(complex),
                    codes[:-1],
                    np.stack([codes, codes], 1),
                    None,
                    [[0, 1], [1]],
                ]
            )
        )
    return codes


N_EST = 9
EST_X = mostly(
    st.just(np.random.default_rng(1).normal(size=(N_EST, 2))),
    any_array(st.just((N_EST, 2)), bound=3.0),
)
EST_GOOD = {
    "X": np.random.default_rng(1).normal(size=(N_EST, 2)),
    "y": np.arange(N_EST) % 3,
    "hidden": (3,),
    "solver": "sgd",
    "learning_rate_init": 0.2,
    "batch_size": 4,
    "max_iter": 2,
    "momentum": 0.5,
    "dtype": "float32",
}


def expected_estimator_defects(params, dtype, X, y):
    """Return ``(defects, reference)``: what the drop-in must raise, or scikit-learn's fit.

    A defect's name is the whole message scikit-learn's own MLPClassifier gives
    (for fastmlp's ``dtype``, its message in the same words).
    """
    defects = {("estimator-param", message) for message in sklearn_parameter_errors(params)}
    if dtype is not None and dtype not in MODEL_DTYPES:
        defects.add(("estimator-param", dtype_message(dtype)))
    if defects:
        return defects, None
    reference = sklearn_fit(params, X, y)
    if isinstance(reference, Exception):
        return {("estimator-data", str(reference))}, None
    return set(), reference


def check_fitted_estimator(clf, reference, X, dtype):
    """Check a fitted drop-in against scikit-learn's ``reference`` fit of the same data."""
    np.testing.assert_array_equal(clf.classes_, reference.classes_)
    Xa = np.asarray(X, dtype=np.float64)
    n = Xa.shape[0]
    predicted = clf.predict(Xa)
    assert predicted.shape == (n,) and np.isin(predicted, clf.classes_).all()
    X_dtype = np.asarray(X).dtype
    trained = (
        np.dtype(dtype) if dtype else np.dtype(np.float32 if X_dtype == np.float32 else np.float64)
    )
    assert all(W.dtype == trained for W in clf.coefs_)
    P = clf.predict_proba(Xa)
    # One logistic output (two classes, or one) gives two columns, as in scikit-learn.
    check_probabilities(P, n, 2 if clf.n_outputs_ == 1 else clf.classes_.size, trained)
    # The same fit as scikit-learn's (float32 rounding apart).
    atol = 1e-3 if trained == np.float32 else 1e-6
    np.testing.assert_allclose(P, reference.predict_proba(Xa), atol=atol)
    with tempfile.TemporaryDirectory() as folder:
        loaded = fastmlp.load(clf.save(Path(folder) / "clf.npz"))
    np.testing.assert_array_equal(loaded.predict(Xa), predicted)


@settings(PROPERTY, max_examples=examples(150))
@given(
    X=EST_X,
    y=estimator_labels(N_EST),
    hidden=HIDDEN,
    solver=st.sampled_from(["sgd", "adam"]),
    learning_rate_init=LEARNING_RATES,
    batch_size=EST_BATCH,
    max_iter=EST_ITERATIONS,
    momentum=EST_MOMENTA,
    dtype=EST_DTYPES,
)
@example(**EST_GOOD)
@example(**{**EST_GOOD, "y": np.array(["cat", "dog", "emu"])[np.arange(N_EST) % 3].reshape(-1, 1)})
@example(**{**EST_GOOD, "batch_size": 100, "hidden": (), "dtype": "float64"})
@example(**{**EST_GOOD, "y": np.arange(N_EST) % 2 * 2.0 - 1, "max_iter": 1, "dtype": None})
@example(**{**EST_GOOD, "X": np.arange(2 * N_EST).reshape(N_EST, 2).astype(object)})
@example(**{**EST_GOOD, "hidden": (1.5,)})
@example(**{**EST_GOOD, "hidden": "10"})
@example(**{**EST_GOOD, "hidden": (True,)})
@example(**{**EST_GOOD, "X": np.zeros((N_EST, 2, 1))})
@example(**{**EST_GOOD, "learning_rate_init": 0, "max_iter": 1.5})  # two bad parameters
@example(**{**EST_GOOD, "y": np.zeros(N_EST)})
@example(**{**EST_GOOD, "y": np.full(N_EST, 0.5)})
@example(**{**EST_GOOD, "learning_rate_init": np.inf})
@example(**{**EST_GOOD, "batch_size": True})  # scikit-learn takes a bool for an int
@example(**{**EST_GOOD, "dtype": "float16"})
@example(**{**EST_GOOD, "X": np.zeros((1, 1), np.int8)})  # one row for N_EST labels
def test_estimator_fit_and_predict(
    X, y, hidden, solver, learning_rate_init, batch_size, max_iter, momentum, dtype
):
    params = dict(hidden_layer_sizes=hidden, solver=solver, learning_rate_init=learning_rate_init)
    params |= dict(batch_size=batch_size, max_iter=max_iter, momentum=momentum, random_state=0)
    defects, reference = expected_estimator_defects(params, dtype, X, y)
    clf = MLPClassifier(**params, dtype=dtype)
    fitted = outcome(lambda: clf.fit(X, y), defects, warns=EST_WARNINGS)
    if fitted is not None:
        check_fitted_estimator(clf, reference, X, dtype)


# -- model files ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=True)
    | st.text(max_size=6)
    | st.sampled_from(["float32", "float64", "relu", "fastmlp-model", "MLPClassifier"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
METADATA_KEYS = [
    "format",
    "format_version",
    "sizes",
    "activation",
    "dtype",
    "classes",
    "classes_dtype",
    "params_sha256",
    "extra",
    "extra.estimator",
    "extra.params",
    "extra.params.hidden_layer_sizes",
    "extra.params.random_state",
    "extra.state",
    "extra.state.n_iter_",
    "extra.state.loss_curve_",
    "extra.state.best_loss_",
    "extra.state.converged_",  # the earlier estimator's, still read
    "extra.format",  # without it, a file of the earlier estimator
]


@pytest.fixture(scope="module")
def saved_estimator(tmp_path_factory):
    """The params and metadata of a real estimator file."""
    rng = np.random.default_rng(0)
    # float32 input: a float32 network, so that params_change="dtype" (float64) is a change.
    X, y = rng.normal(size=(12, 3)).astype(np.float32), np.arange(12) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    path = clf.save(tmp_path_factory.mktemp("model") / "clf.npz")
    with np.load(path) as archive:
        return archive["params"], json.loads(str(archive["metadata"]))


def mutate(metadata, key, value, delete):
    *parents, last = key.split(".")
    node = metadata
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if delete:
        node.pop(last, None)
    else:
        node[last] = value


def check_loaded(result):
    if not isinstance(result, MLPClassifier):
        assert isinstance(result, MLP) and np.isfinite(result.params).all()
        P = result.predict_proba(np.ones((2, result.sizes[0])))
        check_probabilities(P, 2, result.n_classes, result.dtype)
        return
    assert all(np.isfinite(a).all() for a in (*result.coefs_, *result.intercepts_))
    X = np.ones((2, result.n_features_in_))
    P = result.predict_proba(X)
    # One logistic output stands for two columns, as in scikit-learn.
    k = 2 if result.n_outputs_ == 1 else result.n_outputs_
    check_probabilities(P, 2, k, result.coefs_[0].dtype)
    assert np.isin(result.predict(X), result.classes_).all()


@settings(PROPERTY, max_examples=examples(100))
@given(
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"\x80\x04"]),
    body=st.binary(max_size=200),
)
def test_load_random_bytes(prefix, body):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        path.write_bytes(prefix + body)
        outcome(lambda: fastmlp.load(path), {("model-file", path)})


@settings(PROPERTY, max_examples=examples(100))
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(METADATA_KEYS), JSON, st.booleans()), min_size=0, max_size=3
    ),
    params_change=st.sampled_from(["none", "flip", "dtype", "shape", "nan", "object", "drop"]),
    extra_entry=st.booleans(),
    metadata_kind=st.sampled_from(["json", "json", "json", "not-json", "number", "2-D"]),
)
def test_load_random_npz(saved_estimator, changes, params_change, extra_entry, metadata_kind):
    params, metadata = saved_estimator
    params, metadata = params.copy(), json.loads(json.dumps(metadata))
    for key, value, delete in changes:
        mutate(metadata, key, value, delete)
    entries = {"params": params}
    if params_change == "flip":
        params[0] += 1
    elif params_change == "dtype":
        entries["params"] = params.astype(np.float64)
    elif params_change == "shape":
        entries["params"] = params[:-1]
    elif params_change == "nan":
        params[-1] = np.nan
    elif params_change == "object":
        entries["params"] = params.astype(object)  # pickled by savez, refused by load
    elif params_change == "drop":
        del entries["params"]
    entries["metadata"] = {
        "json": np.array(json.dumps(metadata)),
        "not-json": np.array("{'format': 1"),
        "number": np.array(3.5),
        "2-D": np.array([["a", "b"]]),
    }[metadata_kind]
    if extra_entry:
        entries["other"] = np.zeros(2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        with open(path, "wb") as f:
            np.savez(f, **entries)
        pristine = not changes and params_change == "none" and not extra_entry
        pristine = pristine and metadata_kind == "json"
        # A change of metadata may or may not matter (a new activation still
        # loads): then either a checked model or a ModelFileError will do.
        harmless = params_change == "none" and not extra_entry and metadata_kind == "json"
        result = outcome(
            lambda: fastmlp.load(path),
            set() if pristine else {("model-file", path)},
            maybe=harmless,
        )
        if result is not None:
            check_loaded(result)


# -- MNIST folders -------------------------------------------------------------------------


@st.composite
def mnist_contents(draw):
    """A file's bytes: random, a gzip of random bytes, a broken gzip or an IDX header."""
    kind = draw(st.sampled_from(["random", "gzip", "broken-gzip", "idx"]))
    body = draw(st.binary(max_size=64))
    if kind == "gzip":
        return gzip.compress(body)
    if kind == "broken-gzip":
        return gzip.compress(body + b"x" * 40)[:-9]
    if kind == "idx":
        return b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" * 3 + body
    return body


@settings(PROPERTY, max_examples=examples(80))
@given(
    data=st.data(),
    layout=st.sampled_from(["empty", "garbage", "garbage", "subfolder", "file", "type", "missing"]),
    dtype=st.sampled_from(["float32", "float64", "float16"]),
    fetch=st.booleans(),
)
def test_load_mnist_from_bad_folders(data, layout, dtype, fetch):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        root.mkdir()
        data_dir, defects = root, set()
        if layout in ("garbage", "subfolder"):
            where = root / "mnist" if layout == "subfolder" else root
            where.mkdir(exist_ok=True)
            names = data.draw(st.lists(st.sampled_from(list(FILES)), unique=True), label="names")
            for name in names:
                dotted = name[::-1].replace("-", ".", 1)[::-1]
                stem = data.draw(st.sampled_from([name, dotted]), label="stem")
                suffix = data.draw(st.sampled_from(["", ".gz"]), label="suffix")
                (where / (stem + suffix)).write_bytes(data.draw(mnist_contents(), label="bytes"))
            # Every file is looked up before any is read.
            defects.add(("mnist-corrupt", where) if len(names) == 4 else ("mnist-missing", root))
        elif layout == "file":
            data_dir = root / "train-images-idx3-ubyte"
            data_dir.write_bytes(b"\x00" * 16)
            defects.add(("mnist-not-dir", data_dir))
        elif layout == "type":
            data_dir = data.draw(st.sampled_from([5, 3.5, b"/tmp", ["a"], object()]), label="dir")
            defects.add(("data-dir-type", "data_dir"))
        elif layout == "missing":
            data_dir = root / "nowhere"
            defects.add(("mnist-missing", data_dir))
        else:
            defects.add(("mnist-missing", root))
        if fetch:
            call = lambda: fetch_mnist(data_dir, download=False)  # noqa: E731
        else:
            defects |= dtype_defect(dtype)
            call = lambda: load_mnist(  # noqa: E731
                dtype=dtype, data_dir=data_dir, download=False, cache=False
            )
        outcome(call, defects)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["data"]


@pytest.mark.parametrize("kind", ["file", "int", "float", "bytes", "list"])
def test_load_mnist_data_dir_that_is_no_folder(tmp_path, kind):
    data_dir = {"int": 5, "float": 3.5, "bytes": b"/tmp", "list": ["a"]}.get(kind)
    defects = {("data-dir-type", "data_dir")}
    if kind == "file":
        data_dir = tmp_path / "mnist.npz"
        data_dir.write_bytes(b"PK")
        defects = {("mnist-not-dir", data_dir)}
    outcome(lambda: load_mnist(data_dir=data_dir, download=False), defects)
    outcome(lambda: fetch_mnist(data_dir, download=True, mirrors=["http://127.0.0.1:9/"]), defects)


# -- 3-D images ----------------------------------------------------------------------------


@pytest.mark.parametrize("image", [(2, 3), (3, 2), (1, 6), (6, 1)])
def test_3d_images_are_flattened_rows(rng, dtype, image):
    model = MLP([6, 5, 3], "tanh", dtype, seed=3)
    X3 = rng.normal(size=(7, *image))
    X2 = X3.reshape(7, 6)
    y = np.arange(7) % 3
    np.testing.assert_array_equal(model.predict_proba(X3), model.predict_proba(X2))
    np.testing.assert_array_equal(model.predict(np.asfortranarray(X3)), model.predict(X2))
    for a, b in zip(model.evaluate(X3, y), model.evaluate(X2, y)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(gradients(model, X3, y), gradients(model, X2, y)):
        for g3, g2 in zip(a, b):
            np.testing.assert_array_equal(g3, g2)
    twin = model.copy()
    train(model, X3, y, epochs=2, batch_size=3, validation=(X3, y))
    train(twin, X2, y, epochs=2, batch_size=3, validation=(X2, y))
    np.testing.assert_array_equal(model.params, twin.params)


@pytest.mark.parametrize(
    ("shape", "found"),
    [
        ((4, 2, 2), r"\(4, 2, 2\) \(2 \* 2 = 4 pixels\)"),
        ((4, 7, 1), r"\(4, 7, 1\) \(7 \* 1 = 7 pixels\)"),
    ],
    ids=["2x2", "7x1"],
)
def test_3d_images_of_another_size_are_rejected(shape, found):
    model = MLP([6, 3])
    message = (
        r"^X: expected a 2-D array of shape \(n, 6\) or 3-D images \(n, h, w\) of h \* w = 6 pixels"
    )
    with pytest.raises(ValueError, match=message + r", found shape " + found):
        model.predict(np.zeros(shape))
    with pytest.raises(ValueError, match=message):
        train(model, np.zeros(shape), np.zeros(4, int))


def test_mnist_images_as_loaded_unflattened(mnist_dir):
    (x3, y3), _, classes = load_mnist(
        flatten=False, data_dir=mnist_dir, download=False, cache=False
    )
    assert x3.shape[1:] == (28, 28)
    model = MLP([784, 16, classes], "relu", seed=0)
    x3, y3 = x3[:300], y3[:300]
    x2 = x3.reshape(300, 784)
    np.testing.assert_array_equal(model.predict_proba(x3), model.predict_proba(x2))
    assert model.loss(x3, y3) == model.loss(x2, y3)
    history = train(model, x3, y3, epochs=1, lr=0.1, batch_size=32)
    assert np.isfinite(history.train_loss).all()


# -- gaps in files this suite does not own ---------------------------------------------------


def _npy_file(path):
    with open(path, "wb") as f:  # np.save(path) would add ".npy" to the name
        np.save(f, np.zeros(3))


def _deep_json(path):
    with open(path, "wb") as f:
        np.savez(
            f, params=np.zeros(2, np.float32), metadata=np.array("[" * 100_000 + "]" * 100_000)
        )


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_npy_file, "not a readable fastmlp model file"),
        (_deep_json, "not a readable fastmlp model file"),
    ],
    ids=["npy-file", "deeply-nested-json"],
)
def test_load_of_a_npy_file_or_deeply_nested_json(tmp_path, write, message):
    path = tmp_path / "model.npz"
    write(path)
    with pytest.raises(ModelFileError, match=message):
        fastmlp.load(path)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"validation": (np.zeros((2, 3)),)}, "validation"),
        ({"validation": 5}, "validation"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"callbacks": None}, "callbacks"),
        ({"epochs": 2**62}, "epochs"),
        ({"validation": (np.zeros((2, 3)), np.zeros(2, int), 1)}, "validation"),
        ({"velocities": 5, "momentum": 0.5}, "velocities"),
        ({"callbacks": 5}, "callbacks"),
    ],
    ids=[
        "validation-1-tuple",
        "validation-int",
        "seed-negative",
        "seed-float",
        "callbacks-none",
        "epochs-2**62",
        "validation-3-tuple",
        "velocities-int",
        "callbacks-int",
    ],
)
def test_train_arguments_numpy_would_reject_are_named(options, name):
    model = MLP([3, 2])
    with pytest.raises((TypeError, ValueError), match=rf"^{name}: "):
        train(model, np.zeros((2, 3)), np.zeros(2, int), **options)


# -- the census ----------------------------------------------------------------------------


def test_bad_input_census(request, record_property):
    """Every class of bad input in the table was tried (when the whole module ran)."""
    here = Path(__file__)
    ran = {item.name.split("[")[0] for item in request.session.items if item.path == here}
    everything = {name for name in globals() if name.startswith("test_")}
    if ran != everything:
        pytest.skip("only part of the module ran")
    # It counts what this process tried: nox runs xdist with --dist loadfile, so one
    # process runs the whole module. A tenth of the draws cannot promise every class.
    if settings().max_examples < settings.get_profile("default").max_examples:
        pytest.skip("a reduced Hypothesis profile draws too few inputs to try every class")
    missing = sorted(set(BAD_INPUT_CLASSES) - set(TRIED))
    record_property("bad_input_cases", sum(TRIED.values()))
    record_property("valid_inputs_checked", sum(CHECKED.values()))
    for key, count in sorted(TRIED.items()):
        record_property(f"tried[{key}]", count)
    print(f"\n{sum(TRIED.values())} bad inputs tried, by class:", dict(sorted(TRIED.items())))
    print(f"{sum(CHECKED.values())} results of valid inputs checked:", dict(CHECKED))
    assert not missing, f"classes of bad input never tried: {missing}"
    unchecked = {
        "test_inference_on_any_X",
        "test_labels_of_any_kind",
        "test_train_hyperparameters",
        "test_model_constructor",
        "test_estimator_fit_and_predict",
        "test_load_random_npz",
    } - set(CHECKED)
    assert not unchecked, f"tests that never checked a result: {sorted(unchecked)}"
