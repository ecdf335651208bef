"""``train`` and ``gradients``: the Python side of the SGD kernels and of their numpy twin.

Python runs once per epoch (or per chunk of an epoch when a progress bar
is shown), never per step: the kernels run whole sequences of steps.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import numbers
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import checkpoint as checkpoints
from . import optimizers, reference
from ._checks import as_momentum, as_positive, as_sample_weight, as_weight_decay
from .errors import TrainingDivergedError
from .history import History
from .kernels.network import (
    GRADIENT_ROWS,
    Layout,
    _accumulate_gradients,
    buffers,
    index_buffers,
)
from .kernels.sgd import SGD, _check_velocities
from .kernels.update import outer_scratch
from .model import MLP, _as_rng, check_forward
from .schedules import Schedule, as_schedule

BACKENDS = ("numba", "numpy")
#: With a progress bar, an epoch of at least this many samples gets a bar of
#: its own, updated between this many chunks (each chunk one kernel call).
INNER_BAR_MIN_SAMPLES = 10_000
CHUNKS_PER_EPOCH = 50
#: Most steps one ``train`` call records (the per-step losses take 8 bytes each).
MAX_STEPS = 2**40


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model ends with the parameters of its best epoch.
    """

    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


def _as_early_stopping(value):
    if value is None or value is False:
        return None
    if value is True:
        return EarlyStopping()
    if isinstance(value, numbers.Integral):
        return EarlyStopping(patience=as_positive("early_stopping", value, numbers.Integral))
    if isinstance(value, EarlyStopping):
        as_positive("early_stopping.patience", value.patience, numbers.Integral)
        return value
    raise TypeError(
        f"early_stopping: expected None, a bool, a patience or an EarlyStopping, found {value!r}"
    )


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {list(BACKENDS)}, found {backend!r}")
    return backend


class _NumbaRunner:
    """Runs chunks of an epoch in the kernels; its buffers are allocated once per ``train``."""

    def __init__(self, model, batch_size, momentum, weight_decay, velocities=None):
        self.model, self.batch_size = model, batch_size
        self.mu, self.wd = momentum, weight_decay
        optimizer = optimizers.SGD(momentum=momentum)  # the rate comes with each run
        state = None
        if velocities is not None:
            state = optimizers.velocity_state(optimizer, model.weights, model.biases, velocities)
        self.sgd = SGD(model.weights, model.biases, batch_size, optimizer, weight_decay, state)

    def run(self, X, y, sw, order, lr, step_loss, step_correct):
        self.sgd.run(X, y, sw, order, self.model._code, lr, step_loss, step_correct)

    def evaluate(self, X, y):
        losses, hits = self.model.evaluate(X, y)
        return float(losses.mean()), float(hits.mean())

    def warm_up(self, X, y, sw, validation):
        """Compile (or load from the cache) every kernel ``train`` will call; return the seconds.

        The training kernels run on no rows, so the model is unchanged without
        copying it; inference, whose one build serves any number of rows,
        runs on the validation's first row.
        """
        start = time.perf_counter()
        self.run(X, y, sw, np.empty(0, np.int64), 1e-3, np.empty(0), np.empty(0, np.int64))
        if validation is not None:
            self.evaluate(validation[0][:1], validation[1][:1])
        return time.perf_counter() - start


