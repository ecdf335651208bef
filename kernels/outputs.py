"""Output layers and their losses, one sample at a time: loss, fused delta, prediction.

The output code (``fastmlp.names.OUTPUTS``) is a run-time integer, so one
compiled kernel serves several outputs. What is compiled apart is the kind
of target: softmax takes a class index ``t`` (an integer), the other outputs
a row ``y`` of real targets, one per output unit. ``_output_delta`` and
``_output_loss`` pick their implementation from the target's type when the
kernel is compiled (``numba.extending.overload``).

Every loss is in a stable form, summed in float64:

- softmax: ``(m - z[t]) + log(sum(exp(z - m)))`` with ``m = max(z)``;
- logistic: ``max(z, 0) - y z + log1p(exp(-|z|))`` per unit (binary
  cross-entropy of ``sigmoid(z)``), whose exponent is never positive;
- identity: ``0.5 (y - z)**2`` per unit;
- exp: ``y log(y) - y z - y + exp(z)`` per unit (``y log(y) = 0`` at ``y = 0``):
  the half Poisson deviance ``y log(y / exp(z)) - y + exp(z)`` written so
  that ``exp(z)`` overflowing to inf gives an infinite loss, never NaN.

The deltas, dL/dz, are ``softmax(z) - onehot(t)``, ``sigmoid(z) - y``,
``z - y`` and ``exp(z) - y``. A row's "hit" is whether softmax's argmax is
``t``, or whether every logistic unit predicts its target (``sigmoid(z) >
0.5``, as ``MLP.predict``); identity and exp rows have no right or wrong and
count 0.
"""

import numpy as np
from numba import types
from numba.extending import overload
from numpy.typing import ArrayLike

from .._checks import as_float_array, as_targets
from ..config import ERROR_MODEL, FASTMATH
from ..names import LINEAR, LOGISTIC, POISSON, SOFTMAX, output_code
from ._jit import kernel
from .softmax_xent import _argmax, _softmax, _softmax_xent_backward, _softmax_xent_forward

_OPTIONS = {"fastmath": set(FASTMATH), "error_model": ERROR_MODEL}


@kernel(inline=True)
def _sigmoid(z, one):
    """Return ``1 / (1 + exp(-z))`` without overflow; ``one`` is 1 in the dtype of ``z``."""
    if z >= 0:
        return one / (one + np.exp(-z))
    e = np.exp(z)
    return e / (one + e)


@kernel(inline=True)
def _unit_loss(z, y, out):
    """Return the float64 loss of one output unit ``z`` against target ``y`` (not softmax)."""
    z, y = np.float64(z), np.float64(y)
    if out == LOGISTIC:
        return max(z, 0.0) - y * z + np.log1p(np.exp(-abs(z)))
    if out == LINEAR:
        return 0.5 * (y - z) * (y - z)
    # POISSON; y * log(y) is 0 at y = 0 (its limit), not 0 * -inf.
    ylogy = y * np.log(y) if y > 0.0 else 0.0
    return ylogy - y * z - y + np.exp(z)


@kernel(inline=True)
def _unit_delta(z, y, out, one):
    """Return dL/dz of one output unit (not softmax); ``one`` is 1 in the dtype of ``z``."""
    if out == LOGISTIC:
        return _sigmoid(z, one) - y
    if out == LINEAR:
        return z - y
    return np.exp(z) - y


@kernel(inline=True)
def _unit_hit(z, y, out):
    """Return whether every logistic unit predicts its 0/1 target ``y``: ``sigmoid(z) > 0.5``.

    The probability, not ``z > 0``: for a tiny positive ``z`` the float32
    sigmoid rounds to 0.5, and ``MLP.predict`` (scikit-learn's rule) says 0.
    """
    if out != LOGISTIC:
        return False
    one, half = z.dtype.type(1), z.dtype.type(0.5)
    for j in range(z.size):
        if (_sigmoid(z[j], one) > half) != (y[j] > half):
            return False
    return True


def _output_delta(z, t, w, out, delta):
    """Write ``w * dL/dz`` into ``delta``; return ``(w * loss, hit)``.

    The loss is float64, except softmax's, in the dtype of ``z`` as before
    outputs were added (the caller stores it into a float64 array).

    ``t`` is a class index (softmax) or a row of targets (the others).
    """


def _output_loss(z, t, out):
    """Return ``(loss, hit)`` of the output ``z`` against ``t`` (see ``_output_delta``)."""


