"""``gradcheck``: compare ``gradients`` with central finite differences of ``MLP.loss``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_positive
from .config import GRADCHECK_EPS, GRADCHECK_FLOOR
from .model import MLP
from .training import _check_model, gradients

#: The largest finite-difference step ``gradcheck`` takes.
MAX_EPS = 1.0


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
        The model to check (not modified).
    X, y : array_like
        Inputs and labels; keep them small, the check costs two loss
        evaluations per parameter.
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
    eps = float(as_positive("eps", eps))
    if eps > MAX_EPS:
        raise ValueError(f"eps: expected a step <= {MAX_EPS}, found {eps!r}")
    probe = MLP(model.sizes, model.activation, "float64", seed=None)
    probe.params[...] = model.params
    X = probe.check_X(X)
    y = probe.check_y(y, X.shape[0])
    dWs, dbs = gradients(probe, X, y, backend=backend)
    analytic = np.concatenate([g.ravel() for pair in zip(dWs, dbs) for g in pair])
    numeric = np.empty_like(analytic)
    for k in range(probe.params.size):
        saved = probe.params[k]
        probe.params[k] = saved + eps
        plus = probe.loss(X, y)
        probe.params[k] = saved - eps
        minus = probe.loss(X, y)
        probe.params[k] = saved
        numeric[k] = (plus - minus) / (2 * eps)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), GRADCHECK_FLOOR)
    return float(np.max(np.abs(analytic - numeric) / scale))
