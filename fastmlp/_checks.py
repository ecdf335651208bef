"""Input validation shared by the public API and the kernel wrappers.

Numba does not bounds-check, so everything a kernel indexes with is checked
here first. Every error names the argument, what was expected and what was
found.
"""

import math
import numbers

import numpy as np

from .config import DTYPES
from .names import LOGISTIC, POISSON, SOFTMAX

#: The largest count (epochs, batch size, ...) the kernels can take: their int64.
MAX_COUNT = int(np.iinfo(np.int64).max)


def as_array(name, a):
    """Return ``np.asarray(a)``; numpy's errors for ragged or unconvertible input name ``name``."""
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"{name}: expected an array, found a {type(a).__name__} numpy cannot convert "
            f"to one ({error})"
        ) from error


def _as_float(value):
    """Return ``float(value)``, or inf for a value too large for a float."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def as_dtype(dtype):
    """Return the numpy dtype for a name or dtype fastmlp supports (None is not float64 here)."""
    try:
        name = None if dtype is None else np.dtype(dtype).name
    except (TypeError, ValueError):
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, found {dtype!r}")
    return DTYPES[name]


def as_float_array(name, a, dtype, ndim, shape=None):
    """Return ``a`` as a C-contiguous array of ``dtype`` with ``ndim`` dimensions.

    ``shape`` may fix some dimensions (None entries are free). Integer and
    float input is converted; anything else, empty arrays and non-finite
    values are rejected.
    """
    arr = as_array(name, a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name}: expected a numeric array, found dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, found shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, found shape {arr.shape}")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and want != got:
                raise ValueError(
                    f"{name}: expected size {want} on axis {axis}, found shape {arr.shape}"
                )
    if arr.dtype.kind == "f":
        # Check before converting: a value beyond the range of ``dtype`` would
        # become inf (with numpy's overflow warning) and hide what was given.
        finite = np.isfinite(arr)
        if not finite.all():
            bad = np.argwhere(~finite)
            raise ValueError(
                f"{name}: expected finite values, found {len(bad)} non-finite "
                f"(first at index {tuple(int(i) for i in bad[0])}: {arr[tuple(bad[0])]}); "
                "NaN and inf are not accepted"
            )
        limit = np.finfo(dtype).max
        if np.finfo(arr.dtype).max > limit:
            too_big = np.abs(arr) > limit
            if too_big.any():
                first = tuple(int(i) for i in np.argwhere(too_big)[0])
                raise ValueError(
                    f"{name}: expected values within the range of {dtype} (|x| <= {limit:.4g}), "
                    f"found {int(too_big.sum())} beyond it (first at index {first}: {arr[first]})"
                )
    with np.errstate(all="ignore"):  # underflow to 0 is not an error
        return np.ascontiguousarray(arr, dtype=dtype)


def as_labels(name, y, n, n_classes):
    """Return integer class labels as a C-contiguous int64 array of length ``n``.

    Float arrays of whole numbers are accepted; every label must lie in
    ``[0, n_classes)``.
    """
    arr = as_array(name, y)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class labels, found shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name}: expected {n} labels (one per row of X), found {len(arr)}")
    if np.issubdtype(arr.dtype, np.floating):
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not whole.all():
            first = int(np.argmin(whole))
            found = arr[first].item()
            raise ValueError(
                f"{name}: expected whole-number class labels, found {found!r} at index {first}"
            )
    elif not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: expected integer class labels, found dtype {arr.dtype}")
    # Compare before converting: 1e20 or a uint64 above 2**63 does not fit in int64.
    values = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    outside = (values < 0) | (values >= n_classes)
    if outside.any():
        first = int(np.argmax(outside))
        found = arr[first].item()
        raise ValueError(
            f"{name}: expected labels in [0, {n_classes}), found {found!r} at index {first}"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_order(name, order, n):
    """Return a sample order (indices into ``n`` rows) as C-contiguous int64."""
    arr = as_array(name, order)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name}: expected a 1-D integer array, found dtype {arr.dtype}, shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one index, found none")
    # Compare before converting: a uint64 above 2**63 would wrap to a negative int64.
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(
            f"{name}: expected indices in [0, {n}), found range [{arr.min()}, {arr.max()}]"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_positive(name, value, kind=numbers.Real):
    """Return ``value`` if it is a finite number > 0 of the given kind, else raise.

    Integers (``kind=numbers.Integral``) must also fit in int64, as the
    kernels take them; reals must be finite as floats.
    """
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if kind is numbers.Integral else "a real number"
        raise TypeError(f"{name}: expected {what}, found {value!r}")
    if kind is numbers.Integral:
        if value > MAX_COUNT:
            raise ValueError(f"{name}: expected a value <= {MAX_COUNT} (int64), found {value!r}")
        positive = value > 0
    else:
        as_float = _as_float(value)
        positive = math.isfinite(as_float) and as_float > 0
    if not positive:
        raise ValueError(f"{name}: expected a finite value > 0, found {value!r}")
    return value


def as_momentum(value):
    """Return a momentum coefficient in [0, 1) as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"momentum: expected a real number, found {value!r}")
    as_float = _as_float(value)
    if not 0 <= as_float < 1:
        raise ValueError(f"momentum: expected a value in [0, 1), found {value!r}")
    return as_float


