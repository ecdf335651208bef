"""Callbacks of the ``Trainer``: early stopping, checkpoints, progress bars and your own.

A callback subclasses ``Callback`` and overrides the hooks it needs. The
trainer calls them in list order: ``on_train_begin``, then for each epoch
``on_epoch_begin``, ``on_chunk_end`` after each kernel call, and
``on_epoch_end`` (a true return value stops training after that epoch),
and finally ``on_train_end`` (also after an error: ``trainer.error`` says).
A callback whose ``state_dict`` is not empty has its state saved in
checkpoints and given back to ``load_state_dict`` on resume.
"""

from __future__ import annotations

import dataclasses
import numbers
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint as checkpoints
from ._checks import as_choice, as_positive, reject

#: With a progress bar, an epoch of at least this many samples gets a bar of
#: its own, updated between this many chunks (each chunk one kernel call).
INNER_BAR_MIN_SAMPLES = 10_000
CHUNKS_PER_EPOCH = 50
#: What early stopping may monitor, and whether lower values are better.
MONITORS = {"val_loss": True, "train_loss": True, "val_accuracy": False}
RULES = ("patience", "sklearn")
#: scikit-learn's ``learning_rate="adaptive"``: on a plateau the rate is divided
#: by this, unless it is at most ``MIN_LR`` already (then training stops).
LR_DIVISOR = 5.0
MIN_LR = 1e-6


class Callback:
    """Base class of callbacks: every hook does nothing, and there is no state.

    ``trainer`` is the running ``fastmlp.trainer.Trainer``: its ``model``,
    ``history``, ``settings`` and, in ``on_epoch_begin``, the epoch's
    learning rate ``epoch_lr`` (set by ``rate``; one changed only in
    ``on_epoch_begin`` makes the run's checkpoints unresumable).
    """

    #: Keys of ``state_dict`` holding arrays shaped like the model's parameters (or None).
    state_arrays: tuple[str, ...] = ()
    #: Kernel calls per epoch this callback asks for (the largest request wins).
    chunks: int = 1

    def on_train_begin(self, trainer: Any) -> None:
        """Run once before the first epoch (before a checkpoint is resumed)."""

    def rate(self, epoch: int, lr: float) -> float:
        """Return the learning rate of ``epoch`` given ``lr``, the rate before this callback.

        A callback that sets the rate does it here, not in ``on_epoch_begin``:
        a resumed run checks the rates its checkpoint recorded against these
        (with the state the checkpoint gave back).
        """
        return lr

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        """Run before each epoch (``epoch`` counts from 0 from the run's start)."""

    def on_chunk_end(self, trainer: Any, samples: int) -> None:
        """Run after each kernel call, with the samples it trained on."""

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        """Run after each epoch is recorded; return True to stop training."""
        return False

    def on_train_end(self, trainer: Any) -> None:
        """Run once when training ends, however it ends (see ``trainer.error``)."""

    def state_dict(self) -> dict[str, Any]:
        """Return the state a checkpoint keeps: JSON values, and arrays in ``state_arrays``."""
        return {}

    def load_state_dict(self, state: dict[str, Any], history: Any) -> None:
        """Take back a ``state_dict`` from a checkpoint whose completed epochs ``history`` holds.

        Raise ``ValueError`` for a state this callback could not have written:
        the checkpoint is then refused, before anything else is written.
        """


