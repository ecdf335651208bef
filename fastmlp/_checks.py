"""Input validation shared by the public API and the kernel wrappers.

Numba does not bounds-check, so everything a kernel indexes with is checked
here first. Every error names the argument, what was expected and what was
found: ``RULES`` holds each rule's exception class and message template,
and every check builds its error with ``reject``, so a message is written
once and the tests derive what they expect from the same table.
"""

import math
import numbers
import sys
from typing import NamedTuple

import numpy as np

from .config import DTYPES
from .names import LOGISTIC, POISSON, SOFTMAX

#: The largest count (epochs, batch size, ...) the kernels can take: their int64.
MAX_COUNT = int(np.iinfo(np.int64).max)


class Rule(NamedTuple):
    """A validation rule: the exception it raises and its message template.

    The template is a ``str.format`` string starting ``"{name}: expected"``;
    ``{name}`` is the argument, the other fields what was found.
    """

    error: type[Exception]
    message: str


_UNCONVERTIBLE = "{name}: expected an array, found a {kind} numpy cannot convert to one ({error})"
_RANDOM_STATE = (
    "{name}: expected None, an integer >= 0, a numpy Generator or RandomState, found {value!r}"
)
_CHOICE = "{name}: expected one of {choices}, found {value!r}"
_DEFAULT_RNG = "{name}: expected None or an integer >= 0, found {value!r} ({error})"