def as_weight_decay(value):
    """Return an L2 weight-decay coefficient >= 0 as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"weight_decay: expected a real number, found {value!r}")
    as_float = _as_float(value)
    if not math.isfinite(as_float) or as_float < 0:
        raise ValueError(f"weight_decay: expected a finite value >= 0, found {value!r}")
    return as_float


def as_sample_weight(sample_weight, n, dtype):
    """Return per-row weights (ones when None) as C-contiguous ``dtype``, each finite and >= 0."""
    if sample_weight is None:
        return np.ones(n, dtype=dtype)
    sw = as_float_array("sample_weight", sample_weight, dtype, 1, shape=(n,))
    if (sw < 0).any():
        first = int(np.argmax(sw < 0))
        raise ValueError(
            f"sample_weight: expected weights >= 0, found {sw[first]} at index {first}"
        )
    return sw


def check_random_state(seed, name="seed"):
    """Return ``seed`` if ``as_rng`` takes it (without drawing from it), else raise naming ``name``.

    Accepted: None, an integer >= 0, a ``numpy.random.Generator`` (used as
    is) or a legacy ``numpy.random.RandomState`` (a Generator is seeded from
    its stream, so a caller's shared RandomState advances as scikit-learn's does).
    """
    expected = f"{name}: expected None, an integer >= 0, a numpy Generator or RandomState"
    kinds = (numbers.Integral, np.random.Generator, np.random.RandomState)
    if seed is not None and not isinstance(seed, kinds):
        raise TypeError(f"{expected}, found {seed!r}")
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise ValueError(f"{expected}, found {seed!r}")
    return seed


def as_rng(seed, name="seed"):
    """Return a ``numpy.random.Generator`` for ``seed`` (see ``check_random_state``)."""
    seed = check_random_state(seed, name)
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**32, size=4))
    return np.random.default_rng(seed)


def as_targets(name, y, n, n_outputs, out, dtype):
    """Return the targets of ``n`` rows for output code ``out`` (``fastmlp.names.OUTPUTS``).

    Softmax takes class labels (``as_labels``: int64, shape ``(n,)``). The
    other outputs take a C-contiguous ``(n, n_outputs)`` array of ``dtype``
    (a 1-D array of ``n`` values when there is one output unit; booleans
    count as 0 and 1), finite, 0 or 1 for logistic and >= 0 for exp.
    """
    if out == SOFTMAX:
        return as_labels(name, y, n, n_outputs)
    arr = as_array(name, y)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array of targets, shape (n, {n_outputs}) (or (n,) for "
            f"one output unit), found shape {arr.shape}"
        )
    Y = as_float_array(name, arr, dtype, 2, shape=(n, n_outputs))
    bad = ~((Y == 0) | (Y == 1)) if out == LOGISTIC else (Y < 0) if out == POISSON else None
    if bad is not None and bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        wanted = "0 or 1 (logistic output)" if out == LOGISTIC else ">= 0 (exp output)"
        raise ValueError(f"{name}: expected targets {wanted}, found {Y[first]} at index {first}")
    return Y


def as_nonnegative(name, value):
    """Return a finite real ``value >= 0`` (such as an L2 coefficient) as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, found {value!r}")
    as_float = _as_float(value)
    if not math.isfinite(as_float) or as_float < 0:
        raise ValueError(f"{name}: expected a finite value >= 0, found {value!r}")
    return as_float


def as_count(name, value, low=0):
    """Return an integer ``value >= low`` (not a bool) that fits in int64, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, found {value!r}")
    if value < low:
        raise ValueError(f"{name}: expected a value >= {low}, found {value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"{name}: expected a value <= {MAX_COUNT} (int64), found {value!r}")
    return int(value)


def as_bool(name, value):
    """Return ``value`` if it is a bool (numpy's included) as bool, else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, found {value!r}")
    return bool(value)


def as_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise naming them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, found {value!r}")
    return value
