"""Input validation shared by the public API and the kernel wrappers.

Numba does not bounds-check, so everything a kernel indexes with is checked
here first. Every error names the argument, what was expected and what was
found.
"""

import numbers

import numpy as np

from .config import DTYPES


def as_dtype(dtype):
    """Return the numpy dtype for a name or dtype fastmlp supports."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
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
    arr = np.asarray(a)
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
    arr = np.ascontiguousarray(arr, dtype=dtype)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise ValueError(
            f"{name}: expected finite values, found {len(bad)} non-finite "
            f"(first at index {tuple(int(i) for i in bad[0])}: {arr[tuple(bad[0])]}); "
            "NaN and inf are not accepted"
        )
    return arr


def as_labels(name, y, n, n_classes):
    """Return integer class labels as a C-contiguous int64 array of length ``n``.

    Float arrays of whole numbers are accepted; every label must lie in
    ``[0, n_classes)``.
    """
    arr = np.asarray(y)
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
    labels = np.ascontiguousarray(arr, dtype=np.int64)
    outside = (labels < 0) | (labels >= n_classes)
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(
            f"{name}: expected labels in [0, {n_classes}), found {labels[first]} at index {first}"
        )
    return labels


def as_order(name, order, n):
    """Return a sample order (indices into ``n`` rows) as C-contiguous int64."""
    arr = np.asarray(order)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name}: expected a 1-D integer array, found dtype {arr.dtype}, shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one index, found none")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(
            f"{name}: expected indices in [0, {n}), found range [{arr.min()}, {arr.max()}]"
        )
    return arr


def as_positive(name, value, kind=numbers.Real):
    """Return ``value`` if it is a finite number > 0 of the given kind, else raise."""
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if kind is numbers.Integral else "a real number"
        raise TypeError(f"{name}: expected {what}, found {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite value > 0, found {value!r}")
    return value


def as_momentum(value):
    """Return a momentum coefficient in [0, 1) as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"momentum: expected a real number, found {value!r}")
    if not 0 <= value < 1:
        raise ValueError(f"momentum: expected a value in [0, 1), found {value!r}")
    return float(value)


def as_weight_decay(value):
    """Return an L2 weight-decay coefficient >= 0 as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"weight_decay: expected a real number, found {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"weight_decay: expected a finite value >= 0, found {value!r}")
    return float(value)


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
