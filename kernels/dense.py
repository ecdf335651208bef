"""Dense layers, one sample at a time: fused affine + activation forward, delta backward.

The model stores ``W[i, j]`` with a row per input unit. The kernels take a
layer's matrix ``M`` as either ``W`` or, when ``transposed``, ``W.T`` (a row
per output unit; see ``kernels.network.Layout``): every inner loop then runs
along a contiguous row, and with ``W`` the forward pass skips zero inputs
(most MNIST pixels) without changing the result.
"""

from __future__ import annotations

import numpy as np
from numba.extending import overload
from numpy.typing import ArrayLike

from .._checks import as_float_array, as_positive, reject
from ..config import ERROR_MODEL, FASTMATH_READ_ONLY_SUMS
from ..names import activation_code
from ..optimizers import SGD_CODE
from ._jit import kernel
from .activations import _activate, _scale_by_derivative
from .update import _add_outer_rows, _update_bias, _update_rows, outer_scratch


@kernel(inline=True)
def _vec_mat(v, M, out):
    """Add ``v @ M`` to ``out``: an axpy per contiguous row of ``M``, skipping zero ``v[i]``."""
    zero = M.dtype.type(0)
    for i in range(M.shape[0]):
        v_i = v[i]
        if v_i != zero:
            for j in range(M.shape[1]):
                out[j] += v_i * M[i, j]


@kernel(inline=True)
def _nonzero(v, nz):
    """Write the indices of the nonzero entries of ``v`` to the front of ``nz``; return how many.

    Branch-free: every index is written and the count moves past the nonzero ones.
    """
    m = 0
    for k in range(v.size):
        nz[m] = k
        m += v[k] != 0
    return m


@kernel(inline=True)
def _vec_mat_rows(v, nz, m, M, out):
    """Add ``v[k] * M[k]`` to ``out`` for ``k`` in ``nz[:m]``, in order, four rows per pass.

    Each pass loads and stores ``out`` once for four rows of ``M``, where
    ``_vec_mat`` does so for every row: the forward pass of MNIST's first
    layer is bound by those loads and stores.
    """
    q = 0
    while q + 4 <= m:
        w0, w1, w2, w3 = M[nz[q]], M[nz[q + 1]], M[nz[q + 2]], M[nz[q + 3]]
        u0, u1, u2, u3 = v[nz[q]], v[nz[q + 1]], v[nz[q + 2]], v[nz[q + 3]]
        for j in range(out.size):
            out[j] = (((out[j] + u0 * w0[j]) + u1 * w1[j]) + u2 * w2[j]) + u3 * w3[j]
        q += 4
    for p in range(q, m):
        u, w = v[nz[p]], M[nz[p]]
        for j in range(out.size):
            out[j] += u * w[j]


def _dot(a, b):
    """Return ``a @ b`` for 1-D ``a`` and ``b`` of one size, summed across vector lanes.

    A loop that only reads: see ``config.FASTMATH_READ_ONLY_SUMS``.
    """


# Compiled as its own function, so its flags hold wherever LLVM inlines it.
@overload(_dot, jit_options={"fastmath": set(FASTMATH_READ_ONLY_SUMS), "error_model": ERROR_MODEL})
def _dot_overload(a, b):
    def dot(a, b):
        s = a.dtype.type(0)
        for j in range(a.size):
            s += a[j] * b[j]
        return s

    return dot


@kernel(inline=True)
def _mat_vec(M, v, out):
    """Add ``M @ v`` to ``out``: a dot product along each contiguous row of ``M``."""
    for i in range(M.shape[0]):
        out[i] += _dot(M[i], v)


@kernel(inline=True)
def _dense_forward(M, transposed, b, a_in, code, a):
    """Write ``act(a_in @ W + b)`` for one sample into ``a`` (``M`` is ``W`` or ``W.T``)."""
    for j in range(a.size):
        a[j] = b[j]
    if transposed:
        _mat_vec(M, a_in, a)
    else:
        _vec_mat(a_in, M, a)
    _activate(a, code)


@kernel(inline=True)
def _dense_forward_sparse(W, b, x, nz, code, a):
    """Write ``act(x @ W + b)`` into ``a``, adding only the rows of ``W`` where ``x`` is nonzero.

    ``nz`` is a scratch buffer of ``x.size`` integers.
    """
    for j in range(a.size):
        a[j] = b[j]
    _vec_mat_rows(x, nz, _nonzero(x, nz), W, a)
    _activate(a, code)


@kernel
def _dense_forward_batch(W, b, X, code, A):
    """Write ``act(X @ W + b)`` for a batch of rows into ``A``."""
    for r in range(X.shape[0]):
        _dense_forward(W, False, b, X[r], code, A[r])


@kernel(inline=True)
def _dense_propagate(M, transposed, delta, a_in, code_in, delta_in):
    """Write dL/dz of the layer below, ``(W @ delta) * act'(a_in)``, into ``delta_in``.

    ``M`` as for ``_dense_forward``; ``code_in`` is the activation that produced ``a_in``.
    """
    for i in range(delta_in.size):
        delta_in[i] = 0
    if transposed:
        _vec_mat(delta, M, delta_in)
    else:
        _mat_vec(M, delta, delta_in)
    _scale_by_derivative(delta_in, a_in, code_in)