# Hashable by its fields (its settings, not its running state), as a Config holding it must be.
@dataclasses.dataclass(eq=True, unsafe_hash=True)
class EarlyStopping(Callback):
    """Stop when a monitored value has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement tolerated (see ``rule``).
    min_delta : float
        Smallest change that counts as an improvement (scikit-learn's ``tol``).
    restore_best : bool
        End with the parameters of the best epoch (``History.best_epoch``).
    monitor : {"val_loss", "train_loss", "val_accuracy"}
        The ``History`` curve watched; accuracy is better higher, losses lower.
    rule : {"patience", "sklearn"}
        ``"patience"``: an epoch improves when it beats the best by more than
        ``min_delta``, and only such an epoch becomes the best; training stops
        after ``patience`` epochs in a row without one. ``"sklearn"``:
        scikit-learn's ``_update_no_improvement_count`` in its order (an epoch
        not better than the best by ``min_delta`` counts, the best is the
        best value seen), stopping when the count exceeds ``patience``.
    adaptive : bool
        With ``rule="sklearn"``: scikit-learn's ``learning_rate="adaptive"``.
        Instead of stopping, divide the learning rate by 5 and count again,
        unless the last epoch's rate was at most 1e-6.
    """

    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "val_loss"
    rule: str = "patience"
    adaptive: bool = False

    state_arrays = ("best_params",)

    def __post_init__(self) -> None:
        self.reset()

    def __repr__(self) -> str:
        # The first three always (a run's recorded settings), the rest when not the default.
        names = [f.name for f in dataclasses.fields(self)]
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if names.index(f.name) < 3 or getattr(self, f.name) != f.default
        ]
        return f"EarlyStopping({', '.join(shown)})"

    def check(self) -> EarlyStopping:
        """Return self after checking every field; raise naming ``early_stopping``."""
        as_positive("early_stopping.patience", self.patience, numbers.Integral)
        delta = self.min_delta
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta >= 0:
            raise reject("at-least", "early_stopping.min_delta", low=0, value=delta)
        as_choice("early_stopping.monitor", self.monitor, MONITORS)
        as_choice("early_stopping.rule", self.rule, RULES)
        if self.adaptive and self.rule != "sklearn":
            raise ValueError("early_stopping.adaptive: needs rule='sklearn', found rule='patience'")
        return self

    def reset(self) -> None:
        """Forget what earlier runs saw."""
        self.best = np.inf if MONITORS.get(self.monitor, True) else -np.inf
        #: The epochs from which each drop of ``adaptive`` applies.
        self.drops: list[int] = []
        self.waited, self.best_params = 0, None
        #: Whether the last epoch seen asked to stop (the run converged, in scikit-learn's words).
        self.stopped = False

    def on_train_begin(self, trainer: Any) -> None:
        """Check the monitored curve will be there; start from no best epoch."""
        if self.monitor.startswith("val_") and trainer.validation is None:
            raise ValueError(
                "early_stopping: needs validation=(X_val, y_val), found validation=None"
            )
        self.reset()

    def rate(self, epoch: int, lr: float) -> float:
        """Return ``lr`` divided by 5 for each drop of ``adaptive`` up to ``epoch``, as sklearn."""
        for first in self.drops:
            if first <= epoch:
                lr /= LR_DIVISOR
        return lr

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        """Count the epoch as an improvement or not; return True to stop."""
        value = getattr(trainer.history, self.monitor)[-1]
        rule = self._sklearn if self.rule == "sklearn" else self._patience
        self.stopped = rule(trainer, epoch, value)
        return self.stopped

    def _patience(self, trainer, epoch, value):
        lower = MONITORS[self.monitor]
        if (value < self.best - self.min_delta) if lower else (value > self.best + self.min_delta):
            self._new_best(trainer, epoch, value)
            self.waited = 0
            return False
        self.waited += 1
        return self.waited >= self.patience

    def _sklearn(self, trainer, epoch, value):
        """Count as sklearn's ``_update_no_improvement_count``; stop as its ``_fit_stochastic``."""
        if MONITORS[self.monitor]:
            stalled, better = value > self.best - self.min_delta, value < self.best
        else:
            stalled, better = value < self.best + self.min_delta, value > self.best
        self.waited = self.waited + 1 if stalled else 0
        if better:
            self._new_best(trainer, epoch, value)
        if self.waited <= self.patience:
            return False
        if not self.adaptive or trainer.history.lr[-1] <= MIN_LR:
            return True
        self.drops, self.waited = [*self.drops, epoch + 1], 0  # from the next epoch on
        return False

    def _new_best(self, trainer, epoch, value):
        self.best = value
        trainer.history.best_epoch = epoch
        if self.restore_best:
            if self.best_params is None:
                self.best_params = np.empty_like(trainer.model.params)
            self.best_params[...] = trainer.model.params

    def on_train_end(self, trainer: Any) -> None:
        """With ``restore_best``, put the best epoch's parameters back (unless training failed)."""
        if trainer.error is None and self.restore_best and self.best_params is not None:
            trainer.model.params[...] = self.best_params

    def state_dict(self) -> dict[str, Any]:
        """Return the best value, the epochs waited, the rate drops' epochs, the best parameters."""
        state = {"best_loss": float(self.best) if np.isfinite(self.best) else None}
        state.update(waited=self.waited, best_params=self.best_params)
        if self.adaptive:  # a key of a fresh instance's state too: what a checkpoint loads
            state["lr_drops"] = list(self.drops)
        return state

    def load_state_dict(self, state: dict[str, Any], history: Any) -> None:
        """Check and take back a ``state_dict`` (see ``Callback.load_state_dict``)."""
        best, waited = state["best_loss"], state["waited"]
        drops, done = state.get("lr_drops") or [], history.epochs
        if isinstance(waited, bool) or not isinstance(waited, int) or not 0 <= waited <= done:
            raise ValueError(f"expected waited to be an integer from 0 to {done}, found {waited!r}")
        # Each drop applies from the epoch after the one that asked for it: 1 to done, ascending.
        ascending = isinstance(drops, list) and drops == sorted(set(drops))
        if not ascending or not all(type(d) is int and 1 <= d <= done for d in drops):
            raise ValueError(
                f"expected lr_drops to be ascending epochs from 1 to {done}, found {drops!r}"
            )
        if best is None:
            if state["best_params"] is not None or history.best_epoch is not None:
                raise ValueError("found a best epoch or best parameters but no best_loss")
        elif history.best_epoch is None:
            raise ValueError(f"expected a best epoch with best_loss={best!r}, found none")
        elif not isinstance(best, float) or not np.isfinite(best):
            raise ValueError(f"expected a finite best_loss, found {best!r}")
        elif state["best_params"] is None and self.restore_best:
            raise ValueError("expected best_params with best_loss, found none")
        self.reset()
        if best is not None:
            self.best = best
        self.waited, self.drops, self.best_params = waited, drops, state["best_params"]


