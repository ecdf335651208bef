"""A whole network, one sample at a time: forward, backward, loss and probabilities.

A network is a tuple of weight matrices ``Ws`` and a tuple of bias vectors
``bs`` (views into the model's one parameter buffer). ``A[l]`` holds the
output of layer ``l`` (the last one holds the logits) and ``D[l]`` its
delta, dL/dz; the caller allocates both once and they are reused.
"""

import numpy as np

from ..names import IDENTITY
from ._jit import kernel
from .dense import _dense_backward, _dense_forward
from .softmax_xent import _argmax, _softmax, _softmax_xent_backward, _softmax_xent_forward


@kernel
def _forward(Ws, bs, x, code, A):
    """Propagate one sample ``x``; hidden layers use ``code``, the last layer none."""
    last = len(Ws) - 1
    a_in = x
    for l in range(last + 1):
        _dense_forward(Ws[l], bs[l], a_in, code if l < last else IDENTITY, A[l])
        a_in = A[l]


@kernel
def _output_delta(A, D, y, sw, i):
    """Write the output delta of row ``i``, weighted by ``sw[i]``; return ``(loss, correct)``.

    The loss is ``sw[i]`` times the row's cross-entropy; ``correct`` is 1 when
    the row's prediction (before any update) equals its label.
    """
    last = len(A) - 1
    w = sw[i]
    loss = _softmax_xent_backward(A[last], y[i], D[last])
    if w != sw.dtype.type(1):
        for j in range(D[last].size):
            D[last][j] *= w
    return loss * w, int(_argmax(A[last]) == y[i])


@kernel
def _accumulate_gradients(Ws, bs, X, y, sw, rows, code, A, D, dWs, dbs):
    """Set ``dWs``, ``dbs`` to the summed gradient over ``X[rows]``.

    Rows are weighted by ``sw``. Returns ``(loss_sum, correct)``: the summed
    weighted loss (float64 whatever the parameters' dtype) and the count of
    rows predicted right before the step.
    """
    last = len(Ws) - 1
    for l in range(last + 1):
        dWs[l][:] = 0
        dbs[l][:] = 0
    total = 0.0
    correct = 0
    for i in rows:
        x = X[i]
        _forward(Ws, bs, x, code, A)
        loss, hit = _output_delta(A, D, y, sw, i)
        total += loss
        correct += hit
        for l in range(last, 0, -1):
            _dense_backward(Ws[l], A[l - 1], D[l], code, dWs[l], dbs[l], D[l - 1], True)
        _dense_backward(Ws[0], x, D[0], code, dWs[0], dbs[0], D[0], False)
    return total, correct


@kernel
def _predict_proba(Ws, bs, X, code, A, P):
    """Write the class probabilities of every row of ``X`` into ``P``."""
    last = len(Ws) - 1
    for i in range(X.shape[0]):
        _forward(Ws, bs, X[i], code, A)
        _softmax(A[last], P[i])


@kernel
def _evaluate(Ws, bs, X, y, code, A, losses, hits):
    """Per row of ``X``: its loss into ``losses`` (float64), whether it is right into ``hits``."""
    last = len(Ws) - 1
    for i in range(X.shape[0]):
        _forward(Ws, bs, X[i], code, A)
        losses[i] = _softmax_xent_forward(A[last], y[i])
        hits[i] = _argmax(A[last]) == y[i]


def check_network(weights, biases):
    """Validate a network's parameters for the kernels and return them as tuples.

    The kernels update parameters in place, so nothing is converted: every
    array must already be C-contiguous, of one float dtype, with chained
    shapes ``(n_0, n_1), (n_1, n_2), ...`` and ``biases[l].shape == (n_{l+1},)``.
    """
    weights, biases = tuple(weights), tuple(biases)
    if not weights or len(weights) != len(biases):
        raise ValueError(
            "weights, biases: expected two equally long, non-empty sequences, "
            f"found {len(weights)} and {len(biases)}"
        )
    dtype = getattr(weights[0], "dtype", None)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"weights[0]: expected a float32 or float64 array, found {dtype}")
    for l, (W, b) in enumerate(zip(weights, biases)):
        for name, arr, ndim in ((f"weights[{l}]", W, 2), (f"biases[{l}]", b, 1)):
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
                raise TypeError(
                    f"{name}: expected a {ndim}-D {dtype} numpy array, found "
                    f"{type(arr).__name__} {getattr(arr, 'dtype', '')} {np.shape(arr)}"
                )
            if not arr.flags.c_contiguous or not arr.flags.writeable:
                raise ValueError(f"{name}: expected a writeable C-contiguous array")
        if b.shape != W.shape[1:]:
            raise ValueError(f"biases[{l}]: expected shape {W.shape[1:]}, found {b.shape}")
        if l and W.shape[0] != weights[l - 1].shape[1]:
            raise ValueError(
                f"weights[{l}]: expected {weights[l - 1].shape[1]} rows to follow "
                f"weights[{l - 1}], found shape {W.shape}"
            )
    return weights, biases


def layer_buffers(weights):
    """Return ``(A, D)``: per-layer output and delta buffers for one sample."""
    A = tuple(np.zeros(W.shape[1], dtype=W.dtype) for W in weights)
    D = tuple(np.zeros(W.shape[1], dtype=W.dtype) for W in weights)
    return A, D


def gradient_buffers(weights):
    """Return ``(dWs, dbs)``: zeroed arrays shaped like the weights and biases."""
    return tuple(np.zeros_like(W) for W in weights), tuple(
        np.zeros(W.shape[1], dtype=W.dtype) for W in weights
    )


def velocity_buffers(weights, momentum):
    """Return ``(VWs, vbs)``: zeroed momentum velocities, or empty placeholders without momentum."""
    rows = (lambda W: W.shape[0]) if momentum else (lambda W: 0)
    VWs = tuple(np.zeros((rows(W), W.shape[1]), dtype=W.dtype) for W in weights)
    vbs = tuple(np.zeros(W.shape[1] if momentum else 0, dtype=W.dtype) for W in weights)
    return VWs, vbs
