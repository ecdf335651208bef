"""The ``Trainer``: runs the epochs of one training run, with its callbacks.

Python runs once per epoch (or per chunk of an epoch when a callback asks
for chunks, as the progress bar does), never per step: the kernels run
whole sequences of steps. Everything the kernels are driven through is the
runner, one small adapter class per backend (``_NumbaRunner``,
``_NumpyRunner``).
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import checkpoint as checkpoints
from . import reference
from ._checks import as_order, as_positive, as_rng, as_sample_weight, reject
from .callbacks import Callback, Checkpointing
from .errors import TrainingDivergedError
from .history import History
from .kernels.network import is_plain_array
from .kernels.sgd import SGD, _check_velocities
from .model import MLP, check_forward
from .optimizers import SGD as SGDOptimizer
from .optimizers import State, rule, velocity_state
from .settings import TrainSettings, fingerprint

#: Most steps one run records (the per-step losses take 8 bytes each).
MAX_STEPS = 2**40


class _NumbaRunner:
    """Runs chunks of an epoch in the kernels; its buffers are allocated once per run.

    ``hp`` are the run's checked settings (``TrainSettings.checked``) and
    ``state`` its optimizer's state, updated in place.
    """

    def __init__(self, model, hp, state, loss_scale):
        self.model, self.hp = model, hp
        self.sgd = SGD(
            *(model.weights, model.biases, hp["batch_size"], hp["optimizer"]),
            *(hp["weight_decay"], state),
            l2=hp["l2"],
            average=hp["average"],
            loss_scale=loss_scale,
        )

    def run(self, X, y, sw, order, lr, step_loss, step_correct):
        m = self.model
        self.sgd.run(X, y, sw, order, m._code, m._out_code, lr, step_loss, step_correct)

    def evaluate(self, X, y):
        losses, hits = self.model.evaluate(X, y)
        return float(losses.mean()), float(hits.mean())

    def signature(self, validation):
        """Return what decides which kernels a run compiles (types and code paths, not sizes)."""
        sgd, m, hp = self.sgd, self.model, self.hp
        paths = (sgd.per_sample, getattr(sgd, "parallel", False), type(hp["optimizer"]))
        paths += (bool(sgd.state.flat()), bool(hp["weight_decay"]), bool(hp["l2"]))
        model = (len(m.sizes), m.activation, m.output, m.dtype.name)
        return (type(self), *model, paths, validation is None)

    def warm_up(self, X, y, sw, validation):
        """Compile (or load from the cache) every kernel a run will call; return the seconds.

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

    def __init__(self, model, hp, state, loss_scale):
        self.model, self.hp, self.state, self.loss_scale = model, hp, state, loss_scale

    def run(self, X, y, sw, order, lr, step_loss, step_correct):
        m = self.model
        # A diverging run overflows: as in the kernels, that shows as non-finite
        # losses (and TrainingDivergedError), not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            step_loss[:], step_correct[:] = reference.sgd_epoch(
                *(m.weights, m.biases, X, y, order, lr, self.hp["batch_size"], m.activation),
                optimizer=self.hp["optimizer"],
                state=self.state,
                l2=self.hp["l2"],
                average=self.hp["average"],
                weight_decay=self.hp["weight_decay"],
                sample_weight=sw,
                output=m.output,
                loss_scale=self.loss_scale,
            )

    def evaluate(self, X, y):
        m = self.model
        # An overflow is reported as by MLP.evaluate (the numba runner's), not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            logits = reference.forward(m.weights, m.biases, X, m.activation)[-1]
            losses, hits = reference.output_loss(logits, y, m.output)
        check_forward(losses, m.dtype)
        return float(losses.mean()), float(hits.mean())

    def signature(self, validation):
        return None  # nothing to compile

    def warm_up(self, X, y, sw, validation):
        return 0.0


def _runner(model, hp, state, loss_scale):
    """Return the runner of a run: the one place that knows the kernels' Python interface.

    ``hp`` are the run's checked settings; ``state`` its optimizer's state;
    ``loss_scale`` the factor on the recorded row losses.
    """
    kind = _NumpyRunner if hp["backend"] == "numpy" else _NumbaRunner
    return kind(model, hp, state, loss_scale)


