"""Plain per-sample SGD (batch size 1, no momentum, no weight decay) in one fused loop.

This is the classic backpropagation loop and the hot path of small
experiments, so it gets a kernel of its own. It takes the network as the
``Layout`` of ``kernels.network`` (layer 0 as ``W``, a row per input unit,
so zero inputs are skipped; narrowing layers as ``W.T``) and one 1-D
activation and delta buffer per layer, all made once per call: a step
cuts no views and makes no call that passes arrays between compiled
functions, which on a 2-3-2 net cost more than the arithmetic.

Two fusions keep each step to one pass over every weight row:

- above layer 0, a layer's delta for the layer below, ``W @ delta``, is
  read from each row just before the row is stepped (the old weights, as
  back-propagation needs);
- layer 0's step for sample ``t`` and its forward pass for sample ``t + 1``
  walk the input rows together: a row both samples touch is loaded once,
  stepped, then used. Every row is stepped before it is read, so the result
  is the same, bit for bit, as stepping and then propagating.
"""

import numpy as np
from numba import types
from numba.extending import overload

from ..config import ERROR_MODEL, FASTMATH
from ..names import IDENTITY
from ._jit import kernel
from .activations import _activate, _exp, _scale_by_derivative
from .dense import _dense_forward, _vec_mat
from .network import _input_row
from .outputs import _units_delta
from .softmax_xent import _argmax


@kernel(inline=True)
def _weighted_loss(z, k, t, s, w):
    """Return ``w * (z[k] - z[t] + log(s))`` in float64: the loss, for ``k = argmax(z)``."""
    return np.float64(w) * (np.float64(z[k] - z[t]) + np.log(np.float64(s)))


@kernel(inline=True)
def _softmax_delta(z, t, w, delta):
    """Write ``w * (softmax(z) - onehot(t))`` into ``delta``; return ``argmax(z)`` and ``s``.

    ``s = sum(exp(z - max(z)))``, the softmax's normaliser.
    """
    k = _argmax(z)
    s = z.dtype.type(0)
    for j in range(z.size):
        e = _exp(z[j] - z[k])
        delta[j] = e
        s += e
    c = w / s
    for j in range(delta.size):
        delta[j] *= c
    delta[t] -= w
    return k, s


def _sample_delta(z, t, w, out, delta):
    """Write ``w * dL/dz`` into ``delta``; return ``(w * loss, hit)`` (see ``kernels.outputs``).

    Softmax (a class index ``t``) takes this module's ``_softmax_delta``;
    a row ``t`` of real targets, output ``out`` of ``kernels.outputs``.
    """


def _softmax_weighted_loss_and_delta(z, t, w, out, delta):
    k, s = _softmax_delta(z, t, w, delta)
    return _weighted_loss(z, k, t, s, w), k == t


@overload(
    _sample_delta,
    inline="always",
    jit_options={"fastmath": set(FASTMATH), "error_model": ERROR_MODEL},
)
def _sample_delta_overload(z, t, w, out, delta):
    if isinstance(t, types.Integer):
        return _softmax_weighted_loss_and_delta
    return lambda z, t, w, out, delta: _units_delta(z, t, w, out, delta)


@kernel(inline=True)
def _backward_step(M, transposed, b, a_in, delta, lr, code_in, delta_in):
    """Step a layer by ``-lr * outer(a_in, delta)`` and write the delta of the layer below.

    ``delta_in = (W @ delta) * act'(a_in)`` takes each row of ``M`` (``W``, or
    ``W.T`` when ``transposed``) before the row is stepped.
    """
    if transposed:
        for k in range(delta_in.size):
            delta_in[k] = 0
        for j in range(delta.size):
            d = delta[j]
            c = lr * d
            for k in range(a_in.size):
                delta_in[k] += M[j, k] * d
                M[j, k] -= c * a_in[k]
    else:
        for k in range(a_in.size):
            c = lr * a_in[k]
            s = M.dtype.type(0)
            for j in range(delta.size):
                s += M[k, j] * delta[j]
                M[k, j] -= c * delta[j]
            delta_in[k] = s
    for j in range(delta.size):
        b[j] -= lr * delta[j]
    _scale_by_derivative(delta_in, a_in, code_in)


