"""``train`` and ``gradients``: the Python side of the SGD kernels and of their numpy twin.

``train`` is a façade: its keywords are the settings of
``fastmlp.settings.TrainSettings`` (documented there, once) and the run's
data, callbacks and files, handed to a ``fastmlp.trainer.Trainer``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_sample_weight, reject
from .callbacks import (
    CHUNKS_PER_EPOCH,
    INNER_BAR_MIN_SAMPLES,
    Callback,
    Checkpointing,
    EarlyStopping,
    FunctionCallback,
    Progress,
)
from .history import History
from .model import MLP
from .objective import gradients
from .optimizers import Optimizer
from .schedules import Schedule
from .settings import BACKENDS, TrainSettings, numpydoc
from .trainer import (
    MAX_STEPS,
    Trainer,
    _checked_validation,
    _NumbaRunner,
    _NumpyRunner,
    _probe,
    _runner,
    new_velocities,
)

__all__ = [
    "BACKENDS",
    "CHUNKS_PER_EPOCH",
    "INNER_BAR_MIN_SAMPLES",
    "MAX_STEPS",
    "RUN_ARGUMENTS",
    "EarlyStopping",
    "_NumbaRunner",
    "_NumpyRunner",
    "gradients",
    "new_velocities",
    "train",
]

#: ``train``'s keywords that are not settings: the run's data, callbacks and files.
RUN_ARGUMENTS = (
    "validation",
    "sample_weight",
    "progress",
    "callbacks",
    "velocities",
    "checkpoint",
    "checkpoint_every",
    "resume",
)


def _warm_up(model, X, y, settings, validation):
    """Compile (or load from the disk cache) the kernels ``train`` calls with ``settings``.

    It is ``train``'s own warm-up probe, on the same checked inputs, once per
    process and signature: no rows are trained and ``model`` is unchanged. A
    process that is about to start workers that train runs it first, so that
    a cold cache is compiled (and announced) once, and the workers load the
    kernels from the disk cache. Returns the seconds taken.
    """
    X = model.check_X(X)
    y = model.check_y(y, X.shape[0])
    # Clamped to the rows there are, as train does (it also warns).
    hp = dict(settings.checked, batch_size=min(settings.checked["batch_size"], X.shape[0]))
    run = _runner(model, hp, hp["optimizer"].new_state(model.weights, model.biases), 1.0)
    sw = as_sample_weight(None, X.shape[0], model.dtype)
    return _probe(run, X, y, sw, _checked_validation(model, validation))


def _callbacks(callbacks, progress, checkpoint, checkpoint_every, resume):
    """Return ``train``'s callbacks as ``Callback`` objects, the bars and checkpoint last."""
    if isinstance(callbacks, str) or not isinstance(callbacks, Iterable):
        raise reject("callback-sequence", "callbacks", value=callbacks)
    run = [c if isinstance(c, Callback) else FunctionCallback(c) for c in callbacks]
    every = Checkpointing(checkpoint, checkpoint_every, resume)  # checks checkpoint_every
    return [*run, Progress(progress), *([every] if checkpoint is not None else [])]


def train(
    model: MLP,
    X: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int = 1,
    lr: float | None = None,
    batch_size: int = 1,
    shuffle: bool = True,
    seed: int = 0,
    backend: str = "numba",
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    lr_schedule: str | Schedule | Callable[[int], float] | None = None,
    early_stopping: bool | int | EarlyStopping | None = None,
    initial_epoch: int = 0,
    optimizer: str | Optimizer = "sgd",
    l2: float = 0.0,
    average: str = "rows",
    validation: tuple[ArrayLike, ArrayLike] | None = None,
    sample_weight: ArrayLike | None = None,
    progress: bool | None = None,
    callbacks: Sequence[Callable[[int, History, MLP], Any] | Callback] = (),
    velocities: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
) -> History:
    """Train ``model`` by SGD; the full docstring is assembled below, from ``TrainSettings``."""
    settings = TrainSettings(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        backend=backend,
        momentum=momentum,
        weight_decay=weight_decay,
        lr_schedule=lr_schedule,
        early_stopping=early_stopping,
        initial_epoch=initial_epoch,
        optimizer=optimizer,
        l2=l2,
        average=average,
    )
    callbacks = _callbacks(callbacks, progress, checkpoint, checkpoint_every, resume)
    trainer = Trainer(model, settings, callbacks=callbacks, velocities=velocities)
    trainer.stacklevel = 3  # warnings point at train's caller
    return trainer.fit(X, y, sample_weight=sample_weight, validation=validation)


train.__doc__ = f"""Train ``model`` in place by stochastic gradient descent; return its ``History``.

Parameters
----------
model : MLP
    The model; its parameters are updated in place.
X : array_like, shape (n, sizes[0])
    Training inputs, converted to the model's dtype.
y : array_like of int, shape (n,)
    Class labels in ``[0, n_classes)``.
{numpydoc()}
validation : (X_val, y_val), optional
    Evaluated after every epoch (``History.val_loss``, ``val_accuracy``).
sample_weight : array_like, shape (n,), optional
    Non-negative weight of each row's loss (and gradient).
progress : bool, optional
    Show tqdm bars; by default only when stderr is a terminal. Long epochs
    run in chunks between bar updates; the result does not change.
callbacks : sequence of callable or Callback
    A callable is called as ``callback(epoch, history, model)`` after every
    epoch; a true return value stops training. A ``fastmlp.callbacks.Callback``
    gets every hook of the ``Trainer``.
velocities : (sequence, sequence), optional
    Momentum velocities ``(VWs, vbs)`` shaped like ``model.weights`` and
    ``model.biases`` (``new_velocities(model)``), updated in place: pass
    the same pair to successive calls to carry momentum over. By default
    each call starts from zero velocity.
checkpoint : str or os.PathLike, optional
    Write a checkpoint (``fastmlp.checkpoint``: parameters, velocities,
    random state, callbacks' state, history) to this ``.npz`` file,
    atomically, after every ``checkpoint_every`` epochs and when training ends.
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