def as_early_stopping(value: Any) -> EarlyStopping | None:
    """Return what ``train(early_stopping=...)`` means: None, or a checked ``EarlyStopping``."""
    if value is None or value is False:
        return None
    if value is True:
        return EarlyStopping()
    if isinstance(value, numbers.Integral):
        return EarlyStopping(patience=as_positive("early_stopping", value, numbers.Integral))
    if isinstance(value, EarlyStopping):
        return value.check()
    raise reject("early-stopping", "early_stopping", value=value)


class Checkpointing(Callback):
    """Write a checkpoint every ``every`` epochs and at the end; resume from it on request.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (``fastmlp.checkpoint``).
    every : int
        Epochs between checkpoints.
    resume : bool
        Continue the run the file records, if it exists.
    """

    def __init__(self, path: Any, every: int = 1, resume: bool = False) -> None:
        self.path, self.resume = path, resume
        self.every = as_positive("checkpoint_every", every, numbers.Integral)
        self.first = 0

    def on_train_begin(self, trainer: Any) -> None:
        """Add the data's digests to the fingerprint; resume from the file if asked."""
        config = trainer.history.config
        config["data_sha256"] = checkpoints.data_digest(trainer.X, trainer.y, trainer.sample_weight)
        config["validation_sha256"] = trainer.validation and checkpoints.data_digest(
            *trainer.validation
        )
        if self.resume and Path(self.path).exists():
            trainer.resume_from(self.path)
        self.first = trainer.history.epochs

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        """Write the checkpoint when due (it comes last: stopping is decided)."""
        history = trainer.history
        last = history.stopped_early or epoch == trainer.epochs - 1
        if last or (epoch + 1 - self.first) % self.every == 0:
            checkpoints.save(
                self.path, trainer.model.params, trainer.state_arrays, history, trainer.run_state()
            )
        return False


class Progress(Callback):
    """tqdm bars over epochs and, for long epochs, over the samples of one epoch.

    Parameters
    ----------
    enabled : bool or None
        Show the bars; None shows them when stderr is a terminal.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.outer = self.bar = None

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        """Open the bars (the outer one at the first epoch run), and chunk long epochs."""
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        n = trainer.X.shape[0]
        if self.outer is None:
            total = trainer.epochs - trainer.history.epochs
            self.outer = tqdm(total=total, unit="epoch", desc="train")
        self.chunks = CHUNKS_PER_EPOCH if n >= INNER_BAR_MIN_SAMPLES else 1
        if self.chunks > 1:
            self.bar = tqdm(total=n, unit="sample", leave=False, unit_scale=True)

    def on_chunk_end(self, trainer: Any, samples: int) -> None:
        """Advance the epoch's bar."""
        if self.bar is not None:
            self.bar.update(samples)

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        """Close the epoch's bar; show the losses on the outer one."""
        self._close_inner()
        if self.outer is not None:
            history = trainer.history
            postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
            if history.val_loss:
                postfix.update(val_loss=f"{history.val_loss[-1]:.4f}")
                postfix.update(val_acc=f"{history.val_accuracy[-1]:.2%}")
            self.outer.set_postfix(postfix)
            self.outer.update(1)
        return False

    def on_train_end(self, trainer: Any) -> None:
        """Close the bars."""
        self._close_inner()
        if self.outer is not None:
            self.outer.close()
            self.outer = None

    def _close_inner(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class FunctionCallback(Callback):
    """A callable ``callback(epoch, history, model)`` as a callback (``train``'s old form).

    A true return value stops training. The callable may change the model's
    parameters in place, but not swap its arrays (checked after each call).

    Parameters
    ----------
    function : callable
        Called after every epoch.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        if not callable(function):
            raise reject("callback-callables", "callbacks", value=function)
        self.function = function

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        """Call the function; check it left the model's arrays in place."""
        stop = bool(self.function(epoch, trainer.history, trainer.model))
        trainer.check_network(self.function)
        return stop