class _NumpyRunner:
    """Runs chunks of an epoch in the numpy reference."""

    def __init__(self, model, batch_size, momentum, weight_decay, velocities=None):
        self.model, self.batch_size = model, batch_size
        self.mu, self.wd = momentum, weight_decay
        if velocities is None:
            velocities = new_velocities(model)
        self.velocities = (list(velocities[0]), list(velocities[1]))

    def run(self, X, y, sw, order, lr, step_loss, step_correct):
        m = self.model
        # A diverging run overflows: as in the kernels, that shows as non-finite
        # losses (and TrainingDivergedError), not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            step_loss[:], step_correct[:] = reference.sgd_epoch(
                m.weights,
                m.biases,
                X,
                y,
                order,
                lr,
                self.batch_size,
                m.activation,
                momentum=self.mu,
                weight_decay=self.wd,
                sample_weight=sw,
                velocities=self.velocities,
            )

    def evaluate(self, X, y):
        m = self.model
        # An overflow is reported as by MLP.evaluate (the numba runner's), not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            logits = reference.forward(m.weights, m.biases, X, m.activation)[-1]
            losses = reference.softmax_xent_forward(logits, y).astype(np.float64)
        check_forward(losses, m.dtype)
        return float(losses.mean()), float(np.mean(logits.argmax(axis=1) == y))

    def warm_up(self, X, y, sw, validation):
        return 0.0


def _runner(backend, model, batch_size, momentum, weight_decay, velocities=None):
    """Return the runner of ``train`` for checked arguments."""
    kind = _NumpyRunner if backend == "numpy" else _NumbaRunner
    return kind(model, batch_size, momentum, weight_decay, velocities if momentum else None)


def _checked_validation(model, validation):
    """Return ``validation`` as ``train`` uses it: ``(X_val, y_val)`` checked for ``model``."""
    if validation is None:
        return None
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError(
            f"validation: expected a pair (X_val, y_val), found {type(validation).__name__}"
            f" of length {len(validation) if hasattr(validation, '__len__') else '-'}"
        )
    Xv = model.check_X(validation[0])
    return Xv, model.check_y(validation[1], Xv.shape[0])


def _warm_up(model, X, y, *, batch_size, momentum, weight_decay, backend, validation):
    """Compile (or load from the disk cache) the kernels ``train`` calls with these arguments.

    It is ``train``'s own warm-up probe, on the same checked inputs: no rows
    are trained and ``model`` is unchanged. A process that is about to start
    workers that train runs it first, so that a cold cache is compiled (and
    announced) once, and the workers load the kernels from the disk cache.
    Returns the seconds taken.
    """
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    # Clamped to the rows there are, as train does (it also warns).
    batch_size = min(int(as_positive("batch_size", batch_size, numbers.Integral)), X.shape[0])
    momentum, weight_decay = as_momentum(momentum), as_weight_decay(weight_decay)
    runner = _runner(_check_backend(backend), model, batch_size, momentum, weight_decay)
    sw = as_sample_weight(None, X.shape[0], model.dtype)
    return runner.warm_up(X, y, sw, _checked_validation(model, validation))


def new_velocities(model: MLP) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Return zeroed momentum velocities ``(VWs, vbs)`` shaped like ``model``'s parameters.

    Pass them to successive ``train`` calls (``velocities=``) to carry
    momentum from one call to the next.
    """
    return (
        tuple(np.zeros_like(W) for W in model.weights),
        tuple(np.zeros_like(b) for b in model.biases),
    )


def _check_model(model):
    """Return the checked ``(weights, biases)`` of ``model`` (``MLP.check_network``)."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a fastmlp.MLP, found {type(model).__name__}")
    return model.check_network()


def _network(model):
    """Return what a training run relies on staying the same: the checked model and its arrays."""
    weights, biases = _check_model(model)
    return (model.sizes, model.activation, model.dtype, *weights, *biases)


def _check_callback(callback, model, network):
    """Raise when ``callback`` left ``model`` unfit for the kernels or not the network it was.

    A callback gets the model itself: it may change the parameters' values in
    place, but the kernels of this run hold its arrays, so it must not swap
    them (nor the sizes, activation or dtype they were built for).
    """
    try:
        now = _network(model)
    except (TypeError, ValueError) as error:
        raise type(error)(f"callbacks: {callback!r} left the model unusable: {error}") from None
    if now[:3] != network[:3] or any(a is not b for a, b in zip(now[3:], network[3:])):
        raise ValueError(
            f"callbacks: {callback!r} replaced the model's parameter arrays or its sizes, "
            "activation or dtype during training; change the parameters in place instead "
            "(model.params[...] = values)"
        )


