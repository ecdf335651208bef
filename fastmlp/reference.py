"""The numpy twin of every kernel: plain, vectorised numpy, no Numba.

Each function mirrors a kernel in ``fastmlp.kernels`` and is the oracle it
is tested and benchmarked against. Arrays keep the parameters' dtype
(numpy keeps float32 * Python float in float32); loss sums are float64.
Parameters are updated in place, as the kernels do.
"""

import numpy as np

from .names import RELU, SIGMOID, TANH, activation_code


def activate(z, activation):
    """Return ``activation(z)`` elementwise; ``"identity"`` returns ``z``."""
    code = activation_code(activation, allow_identity=True)
    if code == SIGMOID:
        # Split by sign so exp never overflows (numpy would warn, not fail).
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
    if code == TANH:
        return np.tanh(z)
    if code == RELU:
        return np.maximum(z, 0)
    return z


def derivative_from_output(a, activation):
    """Return the activation's derivative expressed through its output ``a``."""
    code = activation_code(activation, allow_identity=True)
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return (a > 0).astype(a.dtype)
    return np.ones_like(a)


def dense_forward(W, b, X, activation):
    """Return ``activation(X @ W + b)``."""
    return activate(X @ W + b, activation)


def softmax(Z):
    """Return the row-wise softmax of ``Z``, shifted by each row's max."""
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def softmax_xent_forward(Z, t):
    """Return each row's cross-entropy loss of ``softmax(Z)`` against ``t``."""
    m = Z.max(axis=-1)
    lse = np.log(np.exp(Z - m[:, None]).sum(axis=-1))
    return (m - Z[np.arange(len(t)), t]) + lse


def softmax_xent_backward(Z, t):
    """Return ``(losses, softmax(Z) - onehot(t))`` row by row."""
    delta = softmax(Z)
    delta[np.arange(len(t)), t] -= 1
    return softmax_xent_forward(Z, t), delta


def forward(weights, biases, X, activation):
    """Return every layer's output for the rows of ``X``: ``[X, a_1, ..., logits]``."""
    outputs = [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        last = l == len(weights) - 1
        outputs.append(dense_forward(W, b, outputs[-1], "identity" if last else activation))
    return outputs


def predict_proba(weights, biases, X, activation):
    """Return class probabilities for the rows of ``X``."""
    return softmax(forward(weights, biases, X, activation)[-1])


def mean_gradients(weights, biases, X, y, activation):
    """Return ``(loss, dWs, dbs)``: the mean loss over the rows and its gradient."""
    outputs = forward(weights, biases, X, activation)
    losses, delta = softmax_xent_backward(outputs[-1], y)
    delta /= len(y)
    dWs, dbs = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        # np.dot, not @: numpy's matmul skips BLAS for a one-row batch (8x slower here).
        dWs[l] = np.dot(outputs[l].T, delta)
        dbs[l] = delta.sum(axis=0)
        if l:
            delta = (delta @ weights[l].T) * derivative_from_output(outputs[l], activation)
    return losses.astype(np.float64).mean(), dWs, dbs


def sgd_epoch(weights, biases, X, y, order, lr, batch_size, activation):
    """One epoch of SGD over ``X[order]`` in steps of ``batch_size`` rows; update in place.

    ``batch_size=1`` is per-sample SGD; the last step takes the rows left.
    Returns each step's mean loss (float64), taken before its update.
    """
    starts = range(0, len(order), batch_size)
    step_loss = np.empty(len(starts), dtype=np.float64)
    for k, start in enumerate(starts):
        rows = order[start : start + batch_size]
        step_loss[k], dWs, dbs = mean_gradients(weights, biases, X[rows], y[rows], activation)
        for W, b, dW, db in zip(weights, biases, dWs, dbs):
            W -= lr * dW
            b -= lr * db
    return step_loss