def _layer_arrays(W, b):
    W = np.asarray(W)
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    W = as_float_array("W", W, dtype, 2)
    b = as_float_array("b", b, dtype, 1, shape=(W.shape[1],))
    return W, b


def dense_forward(
    W: ArrayLike, b: ArrayLike, x: ArrayLike, activation: str = "sigmoid"
) -> np.ndarray:
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
    code = activation_code(activation)
    ndim = 1 if np.ndim(x) <= 1 else 2
    x = as_float_array("x", x, W.dtype, ndim, shape=(*(None,) * (ndim - 1), W.shape[0]))
    out = np.empty((*x.shape[:-1], W.shape[1]), dtype=W.dtype)
    if x.ndim == 1:
        _dense_forward(W, False, b, x, code, out)
    else:
        _dense_forward_batch(W, b, x, code, out)
    return out


def dense_backward(
    W: ArrayLike, a_in: ArrayLike, delta: ArrayLike, activation_in: str = "sigmoid"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    code = activation_code(activation_in)
    dW = np.zeros_like(W)
    delta_in = np.empty(W.shape[0], dtype=W.dtype)
    part = tuple(array[0] for array in outer_scratch(W.shape[0], 1, W.dtype))
    _add_outer_rows(dW, a_in[None], delta[None], 0, W.shape[0], W.dtype.type(1), part)
    _dense_propagate(W, False, delta, a_in, code, delta_in)
    db = delta.copy()
    return dW, db, delta_in


def _check_in_place(W, b):
    """Check that ``W`` and ``b`` are arrays ``dense_backward_sgd`` may update in place."""
    for name, arr in (("W", W), ("b", b)):
        if type(arr) is not np.ndarray or not arr.flags.c_contiguous:
            found = type(arr).__name__ if type(arr) is not np.ndarray else "a strided array"
            raise reject("in-place-type", name, found=found)
        if not arr.flags.writeable:
            raise reject("in-place-readonly", name)
    one_dtype = W.dtype in (np.float32, np.float64) and b.dtype == W.dtype
    # _layer_arrays converts what it would not take as is: a copy is not updated in place.
    if not one_dtype or any(c is not a for c, a in zip(_layer_arrays(W, b), (W, b))):
        raise reject("float-pair", "W, b", dtype=W.dtype, other=b.dtype)


def dense_backward_sgd(
    W: np.ndarray,
    b: np.ndarray,
    a_in: ArrayLike,
    delta: ArrayLike,
    activation_in: str = "sigmoid",
    lr: float = 0.01,
) -> np.ndarray:
    """Take one plain per-sample SGD step on a dense layer in place and return ``delta_in``.

    ``W`` and ``b`` must already be C-contiguous arrays of one float dtype
    (they are updated in place). See ``dense_backward`` for the other arguments.

    Parameters
    ----------
    W : numpy.ndarray, shape (n_in, n_out)
        Weights, float32 or float64, C-contiguous; updated in place.
    b : numpy.ndarray, shape (n_out,)
        Biases of the same dtype, C-contiguous; updated in place.
    a_in : array_like, shape (n_in,)
        The layer's input: the output of the layer below (or the sample).
    delta : array_like, shape (n_out,)
        dL/dz of this layer's pre-activation.
    activation_in : {"sigmoid", "tanh", "relu", "identity"}
        Activation that produced ``a_in``; its derivative is taken from ``a_in``.
    lr : float
        Learning rate (> 0).

    Returns
    -------
    numpy.ndarray, shape (n_in,)
        ``delta_in = (W @ delta) * activation_in'(a_in)``, computed with ``W``
        before the step.
    """
    _check_in_place(W, b)
    a_in = as_float_array("a_in", a_in, W.dtype, 1, shape=W.shape[:1])
    delta = as_float_array("delta", delta, W.dtype, 1, shape=W.shape[1:])
    code = activation_code(activation_in)
    lr = as_positive("lr", lr)
    delta_in = np.empty(W.shape[0], dtype=W.dtype)
    _dense_propagate(W, False, delta, a_in, code, delta_in)
    # Plain SGD keeps no state and steps the weights without a gradient buffer: empty
    # placeholders of the right types (rows of no columns, so that a row can be cut).
    no_state = np.empty((W.shape[0], 0), W.dtype)
    one, zero = W.dtype.type(1), W.dtype.type(0)
    rule = (SGD_CODE, 0.0, 0.0, 0.0)
    scalars = (one, W.dtype.type(lr), zero, zero)
    part = tuple(array[0] for array in outer_scratch(W.shape[0], 1, W.dtype))
    U, Z = a_in[None], delta[None]
    _update_rows(W, no_state, no_state, no_state, U, Z, 0, W.shape[0], rule, scalars, part)
    # The biases' step goes through a gradient buffer of their size.
    no_bias_state = np.empty(0, W.dtype)
    _update_bias(b, np.empty_like(b), no_bias_state, no_bias_state, Z, rule, scalars)
    return delta_in