@kernel(inline=True)
def _step_rows_then_forward(W, x, step, x_next, z_next):
    """Step ``W[k] -= x[k] * step`` for nonzero ``x[k]``, and add ``x_next @ W`` to ``z_next``.

    One pass over the rows: a row is stepped before ``x_next`` reads it.
    """
    zero = W.dtype.type(0)
    for k in range(W.shape[0]):
        u, v = x[k], x_next[k]
        if u != zero:
            if v != zero:
                for j in range(W.shape[1]):
                    w = W[k, j] - u * step[j]
                    W[k, j] = w
                    z_next[j] += v * w
            else:
                for j in range(W.shape[1]):
                    W[k, j] -= u * step[j]
        elif v != zero:
            for j in range(W.shape[1]):
                z_next[j] += v * W[k, j]


@kernel(inline=True)
def _copy(src, dst):
    """Copy ``src`` into ``dst`` of the same size.

    A loop, not ``dst[:] = src``: Numba builds that slice assignment's
    shape-mismatch message with its string formatting, which took 8 of the
    kernel's 20 s of cold compile (on a loaded machine) for a check it never needs.
    """
    for j in range(dst.size):
        dst[j] = src[j]


@kernel
def _sgd_epoch_per_sample(net, units, data, codes, lr, step_loss, step_correct):
    """Per-sample SGD over ``X[order]`` (see the module docstring).

    ``net`` is a ``kernels.network.Net`` (``transposed[0]`` is False) and
    ``data`` a ``kernels.network.Data``. ``units`` is ``(A, D)``: ``A[l]`` and
    ``D[l]`` are 1-D activation and delta buffers of layer ``l``'s width
    (``A[0]``, the input's, is used as a zero row; ``D[0]``, twice its width,
    holds sparse rows). ``X`` is a 2-D array or a ``kernels.network.CSR``.
    ``codes`` holds the hidden activation's and the output's codes; the
    output and the targets ``y`` are as in ``kernels.outputs``. Each step's
    weighted loss, before its update, goes to ``step_loss`` (float64) and its
    hit to ``step_correct``.
    """
    Ms, transposed, bs = net
    A, D = units
    X, y, sw, order = data
    code, out = codes
    lr = Ms[0].dtype.type(lr)
    last = len(Ms)
    W0, b0, a1, d1 = Ms[0], bs[0], A[1], D[1]
    no_input = A[0]
    no_input[:] = 0
    # Sparse rows are loaded into D[0]'s two halves in turn: a step reads two rows.
    width, loaded = no_input.size, D[0]
    n = order.size
    x = no_input
    if n > 0:
        _copy(b0, a1)
        x = _input_row(X, order[0], loaded[:width])
        _vec_mat(x, W0, a1)
    for t in range(n):
        i = order[t]
        # Layer 0's pre-activation is in a1 already (from the previous step).
        _activate(a1, code if last > 1 else IDENTITY)
        for l in range(1, last):
            act = code if l < last - 1 else IDENTITY
            _dense_forward(Ms[l], transposed[l], bs[l], A[l], act, A[l + 1])
        step_loss[t], step_correct[t] = _sample_delta(A[last], y[i], sw[i], out, D[last])
        for l in range(last - 1, 0, -1):
            _backward_step(Ms[l], transposed[l], bs[l], A[l], D[l + 1], lr, code, D[l])
        for j in range(d1.size):
            d1[j] *= lr
            b0[j] -= d1[j]
        _copy(b0, a1)
        x_next = no_input
        if t + 1 < n:
            half = (t + 1) % 2 * width
            x_next = _input_row(X, order[t + 1], loaded[half : half + width])
        _step_rows_then_forward(W0, x, d1, x_next, a1)
        x = x_next


def unit_buffers(weights):
    """Return ``(A, D)``: a 1-D activation and delta buffer per layer (input first)."""
    widths = [weights[0].shape[0], *(W.shape[1] for W in weights)]
    A = tuple(np.zeros(w, weights[0].dtype) for w in widths)
    # D[0] has no delta to hold: it holds the two input rows a step reads from a CSR.
    return A, (np.zeros(2 * widths[0], A[0].dtype), *(np.zeros_like(a) for a in A[1:]))
