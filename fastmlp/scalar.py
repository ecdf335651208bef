"""Forward and backward for one sample of a one-hidden-layer net, in pure Python.

Lists and ``math`` only, one scalar at a time, written to be read next to
the equations: an oracle independent of numpy and Numba, and a teaching aid
(``docs/assignment.md`` works the classic 2-3-2 example through it).

Notation: input ``x`` (n_in), hidden weights ``W[i][j]`` (n_in x n_hidden),
hidden biases ``b``, output weights ``V[j][k]`` (n_hidden x n_out), output
biases ``c``; ``k = x W + b``, ``h = act(k)``, ``o = h V + c``,
``p = softmax(o)``, ``loss = -log p[target]`` (the default output; the
others, chosen by ``output``, are those of ``fastmlp.MLP``).

``forward`` returns every intermediate value, ``forward_backward`` the loss
and the derivative of the loss with respect to every parameter and every
intermediate value, and ``sgd_step`` updates the lists in place. The 2-3-2
example::

    >>> from fastmlp import scalar
    >>> W, b = [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]], [0.0, 0.0, 0.0]
    >>> V, c = [[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]], [0.0, 0.0]
    >>> loss, grads = scalar.forward_backward([1.0, -1.0], W, b, V, c, target=0)
    >>> round(loss, 6), grads["c"], [round(g, 6) for g in grads["V"][0]]
    (0.693147, [-0.5, 0.5], [-0.440399, 0.440399])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .names import (
    IDENTITY,
    LINEAR,
    LOGISTIC,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
    activation_code,
    output_code,
)


def _sigmoid(k):
    return 1 / (1 + math.exp(-k)) if k >= 0 else math.exp(k) / (1 + math.exp(k))


def _act(k, code):
    if code == SIGMOID:
        return _sigmoid(k)
    if code == TANH:
        return math.tanh(k)
    if code == RELU:
        return max(k, 0.0)
    assert code == IDENTITY, code
    return k


def _act_derivative(h, code):
    if code == SIGMOID:
        return h * (1 - h)
    if code == TANH:
        return 1 - h * h
    if code == RELU:
        return 1.0 if h > 0 else 0.0
    assert code == IDENTITY, code
    return 1.0


def _output(o, target, out):
    """Return ``(p, loss, do)``: the prediction, the loss and dL/do of the logits ``o``.

    ``target`` is a class index (softmax) or a list of one target per unit.
    """
    if out == SOFTMAX:
        # Shifted by the largest logit: every exponent is <= 0, so nothing overflows.
        o_max = max(o)
        exps = [math.exp(o_m - o_max) for o_m in o]
        total = sum(exps)
        p = [e / total for e in exps]
        do = [p[m] - (1.0 if m == target else 0.0) for m in range(len(o))]
        return p, (o_max - o[target]) + math.log(total), do
    if out == LOGISTIC:
        p = [_sigmoid(o_m) for o_m in o]
        # -y log p - (1 - y) log(1 - p), as log1p(exp(-|o|)) + max(o, 0) - y o.
        units = [max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z))) for z, y in zip(o, target)]
    elif out == LINEAR:
        p = list(o)
        units = [0.5 * (y - z) ** 2 for z, y in zip(o, target)]
    else:
        p = [math.exp(z) for z in o]
        units = [
            (y * math.log(y) if y > 0 else 0.0) - y * z - y + e for z, y, e in zip(o, target, p)
        ]
    return p, sum(units), [p_m - y for p_m, y in zip(p, target)]


def forward(
    x: Sequence[float],
    W: Sequence[Sequence[float]],
    b: Sequence[float],
    V: Sequence[Sequence[float]],
    c: Sequence[float],
    target: int | Sequence[float],
    activation: str = "sigmoid",
    *,
    output: str = "softmax",
) -> dict[str, Any]:
    """Return every value of the forward pass of one sample.

    Parameters
    ----------
    x : sequence of float
        The sample.
    W, b, V, c : nested sequences of float
        The parameters (see the module docstring for shapes).
    target : int or sequence of float
        The true class (softmax), or one target per output unit.
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}
        Hidden activation.
    output : {"softmax", "logistic", "identity", "exp"}
        The output and its loss (see ``fastmlp.MLP``).

    Returns
    -------
    dict
        ``{"k": k, "h": h, "o": o, "p": p, "loss": loss, "do": do}``: hidden
        pre-activations and activations, logits and predictions (class
        probabilities, unit probabilities, ``o`` or ``exp(o)``) as lists,
        the loss (softmax: ``-log p[target]``) and dL/do.
    """
    code, out = activation_code(activation), output_code(output)
    n_in, n_hidden, n_out = len(x), len(b), len(c)
    k = [b[j] + sum(x[i] * W[i][j] for i in range(n_in)) for j in range(n_hidden)]
    h = [_act(k_j, code) for k_j in k]
    o = [c[m] + sum(h[j] * V[j][m] for j in range(n_hidden)) for m in range(n_out)]
    p, loss, do = _output(o, target, out)
    return {"k": k, "h": h, "o": o, "p": p, "loss": loss, "do": do}


def forward_backward(
    x: Sequence[float],
    W: Sequence[Sequence[float]],
    b: Sequence[float],
    V: Sequence[Sequence[float]],
    c: Sequence[float],
    target: int | Sequence[float],
    activation: str = "sigmoid",
    *,
    output: str = "softmax",
) -> tuple[float, dict[str, Any]]:
    """Return the loss of one sample and the gradient of every parameter.

    The backward pass, one local derivative at a time:
    ``dL/do = p - onehot(target)`` (softmax; ``p - target`` for the other
    outputs, with ``p`` the prediction); ``dL/dV[j][m] = h[j] dL/do[m]``,
    ``dL/dc = dL/do``; ``dL/dh[j] = sum_m V[j][m] dL/do[m]``;
    ``dL/dk[j] = dL/dh[j] act'(k[j])`` (for sigmoid ``h (1 - h)``);
    ``dL/dW[i][j] = x[i] dL/dk[j]``, ``dL/db = dL/dk``.

    Parameters
    ----------
    x : sequence of float
        The sample.
    W, b, V, c : nested sequences of float
        The parameters (see the module docstring for shapes).
    target : int or sequence of float
        The true class (softmax), or one target per output unit.
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}
        Hidden activation.
    output : {"softmax", "logistic", "identity", "exp"}
        The output and its loss (see ``fastmlp.MLP``).

    Returns
    -------
    loss : float
    grads : dict
        ``{"W": dW, "b": db, "V": dV, "c": dc}`` as nested lists, and the
        derivatives of the loss with respect to the intermediate values,
        ``"o"``, ``"h"`` and ``"k"`` (see ``forward``).
    """
    code = activation_code(activation)
    values = forward(x, W, b, V, c, target, activation, output=output)
    h, do = values["h"], values["do"]
    n_in, n_hidden, n_out = len(x), len(b), len(c)
    dV = [[h[j] * do[m] for m in range(n_out)] for j in range(n_hidden)]
    dh = [sum(V[j][m] * do[m] for m in range(n_out)) for j in range(n_hidden)]
    dk = [dh[j] * _act_derivative(h[j], code) for j in range(n_hidden)]
    dW = [[x[i] * dk[j] for j in range(n_hidden)] for i in range(n_in)]
    grads = {"W": dW, "b": list(dk), "V": dV, "c": list(do), "o": do, "h": dh, "k": dk}
    return values["loss"], grads


def sgd_step(
    x: Sequence[float],
    W: list[list[float]],
    b: list[float],
    V: list[list[float]],
    c: list[float],
    target: int | Sequence[float],
    lr: float,
    activation: str = "sigmoid",
    *,
    output: str = "softmax",
) -> float:
    """Take one per-sample SGD step in place on the nested lists; return the loss before it.

    Parameters
    ----------
    x : sequence of float
        The sample.
    W, b, V, c : nested lists of float
        The parameters (see the module docstring for shapes), updated in
        place: ``param -= lr * grad``.
    target : int or sequence of float
        The true class (softmax), or one target per output unit.
    lr : float
        The learning rate.
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}
        Hidden activation.
    output : {"softmax", "logistic", "identity", "exp"}
        The output and its loss (see ``fastmlp.MLP``).

    Returns
    -------
    float
        The sample's loss at the parameters before the step.
    """
    loss, grads = forward_backward(x, W, b, V, c, target, activation, output=output)
    for param, grad in ((W, grads["W"]), (V, grads["V"])):
        for row, grad_row in zip(param, grad):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
    for param, grad in ((b, grads["b"]), (c, grads["c"])):
        for j, g in enumerate(grad):
            param[j] -= lr * g
    return loss
