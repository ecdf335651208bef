"""Whole epochs of stochastic gradient descent in one compiled call.

The caller draws the sample order in numpy and passes it in, so a seed
fixes the run bit for bit whichever backend runs it. Each step's loss (the
mean over the step's rows, taken before the update) goes to ``step_loss``,
a float64 array.
"""

import numbers

import numpy as np

from .._checks import as_float_array, as_labels, as_order, as_positive
from ..names import activation_code
from ._jit import kernel
from .dense import _dense_backward_sgd
from .network import (
    _accumulate_gradients,
    _forward,
    check_network,
    gradient_buffers,
    layer_buffers,
)
from .softmax_xent import _softmax_xent_backward


@kernel
def _sgd_epoch_per_sample(Ws, bs, X, y, order, code, lr, A, D, step_loss):
    """One epoch of per-sample SGD over ``X[order]``, updating ``Ws``, ``bs`` in place."""
    last = len(Ws) - 1
    for s in range(order.size):
        i = order[s]
        x = X[i]
        _forward(Ws, bs, x, code, A)
        step_loss[s] = _softmax_xent_backward(A[last], y[i], D[last])
        for l in range(last, 0, -1):
            _dense_backward_sgd(Ws[l], bs[l], A[l - 1], D[l], code, lr, D[l - 1], True)
        _dense_backward_sgd(Ws[0], bs[0], x, D[0], code, lr, D[0], False)


@kernel
def _sgd_step(Ws, bs, dWs, dbs, step):
    """``W -= step * dW`` and ``b -= step * db`` for every layer."""
    step = Ws[0].dtype.type(step)
    for l in range(len(Ws)):
        W, dW = Ws[l], dWs[l]
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                W[i, j] -= step * dW[i, j]
        b, db = bs[l], dbs[l]
        for j in range(b.size):
            b[j] -= step * db[j]


@kernel
def _sgd_epoch_minibatch(Ws, bs, X, y, order, code, lr, batch_size, A, D, dWs, dbs, step_loss):
    """One epoch of minibatch SGD: each step follows the mean gradient of ``batch_size`` rows.

    The last batch of the epoch holds the remaining rows and may be smaller.
    """
    n = order.size
    for k in range((n + batch_size - 1) // batch_size):
        start = k * batch_size
        stop = min(start + batch_size, n)
        total = _accumulate_gradients(Ws, bs, X, y, order[start:stop], code, A, D, dWs, dbs)
        step_loss[k] = total / (stop - start)
        _sgd_step(Ws, bs, dWs, dbs, lr / (stop - start))


def _epoch_inputs(weights, biases, X, y, order, activation, lr):
    weights, biases = check_network(weights, biases)
    dtype = weights[0].dtype
    X = as_float_array("X", X, dtype, 2, shape=(None, weights[0].shape[0]))
    y = as_labels("y", y, X.shape[0], weights[-1].shape[1])
    order = as_order("order", order, X.shape[0])
    return weights, biases, X, y, order, activation_code(activation), as_positive("lr", lr)


def sgd_epoch_per_sample(weights, biases, X, y, order, lr, activation="sigmoid"):
    """Run one epoch of per-sample SGD, updating ``weights`` and ``biases`` in place.

    Parameters
    ----------
    weights, biases : sequence of numpy.ndarray
        The network (see ``check_network``); updated in place.
    X : array_like, shape (n, n_in)
        Inputs, converted to the parameters' dtype.
    y : array_like of int, shape (n,)
        Class labels in ``[0, n_classes)``.
    order : array_like of int
        The rows to visit, in order (usually a permutation of ``range(n)``).
    lr : float
        Learning rate.
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer activation.

    Returns
    -------
    numpy.ndarray of float64, shape (len(order),)
        Each step's loss, before its update.
    """
    weights, biases, X, y, order, code, lr = _epoch_inputs(
        weights, biases, X, y, order, activation, lr
    )
    A, D = layer_buffers(weights)
    step_loss = np.empty(order.size, dtype=np.float64)
    _sgd_epoch_per_sample(weights, biases, X, y, order, code, lr, A, D, step_loss)
    return step_loss


def sgd_epoch_minibatch(weights, biases, X, y, order, lr, batch_size, activation="sigmoid"):
    """Run one epoch of minibatch SGD, updating ``weights`` and ``biases`` in place.

    Takes the arguments of ``sgd_epoch_per_sample`` plus ``batch_size``, the
    rows per step; the last step takes what is left. Returns each step's
    mean loss, shape ``(ceil(len(order) / batch_size),)``.
    """
    weights, biases, X, y, order, code, lr = _epoch_inputs(
        weights, biases, X, y, order, activation, lr
    )
    batch_size = as_positive("batch_size", batch_size, numbers.Integral)
    A, D = layer_buffers(weights)
    dWs, dbs = gradient_buffers(weights)
    step_loss = np.empty(-(-order.size // batch_size), dtype=np.float64)
    _sgd_epoch_minibatch(
        weights, biases, X, y, order, code, lr, batch_size, A, D, dWs, dbs, step_loss
    )
    return step_loss
