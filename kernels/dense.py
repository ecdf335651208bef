"""Dense layers: fused affine + activation forward, and backward through the activation.

Weights are stored ``W[i, j]`` with a row per input unit, so the forward pass
and the weight update walk one contiguous row per input and can skip inputs
that are zero (most MNIST pixels) without changing the result.
"""

import numpy as np

from .._checks import as_float_array, as_positive
from ..names import activation_code
from ._jit import kernel
from .activations import _activate, _scale_by_derivative
from .update import _update_bias, _update_outer


@kernel
def _dense_forward(W, b, x, code, a):
    """Write ``act(x @ W + b)`` for one sample into ``a``."""
    n_in, n_out = W.shape
    zero = W.dtype.type(0)
    for j in range(n_out):
        a[j] = b[j]
    for i in range(n_in):
        x_i = x[i]
        if x_i != zero:
            for j in range(n_out):
                a[j] += x_i * W[i, j]
    _activate(a, code)


@kernel
def _dense_forward_batch(W, b, X, code, A):
    """Write ``act(X @ W + b)`` for a batch of rows into ``A``."""
    for r in range(X.shape[0]):
        _dense_forward(W, b, X[r], code, A[r])


@kernel(inline=True)
def _row_dot(W, i, v):
    """Return ``W[i] @ v``: row ``i`` of ``W`` is contiguous."""
    s = W.dtype.type(0)
    for j in range(v.size):
        s += W[i, j] * v[j]
    return s


@kernel
def _dense_backward(W, a_in, delta, code_in, dW, db, delta_in, propagate):
    """Accumulate one sample's gradient into ``dW``, ``db``; optionally propagate ``delta``.

    ``delta`` is dL/dz of this layer. With ``propagate``, ``delta_in`` receives
    dL/dz of the layer below, ``(W @ delta) * act'(a_in)``; the input layer
    needs no delta, so it passes ``propagate=False``.
    """
    n_in, n_out = W.shape
    zero = W.dtype.type(0)
    for i in range(n_in):
        if propagate:
            delta_in[i] = _row_dot(W, i, delta)
        a_i = a_in[i]
        if a_i != zero:
            for j in range(n_out):
                dW[i, j] += a_i * delta[j]
    for j in range(n_out):
        db[j] += delta[j]
    if propagate:
        _scale_by_derivative(delta_in, a_in, code_in)


@kernel
def _dense_backward_sgd(W, b, VW, vb, a_in, delta, code_in, lr, mu, wd, delta_in, propagate):
    """Per-sample SGD through one layer: propagate ``delta`` with the old ``W``, then update.

    The update is that of ``kernels.update`` for the gradient ``outer(a_in, delta)``
    (weight decay ``wd`` on weights only, momentum ``mu`` with velocities ``VW``,
    ``vb``). ``delta_in`` is computed before ``W`` changes, so the result equals
    backward-then-update.
    """
    dtype = W.dtype.type
    lr, mu, wd = dtype(lr), dtype(mu), dtype(wd)
    if propagate:
        for i in range(W.shape[0]):
            delta_in[i] = _row_dot(W, i, delta)
    _update_outer(W, VW, a_in, delta, lr, mu, wd)
    _update_bias(b, vb, delta, dtype(1), lr, mu)
    if propagate:
        _scale_by_derivative(delta_in, a_in, code_in)


def _layer_arrays(W, b):
    W = np.asarray(W)
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    W = as_float_array("W", W, dtype, 2)
    b = as_float_array("b", b, dtype, 1, shape=(W.shape[1],))
    return W, b


def dense_forward(W, b, x, activation="sigmoid"):
    """Return ``activation(x @ W + b)`` for one sample or a batch.

    Parameters
    ----------
    W : array_like, shape (n_in, n_out)
        Weights, a row per input unit; float32 or float64 sets the dtype.
    b : array_like, shape (n_out,)
        Biases.
    x : array_like, shape (n_in,) or (n, n_in)
        One sample or a batch of rows.
    activation : {"sigmoid", "tanh", "relu", "identity"}
        The layer's activation.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_out,)`` or ``(n, n_out)``, in the dtype of ``W``.
    """
    W, b = _layer_arrays(W, b)
    code = activation_code(activation, allow_identity=True)
    ndim = 1 if np.ndim(x) <= 1 else 2
    x = as_float_array("x", x, W.dtype, ndim, shape=(*(None,) * (ndim - 1), W.shape[0]))
    out = np.empty((*x.shape[:-1], W.shape[1]), dtype=W.dtype)
    if x.ndim == 1:
        _dense_forward(W, b, x, code, out)
    else:
        _dense_forward_batch(W, b, x, code, out)
    return out


def dense_backward(W, a_in, delta, activation_in="sigmoid"):
    """Return the gradient of one sample through a dense layer.

    Parameters
    ----------
    W : array_like, shape (n_in, n_out)
        Weights of the layer.
    a_in : array_like, shape (n_in,)
        The layer's input: the output of the layer below (or the sample).
    delta : array_like, shape (n_out,)
        dL/dz of this layer's pre-activation.
    activation_in : {"sigmoid", "tanh", "relu", "identity"}
        Activation that produced ``a_in``; its derivative is taken from ``a_in``.

    Returns
    -------
    dW : numpy.ndarray, shape (n_in, n_out)
        ``outer(a_in, delta)``.
    db : numpy.ndarray, shape (n_out,)
        ``delta``.
    delta_in : numpy.ndarray, shape (n_in,)
        ``(W @ delta) * activation_in'(a_in)``.
    """
    W, _ = _layer_arrays(W, np.zeros(np.shape(W)[-1]))
    a_in = as_float_array("a_in", a_in, W.dtype, 1, shape=W.shape[:1])
    delta = as_float_array("delta", delta, W.dtype, 1, shape=W.shape[1:])
    code = activation_code(activation_in, allow_identity=True)
    dW = np.zeros_like(W)
    db = np.zeros(W.shape[1], dtype=W.dtype)
    delta_in = np.empty(W.shape[0], dtype=W.dtype)
    _dense_backward(W, a_in, delta, code, dW, db, delta_in, True)
    return dW, db, delta_in


def dense_backward_sgd(W, b, a_in, delta, activation_in="sigmoid", lr=0.01):
    """Take one plain per-sample SGD step on a dense layer in place and return ``delta_in``.

    ``W`` and ``b`` must already be C-contiguous arrays of one float dtype
    (they are updated in place). See ``dense_backward`` for the other arguments.
    """
    for name, arr in (("W", W), ("b", b)):
        if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous:
            raise TypeError(f"{name}: expected a C-contiguous numpy array to update in place")
    W_checked, b_checked = _layer_arrays(W, b)
    if W_checked is not W or b_checked is not b:
        raise TypeError(
            f"W, b: expected float32 or float64 arrays of one dtype, found {W.dtype}, {b.dtype}"
        )
    a_in = as_float_array("a_in", a_in, W.dtype, 1, shape=W.shape[:1])
    delta = as_float_array("delta", delta, W.dtype, 1, shape=W.shape[1:])
    code = activation_code(activation_in, allow_identity=True)
    lr = as_positive("lr", lr)
    delta_in = np.empty(W.shape[0], dtype=W.dtype)
    # Plain SGD never reads the velocities: empty placeholders of the right type.
    VW, vb = np.empty((0, W.shape[1]), W.dtype), np.empty(0, W.dtype)
    _dense_backward_sgd(W, b, VW, vb, a_in, delta, code, lr, 0.0, 0.0, delta_in, True)
    return delta_in