#: Every rule of argument validation, by key.
RULES: dict[str, Rule] = {
    # arrays
    "unconvertible": Rule(ValueError, _UNCONVERTIBLE),
    "unconvertible-type": Rule(TypeError, _UNCONVERTIBLE),
    "numeric": Rule(TypeError, "{name}: expected a numeric array, found dtype {dtype}"),
    "ndim": Rule(ValueError, "{name}: expected a {ndim}-D array, found shape {shape}"),
    "non-empty": Rule(ValueError, "{name}: expected a non-empty array, found shape {shape}"),
    "axis-size": Rule(
        ValueError, "{name}: expected size {size} on axis {axis}, found shape {shape}"
    ),
    "finite": Rule(
        ValueError,
        "{name}: expected finite values, found {count} non-finite (first at index {index}: "
        "{value}); NaN and inf are not accepted",
    ),
    "dtype-range": Rule(
        ValueError,
        "{name}: expected values within the range of {dtype} (|x| <= {limit:.4g}), found "
        "{count} beyond it (first at index {index}: {value})",
    ),
    "images": Rule(
        ValueError,
        "{name}: expected a 2-D array of shape (n, {width}) or 3-D images (n, h, w) of "
        "h * w = {width} pixels, found shape {shape} ({h} * {w} = {pixels} pixels)",
    ),
    "weights": Rule(ValueError, "{name}: expected weights >= 0, found {value} at index {index}"),
    "shape": Rule(ValueError, "{name}: expected shape {shape}, found {found}"),
    # sparse inputs (scipy.sparse), checked before the kernels index with them
    "sparse-format": Rule(
        TypeError,
        "{name}: expected a dense array or a 2-D scipy.sparse matrix or array, found {found}",
    ),
    "sparse-lengths": Rule(
        ValueError,
        "{name}: expected CSR data and indices of one 1-D length, found {data} and {indices}",
    ),
    "sparse-index-dtype": Rule(
        TypeError, "{name}: expected integer CSR {what}, found dtype {dtype}"
    ),
    "sparse-indptr": Rule(
        ValueError,
        "{name}: expected a CSR indptr of {size} entries rising from 0 to at most {nnz} (the "
        "stored entries), found {found}",
    ),
    "sparse-indices": Rule(
        ValueError,
        "{name}: expected {axis} indices in [0, {width}), found {value} (stored entry {index})",
    ),
    # a network's arrays, as the kernel wrappers take them
    "in-place-type": Rule(
        TypeError, "{name}: expected a C-contiguous numpy array to update in place, found {found}"
    ),
    "in-place-readonly": Rule(
        ValueError, "{name}: expected a writeable array to update in place, found it read-only"
    ),
    "float-pair": Rule(
        TypeError, "{name}: expected float32 or float64 arrays of one dtype, found {dtype}, {other}"
    ),
    "float-array": Rule(TypeError, "{name}: expected a float32 or float64 array, found {dtype}"),
    "layer-sequence": Rule(
        TypeError, "{name}: expected a sequence of arrays, one per layer, found {type}"
    ),
    "layer-pairs": Rule(
        ValueError,
        "{name}: expected two equally long, non-empty sequences, found {count} and {other}",
    ),
    "layer-array": Rule(
        TypeError, "{name}: expected a {ndim}-D {dtype} numpy array, found {found}"
    ),
    "writeable": Rule(ValueError, "{name}: expected a writeable C-contiguous array"),
    "layer-rows": Rule(
        ValueError, "{name}: expected {rows} rows to follow {previous}, found shape {shape}"
    ),
    "velocities-pair": Rule(
        TypeError,
        "{name}: expected a pair (VWs, vbs) of arrays shaped like the weights and biases, "
        "found {type}",
    ),
    "velocities-sequence": Rule(
        TypeError, "{name}: expected a sequence of {kind} arrays, found {type}"
    ),
    "velocities-count": Rule(ValueError, "{name}: expected {count} {kind} arrays, found {found}"),
    "buffer-array": Rule(
        ValueError,
        "{name}: expected {what} as a writeable C-contiguous {dtype} array of shape {shape}, "
        "found {found}",
    ),
    "model-dtype": Rule(
        TypeError,
        "{name}: expected float32 or float64, the dtype of the weights ({weights}), "
        "found {value!r}",
    ),
    "params-array": Rule(
        ValueError,
        "{name}: expected a writeable C-contiguous 1-D {dtype} array of the {n} parameters of "
        "sizes {sizes}, found {found}",
    ),
    "layer-count": Rule(
        ValueError, "{name}: expected {count} layers for sizes {sizes}, found {found}"
    ),
    "param-view": Rule(
        ValueError,
        "{name}: expected the view of shape {shape} into model.params at offset {offset} "
        "(sizes {sizes}), found an array of shape {found}{where}",
    ),
    "state-type": Rule(TypeError, "{name}: expected a fastmlp.optimizers.State, found {value!r}"),
    "state-names": Rule(ValueError, "{name}: expected arrays named {names}, found {found}"),
    "momentum-beside": Rule(
        ValueError, "{name}: expected 0 beside an optimizer (set its own), found {value!r}"
    ),
    "rate-beside": Rule(
        ValueError, "{name}: expected the optimizer's rate {rate!r}, found {value!r}"
    ),
    "velocities-beside": Rule(
        ValueError, "{name}: expected None beside state (the state holds them)"
    ),
    "step-weights": Rule(
        ValueError,
        "{name}: expected a positive weight sum in every step (average='weights'), found 0 in "
        "step {step} (order[{start}:{stop}])",
    ),
    # class labels, targets and sample orders
    "label-ndim": Rule(
        ValueError, "{name}: expected a 1-D array of class labels, found shape {shape}"
    ),
    "label-count": Rule(
        ValueError, "{name}: expected {n} labels (one per row of X), found {count}"
    ),
    "label-whole": Rule(
        ValueError, "{name}: expected whole-number class labels, found {value!r} at index {index}"
    ),
    "label-dtype": Rule(TypeError, "{name}: expected integer class labels, found dtype {dtype}"),
    "label-span": Rule(
        ValueError, "{name}: expected labels in [0, {n_classes}), found range [{low}, {high}]"
    ),
    "label-range": Rule(
        ValueError, "{name}: expected labels in [0, {n_classes}), found {value!r} at index {index}"
    ),
    "target-ndim": Rule(
        ValueError,
        "{name}: expected a 2-D array of targets, shape (n, {n_outputs}) (or (n,) for one "
        "output unit), found shape {shape}",
    ),
    "target-binary": Rule(
        ValueError,
        "{name}: expected targets 0 or 1 (logistic output), found {value} at index {index}",
    ),
    "target-count": Rule(
        ValueError, "{name}: expected targets >= 0 (exp output), found {value} at index {index}"
    ),
    "order-type": Rule(
        TypeError, "{name}: expected a 1-D integer array, found dtype {dtype}, shape {shape}"
    ),
    "order-empty": Rule(ValueError, "{name}: expected at least one index, found none"),
    "order-range": Rule(
        ValueError, "{name}: expected indices in [0, {n}), found range [{low}, {high}]"
    ),
    # scalars
    "integer": Rule(TypeError, "{name}: expected an integer, found {value!r}"),
    "real": Rule(TypeError, "{name}: expected a real number, found {value!r}"),
    "bool": Rule(TypeError, "{name}: expected True or False, found {value!r}"),
    "positive": Rule(ValueError, "{name}: expected a finite value > 0, found {value!r}"),
    "nonnegative": Rule(ValueError, "{name}: expected a finite value >= 0, found {value!r}"),
    "unit-interval": Rule(ValueError, "{name}: expected a value in [0, 1), found {value!r}"),
    "at-least": Rule(ValueError, "{name}: expected a value >= {low}, found {value!r}"),
    "int64": Rule(
        ValueError, f"{{name}}: expected a value <= {MAX_COUNT} (int64), found {{value!r}}"
    ),
    "choice": Rule(ValueError, _CHOICE),
    "optimizer-type": Rule(TypeError, _CHOICE),
    "momentum-unused": Rule(
        ValueError, "{name}: expected 0 with optimizer={optimizer!r}, found {value}"
    ),
    "rate-conflict": Rule(
        ValueError, "{name}: expected None or the rate of optimizer={optimizer!r}, found {value!r}"
    ),
    "momentum-conflict": Rule(
        ValueError,
        "{name}: expected 0 or the momentum of optimizer={optimizer!r}, found {value!r}",
    ),
    "random-state": Rule(ValueError, _RANDOM_STATE),
    "random-state-type": Rule(TypeError, _RANDOM_STATE),
    "default-rng": Rule(ValueError, _DEFAULT_RNG),
    "default-rng-type": Rule(TypeError, _DEFAULT_RNG),
    # an estimator's assigned coefs_ and intercepts_
    "layer-list": Rule(TypeError, "{name}: expected a list of arrays, one per layer, found {type}"),
    "layer-lists": Rule(
        ValueError,
        "{name}: expected two lists of the same length >= 1, one array per layer, found lengths "
        "{count} and {other}",
    ),
    "coef-rows": Rule(ValueError, "{name}: expected {rows} rows ({source}), found shape {shape}"),
    "intercept-shape": Rule(
        ValueError, "{name}: expected shape {shape} (the columns of {coefs}), found {found}"
    ),
    "coef-columns": Rule(
        ValueError,
        "{name}: expected {n_outputs} columns (one per output, n_outputs_), found shape {shape}",
    ),
    # the twins' scalar helpers
    "outputs-vector": Rule(
        ValueError, "{name}: expected a non-empty 1-D array, found shape {shape}"
    ),
    "outputs-positive": Rule(ValueError, "{name}: expected positive outputs, found {value}"),
    "class-index": Rule(ValueError, "{name}: expected a class in [0, {size}), found {value!r}"),
    "model-type": Rule(TypeError, "{name}: expected a fastmlp.MLP, found {type}"),
    # a training run's other arguments
    "pair": Rule(
        TypeError, "{name}: expected a pair (X_val, y_val), found {type} of length {length}"
    ),
    "orders": Rule(
        TypeError,
        "{name}: expected None, a callable (epoch, n) -> order or an iterable of orders, "
        "found {value!r}",
    ),
    "order-length": Rule(
        ValueError, "{name}: expected {n} indices for epoch {epoch}, found {size}"
    ),
    "order-missing": Rule(ValueError, "{name}: expected an order for epoch {epoch}, found none"),
    "settings-type": Rule(TypeError, "{name}: expected TrainSettings, found {value!r}"),
    "callback-objects": Rule(TypeError, "{name}: expected Callback objects, found {value!r}"),
    "callback-callables": Rule(TypeError, "{name}: expected callables, found {value!r}"),
    "callback-sequence": Rule(
        TypeError, "{name}: expected a sequence of callables, found {value!r}"
    ),
    "early-stopping": Rule(
        TypeError,
        "{name}: expected None, a bool, a patience or an EarlyStopping, found {value!r}",
    ),
    "epochs-steps": Rule(
        ValueError,
        "{name}: expected at most {most} epochs of {steps} steps (each step's loss is kept), "
        "found {value}",
    ),
    "optimizer-state": Rule(
        ValueError,
        "{name}: expected the state of {optimizer!r} for this network (its slots, shaped "
        "and typed like the parameters, and t >= 0), found {value!r}",
    ),
    "velocities-unused": Rule(
        ValueError,
        "{name}: expected None for optimizer={optimizer!r} (they are SGD momentum's), "
        "found velocities",
    ),
    "weight-sum": Rule(
        ValueError, "{name}: expected a positive sum of weights to average over, found {value}"
    ),
    "forward-overflow": Rule(
        ValueError,
        "{name}: expected inputs the forward pass can carry in {dtype}, found {count} of {rows} "
        "rows (first row {first}) whose outputs overflowed to NaN or infinity; scale X down "
        "(or use float64)",
    ),
    "gradient-overflow": Rule(
        ValueError,
        "{name}: expected inputs whose gradients {dtype} can carry, found NaN or infinite "
        "gradients (the forward or backward pass overflowed); scale X down (or use float64)",
    ),
    "step-max": Rule(ValueError, "{name}: expected a step <= {most}, found {value!r}"),
    "step-rounding": Rule(
        ValueError,
        "{name}: expected a step that changes every logit, found {value!r} lost in rounding "
        "against a logit of {logit!r}",
    ),
    "rates": Rule(
        ValueError, "{name}: expected a dict of epoch -> lr starting at epoch 0, found {value!r}"
    ),
    "schedule-name": Rule(
        ValueError,
        "{name}: expected one of {choices}, a Schedule or a callable, found {value!r}",
    ),
    "schedule-type": Rule(
        TypeError, "{name}: expected a name, a Schedule or a callable, found {value!r}"
    ),
    # warmup's lists of dtypes and hidden layer counts
    "dtype-names-type": Rule(
        TypeError, "{name}: expected a dtype name or a sequence of them, found {value!r}"
    ),
    "dtype-names": Rule(
        ValueError, "{name}: expected names from {choices}, found {value!r} in {given!r}"
    ),
    "dtype-names-empty": Rule(
        ValueError, "{name}: expected at least one of {choices}, found {value!r}"
    ),
    "jobs": Rule(ValueError, "{name}: expected an integer >= 1 or None, found {value!r}"),
    "layer-counts-type": Rule(
        TypeError, "{name}: expected an integer >= 0 or a sequence of them, found {value!r}"
    ),
    "layer-counts": Rule(
        ValueError, "{name}: expected integers >= 0, found {value!r} in {given!r}"
    ),
    "layer-counts-empty": Rule(
        ValueError, "{name}: expected at least one integer >= 0, found {value!r}"
    ),
    # experiments: configurations, grids and sweeps
    "hidden-sequence": Rule(
        TypeError, "{name}: expected a sequence of hidden layer sizes, found {value!r}"
    ),
    "one-swept": Rule(
        ValueError, "{name}: expected a sweep of exactly one parameter, found {swept} swept"
    ),
    "swept-name": Rule(
        ValueError, "{name}: expected the swept parameter {swept!r}, found {value!r}"
    ),
    "swept-distinct": Rule(ValueError, "{name}: expected distinct swept values, found {value!r}"),
    "label-table": Rule(
        ValueError,
        "{name}: expected a .csv data file to pick the label column of, found data {value!r}",
    ),
    "data-name": Rule(
        ValueError, "{name}: expected one of {choices} or a {suffixes} file, found {value!r}"
    ),
    "rows-available": Rule(
        ValueError, "{name}: expected at most the {available} rows there are, found {value}"
    ),
    "grid-field": Rule(ValueError, "{name}: expected Config fields ({fields}), found {value!r}"),
    "grid-values": Rule(TypeError, "{name}: expected a list of values, found {value!r}"),
    "grid-empty": Rule(ValueError, "{name}: expected a non-empty list of values, found {value!r}"),
    # plots
    "step-losses": Rule(
        ValueError,
        "{name}: expected a History or a non-empty 1-D array of step losses, found shape {shape}",
    ),
    "window": Rule(ValueError, "{name}: expected an integer in [1, {most}], found {value!r}"),
    "epochs-none": Rule(ValueError, "{name}: expected at least one epoch, found none"),
    "rates-none": Rule(ValueError, "{name}: expected at least one learning rate, found none"),
    "rates-positive": Rule(ValueError, "{name}: expected learning rates > 0, found {value!r}"),
    "histories-none": Rule(ValueError, "{name}: expected at least one History, found none"),
    "curve-empty": Rule(
        ValueError, "{name}: expected every run to record {key}, found an empty one"
    ),
    "two-inputs": Rule(
        ValueError, "{name}: expected 2 inputs to draw a decision boundary, found sizes {sizes}"
    ),
    "digit-images": Rule(
        ValueError,
        "{name}: expected shape (m, 784) or (m, 28, 28) with m >= 1, found {shape}",
    ),
    "images-none": Rule(ValueError, "{name}: expected at least 1 image to show, found {value!r}"),
    "image-labels": Rule(
        ValueError,
        "{name}: expected {n} labels each (one per image), found shapes {shape} and {other}",
    ),
    "label-pair": Rule(
        ValueError,
        "{name}: expected two non-empty 1-D arrays of equal length, found shapes {shape} and "
        "{other}",
    ),
    "positive-outputs": Rule(
        ValueError, "{name}: expected a non-empty 1-D array of positive values"
    ),
    "binary-target": Rule(ValueError, "{name}: expected 0 or 1, found {value!r}"),
    "format-suffix": Rule(
        ValueError, "{name}: expected a suffix naming the format (.png, .pdf, ...), found {path}"
    ),
    # data sets: folders, mirrors and feature scaling
    "folder-type": Rule(TypeError, "{name}: expected a folder as str or os.PathLike, found {type}"),
    "mirrors": Rule(ValueError, "{name}: expected a non-empty list of base URLs, found {value!r}"),
    "arrays-none": Rule(ValueError, "{name}: expected at least one array to scale, found none"),
    "feature-shape": Rule(ValueError, "{name}: expected one feature shape, found {shapes}"),
    # a model's layer sizes
    "sizes-type": Rule(TypeError, "{name}: expected a sequence of layer sizes, found {value!r}"),
    "sizes-length": Rule(
        ValueError, "{name}: expected at least an input and an output size, found {value!r}"
    ),
    "sizes-value": Rule(ValueError, "{name}: expected integers >= 1, found {value!r}"),
}


