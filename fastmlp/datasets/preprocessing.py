"""Feature scaling with statistics taken from the data you pass."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._checks import reject


def _stats_source(arrays, reference):
    if not arrays:
        raise reject("arrays-none", "arrays")
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    source = arrays if reference is None else [np.asarray(reference, dtype=np.float64)]
    widths = {a.shape[1:] for a in arrays + source}
    if len(widths) != 1:
        raise reject("feature-shape", "arrays", shapes=sorted(widths))
    return arrays, np.concatenate([s.reshape(len(s), -1) for s in source])


def _unpack(scaled):
    return scaled[0] if len(scaled) == 1 else tuple(scaled)


def minmax_scale(
    *arrays: ArrayLike,
    reference: ArrayLike | None = None,
    feature_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Scale each feature to ``feature_range`` using the min and max of the data.

    Parameters
    ----------
    *arrays : array_like, shape (n_i, ...)
        Arrays with the same features, e.g. training and validation inputs.
    reference : array_like, optional
        Take the statistics from this array only (e.g. the training set).
        By default they come from all ``arrays`` together: the classic recipe
        scales training and validation with the min/max of both.
    feature_range : (float, float)
        Target interval.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        The scaled arrays (float64), one per input. A constant feature maps
        to the interval's lower end.
    """
    arrays, source = _stats_source(arrays, reference)
    low, high = feature_range
    lo, span = source.min(axis=0), np.ptp(source, axis=0)
    span = np.where(span > 0, span, 1.0)
    shape = arrays[0].shape[1:]
    scale = ((high - low) / span).reshape(shape)
    lo = lo.reshape(shape)
    return _unpack([(a - lo) * scale + low for a in arrays])


def standardize(
    *arrays: ArrayLike, reference: ArrayLike | None = None
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Shift and scale each feature to mean 0 and standard deviation 1.

    A constant feature is only shifted.

    Parameters
    ----------
    *arrays : array_like, shape (n_i, ...)
        Arrays with the same features, e.g. training and validation inputs.
    reference : array_like, optional
        Take the mean and standard deviation from this array only (e.g. the
        training set); by default from all ``arrays`` together.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        The standardised arrays (float64), one per input.
    """
    arrays, source = _stats_source(arrays, reference)
    shape = arrays[0].shape[1:]
    mean = source.mean(axis=0).reshape(shape)
    std = source.std(axis=0).reshape(shape)
    std = np.where(std > 0, std, 1.0)
    return _unpack([(a - mean) / std for a in arrays])