def _one_at_a_time(train):
    """Make ``train`` hold the model's lock, so trainings of one model run one after another.

    Two threads training one model then give what two trainings in a row
    give; a callback may still train or evaluate the model (the lock is
    reentrant). Inference and ``gradients`` take no lock: they never write
    parameters.
    """

    @functools.wraps(train)
    def locked(*args, **kwargs):
        model = args[0] if args else kwargs.get("model")
        with model._lock if isinstance(model, MLP) else contextlib.nullcontext():
            return train(*args, **kwargs)

    return locked


def _chunk_bounds(steps, chunks):
    """Split ``steps`` into at most ``chunks`` contiguous ranges of steps."""
    edges = np.unique(np.linspace(0, steps, min(chunks, steps) + 1).round().astype(int))
    return list(itertools.pairwise(edges))


class _Progress:
    """tqdm bars over epochs and, for long epochs, over the samples of one epoch."""

    def __init__(self, enabled, epochs, n):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.inner = bool(enabled) and n >= INNER_BAR_MIN_SAMPLES
        self.n = n
        if enabled:
            from tqdm.auto import tqdm

            self._tqdm = tqdm
            self.outer = tqdm(total=epochs, unit="epoch", desc="train")
        else:
            self.outer = None
        self.bar = None

    def start_epoch(self):
        if self.inner:
            self.bar = self._tqdm(total=self.n, unit="sample", leave=False, unit_scale=True)

    def advance(self, samples):
        if self.bar is not None:
            self.bar.update(samples)

    def end_epoch(self, history):
        if self.bar is not None:
            self.bar.close()
        if self.outer is not None:
            postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
            if history.val_loss:
                postfix.update(val_loss=f"{history.val_loss[-1]:.4f}")
                postfix.update(val_acc=f"{history.val_accuracy[-1]:.2%}")
            self.outer.set_postfix(postfix)
            self.outer.update(1)

    def close(self):
        if self.outer is not None:
            self.outer.close()


