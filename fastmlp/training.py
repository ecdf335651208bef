"""``train`` and ``gradients``: the Python side of the SGD kernels and of their numpy twin."""

import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from . import reference
from ._checks import as_positive
from .kernels.network import _accumulate_gradients, gradient_buffers, layer_buffers
from .kernels.sgd import _sgd_epoch_minibatch, _sgd_epoch_per_sample

BACKENDS = ("numba", "numpy")


@dataclass
class History:
    """What a call to ``train`` recorded.

    Attributes
    ----------
    step_loss : numpy.ndarray of float64
        Every step's loss (the mean over the step's rows, before its update),
        all epochs concatenated.
    train_loss : list of float
        Per epoch, the mean loss over the epoch's samples as they were seen.
    epoch_time : list of float
        Wall time of each epoch in seconds.
    steps_per_epoch : int
        Number of steps in each epoch.
    """

    step_loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    train_loss: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    steps_per_epoch: int = 0


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {list(BACKENDS)}, found {backend!r}")
    return backend


def train(model, X, y, *, epochs=1, lr=0.01, batch_size=1, shuffle=True, seed=0, backend="numba"):
    """Train ``model`` in place by stochastic gradient descent and return its ``History``.

    Parameters
    ----------
    model : MLP
        The model; its parameters are updated in place.
    X : array_like, shape (n, sizes[0])
        Training inputs, converted to the model's dtype.
    y : array_like of int, shape (n,)
        Class labels in ``[0, n_classes)``.
    epochs : int
        Passes over the data.
    lr : float
        Learning rate.
    batch_size : int
        Rows per step. 1 is per-sample SGD; otherwise each step follows the
        mean gradient of its rows, and the epoch's last step takes the rows
        left over (it may be smaller).
    shuffle : bool
        Visit the rows in a fresh random order each epoch (else in order).
    seed : int
        Seed of the ``np.random.Generator`` that draws the orders. The orders
        are drawn in numpy for both backends, so a seed fixes the run.
    backend : {"numba", "numpy"}
        ``"numba"`` runs the compiled kernels; ``"numpy"`` the reference twin.

    Returns
    -------
    History
    """
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    epochs = as_positive("epochs", epochs, numbers.Integral)
    lr = float(as_positive("lr", lr))
    batch_size = int(as_positive("batch_size", batch_size, numbers.Integral))
    backend = _check_backend(backend)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    steps = -(-n // batch_size)
    history = History(step_loss=np.empty(epochs * steps), steps_per_epoch=steps)
    run_epoch = _numpy_epoch if backend == "numpy" else _numba_epoch(model, batch_size)
    # Steps are batch means; weight them by batch size for the epoch mean.
    rows = np.full(steps, batch_size)
    rows[-1] = n - batch_size * (steps - 1)
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        start = time.perf_counter()
        step_loss = history.step_loss[epoch * steps : (epoch + 1) * steps]
        run_epoch(model, X, y, order, lr, batch_size, step_loss)
        history.epoch_time.append(time.perf_counter() - start)
        history.train_loss.append(float(step_loss @ rows / n))
    return history


def _numpy_epoch(model, X, y, order, lr, batch_size, step_loss):
    step_loss[:] = reference.sgd_epoch(
        model.weights, model.biases, X, y, order, lr, batch_size, model.activation
    )


def _numba_epoch(model, batch_size):
    """Return an epoch runner with the kernel's workspace allocated once for all epochs."""
    A, D = layer_buffers(model.weights)
    if batch_size == 1:

        def run(model, X, y, order, lr, batch_size, step_loss):
            _sgd_epoch_per_sample(
                model.weights, model.biases, X, y, order, model._code, lr, A, D, step_loss
            )

        return run
    dWs, dbs = gradient_buffers(model.weights)

    def run(model, X, y, order, lr, batch_size, step_loss):
        _sgd_epoch_minibatch(
            model.weights,
            model.biases,
            X,
            y,
            order,
            model._code,
            lr,
            batch_size,
            A,
            D,
            dWs,
            dbs,
            step_loss,
        )

    return run


def gradients(model, X, y, *, backend="numba"):
    """Return the gradient of the mean cross-entropy over the rows of ``X``.

    Parameters
    ----------
    model : MLP
        The model (unchanged).
    X : array_like, shape (n, sizes[0])
        Inputs.
    y : array_like of int, shape (n,)
        Class labels.
    backend : {"numba", "numpy"}
        Kernels or the numpy reference.

    Returns
    -------
    dW : list of numpy.ndarray
        Aligned with ``model.weights``.
    db : list of numpy.ndarray
        Aligned with ``model.biases``.
    """
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    if _check_backend(backend) == "numpy":
        _, dWs, dbs = reference.mean_gradients(model.weights, model.biases, X, y, model.activation)
        return list(dWs), list(dbs)
    A, D = layer_buffers(model.weights)
    dWs, dbs = gradient_buffers(model.weights)
    rows = np.arange(X.shape[0])
    _accumulate_gradients(model.weights, model.biases, X, y, rows, model._code, A, D, dWs, dbs)
    n = model.dtype.type(X.shape[0])
    return [dW / n for dW in dWs], [db / n for db in dbs]