def describe(arr):
    """Return what an array argument was found to be: its type, dtype and shape."""
    return f"{type(arr).__name__} {getattr(arr, 'dtype', '')} {np.shape(arr)}"


def reject(key: str, name: str, /, **fields) -> Exception:
    """Return the exception of rule ``RULES[key]`` for argument ``name``; the caller raises it.

    ``fields`` fill the rule's template (what was expected and found).
    """
    rule = RULES[key]
    return rule.error(rule.message.format(name=name, **fields))


def as_array(name, a):
    """Return ``np.asarray(a)``; numpy's errors for ragged or unconvertible input name ``name``."""
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as error:
        key = "unconvertible-type" if isinstance(error, TypeError) else "unconvertible"
        raise reject(key, name, kind=type(a).__name__, error=error) from error


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
        raise reject("choice", "dtype", choices=sorted(DTYPES), value=dtype)
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
        raise reject("numeric", name, dtype=arr.dtype)
    if arr.ndim != ndim:
        raise reject("ndim", name, ndim=ndim, shape=arr.shape)
    if arr.size == 0:
        raise reject("non-empty", name, shape=arr.shape)
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and want != got:
                raise reject("axis-size", name, size=want, axis=axis, shape=arr.shape)
    if arr.dtype.kind == "f":
        _check_float_values(name, arr, dtype)
    with np.errstate(all="ignore"):  # underflow to 0 is not an error
        return np.ascontiguousarray(arr, dtype=dtype)