def _softmax_delta(z, t, w, out, delta):
    # Softmax + cross-entropy as before outputs were added, for class index t.
    loss = _softmax_xent_backward(z, t, delta)
    if w != z.dtype.type(1):
        for j in range(delta.size):
            delta[j] *= w
    return loss * w, _argmax(z) == t


@kernel(inline=True)
def _units_delta(z, t, w, out, delta):
    """``_output_delta`` of a row ``t`` of real targets (the outputs other than softmax)."""
    one = z.dtype.type(1)
    loss = 0.0
    for j in range(z.size):
        loss += _unit_loss(z[j], t[j], out)
        delta[j] = w * _unit_delta(z[j], t[j], out, one)
    return np.float64(w) * loss, _unit_hit(z, t, out)


def _softmax_loss(z, t, out):
    return _softmax_xent_forward(z, t), _argmax(z) == t


@kernel(inline=True)
def _units_loss(z, t, out):
    """``_output_loss`` of a row ``t`` of real targets."""
    loss = 0.0
    for j in range(z.size):
        loss += _unit_loss(z[j], t[j], out)
    return loss, _unit_hit(z, t, out)


@overload(_output_delta, inline="always", jit_options=_OPTIONS)
def _output_delta_overload(z, t, w, out, delta):
    if isinstance(t, types.Integer):
        return _softmax_delta
    return lambda z, t, w, out, delta: _units_delta(z, t, w, out, delta)


@overload(_output_loss, inline="always", jit_options=_OPTIONS)
def _output_loss_overload(z, t, out):
    if isinstance(t, types.Integer):
        return _softmax_loss
    return lambda z, t, out: _units_loss(z, t, out)


@kernel(inline=True)
def _output_transform(z, out, p):
    """Write the output's prediction into ``p``: softmax(z), sigmoid(z), z or exp(z)."""
    if out == SOFTMAX:
        _softmax(z, p)
    elif out == LOGISTIC:
        one = z.dtype.type(1)
        for j in range(z.size):
            p[j] = _sigmoid(z[j], one)
    elif out == POISSON:
        for j in range(z.size):
            p[j] = np.exp(z[j])
    else:
        for j in range(z.size):
            p[j] = z[j]


@kernel
def _output_backward_batch(Z, t, out, Delta, losses, hits):
    """Per row: ``Delta[r]`` the delta of output ``out``, ``losses[r]`` its loss, ``hits[r]``."""
    for r in range(Z.shape[0]):
        losses[r], hits[r] = _output_delta(Z[r], t[r], Z.dtype.type(1), out, Delta[r])


@kernel
def _output_transform_batch(Z, out, P):
    """Per row: ``P[r]`` the prediction of output ``out`` from the logits ``Z[r]``."""
    for r in range(Z.shape[0]):
        _output_transform(Z[r], out, P[r])


def _logits(z):
    z = np.asarray(z)
    dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return as_float_array("z", z, dtype, 2)


def output_backward(z: ArrayLike, y: ArrayLike, output: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(losses, delta)`` of output ``output`` for a batch of logits, as the kernels train.

    Parameters
    ----------
    z : array_like, shape (n, n_outputs)
        Logits (float32 or float64 keeps its dtype, other input is float64).
    y : array_like
        Targets as ``fastmlp.MLP.check_y`` takes them for ``output``.
    output : {"softmax", "logistic", "identity", "exp"}
        The output (see ``fastmlp.MLP``).

    Returns
    -------
    losses : numpy.ndarray of float64, shape (n,)
        Each row's loss.
    delta : numpy.ndarray, shape (n, n_outputs)
        dL/dz, in the dtype of ``z``.
    """
    Z = _logits(z)
    out = output_code(output)
    t = as_targets("y", y, Z.shape[0], Z.shape[1], out, Z.dtype)
    losses, hits = np.empty(Z.shape[0]), np.empty(Z.shape[0], np.int64)
    Delta = np.empty_like(Z)
    _output_backward_batch(Z, t, out, Delta, losses, hits)
    return losses, Delta


def output_transform(z: ArrayLike, output: str) -> np.ndarray:
    """Return the prediction of output ``output`` from a batch of logits.

    Parameters
    ----------
    z : array_like, shape (n, n_outputs)
        Logits (float32 or float64 keeps its dtype, other input is float64).
    output : {"softmax", "logistic", "identity", "exp"}
        The output (see ``fastmlp.MLP``).

    Returns
    -------
    numpy.ndarray, shape (n, n_outputs)
        ``softmax(z)``, ``sigmoid(z)``, ``z`` or ``exp(z)``, in the dtype of ``z``.
    """
    Z = _logits(z)
    P = np.empty_like(Z)
    _output_transform_batch(Z, output_code(output), P)
    return P
