"""A model's loss and its gradient over a whole data set: ``gradients`` and ``loss_and_gradient``.

Both sum over the rows in one call of the kernel
``kernels.network._loss_and_gradient``, which threads over fixed blocks of
rows: its results are bit-identical on any number of threads, and its
memory does not grow with the number of rows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import reference
from ._checks import as_choice, as_positive, as_sample_weight, reject
from .kernels.network import (
    Layout,
    Net,
    Rows,
    _loss_and_gradient,
    gradient_work,
    kernel_rows,
    launching,
)
from .model import MLP
from .optimizers import as_average, as_l2

BACKENDS = ("numba", "numpy")


def _check_backend(backend):
    return as_choice("backend", backend, BACKENDS)


def _check_model(model):
    """Return the checked ``(weights, biases)`` of ``model`` (``MLP.check_network``)."""
    if not isinstance(model, MLP):
        raise reject("model-type", "model", type=type(model).__name__)
    return model.check_network()


def _summed(model, weights, biases, X, Y, sw):
    """Return ``(loss, dWs, dbs)``: the weighted loss and gradient summed over the rows of ``X``.

    Inputs must be checked already; the gradients are in the model's dtype
    and orientation.
    """
    layout = Layout(weights)
    work, block_loss = gradient_work(weights, layout, X.shape[0])
    with layout as L, launching(True):
        codes = (model._code, model._out_code)
        net = Net(L.Ms, L.transposed, biases)
        rows = Rows(kernel_rows(X), Y, sw)
        total = _loss_and_gradient(net, rows, codes, work, block_loss)
    dWs = [layout.to_model(G[0], l) for l, G in enumerate(work.Gs)]
    return total, dWs, [gb[0] for gb in work.gbs]


def _finite_gradients(dWs, dbs, dtype):
    """Return ``(dWs, dbs)``; raise ``ValueError`` naming ``X`` if a value is not finite.

    Inputs and parameters are finite once checked, so a NaN or infinity here
    means the forward or backward pass overflowed ``dtype``.
    """
    if not all(np.isfinite(g).all() for g in (*dWs, *dbs)):
        raise reject("gradient-overflow", "X", dtype=dtype)
    return dWs, dbs


def gradients(
    model: MLP, X: ArrayLike, y: ArrayLike, *, backend: str = "numba"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return the gradient of the model's mean loss over the rows of ``X``.

    Parameters
    ----------
    model : MLP
        The model (unchanged).
    X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
        Inputs (sparse ones reach the kernels as CSR, see ``MLP.check_X``).
    y : array_like
        Targets for the model's output (see ``MLP.check_y``).
    backend : {"numba", "numpy"}
        Kernels or the numpy reference.

    Returns
    -------
    dW : list of numpy.ndarray
        Aligned with ``model.weights``.
    db : list of numpy.ndarray
        Aligned with ``model.biases``.
    """
    weights, biases = _check_model(model)
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    if _check_backend(backend) == "numpy":
        # Overflow shows as non-finite gradients, named below, as in the kernels.
        with np.errstate(over="ignore", invalid="ignore"):
            _, dWs, dbs = reference.mean_gradients(
                weights, biases, X, y, model.activation, output=model.output
            )
        return _finite_gradients(list(dWs), list(dbs), model.dtype)
    ones = np.ones(X.shape[0], dtype=model.dtype)
    _, dWs, dbs = _summed(model, weights, biases, X, y, ones)
    n = model.dtype.type(X.shape[0])
    return _finite_gradients([dW / n for dW in dWs], [db / n for db in dbs], model.dtype)


def loss_and_gradient(
    model: MLP,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    l2: float = 0.0,
    sample_weight: ArrayLike | None = None,
    average: str = "rows",
    loss_scale: float = 1.0,
) -> tuple[float, np.ndarray]:
    """Return the regularised loss over the rows of ``X`` and its gradient (for quasi-Newton).

    ``loss = (loss_scale * sum_i w_i loss_i + l2 / 2 * sum_l |W_l|^2) / divisor``,
    ``grad`` its gradient at ``loss_scale = 1`` (``l2``: scikit-learn's ``alpha``,
    on weights only), summed in one kernel call; penalty and division in float64.

    Parameters
    ----------
    model : MLP
        The model (unchanged).
    X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
        Inputs (sparse ones reach the kernels as CSR, see ``MLP.check_X``).
    Y : array_like
        Targets for the model's output (see ``MLP.check_y``).
    l2 : float
        L2 penalty coefficient, >= 0.
    sample_weight : array_like, shape (n,), optional
        A weight >= 0 per row, scaling its loss (ones by default).
    average : {"rows", "weights"}
        The divisor: the row count, or the sum of the weights (scikit-learn's).
    loss_scale : float
        Factor on the loss's data term only, > 0 (scikit-learn's squared
        error: ``1 / n_outputs``, with the gradient of the sum).

    Returns
    -------
    loss : float
        The regularised mean loss.
    grad : numpy.ndarray of float64, shape (model.params.size,)
        Its gradient, aligned with ``model.params``, in float64 as SciPy's
        L-BFGS-B works (``x.astype(model.dtype)`` brings its iterates back).

    Raises
    ------
    TypeError, ValueError
        For bad arguments, a zero sum of weights with ``average="weights"``,
        or a forward or backward pass that overflowed the model's dtype.
    """
    (weights, biases), X = _check_model(model), model.check_X(X)
    Y, l2 = model.check_y(Y, X.shape[0]), as_l2(l2)
    sw = as_sample_weight(sample_weight, X.shape[0], model.dtype)
    divisor, scale = _divisor(average, sw), as_positive("loss_scale", loss_scale)
    total, dWs, dbs = _summed(model, weights, biases, X, Y, sw)
    dWs, dbs = _finite_gradients(dWs, dbs, model.dtype)
    penalty = sum(float(np.square(W, dtype=np.float64).sum()) for W in weights)
    parts = []
    for W, dW, db in zip(weights, dWs, dbs):
        parts += [(dW.astype(np.float64) + l2 * W).ravel(), db.astype(np.float64)]
    loss = float(total) * scale + l2 / 2 * penalty
    return loss / divisor, np.concatenate(parts) / divisor


def _divisor(average, sw):
    """Return what ``loss_and_gradient`` divides by for ``average`` and sample weights ``sw``."""
    as_average(average)
    divisor = float(sw.size) if average == "rows" else float(sw.sum(dtype=np.float64))
    if not divisor > 0:
        raise reject("weight-sum", "sample_weight", value=divisor)
    return divisor