def _check_float_values(name, arr, dtype):
    """Raise unless every value of the float array ``arr`` is finite and fits in ``dtype``.

    Checked before converting: a value beyond the range of ``dtype`` would
    become inf (with numpy's overflow warning) and hide what was given.
    """
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        raise reject("finite", name, count=len(bad), index=first, value=arr[first])
    limit = np.finfo(dtype).max
    if np.finfo(arr.dtype).max > limit:
        too_big = np.abs(arr) > limit
        if too_big.any():
            first = tuple(int(i) for i in np.argwhere(too_big)[0])
            raise reject(
                "dtype-range",
                name,
                dtype=dtype,
                limit=limit,
                count=int(too_big.sum()),
                index=first,
                value=arr[first],
            )


def is_sparse(a):
    """Return True for a scipy.sparse matrix or array; never imports scipy to find out."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(a)


def as_inputs(name, a, dtype, width):
    """Return the inputs ``a`` of ``width`` columns checked for the kernels.

    Dense input as ``as_float_array`` (a 2-D array of ``dtype``), sparse
    input as ``as_csr``: a CSR of ``dtype`` that is never densified.
    """
    if is_sparse(a):
        return as_csr(name, a, dtype, width)
    return as_float_array(name, a, dtype, 2, shape=(None, width))


def as_csr(name, a, dtype, width=None):
    """Return the scipy.sparse ``a`` as a checked, canonical CSR of ``dtype``, int64 indices.

    Other formats are converted (copying only the stored entries), duplicates
    summed and indices sorted, in a copy: ``a`` is never changed. The structure
    is checked before scipy's compiled conversions or a kernel read it (neither
    bounds-checks), the values as ``as_float_array`` checks them. Returns ``a``
    itself when it qualifies, else a CSR of its kind (matrix or array).
    """
    shape = getattr(a, "shape", ())
    if len(shape) != 2:
        raise reject("sparse-format", name, found=f"{type(a).__name__} of shape {shape}")
    if 0 in shape:
        raise reject("non-empty", name, shape=shape)
    if width is not None and shape[1] != width:
        raise reject("axis-size", name, size=width, axis=1, shape=shape)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise reject("numeric", name, dtype=a.dtype)
    csr = _checked_csr(name, a)
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is a else csr
        csr.sum_duplicates()  # sorts the indices too
    _check_sparse_values(name, csr, dtype)
    n = int(csr.indptr[-1])
    arrays = (csr.data, csr.indices, csr.indptr)
    if all(arr.flags.c_contiguous for arr in arrays) and csr.data.size == n:
        if (csr.data.dtype, csr.indices.dtype, csr.indptr.dtype) == (dtype, np.int64, np.int64):
            return csr
    with np.errstate(all="ignore"):  # underflow to 0 is not an error
        data = np.ascontiguousarray(csr.data[:n], dtype=dtype)
    indices = np.ascontiguousarray(csr.indices[:n], dtype=np.int64)
    out = type(csr)((data, indices, csr.indptr), shape=shape, copy=False)
    # scipy narrows indices that fit to int32; the kernels take int64 alone.
    out.indices, out.indptr = indices, np.ascontiguousarray(csr.indptr, dtype=np.int64)
    return out


def _checked_csr(name, a):
    """Return sparse ``a`` as CSR once its structure is checked (``a`` itself if CSR)."""
    if a.format in ("csr", "csc"):
        shape = a.shape if a.format == "csr" else a.shape[::-1]
        axis = "column" if a.format == "csr" else "row"
        _check_compressed(name, a.indptr, a.indices, a.data, shape, axis)
        return a if a.format == "csr" else a.tocsr()
    if a.format == "coo":
        for axis, idx, size in (("row", a.row, a.shape[0]), ("column", a.col, a.shape[1])):
            _check_indices(name, idx, a.data, axis, size, "coordinates")
    return a.tocsr()


def _check_indices(name, indices, data, axis, size, what="indices"):
    """Raise unless ``indices`` are integers in ``[0, size)``, one per entry of ``data``."""
    if not np.issubdtype(indices.dtype, np.integer):
        raise reject("sparse-index-dtype", name, what=what, dtype=indices.dtype)
    if indices.ndim != 1 or data.ndim != 1 or indices.size != data.size:
        raise reject("sparse-lengths", name, data=data.shape, indices=indices.shape)
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        bad = int(np.argmax((indices < 0) | (indices >= size)))
        raise reject("sparse-indices", name, axis=axis, width=size, value=indices[bad], index=bad)


def _check_compressed(name, indptr, indices, data, shape, axis):
    """Raise unless ``indptr`` and ``indices`` of a CSR (CSC) of ``shape`` are sound.

    ``indptr`` must rise from 0 to at most the stored entries, ``shape[0] + 1``
    of them; the indices it covers must lie in ``[0, shape[1])``.
    """
    if not np.issubdtype(indptr.dtype, np.integer):
        raise reject("sparse-index-dtype", name, what="indptr", dtype=indptr.dtype)
    if not (indices.ndim == 1 and data.shape == indices.shape):
        raise reject("sparse-lengths", name, data=data.shape, indices=indices.shape)
    sound = indptr.ndim == 1 and indptr.size == shape[0] + 1
    # Compared, not differenced: an unsigned difference would wrap around.
    falls = np.flatnonzero(indptr[1:] < indptr[:-1]) if sound else []
    if not sound or indptr[0] != 0 or indptr[-1] > indices.size or len(falls):
        found = f"shape {indptr.shape}"
        if indptr.ndim == 1 and indptr.size:
            found = f"{indptr.size} entries from {indptr[0]} to {indptr[-1]}"
            found += f", falling after entry {falls[0]}" if len(falls) else ""
        raise reject("sparse-indptr", name, size=shape[0] + 1, nnz=indices.size, found=found)
    used = int(indptr[-1])
    _check_indices(name, indices[:used], data[:used], axis, shape[1])


def _check_sparse_values(name, csr, dtype):
    """Raise unless the stored values of ``csr`` are finite and fit in ``dtype``.

    As ``_check_float_values``, naming the first bad value by its ``(row, column)``.
    """
    data = csr.data[: int(csr.indptr[-1])]
    if data.dtype.kind != "f":
        return
    limit = np.finfo(dtype).max
    key, bad = "finite", ~np.isfinite(data)
    if not bad.any():
        if np.finfo(data.dtype).max <= limit:
            return
        key, bad = "dtype-range", np.abs(data) > limit
        if not bad.any():
            return
    p = int(np.argmax(bad))
    where = (int(np.searchsorted(csr.indptr, p, side="right")) - 1, int(csr.indices[p]))
    fields = {"count": int(bad.sum()), "index": where, "value": data[p]}
    if key == "dtype-range":
        fields.update(dtype=dtype, limit=limit)
    raise reject(key, name, **fields)


def as_labels(name, y, n, n_classes):
    """Return integer class labels as a C-contiguous int64 array of length ``n``.

    Float arrays of whole numbers are accepted; every label must lie in
    ``[0, n_classes)``.
    """
    arr = as_array(name, y)
    if arr.ndim != 1:
        raise reject("label-ndim", name, shape=arr.shape)
    if len(arr) != n:
        raise reject("label-count", name, n=n, count=len(arr))
    if np.issubdtype(arr.dtype, np.floating):
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not whole.all():
            first = int(np.argmin(whole))
            raise reject("label-whole", name, value=arr[first].item(), index=first)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise reject("label-dtype", name, dtype=arr.dtype)
    # Compare before converting: 1e20 or a uint64 above 2**63 does not fit in int64.
    values = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    outside = (values < 0) | (values >= n_classes)
    if outside.any():
        first = int(np.argmax(outside))
        raise reject("label-range", name, n_classes=n_classes, value=arr[first].item(), index=first)
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_order(name, order, n):
    """Return a sample order (indices into ``n`` rows) as C-contiguous int64."""
    arr = as_array(name, order)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise reject("order-type", name, dtype=arr.dtype, shape=arr.shape)
    if arr.size == 0:
        raise reject("order-empty", name)
    # Compare before converting: a uint64 above 2**63 would wrap to a negative int64.
    if arr.min() < 0 or arr.max() >= n:
        raise reject("order-range", name, n=n, low=arr.min(), high=arr.max())
    return np.ascontiguousarray(arr, dtype=np.int64)


def _as_real(name, value):
    """Return ``value`` as float (inf when too large for one) if it is a real number, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise reject("real", name, value=value)
    return _as_float(value)


