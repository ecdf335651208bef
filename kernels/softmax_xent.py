"""Softmax + cross-entropy, fused and numerically stable.

With ``m = max(z)`` and ``s = sum(exp(z - m))`` the loss is
``(m - z[t]) + log(s)``: every exponent is <= 0 and ``s >= 1``, so logits of
+-1000 (or +-1e4) give a finite loss. The gradient with respect to the
logits is ``softmax(z) - onehot(t)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._checks import as_float_array, as_labels
from ._jit import kernel


@kernel(inline=True)
def _argmax(z):
    """Return the index of the largest entry of ``z`` (the first of ties).

    A plain loop: on rows of a few logits it costs a fraction of ``z.argmax()``.
    """
    k = 0
    for j in range(1, z.size):
        if z[j] > z[k]:
            k = j
    return k


@kernel(inline=True)
def _softmax(z, p):
    """Write ``softmax(z)`` into ``p``; return the normaliser ``s`` (exponents shifted by max)."""
    m = z[_argmax(z)]
    s = z.dtype.type(0)
    for j in range(z.size):
        p[j] = np.exp(z[j] - m)
        s += p[j]
    inv = z.dtype.type(1) / s
    for j in range(z.size):
        p[j] *= inv
    return s


@kernel(inline=True)
def _softmax_xent_forward(z, t):
    """Return the cross-entropy of ``softmax(z)`` against class ``t``."""
    m = z[_argmax(z)]
    s = z.dtype.type(0)
    for j in range(z.size):
        s += np.exp(z[j] - m)
    return (m - z[t]) + np.log(s)


@kernel(inline=True)
def _softmax_xent_backward(z, t, delta):
    """Write ``softmax(z) - onehot(t)`` into ``delta`` and return the loss."""
    s = _softmax(z, delta)
    delta[t] -= z.dtype.type(1)
    return (z[_argmax(z)] - z[t]) + np.log(s)


@kernel
def _softmax_xent_forward_batch(Z, t, losses):
    """Write each row's cross-entropy into ``losses``."""
    for r in range(Z.shape[0]):
        losses[r] = _softmax_xent_forward(Z[r], t[r])


@kernel
def _softmax_xent_backward_batch(Z, t, Delta, losses):
    """Per row: ``Delta[r] = softmax(Z[r]) - onehot(t[r])``; ``losses[r]`` its loss."""
    for r in range(Z.shape[0]):
        losses[r] = _softmax_xent_backward(Z[r], t[r], Delta[r])


def _logits_and_labels(z, t):
    z = np.asarray(z)
    dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    Z = as_float_array("z", np.atleast_2d(z), dtype, 2)
    labels = as_labels("t", np.atleast_1d(t), Z.shape[0], Z.shape[1])
    return Z, labels, z.ndim == 1


def softmax_xent_forward(z: ArrayLike, t: ArrayLike) -> np.floating | np.ndarray:
    """Return the softmax cross-entropy of logits ``z`` against class labels ``t``.

    Parameters
    ----------
    z : array_like, shape (n_classes,) or (n, n_classes)
        Logits of one sample or a batch (float32 or float64 keeps its dtype).
    t : int or array_like of int, shape (n,)
        Target classes.

    Returns
    -------
    float or numpy.ndarray
        The loss, or one loss per row, in the dtype of ``z``.
    """
    Z, labels, single = _logits_and_labels(z, t)
    losses = np.empty(Z.shape[0], dtype=Z.dtype)
    _softmax_xent_forward_batch(Z, labels, losses)
    return losses[0] if single else losses


def softmax_xent_backward(
    z: ArrayLike, t: ArrayLike
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Return ``(loss, delta)``: the loss and its gradient ``softmax(z) - onehot(t)``.

    Takes the same arguments as ``softmax_xent_forward``; ``delta`` has the
    shape of ``z``.

    Parameters
    ----------
    z : array_like, shape (n_classes,) or (n, n_classes)
        Logits of one sample or a batch (float32 or float64 keeps its dtype).
    t : int or array_like of int, shape (n,)
        Target classes.

    Returns
    -------
    loss : float or numpy.ndarray
        The loss, or one loss per row, in the dtype of ``z``.
    delta : numpy.ndarray
        ``softmax(z) - onehot(t)``, the shape and dtype of ``z``.
    """
    Z, labels, single = _logits_and_labels(z, t)
    losses = np.empty(Z.shape[0], dtype=Z.dtype)
    Delta = np.empty_like(Z)
    _softmax_xent_backward_batch(Z, labels, Delta, losses)
    return (losses[0], Delta[0]) if single else (losses, Delta)
