"""The numpy twin of every kernel: plain, vectorised numpy, no Numba.

Each function mirrors a kernel in ``fastmlp.kernels`` and is the oracle it
is tested and benchmarked against. Arrays keep the parameters' dtype
(numpy keeps float32 * Python float in float32); loss sums are float64.
Parameters are updated in place, as the kernels do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .names import LINEAR, LOGISTIC, RELU, SIGMOID, SOFTMAX, TANH, activation_code, output_code


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """Return ``activation(z)`` elementwise; ``"identity"`` returns ``z``."""
    code = activation_code(activation)
    if code == SIGMOID:
        # Split by sign so exp never overflows (numpy would warn, not fail).
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
    if code == TANH:
        return np.tanh(z)
    if code == RELU:
        return np.maximum(z, 0)
    return z


def derivative_from_output(a: np.ndarray, activation: str) -> np.ndarray:
    """Return the activation's derivative expressed through its output ``a``."""
    code = activation_code(activation)
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return (a > 0).astype(a.dtype)
    return np.ones_like(a)


def dense_forward(W: np.ndarray, b: np.ndarray, X: np.ndarray, activation: str) -> np.ndarray:
    """Return ``activation(X @ W + b)``."""
    return activate(X @ W + b, activation)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax of ``Z``, shifted by each row's max."""
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def softmax_xent_forward(Z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Return each row's cross-entropy loss of ``softmax(Z)`` against ``t``."""
    m = Z.max(axis=-1)
    lse = np.log(np.exp(Z - m[:, None]).sum(axis=-1))
    return (m - Z[np.arange(len(t)), t]) + lse


def softmax_xent_backward(Z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(losses, softmax(Z) - onehot(t))`` row by row."""
    delta = softmax(Z)
    delta[np.arange(len(t)), t] -= 1
    return softmax_xent_forward(Z, t), delta


def output_transform(Z: np.ndarray, output: str) -> np.ndarray:
    """Return the output's prediction from the logits: softmax(Z), sigmoid(Z), Z or exp(Z)."""
    code = output_code(output)
    if code == SOFTMAX:
        return softmax(Z)
    if code == LOGISTIC:
        return activate(Z, "sigmoid")
    return Z if code == LINEAR else np.exp(Z)


def output_loss(Z: np.ndarray, y: np.ndarray, output: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(losses, hits)``: each row's loss (float64) and whether it is right.

    ``y`` holds class indices (softmax) or a row of targets per row of ``Z``
    (the formulas are in ``fastmlp.kernels.outputs``). A logistic row is
    right when every unit is on the side of 0 its target is; identity and
    exp rows are never right.
    """
    code = output_code(output)
    if code == SOFTMAX:
        return softmax_xent_forward(Z, y).astype(np.float64), Z.argmax(axis=-1) == y
    Z64, Y = Z.astype(np.float64), y.astype(np.float64)
    if code == LOGISTIC:
        units = np.maximum(Z64, 0) - Y * Z64 + np.log1p(np.exp(-np.abs(Z64)))
        return units.sum(axis=-1), ((Z > 0) == (y > 0.5)).all(axis=-1)
    if code == LINEAR:
        units = 0.5 * (Y - Z64) ** 2
    else:
        ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0)
        units = ylogy - Y * Z64 - Y + np.exp(Z64)
    return units.sum(axis=-1), np.zeros(len(Z), dtype=np.bool_)


def output_delta(Z: np.ndarray, y: np.ndarray, output: str) -> np.ndarray:
    """Return dL/dZ of ``output_loss``, row by row, in the dtype of ``Z``."""
    code = output_code(output)
    if code == SOFTMAX:
        return softmax_xent_backward(Z, y)[1]
    if code == LOGISTIC:
        return activate(Z, "sigmoid") - y
    return Z - y if code == LINEAR else np.exp(Z) - y


def forward(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, activation: str
) -> list[np.ndarray]:
    """Return every layer's output for the rows of ``X``: ``[X, a_1, ..., logits]``."""
    outputs = [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        last = l == len(weights) - 1
        outputs.append(dense_forward(W, b, outputs[-1], "identity" if last else activation))
    return outputs


def predict_proba(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    activation: str,
    *,
    output: str = "softmax",
) -> np.ndarray:
    """Return the output's prediction (see ``output_transform``) for the rows of ``X``."""
    return output_transform(forward(weights, biases, X, activation)[-1], output)


def mean_gradients(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    activation: str,
    sample_weight: np.ndarray | None = None,
    *,
    output: str = "softmax",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Return ``(loss, dWs, dbs)``: the mean loss over the rows and its gradient.

    With ``sample_weight`` each row's loss is multiplied by its weight; the
    mean is still taken over the number of rows. ``y`` as for ``output_loss``.
    """
    loss, _, dWs, dbs = _batch_step(weights, biases, X, y, activation, sample_weight, output=output)
    return loss, dWs, dbs


def _batch_step(weights, biases, X, y, activation, sample_weight, *, output="softmax"):
    """Return ``(loss, correct, dWs, dbs)`` for one batch: ``mean_gradients`` plus the hit count."""
    outputs = forward(weights, biases, X, activation)
    losses, hits = output_loss(outputs[-1], y, output)
    delta = output_delta(outputs[-1], y, output)
    correct = int(hits.sum())
    if sample_weight is not None:
        losses = losses * sample_weight
        delta *= sample_weight[:, None]
    delta /= len(y)
    dWs, dbs = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        # np.dot, not @: numpy's matmul skips BLAS for a one-row batch (8x slower here).
        dWs[l] = np.dot(outputs[l].T, delta)
        dbs[l] = delta.sum(axis=0)
        if l:
            delta = (delta @ weights[l].T) * derivative_from_output(outputs[l], activation)
    return losses.astype(np.float64).mean(), correct, dWs, dbs


def sgd_epoch(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    lr: float,
    batch_size: int,
    activation: str,
    *,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    sample_weight: np.ndarray | None = None,
    velocities: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of SGD over ``X[order]`` in steps of ``batch_size`` rows; update in place.

    ``batch_size=1`` is per-sample SGD; the last step takes the rows left.
    Each step follows ``grad = dW + weight_decay * W`` (no decay on biases)
    with classical momentum: ``V = momentum * V - lr * grad; W += V``, where
    ``velocities = (VWs, vbs)`` persist across calls (zeros when None).
    Returns ``(step_loss, step_correct)``: each step's mean loss (float64),
    taken before its update, and how many of its rows were predicted right.
    """
    if velocities is None:
        velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    starts = range(0, len(order), batch_size)
    step_loss = np.empty(len(starts), dtype=np.float64)
    step_correct = np.empty(len(starts), dtype=np.int64)
    for k, start in enumerate(starts):
        rows = order[start : start + batch_size]
        sw = None if sample_weight is None else sample_weight[rows]
        step_loss[k], step_correct[k], dWs, dbs = _batch_step(
            weights, biases, X[rows], y[rows], activation, sw
        )
        params = [*weights, *biases]
        if weight_decay:
            dWs = [dW + weight_decay * W for W, dW in zip(weights, dWs)]
        grads = dWs + dbs
        for param, grad, velocity in zip(params, grads, [*velocities[0], *velocities[1]]):
            if momentum:
                velocity *= momentum
                velocity -= lr * grad
                param += velocity
            else:
                param -= lr * grad
    return step_loss, step_correct


def normalised_xent_backward(z: ArrayLike, t: int) -> tuple[float, np.ndarray]:
    """Return ``(loss, grad)`` of ``-log(z[t] / sum(z))`` for positive outputs ``z``.

    Normalising positive outputs by their sum is the naive alternative to
    softmax. Its gradient ``1 / sum(z) - onehot(t) / z[t]`` grows without
    bound as ``z[t] -> 0``, whereas softmax's ``softmax(z) - onehot(t)``
    stays within [-1, 1]; ``fastmlp.plots.softmax_vs_normalisation`` shows both.

    Parameters
    ----------
    z : array_like, shape (n_classes,)
        Positive outputs of one sample, converted to float64.
    t : int
        Target class, in ``[0, n_classes)``.

    Returns
    -------
    loss : float
        ``log(sum(z)) - log(z[t])``.
    grad : numpy.ndarray of float64, shape (n_classes,)
        ``grad[j] = 1 / sum(z) - [j == t] / z[t]``.

    Raises
    ------
    ValueError
        If ``z`` is not a non-empty 1-D array of positive values, or ``t`` is
        not one of its indices.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"z: expected a non-empty 1-D array, found shape {z.shape}")
    # Written as a negated test so that NaN is rejected too.
    if not (z > 0).all():
        raise ValueError(f"z: expected positive outputs, found {z[~(z > 0)][0]}")
    if not 0 <= t < z.size:
        raise ValueError(f"t: expected a class in [0, {z.size}), found {t!r}")
    total = z.sum()
    grad = np.full(z.size, 1 / total)
    grad[t] -= 1 / z[t]
    return float(np.log(total) - np.log(z[t])), grad