def _as_integer(name, value):
    """Return ``value`` if it is an integer (not a bool) that fits in int64, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise reject("integer", name, value=value)
    if value > MAX_COUNT:
        raise reject("int64", name, value=value)
    return value


def as_positive(name, value, kind=numbers.Real):
    """Return ``value`` if it is a finite number > 0 of the given kind, else raise.

    Integers (``kind=numbers.Integral``) must also fit in int64, as the
    kernels take them; reals must be finite as floats.
    """
    if kind is numbers.Integral:
        positive = _as_integer(name, value) > 0
    else:
        as_float = _as_real(name, value)
        positive = math.isfinite(as_float) and as_float > 0
    if not positive:
        raise reject("positive", name, value=value)
    return value


def as_unit_interval(name, value):
    """Return a real ``value`` in [0, 1) (a momentum or an Adam beta) as float."""
    as_float = _as_real(name, value)
    if not 0 <= as_float < 1:
        raise reject("unit-interval", name, value=value)
    return as_float


def as_momentum(value):
    """Return a momentum coefficient in [0, 1) as float."""
    return as_unit_interval("momentum", value)


def as_nonnegative(name, value):
    """Return a finite real ``value >= 0`` (such as an L2 coefficient) as float."""
    as_float = _as_real(name, value)
    if not math.isfinite(as_float) or as_float < 0:
        raise reject("nonnegative", name, value=value)
    return as_float


def as_count(name, value, low=0):
    """Return an integer ``value >= low`` (not a bool) that fits in int64, else raise."""
    if _as_integer(name, value) < low:
        raise reject("at-least", name, low=low, value=value)
    return int(value)


def as_bool(name, value):
    """Return ``value`` if it is a bool (numpy's included) as bool, else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise reject("bool", name, value=value)
    return bool(value)


def as_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise naming them."""
    if not isinstance(value, str) or value not in choices:
        raise reject("choice", name, choices=list(choices), value=value)
    return value


def as_sample_weight(sample_weight, n, dtype):
    """Return per-row weights (ones when None) as C-contiguous ``dtype``, each finite and >= 0."""
    if sample_weight is None:
        return np.ones(n, dtype=dtype)
    sw = as_float_array("sample_weight", sample_weight, dtype, 1, shape=(n,))
    if (sw < 0).any():
        first = int(np.argmax(sw < 0))
        raise reject("weights", "sample_weight", value=sw[first], index=first)
    return sw


def check_random_state(seed, name="seed"):
    """Return ``seed`` if ``as_rng`` takes it (without drawing from it), else raise naming ``name``.

    Accepted: None, an integer >= 0, a ``numpy.random.Generator`` (used as
    is) or a legacy ``numpy.random.RandomState`` (a Generator is seeded from
    its stream, so a caller's shared RandomState advances as scikit-learn's does).
    """
    kinds = (numbers.Integral, np.random.Generator, np.random.RandomState)
    if seed is not None and not isinstance(seed, kinds):
        raise reject("random-state-type", name, value=seed)
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise reject("random-state", name, value=seed)
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
        raise reject("target-ndim", name, n_outputs=n_outputs, shape=arr.shape)
    Y = as_float_array(name, arr, dtype, 2, shape=(n, n_outputs))
    bad = ~((Y == 0) | (Y == 1)) if out == LOGISTIC else (Y < 0) if out == POISSON else None
    if bad is not None and bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        key = "target-binary" if out == LOGISTIC else "target-count"
        raise reject(key, name, value=Y[first], index=first)
    return Y


def as_sizes(sizes, name="sizes"):
    """Return a network's layer sizes (input, hidden..., output) as a tuple of ints >= 1."""
    try:
        checked = tuple(sizes)
    except TypeError:
        raise reject("sizes-type", name, value=sizes) from None
    if len(checked) < 2:
        raise reject("sizes-length", name, value=sizes)
    for size in checked:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise reject("sizes-value", name, value=sizes)
    return tuple(int(size) for size in checked)