def _optimizer_state(model, optimizer, velocities, state):
    """Return the run's optimizer state: the caller's ``state``, zeros, or ``velocities``.

    ``velocities`` (``(VWs, vbs)``, the older form of momentum's state) carry
    momentum across runs. Plain SGD has no use for them (as before optimizers
    existed, they are checked and left alone); another optimizer refuses them.
    """
    if state is not None:
        return _checked_state(state, model, optimizer)
    if velocities is not None:
        velocities = _check_velocities(velocities, model.weights, model.biases)
        if type(optimizer) is not SGDOptimizer:
            raise reject("velocities-unused", "velocities", optimizer=optimizer)
        if optimizer.momentum:
            return velocity_state(optimizer, model.weights, model.biases, velocities)
    return optimizer.new_state(model.weights, model.biases)


def _checked_state(state, model, optimizer):
    """Return ``state`` after checking it fits ``optimizer`` and the model's parameters.

    The kernels index its arrays as the parameters' without bounds checks.
    """
    if not isinstance(state, State) or state.optimizer != optimizer:
        raise reject("optimizer-state", "state", optimizer=optimizer, value=state)
    expected = rule(optimizer).slots(optimizer)
    for group, params in ((state.weights, model.weights), (state.biases, model.biases)):
        if sorted(group) != sorted(expected):
            raise reject("optimizer-state", "state", optimizer=optimizer, value=state)
        for arrays in group.values():
            if len(arrays) != len(params) or not all(map(_same_layout, arrays, params)):
                raise reject("optimizer-state", "state", optimizer=optimizer, value=state)
    t = state.t
    if not (is_plain_array(t) and t.dtype == np.int64 and t.shape == (1,) and t[0] >= 0):
        raise reject("optimizer-state", "state", optimizer=optimizer, value=state)
    return state


def _same_layout(array, param):
    return is_plain_array(array) and array.shape == param.shape and array.dtype == param.dtype


#: The runner signatures this process has compiled (or loaded) the kernels of.
_PROBED: set = set()


def _probe(runner, X, y, sw, validation):
    """Warm ``runner``'s kernels up once per process and signature; return the seconds taken."""
    key = runner.signature(validation)
    if key is None or key in _PROBED:
        return 0.0
    seconds = runner.warm_up(X, y, sw, validation)
    _PROBED.add(key)
    return seconds


def new_velocities(model: MLP) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Return zeroed momentum velocities ``(VWs, vbs)`` shaped like ``model``'s parameters.

    Pass them to successive ``train`` calls (``velocities=``) to carry
    momentum from one call to the next.
    """
    return (
        tuple(np.zeros_like(W) for W in model.weights),
        tuple(np.zeros_like(b) for b in model.biases),
    )


def _checked_validation(model, validation):
    """Return ``validation`` as a run uses it: ``(X_val, y_val)`` checked for ``model``."""
    if validation is None:
        return None
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        length = len(validation) if hasattr(validation, "__len__") else "-"
        raise reject("pair", "validation", type=type(validation).__name__, length=length)
    Xv = model.check_X(validation[0])
    return Xv, model.check_y(validation[1], Xv.shape[0])


def _network(model):
    """Return what a run relies on staying the same: the checked model and its arrays."""
    if not isinstance(model, MLP):
        raise reject("model-type", "model", type=type(model).__name__)
    weights, biases = model.check_network()
    return (model.sizes, model.activation, model.dtype, *weights, *biases)


class Rollback:
    """A context manager: the arrays go back to their values on entry if the block raises.

    Entered at the start of each epoch, so that a diverging or interrupted
    epoch leaves the model (and momentum) as the previous epoch left it. Its
    buffers are allocated once.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        Arrays to keep, changed in place by the block.
    """

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        self.arrays = list(arrays)
        self.saved = [np.empty_like(a) for a in self.arrays]

    def __enter__(self) -> Rollback:
        for saved, array in zip(self.saved, self.arrays):
            saved[...] = array
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> bool:
        if kind is not None:
            for saved, array in zip(self.saved, self.arrays):
                array[...] = saved
        return False


def _chunk_bounds(steps, chunks):
    """Split ``steps`` into at most ``chunks`` contiguous ranges of steps."""
    edges = np.unique(np.linspace(0, steps, min(chunks, steps) + 1).round().astype(int))
    return list(itertools.pairwise(edges))


def _order_source(orders, rng, shuffle):
    """Return ``epoch, n -> order``: the caller's ``orders``, or drawn from ``rng``."""
    if orders is None:
        return lambda epoch, n: rng.permutation(n) if shuffle else np.arange(n)
    if callable(orders):
        return orders
    if isinstance(orders, Iterable) and not isinstance(orders, (str, np.ndarray)):
        iterator = iter(orders)
        return lambda epoch, n: next(iterator)
    raise reject("orders", "orders", value=orders)


