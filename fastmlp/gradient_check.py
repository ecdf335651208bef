"""Analytic gradients against central finite differences.

``gradcheck`` compares ``gradients`` with differences of ``MLP.loss``;
``softmax_xent_gradcheck`` compares the output layer's local derivative
``softmax(z) - onehot(t)`` with differences of the softmax cross-entropy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import reference
from ._checks import as_positive, reject
from .config import GRADCHECK_EPS, GRADCHECK_FLOOR
from .kernels import softmax_xent_backward
from .model import MLP
from .objective import _check_model, gradients

#: The largest finite-difference step ``gradcheck`` and ``softmax_xent_gradcheck`` take.
MAX_EPS = 1.0


def _check_eps(eps):
    """Return the finite-difference step as float, a finite number in ``(0, MAX_EPS]``."""
    eps = float(as_positive("eps", eps))
    if eps > MAX_EPS:
        raise reject("step-max", "eps", most=MAX_EPS, value=eps)
    return eps


def gradcheck(
    model: MLP,
    X: ArrayLike,
    y: ArrayLike,
    *,
    eps: float = GRADCHECK_EPS,
    backend: str = "numba",
) -> float:
    """Return the largest relative error between analytic and numerical gradients.

    The check runs on a float64 copy of ``model`` (float32 has too few digits
    for finite differences). For every parameter ``w``, the numerical
    gradient is ``(L(w + eps) - L(w - eps)) / (2 eps)`` and the relative error
    is ``|g - g_num| / max(|g|, |g_num|, floor)`` with
    ``floor = fastmlp.config.GRADCHECK_FLOOR`` (1e-4): the difference quotient
    carries about 1e-11 of rounding noise, which would swamp a purely relative
    error for entries near zero (such as those behind a dead relu).

    Relu has a kink at 0: a pre-activation within ``eps`` of 0, or exactly 0
    (zero input and zero bias), makes the difference quotient, not the
    gradient, wrong. Check relu nets at generic parameters.

    Parameters
    ----------
    model : MLP
        The model to check (not modified), of any output.
    X, y : array_like
        Inputs and targets (see ``MLP.check_y``); keep them small, the check
        costs two loss evaluations per parameter.
    eps : float
        Finite-difference step, in ``(0, MAX_EPS]``.
    backend : {"numba", "numpy"}
        Which implementation's gradient to check.

    Returns
    -------
    float
        The maximum relative error over all parameters.

    Raises
    ------
    TypeError, ValueError
        For a ``model`` that is not an ``MLP``, a step that is not a finite
        number in ``(0, MAX_EPS]``, or bad ``X``, ``y`` or ``backend``.
    """
    _check_model(model)
    eps = _check_eps(eps)
    probe = MLP(model.sizes, model.activation, "float64", seed=None, output=model.output)
    probe.params[...] = model.params
    X = probe.check_X(X)
    y = probe.check_y(y, X.shape[0])
    dWs, dbs = gradients(probe, X, y, backend=backend)
    analytic = np.concatenate([g.ravel() for pair in zip(dWs, dbs) for g in pair])
    numeric = _numeric_gradient(probe, X, y, eps)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), GRADCHECK_FLOOR)
    return float(np.max(np.abs(analytic - numeric) / scale))


def _numeric_gradient(probe, X, y, eps):
    """Return the central differences of ``probe.loss`` for every parameter (restored after)."""
    numeric = np.empty(probe.params.size)
    for k in range(probe.params.size):
        saved = probe.params[k]
        probe.params[k] = saved + eps
        plus = probe.loss(X, y)
        probe.params[k] = saved - eps
        minus = probe.loss(X, y)
        probe.params[k] = saved
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric


class SoftmaxXentCheck(NamedTuple):
    """What ``softmax_xent_gradcheck`` found: both derivatives and their largest difference."""

    #: ``softmax(z) - onehot(t)`` from the kernel fastmlp trains with, in the dtype of ``z``.
    analytic: np.ndarray
    #: Central differences of the float64 loss, the shape of ``z``.
    numeric: np.ndarray
    #: ``max |analytic - numeric|`` (absolute: every entry lies in [-1, 1]).
    error: float


def softmax_xent_gradcheck(
    z: ArrayLike, t: ArrayLike, *, eps: float = GRADCHECK_EPS
) -> SoftmaxXentCheck:
    """Check ``dloss/dz = softmax(z) - onehot(t)`` against central differences.

    The loss is the softmax cross-entropy ``l(z) = log(sum_j exp(z_j)) - z_t``
    of logits ``z`` against class ``t``. The analytic derivative is the one
    fastmlp's kernels train with (``fastmlp.kernels.softmax_xent_backward``,
    in the dtype of ``z``); the numerical one is
    ``(l(z + h e_j) - l(z - h e_j)) / (2 h)`` for each logit ``j``, computed
    in float64 from the numpy reference's stable loss
    (``fastmlp.reference.softmax_xent_forward``: code independent of the
    kernels), so logits of +-1e4 are fine. ``2 h`` is taken as the difference
    of the two perturbed logits as represented, not as ``2 eps``.

    In float64 the error is about ``eps**2`` (the truncation of the
    difference quotient) plus ``1e-16 * l / eps`` (the rounding of the loss):
    about 1e-10 for ordinary logits, a few 1e-8 when a wrong class leads by
    1e4 (a loss of 1e4). With float32 logits the analytic derivative carries
    float32 rounding, about 1e-7.

    Parameters
    ----------
    z : array_like, shape (n_classes,) or (n, n_classes)
        Logits of one sample, or one row per sample (float32 stays float32
        for the analytic derivative; other input is taken as float64).
    t : int or array_like of int, shape (n,)
        Target class of each sample.
    eps : float
        Finite-difference step ``h``, in ``(0, MAX_EPS]``.

    Returns
    -------
    SoftmaxXentCheck
        ``analytic`` and ``numeric`` (each the shape of ``z``) and ``error``,
        the largest absolute difference between them.

    Raises
    ------
    TypeError, ValueError
        For logits that are not a finite 1-D or 2-D numeric array, targets
        outside ``[0, n_classes)`` or of the wrong count, or a step that is
        not a finite number in ``(0, MAX_EPS]`` or is lost in rounding
        against a logit (1e-5 against 1e12).

    Examples
    --------
    >>> check = softmax_xent_gradcheck([2.0, -1.0, 0.5], 1)
    >>> check.analytic.round(4)
    array([ 0.7856, -0.9609,  0.1753])
    >>> check.error < 1e-9
    True
    """
    eps = _check_eps(eps)
    _, analytic = softmax_xent_backward(z, t)
    # Both are valid now: the kernel's wrapper checked them.
    Z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    labels = np.atleast_1d(np.asarray(t)).astype(np.int64)
    numeric = _logit_differences(Z, labels, eps).reshape(analytic.shape)
    return SoftmaxXentCheck(analytic, numeric, float(np.max(np.abs(analytic - numeric))))


def _logit_differences(Z, labels, eps):
    """Return the central differences of the reference's softmax cross-entropy in each logit."""
    steps = (Z + eps) - (Z - eps)
    if not (steps > 0).all():
        raise reject("step-rounding", "eps", value=eps, logit=float(Z[steps <= 0][0]))
    loss = reference.softmax_xent_forward
    numeric = np.empty_like(Z)
    # No overflow: the loss overflows only for logits near 1e308, where any step is lost.
    for j in range(Z.shape[1]):
        plus, minus = Z.copy(), Z.copy()
        plus[:, j] += eps
        minus[:, j] -= eps
        numeric[:, j] = (loss(plus, labels) - loss(minus, labels)) / steps[:, j]
    return numeric
