"""Whole epochs of stochastic gradient descent in one compiled call.

The caller draws the sample order in numpy and passes it in, so a seed
fixes the run bit for bit whichever backend runs it. Each step's loss (the
mean over the step's rows, taken before the update) goes to ``step_loss``,
a float64 array.
"""

import numbers

import numpy as np

from .._checks import (
    as_float_array,
    as_labels,
    as_momentum,
    as_order,
    as_positive,
    as_sample_weight,
    as_weight_decay,
)
from ..names import activation_code
from ._jit import kernel
from .dense import _dense_backward_sgd
from .network import (
    _accumulate_gradients,
    _forward,
    _output_delta,
    check_network,
    gradient_buffers,
    layer_buffers,
    velocity_buffers,
)
from .update import _update_bias, _update_scaled


@kernel
def _sgd_epoch_per_sample(
    Ws, bs, VWs, vbs, X, y, sw, order, code, lr, mu, wd, A, D, step_loss, step_correct
):
    """Per-sample SGD over ``X[order]``, updating ``Ws``, ``bs`` (and velocities) in place.

    ``sw`` weights each row's loss; ``mu`` is the momentum and ``wd`` the L2
    weight decay (see ``kernels.update``); with ``mu = 0`` the velocity
    tuples may hold empty arrays.
    """
    last = len(Ws) - 1
    for s in range(order.size):
        i = order[s]
        x = X[i]
        _forward(Ws, bs, x, code, A)
        step_loss[s], step_correct[s] = _output_delta(A, D, y, sw, i)
        for l in range(last, 0, -1):
            _dense_backward_sgd(
                Ws[l], bs[l], VWs[l], vbs[l], A[l - 1], D[l], code, lr, mu, wd, D[l - 1], True
            )
        _dense_backward_sgd(Ws[0], bs[0], VWs[0], vbs[0], x, D[0], code, lr, mu, wd, D[0], False)


@kernel
def _sgd_step(Ws, bs, VWs, vbs, dWs, dbs, rows, lr, mu, wd):
    """Update every layer along the mean gradient ``dW / rows`` (see ``kernels.update``)."""
    dtype = Ws[0].dtype.type
    scale = dtype(1) / dtype(rows)
    lr, mu, wd = dtype(lr), dtype(mu), dtype(wd)
    for l in range(len(Ws)):
        _update_scaled(Ws[l], VWs[l], dWs[l], scale, lr, mu, wd)
        _update_bias(bs[l], vbs[l], dbs[l], scale, lr, mu)


@kernel
def _sgd_epoch_minibatch(
    Ws,
    bs,
    VWs,
    vbs,
    X,
    y,
    sw,
    order,
    code,
    lr,
    mu,
    wd,
    batch_size,
    A,
    D,
    dWs,
    dbs,
    step_loss,
    step_correct,
):
    """Minibatch SGD: each step follows the mean gradient of ``batch_size`` rows of ``X[order]``.

    The last batch holds the remaining rows and may be smaller. Other
    arguments as for ``_sgd_epoch_per_sample``.
    """
    n = order.size
    for k in range((n + batch_size - 1) // batch_size):
        start = k * batch_size
        stop = min(start + batch_size, n)
        rows = order[start:stop]
        total, correct = _accumulate_gradients(Ws, bs, X, y, sw, rows, code, A, D, dWs, dbs)
        step_loss[k] = total / (stop - start)
        step_correct[k] = correct
        _sgd_step(Ws, bs, VWs, vbs, dWs, dbs, stop - start, lr, mu, wd)


def _epoch_inputs(weights, biases, X, y, order, activation, lr, options):
    weights, biases = check_network(weights, biases)
    dtype = weights[0].dtype
    X = as_float_array("X", X, dtype, 2, shape=(None, weights[0].shape[0]))
    y = as_labels("y", y, X.shape[0], weights[-1].shape[1])
    order = as_order("order", order, X.shape[0])
    sw = as_sample_weight(options.get("sample_weight"), X.shape[0], dtype)
    mu = as_momentum(options.get("momentum", 0.0))
    wd = as_weight_decay(options.get("weight_decay", 0.0))
    velocities = options.get("velocities")
    if velocities is None:
        velocities = velocity_buffers(weights, mu)
    else:
        velocities = check_network(*velocities)
        for l, (VW, W) in enumerate(zip(velocities[0], weights)):
            if VW.shape != W.shape or VW.dtype != dtype:
                raise ValueError(
                    f"velocities[0][{l}]: expected {W.shape} {dtype}, found {VW.shape}"
                )
    code = activation_code(activation)
    return weights, biases, velocities, X, y, sw, order, code, as_positive("lr", lr), mu, wd


def sgd_epoch_per_sample(weights, biases, X, y, order, lr, activation="sigmoid", **options):
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
    **options
        ``momentum`` (in [0, 1)), ``weight_decay`` (L2, >= 0, on weights only),
        ``sample_weight`` (one weight >= 0 per row of X, scaling its loss) and
        ``velocities`` (``(VWs, vbs)`` shaped like the network, updated in
        place; zeros by default).

    Returns
    -------
    numpy.ndarray of float64, shape (len(order),)
        Each step's loss, before its update.
    """
    weights, biases, (VWs, vbs), X, y, sw, order, code, lr, mu, wd = _epoch_inputs(
        weights, biases, X, y, order, activation, lr, options
    )
    A, D = layer_buffers(weights)
    step_loss = np.empty(order.size, dtype=np.float64)
    step_correct = np.empty(order.size, dtype=np.int64)
    _sgd_epoch_per_sample(
        weights, biases, VWs, vbs, X, y, sw, order, code, lr, mu, wd, A, D, step_loss, step_correct
    )
    return step_loss


def sgd_epoch_minibatch(
    weights, biases, X, y, order, lr, batch_size, activation="sigmoid", **options
):
    """Run one epoch of minibatch SGD, updating ``weights`` and ``biases`` in place.

    Takes the arguments of ``sgd_epoch_per_sample`` plus ``batch_size``, the
    rows per step; the last step takes what is left. Returns each step's
    mean loss, shape ``(ceil(len(order) / batch_size),)``.
    """
    weights, biases, (VWs, vbs), X, y, sw, order, code, lr, mu, wd = _epoch_inputs(
        weights, biases, X, y, order, activation, lr, options
    )
    batch_size = as_positive("batch_size", batch_size, numbers.Integral)
    A, D = layer_buffers(weights)
    dWs, dbs = gradient_buffers(weights)
    steps = -(-order.size // batch_size)
    step_loss = np.empty(steps, dtype=np.float64)
    step_correct = np.empty(steps, dtype=np.int64)
    _sgd_epoch_minibatch(
        weights,
        biases,
        VWs,
        vbs,
        X,
        y,
        sw,
        order,
        code,
        lr,
        mu,
        wd,
        batch_size,
        A,
        D,
        dWs,
        dbs,
        step_loss,
        step_correct,
    )
    return step_loss