@_one_at_a_time
def train(
    model: MLP,
    X: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int = 1,
    lr: float = 0.01,
    batch_size: int = 1,
    shuffle: bool = True,
    seed: int = 0,
    backend: str = "numba",
    validation: tuple[ArrayLike, ArrayLike] | None = None,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    lr_schedule: str | Schedule | Callable[[int], float] | None = None,
    early_stopping: bool | int | EarlyStopping | None = None,
    sample_weight: ArrayLike | None = None,
    progress: bool | None = None,
    callbacks: Sequence[Callable[[int, History, MLP], Any]] = (),
    initial_epoch: int = 0,
    velocities: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
) -> History:
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
        Passes over the data (fewer if training stops early).
    lr : float
        Learning rate (the base rate of a named ``lr_schedule``).
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
    validation : (X_val, y_val), optional
        Evaluated after every epoch (``History.val_loss``, ``val_accuracy``).
    momentum : float
        Classical momentum in [0, 1), applied inside the kernels.
    weight_decay : float
        L2 penalty ``weight_decay / 2 * |W|^2`` on the weights (not biases).
    lr_schedule : str, Schedule or callable, optional
        ``"constant"``, ``"step"``, ``"invscaling"``, ``"lower-at-end"``, a
        ``fastmlp.schedules.Schedule`` or any callable ``epoch -> lr``.
    early_stopping : bool, int or EarlyStopping, optional
        Stop when the validation loss stops improving (an int is the
        patience) and restore the best epoch's parameters. Needs ``validation``.
    sample_weight : array_like, shape (n,), optional
        Non-negative weight of each row's loss (and gradient).
    progress : bool, optional
        Show tqdm bars; by default only when stderr is a terminal. Long epochs
        run in chunks between bar updates; the result does not change.
    callbacks : sequence of callable
        Each is called as ``callback(epoch, history, model)`` after every
        epoch; a true return value stops training.
    initial_epoch : int
        Epochs the model has been trained already, for training in several
        calls: the schedule continues from there (it sees epoch
        ``initial_epoch + e`` of ``initial_epoch + epochs``).
    velocities : (sequence, sequence), optional
        Momentum velocities ``(VWs, vbs)`` shaped like ``model.weights`` and
        ``model.biases`` (``new_velocities(model)``), updated in place: pass
        the same pair to successive calls to carry momentum over. By default
        each call starts from zero velocity.
    checkpoint : str or os.PathLike, optional
        Write a checkpoint (``fastmlp.checkpoint``: parameters, velocities,
        random state, history) to this ``.npz`` file, atomically, after every
        ``checkpoint_every`` epochs and when training ends.
    checkpoint_every : int
        Epochs between checkpoints.
    resume : bool
        If ``checkpoint`` exists, continue the run it records instead of
        starting afresh: the model, velocities, sample orders, schedule and
        early-stopping state go on from its last epoch, and the result is the
        same, bit for bit, as a run that was never stopped. The checkpoint
        must come from the same settings and data (``epochs`` may be larger).

    Returns
    -------
    History
        ``history.interrupted`` is True when a KeyboardInterrupt (Ctrl-C)
        stopped training: the model then keeps the parameters of the last
        completed epoch (a warning says so) and the call returns normally.

    Raises
    ------
    TrainingDivergedError
        A step's loss, or the parameters after an epoch, became NaN or
        infinite. The model is put back to its parameters at the start of
        that epoch; the error names the epoch and step.
    """
    network = _network(model)
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    n = X.shape[0]
    epochs = as_positive("epochs", epochs, numbers.Integral)
    rng = _as_rng(seed)
    lr = float(as_positive("lr", lr))
    batch_size = int(as_positive("batch_size", batch_size, numbers.Integral))
    if batch_size > n:
        warnings.warn(
            f"batch_size: {batch_size} is larger than the {n} rows of X; using {n}",
            UserWarning,
            stacklevel=3,  # the caller of _one_at_a_time's wrapper
        )
        batch_size = n
    backend = _check_backend(backend)
    momentum, weight_decay = as_momentum(momentum), as_weight_decay(weight_decay)
    schedule = as_schedule(lr_schedule, lr)
    stopping = _as_early_stopping(early_stopping)
    sw = as_sample_weight(sample_weight, n, model.dtype)
    validation = _checked_validation(model, validation)
    if validation is None and stopping is not None:
        raise ValueError("early_stopping: needs validation=(X_val, y_val), found validation=None")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral):
        raise TypeError(f"initial_epoch: expected an integer, found {initial_epoch!r}")
    if initial_epoch < 0:
        raise ValueError(f"initial_epoch: expected a value >= 0, found {initial_epoch}")
    if velocities is not None:
        velocities = _check_velocities(velocities, model.weights, model.biases)
    if momentum and velocities is None:
        velocities = new_velocities(model)
    every = as_positive("checkpoint_every", checkpoint_every, numbers.Integral)
    if isinstance(callbacks, str) or not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks: expected a sequence of callables, found {callbacks!r}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks: expected callables, found {callback!r}")

    steps = -(-n // batch_size)
    rows = np.full(steps, batch_size)
    rows[-1] = n - batch_size * (steps - 1)
    runner = _runner(backend, model, batch_size, momentum, weight_decay, velocities)
    if epochs * steps > MAX_STEPS:
        raise ValueError(
            f"epochs: expected at most {MAX_STEPS // steps} epochs of {steps} steps "
            f"(each step's loss is kept), found {epochs}"
        )
    history = History(
        step_loss=np.empty(epochs * steps),
        steps_per_epoch=steps,
        config={
            "epochs": epochs,
            "initial_epoch": initial_epoch,
            "lr": lr,
            "batch_size": batch_size,
            "shuffle": shuffle,
            "seed": seed,
            "backend": backend,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "lr_schedule": repr(schedule),
            "early_stopping": repr(stopping),
            "n_samples": n,
            "sizes": list(model.sizes),
            "activation": model.activation,
            "dtype": model.dtype.name,
        },
    )
    if checkpoint is not None:
        history.config["data_sha256"] = checkpoints.data_digest(X, y, sw)
        history.config["validation_sha256"] = validation and checkpoints.data_digest(*validation)
    history.compile_time = runner.warm_up(X, y, sw, validation)
    state = checkpoints.RunState(rng)
    if resume and checkpoint is not None and Path(checkpoint).exists():
        compile_time = history.compile_time
        history = checkpoints.restore(
            checkpoint,
            model.params,
            velocities,
            history,
            state,
            lr_of=lambda epoch: schedule(initial_epoch + epoch, initial_epoch + epochs),
        )
        history.compile_time = compile_time
        history.step_loss = np.concatenate(
            [history.step_loss, np.empty(max(epochs - history.epochs, 0) * steps)]
        )
    first = history.epochs
    step_correct = np.empty(steps, dtype=np.int64)
    bars = _Progress(progress, epochs - first, n)
    chunks = _chunk_bounds(steps, CHUNKS_PER_EPOCH if bars.inner else 1)
    # The parameters (and velocities) at the start of the epoch in progress,
    # for putting the model back when the epoch fails or is interrupted.
    start_params = np.empty_like(model.params)
    flat_velocities = [] if velocities is None else [*velocities[0], *velocities[1]]
    start_velocities = [np.empty_like(v) for v in flat_velocities]
    in_epoch = False
    try:
        for epoch in range(first, first if history.stopped_early else epochs):
            _assign([start_params, *start_velocities], [model.params, *flat_velocities])
            in_epoch = True
            at, total = initial_epoch + epoch, initial_epoch + epochs
            epoch_lr = float(as_positive(f"lr_schedule({at})", schedule(at, total)))
            order = state.rng.permutation(n) if shuffle else np.arange(n)
            step_loss = history.step_loss[epoch * steps : (epoch + 1) * steps]
            bars.start_epoch()
            start = time.perf_counter()
            for lo, hi in chunks:
                chunk = order[lo * batch_size : hi * batch_size]
                runner.run(X, y, sw, chunk, epoch_lr, step_loss[lo:hi], step_correct[lo:hi])
                bars.advance(chunk.size)
                _check_finite(step_loss, lo, hi, model, epoch, history)
            elapsed = time.perf_counter() - start
            history.epoch_time.append(elapsed)
            history.samples_per_second.append(n / elapsed if elapsed > 0 else float("inf"))
            history.lr.append(epoch_lr)
            history.train_accuracy.append(float(step_correct.sum() / n))
            if validation is not None:
                val_loss, val_accuracy = runner.evaluate(*validation)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
            # Appended last: train_loss's length is the count of completed epochs.
            history.train_loss.append(float(step_loss @ rows / n))
            in_epoch = False
            bars.end_epoch(history)
            stop_now = False
            if stopping is not None:
                if history.val_loss[-1] < state.best_loss - stopping.min_delta:
                    state.best_loss, state.waited = history.val_loss[-1], 0
                    state.best_params, history.best_epoch = model.params.copy(), epoch
                else:
                    state.waited += 1
                    stop_now = state.waited >= stopping.patience
            for callback in callbacks:
                stop_now = bool(callback(epoch, history, model)) or stop_now
                _check_callback(callback, model, network)
            if stop_now and epoch < epochs - 1:
                history.stopped_early = True
            last = history.stopped_early or epoch == epochs - 1
            if checkpoint is not None and (last or (epoch + 1 - first) % every == 0):
                checkpoints.save(checkpoint, model.params, velocities, history, state)
            if history.stopped_early:
                break
    except KeyboardInterrupt:
        if in_epoch:
            _assign([model.params, *flat_velocities], [start_params, *start_velocities])
        _truncate(history)
        history.interrupted = True
        warnings.warn(
            f"training interrupted after {history.epochs} completed epoch(s); the model "
            "keeps the parameters of the last completed epoch",
            UserWarning,
            stacklevel=3,
        )
    except TrainingDivergedError:
        _assign([model.params, *flat_velocities], [start_params, *start_velocities])
        _truncate(history)
        raise
    finally:
        bars.close()
        history.step_loss = history.step_loss[: history.epochs * steps].copy()
    if stopping is not None and stopping.restore_best and state.best_params is not None:
        model.params[...] = state.best_params
    return history


def _check_finite(step_loss, lo, hi, model, epoch, history):
    """Raise ``TrainingDivergedError`` when a loss of ``step_loss[lo:hi]`` is not finite.

    The parameters are checked at the end of the epoch (``hi`` is its last
    step): a loss is taken before its step's update, so the last update of an
    epoch shows only in the parameters.
    """
    finite = np.isfinite(step_loss[lo:hi])
    if finite.all() and (hi < step_loss.size or np.isfinite(model.params).all()):
        return
    step = lo + int(np.argmin(finite)) if not finite.all() else hi - 1
    raise TrainingDivergedError(
        f"training diverged in epoch {epoch} at step {step}: the loss or the parameters "
        "became NaN or infinite (try a smaller learning rate); the model is back at its "
        "parameters from the start of that epoch",
        epoch,
        step,
        history,
    )


def _truncate(history):
    """Cut the per-epoch lists of ``history`` to its completed epochs (``len(train_loss)``)."""
    done = history.epochs
    for name in ("train_accuracy", "lr", "epoch_time", "samples_per_second"):
        del getattr(history, name)[done:]
    if history.val_loss:
        del history.val_loss[done:], history.val_accuracy[done:]


def _assign(targets, sources):
    for target, source in zip(targets, sources):
        target[...] = source


def gradients(
    model: MLP, X: ArrayLike, y: ArrayLike, *, backend: str = "numba"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
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
    weights, biases = _check_model(model)
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    if _check_backend(backend) == "numpy":
        # Overflow shows as non-finite gradients, named below, as in the kernels.
        with np.errstate(over="ignore", invalid="ignore"):
            _, dWs, dbs = reference.mean_gradients(weights, biases, X, y, model.activation)
        return _finite_gradients(list(dWs), list(dbs), model.dtype)
    layout = Layout(weights)
    Gs, gbs = layout.gradient_buffers()
    rows = min(X.shape[0], GRADIENT_ROWS)
    A, D = buffers(weights, rows)
    losses, hits = np.empty(rows), np.empty(rows, dtype=np.int64)
    ones = np.ones(X.shape[0], dtype=model.dtype)
    NZ = index_buffers(weights, 1)
    scratch = outer_scratch(max(M.shape[0] for M in layout.Ms), rows, model.dtype)
    with layout as L:
        for start in range(0, X.shape[0], rows):
            chunk = np.arange(start, min(start + rows, X.shape[0]))
            _accumulate_gradients(
                L.Ms,
                L.transposed,
                biases,
                X,
                y,
                ones,
                chunk,
                model._code,
                A,
                D,
                Gs,
                gbs,
                losses,
                hits,
                NZ,
                scratch,
            )
    n = model.dtype.type(X.shape[0])
    dWs = [layout.to_model(G, l) / n for l, G in enumerate(Gs)]
    return _finite_gradients(dWs, [gb / n for gb in gbs], model.dtype)


def _finite_gradients(dWs, dbs, dtype):
    """Return ``(dWs, dbs)``; raise ``ValueError`` naming ``X`` if a value is not finite.

    Inputs and parameters are finite once checked, so a NaN or infinity here
    means the forward or backward pass overflowed ``dtype``.
    """
    if not all(np.isfinite(g).all() for g in (*dWs, *dbs)):
        raise ValueError(
            f"X: expected inputs whose gradients {dtype} can carry, found NaN or infinite "
            "gradients (the forward or backward pass overflowed); scale X down (or use float64)"
        )
    return dWs, dbs