class Trainer:
    """Trains one model by SGD for the epochs of ``settings``, calling ``callbacks``.

    Parameters
    ----------
    model : MLP
        The model; its parameters are updated in place. To start from
        parameters drawn elsewhere, assign them first (``model.params[...] = p``).
    settings : TrainSettings, optional
        The hyperparameters (default: ``TrainSettings()``). Its
        ``early_stopping``, if any, runs first among the callbacks.
    callbacks : sequence of Callback
        Called in order (a ``Checkpointing`` is moved last, so that it saves
        what the others decided).
    velocities : (sequence, sequence), optional
        Momentum velocities ``(VWs, vbs)`` shaped like the model's parameters,
        updated in place (default: zeros, with momentum).
    orders : callable or iterable, optional
        The sample order of each epoch, drawn by the caller: a callable
        ``orders(epoch, n)`` or an iterable giving one order per epoch, each
        ``n`` indices into the rows of ``X``. By default the orders are drawn
        from ``settings.seed`` (a permutation per epoch, or the rows in order
        without ``shuffle``). Checkpoints need the default (they store the
        generator's state).
    state : fastmlp.optimizers.State, optional
        The optimizer's state to go on from (a previous run's ``trainer.state``,
        for a network of the same shapes), updated in place; by default a new
        one (zeros, or holding ``velocities``).
    loss_scale : float
        Factor on the row losses in the recorded losses, not on the gradient
        (``kernels.sgd.SGD``): scikit-learn averages squared error over the
        outputs.
    check_finite : bool
        Raise ``TrainingDivergedError`` when a loss or the parameters stop
        being finite (default). False lets the run go on, as scikit-learn's does.

    Attributes
    ----------
    history : History
        The run's record (after ``fit``).
    epoch_lr : float
        The learning rate of the epoch in progress (``rate``).
    error : BaseException or None
        The exception that ended training, for ``on_train_end``.
    """

    def __init__(
        self,
        model: MLP,
        settings: TrainSettings | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        velocities: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
        orders: Callable[[int, int], ArrayLike] | Iterable[ArrayLike] | None = None,
        state: State | None = None,
        loss_scale: float = 1.0,
        check_finite: bool = True,
    ) -> None:
        self.model = model
        self.settings = TrainSettings() if settings is None else settings
        if not isinstance(self.settings, TrainSettings):
            raise reject("settings-type", "settings", value=settings)
        # As given: a run on fewer rows than a batch uses settings with one full batch.
        self._given = self.settings
        callbacks = list(callbacks)
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise reject("callback-objects", "callbacks", value=callback)
        stopping = self.settings.checked["early_stopping"]
        callbacks = [*([stopping] if stopping is not None else []), *callbacks]
        # Stable: the checkpoint comes after every callback that may stop the run.
        self.callbacks = sorted(callbacks, key=lambda c: isinstance(c, Checkpointing))
        self._given_velocities, self.orders, self._given_state = velocities, orders, state
        self.loss_scale = float(as_positive("loss_scale", loss_scale))
        self.check_finite = bool(check_finite)
        self.error, self.history = None, None
        #: Frames between the warnings and the code to blame (``train`` adds its own).
        self.stacklevel = 2

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
        validation: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> History:
        """Train on ``X``, ``y`` and return the ``History``; see ``fastmlp.train``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Training inputs.
        y : array_like of int, shape (n,)
            Class labels.
        sample_weight : array_like, shape (n,), optional
            Non-negative weight of each row's loss.
        validation : (X_val, y_val), optional
            Evaluated after every epoch.

        Returns
        -------
        History
        """
        self._built = _network(self.model)
        # One run of one model at a time: two threads training it train one after another.
        with self.model._lock:
            self._prepare(X, y, sample_weight, validation)
            return self._run()

    def _prepare(self, X, y, sample_weight, validation):
        """Check the data and the run-level arguments; allocate the run's buffers."""
        model = self.model
        self.X = model.check_X(X)
        self.y = model.check_y(y, self.X.shape[0])
        n = self.X.shape[0]
        settings = self.settings = self._given
        if settings.checked["batch_size"] > n:
            warnings.warn(
                f"batch_size: {settings.checked['batch_size']} is larger than the {n} rows of X; "
                f"using {n}",
                UserWarning,
                stacklevel=self.stacklevel + 1,
            )
            settings = self.settings = settings.replace(batch_size=n)
        hp = settings.checked
        self.sample_weight = as_sample_weight(sample_weight, n, model.dtype)
        self.validation = _checked_validation(model, validation)
        # Given velocities carry momentum across runs; else each run starts from zero.
        self.state = _optimizer_state(
            model, hp["optimizer"], self._given_velocities, self._given_state
        )
        #: The optimizer state's arrays, as checkpoints and the rollback keep them.
        self.state_arrays = self.state.flat()
        if self.orders is not None and any(isinstance(c, Checkpointing) for c in self.callbacks):
            raise ValueError("orders: a checkpointed run draws its orders from seed, found orders")
        self.epochs, self.steps = hp["epochs"], -(-n // hp["batch_size"])
        if self.epochs * self.steps > MAX_STEPS:
            most = MAX_STEPS // self.steps
            raise reject("epochs-steps", "epochs", most=most, steps=self.steps, value=self.epochs)
        self.rows = np.full(self.steps, float(hp["batch_size"]))
        self.rows[-1] = n - hp["batch_size"] * (self.steps - 1)
        self.rng = as_rng(hp["seed"])
        self._order = _order_source(self.orders, self.rng, hp["shuffle"])
        self.runner = _runner(model, hp, self.state, self.loss_scale)
        self.history = History(
            step_loss=np.empty(self.epochs * self.steps),
            steps_per_epoch=self.steps,
            config={
                **settings.record(),
                "n_samples": n,
                "sizes": list(model.sizes),
                "activation": model.activation,
                "output": model.output,
                "dtype": model.dtype.name,
            },
        )
        self._rollback = Rollback([model.params, *self.state_arrays])
        self._step_correct = np.empty(self.steps, dtype=np.int64)

    def _run(self):
        """Run the epochs between the callbacks' hooks; Ctrl-C ends the run normally."""
        self.error = None
        try:
            for callback in self.callbacks:
                callback.on_train_begin(self)
            self.history.compile_time = _probe(
                self.runner, self.X, self.y, self.sample_weight, self.validation
            )
            for epoch in range(self.history.epochs, self.epochs):
                if self.history.stopped_early or self._epoch(epoch):
                    break
        except KeyboardInterrupt:
            self._interrupted()
        except BaseException as error:
            self.error = error
            if isinstance(error, TrainingDivergedError):
                _truncate(self.history)
            raise
        finally:
            for callback in self.callbacks:
                callback.on_train_end(self)
            history = self.history
            history.step_loss = history.step_loss[: history.epochs * self.steps].copy()
        return history

    def _interrupted(self):
        _truncate(self.history)
        self.history.interrupted = True
        warnings.warn(
            f"training interrupted after {self.history.epochs} completed epoch(s); the model "
            "keeps the parameters of the last completed epoch",
            UserWarning,
            stacklevel=self.stacklevel + 2,  # from _interrupted, through _run and fit
        )

    def _epoch(self, epoch):
        """Train, record and hand over one epoch; return True when a callback stops the run."""
        history = self.history
        self.epoch_lr = self.rate(epoch)
        with self._rollback:
            for callback in self.callbacks:
                callback.on_epoch_begin(self, epoch)
            n = self.X.shape[0]
            order = as_order("orders", self._next_order(epoch, n), n)
            if order.size != n:
                raise reject("order-length", "orders", n=n, epoch=epoch, size=order.size)
            step_loss = history.step_loss[epoch * self.steps : (epoch + 1) * self.steps]
            start = time.perf_counter()
            self._steps(epoch, order, step_loss)
            elapsed = time.perf_counter() - start
            history.epoch_time.append(elapsed)
            history.samples_per_second.append(n / elapsed if elapsed > 0 else float("inf"))
            history.lr.append(self.epoch_lr)
            history.train_accuracy.append(float(self._step_correct.sum() / n))
            if self.validation is not None:
                val_loss, val_accuracy = self.runner.evaluate(*self.validation)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
            # Appended last: train_loss's length is the count of completed epochs. numpy's
            # pairwise sum, not a BLAS dot: its threads split the sum by the machine's cores
            # (and, waking beside the kernels' threads, took 4-8 ms on 60,000 steps).
            history.train_loss.append(float((step_loss * self.rows).sum() / n))
        for callback in self.callbacks:
            if callback.on_epoch_end(self, epoch) and epoch < self.epochs - 1:
                history.stopped_early = True
        return history.stopped_early

    def rate(self, epoch: int) -> float:
        """Return the learning rate of ``epoch``: the schedule's, then each callback's ``rate``.

        Parameters
        ----------
        epoch : int
            Counted from 0 from the run's start (a resumed run's epochs go on counting).
        """
        at, total = self.settings.checked["initial_epoch"] + epoch, self.epochs
        total += self.settings.checked["initial_epoch"]
        lr = float(as_positive(f"lr_schedule({at})", self.settings.schedule(at, total)))
        for callback in self.callbacks:
            lr = callback.rate(epoch, lr)
        return lr

    def _next_order(self, epoch, n):
        try:
            return self._order(epoch, n)
        except StopIteration:
            raise reject("order-missing", "orders", epoch=epoch) from None

    def _steps(self, epoch, order, step_loss):
        """Take the epoch's steps in the chunks the callbacks ask for; check each chunk's losses."""
        batch_size = self.settings.checked["batch_size"]
        chunks = max((c.chunks for c in self.callbacks), default=1)
        for lo, hi in _chunk_bounds(self.steps, chunks):
            chunk = order[lo * batch_size : hi * batch_size]
            self.runner.run(
                *(self.X, self.y, self.sample_weight, chunk, self.epoch_lr),
                *(step_loss[lo:hi], self._step_correct[lo:hi]),
            )
            for callback in self.callbacks:
                callback.on_chunk_end(self, chunk.size)
            if self.check_finite:
                _check_finite(step_loss, lo, hi, self.model, epoch, self.history)

    def resume_from(self, path: Any) -> None:
        """Continue the run the checkpoint at ``path`` records (``Checkpointing`` calls it).

        Parameters
        ----------
        path : str or os.PathLike
            A checkpoint of a run with this run's fingerprint.
        """
        history = checkpoints.restore(
            path,
            self.model.params,
            self.state_arrays,
            self.history,
            self.run_state(),
            lr_of=self.rate,
            must_match=fingerprint(),
        )
        more = max(self.epochs - history.epochs, 0) * self.steps
        history.step_loss = np.concatenate([history.step_loss, np.empty(more)])
        self.history = history

    def run_state(self) -> checkpoints.RunState:
        """Return what a checkpoint keeps besides parameters and history: generator, callbacks."""
        stateful = [c for c in self.callbacks if c.state_dict()]
        return checkpoints.RunState(self.rng, stateful)

    def check_network(self, culprit: Any) -> None:
        """Raise when ``culprit`` left the model unfit for the kernels or not the network it was.

        A callback gets the model itself: it may change the parameters' values
        in place, but the kernels of this run hold its arrays, so it must not
        swap them (nor the sizes, activation or dtype they were built for).

        Parameters
        ----------
        culprit : object
            What ran (named in the error).
        """
        try:
            now = _network(self.model)
        except (TypeError, ValueError) as error:
            raise type(error)(f"callbacks: {culprit!r} left the model unusable: {error}") from None
        before = self._built
        if now[:3] != before[:3] or any(a is not b for a, b in zip(now[3:], before[3:])):
            raise ValueError(
                f"callbacks: {culprit!r} replaced the model's parameter arrays or its sizes, "
                "activation or dtype during training; change the parameters in place instead "
                "(model.params[...] = values)"
            )


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
