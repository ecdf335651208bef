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

from ._checks import is_sparse, reject
from .names import LINEAR, LOGISTIC, RELU, SIGMOID, SOFTMAX, TANH, activation_code, output_code
from .optimizers import SGD, Optimizer, State, rule, velocity_state


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
    right when every unit predicts its target, ``sigmoid(z) > 0.5``; identity
    and exp rows are never right.
    """
    code = output_code(output)
    if code == SOFTMAX:
        return softmax_xent_forward(Z, y).astype(np.float64), Z.argmax(axis=-1) == y
    Z64, Y = Z.astype(np.float64), y.astype(np.float64)
    if code == LOGISTIC:
        units = np.maximum(Z64, 0) - Y * Z64 + np.log1p(np.exp(-np.abs(Z64)))
        return units.sum(axis=-1), ((activate(Z, "sigmoid") > 0.5) == (y > 0.5)).all(axis=-1)
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
    """Return every layer's output for the rows of ``X``: ``[X, a_1, ..., logits]``.

    ``X`` may be a scipy.sparse matrix: its product with the first layer is
    scipy's, and ``X`` is never densified.
    """
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
    n = len(y)
    return loss / n, [dW / n for dW in dWs], [db / n for db in dbs]


def _batch_step(weights, biases, X, y, activation, sample_weight, *, output="softmax"):
    """Return ``(loss, correct, dWs, dbs)`` for one batch: summed over its rows, and the hits."""
    outputs = forward(weights, biases, X, activation)
    losses, hits = output_loss(outputs[-1], y, output)
    delta = output_delta(outputs[-1], y, output)
    correct = int(hits.sum())
    if sample_weight is not None:
        losses = losses * sample_weight
        delta *= sample_weight[:, None]
    dWs, dbs = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        # np.dot, not @: numpy's matmul skips BLAS for a one-row batch (8x slower here).
        dWs[l] = outputs[l].T @ delta if is_sparse(outputs[l]) else np.dot(outputs[l].T, delta)
        dbs[l] = delta.sum(axis=0)
        if l:
            delta = (delta @ weights[l].T) * derivative_from_output(outputs[l], activation)
    return losses.astype(np.float64).sum(), correct, dWs, dbs


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
    optimizer: Optimizer | None = None,
    state: State | None = None,
    l2: float = 0.0,
    average: str = "rows",
    output: str = "softmax",
    loss_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch over ``X[order]`` in steps of ``batch_size`` rows; update in place.

    ``X`` may be a scipy.sparse CSR matrix: each step densifies its own rows.

    ``batch_size=1`` is per-sample SGD; the last step takes the rows left.
    Each step's weight gradient is ``(summed gradient + l2 * W) / divisor +
    weight_decay * W`` (biases: ``summed gradient / divisor``), with
    ``divisor`` the step's row count (``average="rows"``) or the sum of its
    sample weights (``"weights"``). ``optimizer`` (plain SGD, or with
    ``momentum``, by default) then steps each parameter at rate ``lr`` with
    its twin step from ``optimizers.OPTIMIZERS``; its ``state`` (or, for
    momentum, ``velocities = (VWs, vbs)``) persists across calls (zeros
    when None). ``y`` and ``output`` as for ``output_loss``. Returns
    ``(step_loss, step_correct)``: each step's loss ``(loss_scale * summed
    row losses + l2 / 2 * |W|^2) / divisor`` (float64), taken before its
    update, and how many of its rows were predicted right.
    """
    optimizer = SGD(lr, momentum) if optimizer is None else optimizer
    if state is None and velocities is not None and momentum:
        state = velocity_state(optimizer, weights, biases, velocities)
    state = optimizer.new_state(weights, biases) if state is None else state
    step = rule(optimizer).twin
    slots = [[*state.weights[s], *state.biases[s]] for s in state.weights]
    starts = range(0, len(order), batch_size)
    step_loss = np.empty(len(starts), dtype=np.float64)
    step_correct = np.empty(len(starts), dtype=np.int64)
    for k, start in enumerate(starts):
        rows = order[start : start + batch_size]
        sw = None if sample_weight is None else sample_weight[rows]
        loss, step_correct[k], dWs, dbs = _batch_step(
            weights, biases, _dense_rows(X, rows), y[rows], activation, sw, output=output
        )
        divisor = len(rows) if average == "rows" or sw is None else float(sw.sum(dtype=np.float64))
        loss = loss * loss_scale if loss_scale != 1.0 else loss
        step_loss[k], grads = _penalised(weights, loss, dWs, dbs, divisor, l2, weight_decay)
        state.t[0] += 1
        for i, (param, grad) in enumerate(zip([*weights, *biases], grads)):
            step(optimizer, lr, int(state.t[0]), param, grad, [arrays[i] for arrays in slots])
    return step_loss, step_correct


def _dense_rows(X, rows):
    """Return ``X[rows]`` as a dense array: a step densifies its rows of sparse ``X``, no more."""
    return X[rows].toarray() if is_sparse(X) else X[rows]


def _penalised(weights, loss, dWs, dbs, divisor, l2, weight_decay):
    """Return a step's loss and its gradients (weights', then biases') from its row sums.

    See ``sgd_epoch``: the L2 penalty joins the sums, weight decay the quotients.
    """
    if l2:
        loss += 0.5 * l2 * sum(float((W.astype(np.float64) ** 2).sum()) for W in weights)
        dWs = [dW + l2 * W for W, dW in zip(weights, dWs)]
    dWs = [dW / divisor for dW in dWs]
    if weight_decay:
        dWs = [dW + weight_decay * W for W, dW in zip(weights, dWs)]
    return loss / divisor, [*dWs, *(db / divisor for db in dbs)]


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
        raise reject("outputs-vector", "z", shape=z.shape)
    # Written as a negated test so that NaN is rejected too.
    if not (z > 0).all():
        raise reject("outputs-positive", "z", value=z[~(z > 0)][0])
    if not 0 <= t < z.size:
        raise reject("class-index", "t", size=z.size, value=t)
    total = z.sum()
    grad = np.full(z.size, 1 / total)
    grad[t] -= 1 / z[t]
    return float(np.log(total) - np.log(z[t])), grad
