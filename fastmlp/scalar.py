"""Forward and backward for one sample of a one-hidden-layer net, in pure Python.

Lists and ``math`` only, one scalar at a time, written to be read next to
the equations: an oracle independent of numpy and Numba, and a teaching aid.

Notation: input ``x`` (n_in), hidden weights ``W[i][j]`` (n_in x n_hidden),
hidden biases ``b``, output weights ``V[j][k]`` (n_hidden x n_out), output
biases ``c``; ``k = x W + b``, ``h = act(k)``, ``o = h V + c``,
``p = softmax(o)``, ``loss = -log p[target]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .names import RELU, SIGMOID, TANH, activation_code


def _act(k, code):
    if code == SIGMOID:
        return 1 / (1 + math.exp(-k)) if k >= 0 else math.exp(k) / (1 + math.exp(k))
    if code == TANH:
        return math.tanh(k)
    return max(k, 0.0)


def _act_derivative(h, code):
    if code == SIGMOID:
        return h * (1 - h)
    if code == TANH:
        return 1 - h * h
    if code == RELU:
        return 1.0 if h > 0 else 0.0
    raise AssertionError(code)


def forward_backward(
    x: Sequence[float],
    W: Sequence[Sequence[float]],
    b: Sequence[float],
    V: Sequence[Sequence[float]],
    c: Sequence[float],
    target: int,
    activation: str = "sigmoid",
) -> tuple[float, dict[str, Any]]:
    """Return the loss of one sample and the gradient of every parameter.

    Parameters
    ----------
    x : sequence of float
        The sample.
    W, b, V, c : nested sequences of float
        The parameters (see the module docstring for shapes).
    target : int
        The true class.
    activation : {"sigmoid", "tanh", "relu"}
        Hidden activation.

    Returns
    -------
    loss : float
    grads : dict
        ``{"W": dW, "b": db, "V": dV, "c": dc}`` as nested lists.
    """
    code = activation_code(activation)
    n_in, n_hidden, n_out = len(x), len(b), len(c)

    # Forward.
    k = [b[j] + sum(x[i] * W[i][j] for i in range(n_in)) for j in range(n_hidden)]
    h = [_act(k_j, code) for k_j in k]
    o = [c[m] + sum(h[j] * V[j][m] for j in range(n_hidden)) for m in range(n_out)]
    o_max = max(o)
    exps = [math.exp(o_m - o_max) for o_m in o]
    total = sum(exps)
    p = [e / total for e in exps]
    loss = (o_max - o[target]) + math.log(total)

    # Backward: dL/do = p - onehot(target), then through V and the activation.
    do = [p[m] - (1.0 if m == target else 0.0) for m in range(n_out)]
    dV = [[h[j] * do[m] for m in range(n_out)] for j in range(n_hidden)]
    dc = list(do)
    dh = [sum(V[j][m] * do[m] for m in range(n_out)) for j in range(n_hidden)]
    dk = [dh[j] * _act_derivative(h[j], code) for j in range(n_hidden)]
    dW = [[x[i] * dk[j] for j in range(n_hidden)] for i in range(n_in)]
    db = list(dk)
    return loss, {"W": dW, "b": db, "V": dV, "c": dc}


def sgd_step(
    x: Sequence[float],
    W: list[list[float]],
    b: list[float],
    V: list[list[float]],
    c: list[float],
    target: int,
    lr: float,
    activation: str = "sigmoid",
) -> float:
    """Take one per-sample SGD step in place on the nested lists; return the loss before it."""
    loss, grads = forward_backward(x, W, b, V, c, target, activation)
    for param, grad in ((W, grads["W"]), (V, grads["V"])):
        for row, grad_row in zip(param, grad):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
    for param, grad in ((b, grads["b"]), (c, grads["c"])):
        for j, g in enumerate(grad):
            param[j] -= lr * g
    return loss
