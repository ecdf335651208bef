"""Datasets: the synthetic 2-D classification set used by the default experiment."""

import numbers

import numpy as np

from ._checks import as_positive

#: The quadratic form of ``load_synth``: class 1 where ``x^T Q x > 0.6``.
SYNTH_Q = np.array([[1.0, -0.05], [1.0, 0.4]])
SYNTH_THRESHOLD = 0.6


def load_synth(num_train=60_000, num_val=10_000, seed=0):
    """Return the synthetic 2-D set: ``((xtrain, ytrain), (xval, yval), num_classes)``.

    Points are drawn from N(0, I) in 2-D; a point is class 1 where
    ``x^T Q x > 0.6`` with ``Q = [[1, -0.05], [1, 0.4]]`` (an ellipse-shaped
    boundary, about 56% of points in class 1), else class 0.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int
        Seed of the set's own ``np.random.Generator``: same seed, same arrays.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), 2)`` with float64 inputs of shape
        ``(n, 2)`` and int64 labels.
    """
    num_train = as_positive("num_train", num_train, numbers.Integral)
    num_val = as_positive("num_val", num_val, numbers.Integral)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_train + num_val, 2))
    y = (np.einsum("ni,ij,nj->n", x, SYNTH_Q, x) > SYNTH_THRESHOLD).astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2
