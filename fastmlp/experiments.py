"""Repeated runs and sweeps of training configurations, in parallel across runs.

One SGD run is sequential, so the parallelism is across independent runs:
every ``(config, seed)`` task of a ``repeat`` or ``sweep`` goes to one pool
of processes, and each result is placed by its task's index, so the results
are the same, bit for bit and in the same order, as running the tasks one by
one.

The pool starts its workers with ``spawn`` (Numba's and BLAS's threads do not
survive ``fork``), which imports the main module again in each worker: a
script that calls ``repeat`` or ``sweep`` with ``n_jobs > 1`` needs the usual
``if __name__ == "__main__":`` guard, and its configurations must be
picklable (a ``fastmlp.schedules.Schedule`` is; a lambda is not).

Ctrl-C is handled by the calling process alone (the workers ignore SIGINT):
runs not yet started are dropped, running ones stop at the end of their
current epoch, and ``repeat`` or ``sweep`` raises ``Interrupted``, a
``KeyboardInterrupt`` that carries the runs that completed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import multiprocessing
import numbers
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from ._checks import as_choice, as_dtype, as_float_array, as_positive, reject
from .datasets import SYNTHETIC, TABLE_SUFFIXES, load_mnist, read_table
from .errors import DatasetError
from .history import History
from .model import MLP
from .settings import TrainSettings, fields
from .training import _warm_up, train

#: Seed of the synthetic sets, the same for every run so that the runs of an
#: experiment differ only in their model's initialisation and sample order.
DATA_SEED = 0
#: The ``History`` curves that ``RepeatResult.curve`` and ``final`` summarise.
CURVES = ("step_loss", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
#: Share of a data file's rows held out for validation (at least one row).
VAL_FRACTION = 0.2

__all__ = [
    "CURVES",
    "DATA_SEED",
    "VAL_FRACTION",
    "Config",
    "Interrupted",
    "NotLearningWarning",
    "RepeatResult",
    "Run",
    "SweepResult",
    "class_labels",
    "load_data",
    "repeat",
    "run",
    "sweep",
]


@dataclasses.dataclass(frozen=True)
class Config(TrainSettings):
    """One training configuration (picklable: it crosses process boundaries).

    Its training fields are those of ``fastmlp.settings.TrainSettings``
    (``epochs``, ``lr``, ``batch_size``, ``momentum``, ... every keyword of
    ``fastmlp.train`` that is a setting), checked on construction; ``epochs``
    defaults to 5 here. The other fields say what to train on.

    Attributes
    ----------
    data : str
        A name in ``fastmlp.datasets.SYNTHETIC``, ``"mnist"``, or the path of a
        ``.csv`` or ``.npz`` file (see ``fastmlp.datasets.read_table``). A
        file's rows are shuffled once with ``DATA_SEED`` and split: the last
        ``VAL_FRACTION`` of them (at least one) validate, the rest train.
    label : str or None
        A ``.csv`` file's label column (None: the last column).
    hidden : tuple of int
        Hidden layer sizes; the input and output sizes come from the data.
    activation : {"sigmoid", "tanh", "relu"}
        Activation of the hidden layers.
    dtype : {"float32", "float64"}
        Dtype of the model (and of the MNIST pixels).
    final : bool
        MNIST only: train on all 60,000 training images and validate on the
        10,000 test images (else 55,000 and the last 5,000 training images).
    num_train, num_val : int or None
        Use only the first ``num_train`` training and ``num_val`` validation
        rows (None: all), of MNIST's or a data file's split. Synthetic sets
        are drawn at these sizes (None: the loader's default).
    data_dir : str or None
        MNIST folder (None: the lookup of ``fastmlp.datasets.mnist_dir``).
    seed : int
        Base seed: run ``r`` of ``repeat`` uses ``seed + r`` for the model's
        initialisation and the sample order.
    """

    epochs: int = dataclasses.field(
        default=5, metadata=TrainSettings.__dataclass_fields__["epochs"].metadata
    )
    data: str = "synth"
    hidden: tuple[int, ...] = (3,)
    activation: str = "sigmoid"
    dtype: str = "float32"
    final: bool = False
    num_train: int | None = None
    num_val: int | None = None
    data_dir: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        # Sizes given as a list would leave the config unhashable and make a
        # sweep's hidden values unusable as keys of ``SweepResult.by``.
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise reject("hidden-sequence", "hidden", value=self.hidden) from None
        object.__setattr__(self, "hidden", hidden)
        super().__post_init__()

    def replace(self, **changes: Any) -> Config:
        """Return a new ``Config`` with the fields in ``changes`` replaced.

        Parameters
        ----------
        **changes
            Field name -> new value.

        Returns
        -------
        Config
            The new configuration; this one is unchanged.
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready plain Python; a ``Schedule`` becomes its repr.

        Returns
        -------
        dict
            Field name -> value; ``hidden`` becomes a list.
        """
        return {
            f.name: _json_value(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
        }


def _json_value(name, value):
    if name == "hidden":
        return list(value)
    if name in ("lr_schedule", "early_stopping") and not (
        value is None or isinstance(value, (str, bool, int))
    ):
        return repr(value)
    return value


@dataclasses.dataclass
class Run:
    """One trained model and what its training recorded.

    Attributes
    ----------
    config : Config
        The configuration it was trained with.
    seed : int
        Seed of the model's initialisation and of the sample order.
    history : History
        What ``fastmlp.train`` recorded, validation curves included.
    model : MLP
        The trained model.
    """

    config: Config
    seed: int
    history: History
    model: MLP


@dataclasses.dataclass
class RepeatResult:
    """The runs of one configuration with consecutive seeds.

    Attributes
    ----------
    config : Config
        The configuration of every run.
    seeds : list of int
        ``config.seed + r`` for each run ``r``.
    histories : list of History
        Each run's history, aligned with ``seeds``.
    models : list of MLP
        Each run's trained model, aligned with ``seeds``.
    """

    config: Config
    seeds: list[int]
    histories: list[History]
    models: list[MLP]

    def curve(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and standard deviation of a curve over the runs.

        Parameters
        ----------
        key : str
            One of ``CURVES``: ``"step_loss"``, ``"train_loss"``,
            ``"train_accuracy"``, ``"val_loss"`` or ``"val_accuracy"``.

        Returns
        -------
        mean, std : numpy.ndarray of float64
            Per step (``step_loss``) or epoch, over the runs (``std`` with
            ``ddof=0``), truncated to the shortest run.
        """
        curves = [np.asarray(getattr(h, _curve_key(key)), dtype=np.float64) for h in self.histories]
        length = min(len(c) for c in curves)
        stacked = np.stack([c[:length] for c in curves])
        return stacked.mean(axis=0), stacked.std(axis=0)

    def final(self, key: str = "val_accuracy") -> tuple[float, float]:
        """Return the mean and standard deviation over the runs of a curve's last value.

        Parameters
        ----------
        key : str
            One of ``CURVES``.

        Returns
        -------
        mean, std : float
            ``std`` with ``ddof=0``.
        """
        last = np.array([getattr(h, _curve_key(key))[-1] for h in self.histories])
        return float(last.mean()), float(last.std())

    def to_dict(self) -> dict[str, Any]:
        """Return the config, seeds, histories and curves (mean, std) as JSON-ready plain Python.

        Returns
        -------
        dict
            With keys ``"config"``, ``"seeds"``, ``"histories"`` and
            ``"curves"`` (each of ``CURVES`` to its ``"mean"`` and ``"std"`` lists).
        """
        curves = {}
        for key in CURVES:
            mean, std = self.curve(key)
            curves[key] = {"mean": mean.tolist(), "std": std.tolist()}
        return {
            "config": self.config.to_dict(),
            "seeds": list(self.seeds),
            "histories": [h.to_dict() for h in self.histories],
            "curves": curves,
        }


def _curve_key(key):
    return as_choice("key", key, CURVES)


@dataclasses.dataclass
class SweepResult:
    """The repeated runs of every point of a grid of configurations.

    Attributes
    ----------
    config : Config
        The base configuration the grid's values replace fields of.
    params : list of dict
        Each grid point's swept fields and their values.
    results : list of RepeatResult
        Each grid point's runs, aligned with ``params``.
    """

    config: Config
    params: list[dict[str, Any]]
    results: list[RepeatResult]

    def by(self, name: str) -> dict[Any, RepeatResult]:
        """Return ``{value: RepeatResult}`` for the one swept parameter ``name``.

        Parameters
        ----------
        name : str
            The field the sweep varied; it must be the only one.

        Returns
        -------
        dict
            Each value of ``name``, in grid order, to its ``RepeatResult``.
        """
        swept = list(self.params[0])
        if len(swept) != 1:
            raise reject("one-swept", "by", swept=swept)
        if name not in swept:
            raise reject("swept-name", "name", swept=swept[0], value=name)
        values = [p[name] for p in self.params]
        if len(set(values)) < len(values):
            raise reject("swept-distinct", name, value=values)
        return dict(zip(values, self.results))

    def to_dict(self) -> dict[str, Any]:
        """Return the base config, the grid points and their results as JSON-ready plain Python.

        Returns
        -------
        dict
            With keys ``"config"``, ``"params"`` and ``"results"`` (each
            point's ``RepeatResult.to_dict()``).
        """
        return {
            "config": self.config.to_dict(),
            "params": [{k: _json_value(k, v) for k, v in p.items()} for p in self.params],
            "results": [r.to_dict() for r in self.results],
        }


class NotLearningWarning(UserWarning):
    """A run ended no better than guessing: ``run`` warns with what it found.

    Either its last epoch's training loss is above its first's, or its final
    validation accuracy is within one point (0.01) of always predicting the
    most frequent validation class (or below it).
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped ``repeat`` or ``sweep``; ``runs`` holds the runs that completed.

    Parameters
    ----------
    runs : list of Run
        The runs that trained all their epochs before the interruption, in
        task order (runs stopped part-way are not among them).
    """

    def __init__(self, runs: list[Run]) -> None:
        super().__init__(f"interrupted after {len(runs)} completed run(s)")
        self.runs = runs


def load_data(
    config: Config,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return the training and validation data of ``config``.

    Parameters
    ----------
    config : Config
        Reads ``data``, ``label``, ``num_train``, ``num_val`` and, for MNIST,
        ``final``, ``dtype`` and ``data_dir`` (for a data file, ``dtype``).
        MNIST is never downloaded here.

    Returns
    -------
    tuple
        ``((X, y), (X_val, y_val), num_classes)``. Synthetic sets are drawn
        with ``DATA_SEED``, whatever ``config.seed``; a data file is split as
        ``Config`` says. The arrays are memoised in each process and shared
        between calls: do not modify them.
    """
    table = _is_table(config.data)
    if config.label is not None and not table:
        raise reject("label-table", "label", value=config.data)
    if config.data == "mnist" or table:
        if table:
            (X, y), (Xv, yv), classes = _load_table(config.data, config.label, config.dtype)
            num_classes = len(classes)
        else:
            loaded = _load_mnist(config.final, config.dtype, config.data_dir)
            (X, y), (Xv, yv), num_classes = loaded
        n = _rows("num_train", config.num_train, len(y))
        n_val = _rows("num_val", config.num_val, len(yv))
        return (X[:n], y[:n]), (Xv[:n_val], yv[:n_val]), num_classes
    if config.data not in SYNTHETIC:
        suffixes = " or ".join(TABLE_SUFFIXES)
        raise reject(
            "data-name", "data", choices=[*SYNTHETIC, "mnist"], suffixes=suffixes, value=config.data
        )
    return _load_synthetic(config.data, config.num_train, config.num_val)


def class_labels(config: Config) -> np.ndarray | None:
    """Return the original label of each class index of a data file, or None for built-in sets.

    Parameters
    ----------
    config : Config
        Reads ``data``, ``label`` and ``dtype``.

    Returns
    -------
    numpy.ndarray or None
        A data file's distinct labels, sorted (class ``i`` is ``labels[i]``);
        None for the built-in sets, whose labels are their class indices.
    """
    if not _is_table(config.data):
        return None
    return _load_table(config.data, config.label, config.dtype)[2]


def _is_table(data):
    return os.path.splitext(str(data))[1].lower() in TABLE_SUFFIXES


def _stamp(path):
    """Return what tells a file's versions apart, so an edited file is read again."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # read_table names the missing file
    return info.st_mtime_ns, info.st_size


def _load_table(path, label, dtype):
    """Return a data file's ``(X, y), (X_val, y_val)`` and its class labels."""
    return _split_table(path, label, dtype, _stamp(path))


# A file's split, made once per process, dtype and version of the file.
@functools.lru_cache(maxsize=4)
def _split_table(path, label, dtype, stamp):
    table = read_table(path, label)
    n = len(table.y)
    if n < 2:
        raise DatasetError(f"{path}: expected at least 2 rows (to train and validate), found {n}")
    n_val = max(1, round(n * VAL_FRACTION))
    order = np.random.default_rng(DATA_SEED).permutation(n)
    try:
        X = as_float_array("X", table.X[order], as_dtype(dtype), 2)
    except ValueError as error:
        raise DatasetError(f"{path}: {error}") from error
    y = table.y[order]
    return (X[:-n_val], y[:-n_val]), (X[-n_val:], y[-n_val:]), table.classes


# A worker runs many tasks of one experiment, which rarely uses more than a few data sets.
@functools.lru_cache(maxsize=8)
def _load_synthetic(name, num_train, num_val):
    sizes = {"num_train": num_train, "num_val": num_val}
    return SYNTHETIC[name](**{k: v for k, v in sizes.items() if v is not None}, seed=DATA_SEED)


# A copy of MNIST takes ~200 MB; an experiment rarely uses more than one.
@functools.lru_cache(maxsize=2)
def _load_mnist(final, dtype, data_dir):
    return load_mnist(final=final, dtype=dtype, data_dir=data_dir, download=False)


def _rows(name, value, available):
    if value is None:
        return available
    as_positive(name, value, numbers.Integral)
    if value > available:
        raise reject("rows-available", name, available=available, value=value)
    return value


def run(
    config: Config,
    seed: int | None = None,
    callbacks: Sequence[Callable[[int, History, MLP], object]] = (),
    **options: Any,
) -> Run:
    """Train one model on ``config`` and return it with its history.

    Parameters
    ----------
    config : Config
        What to train and how.
    seed : int, optional
        Seed of the model's initialisation and of the sample order
        (default ``config.seed``).
    callbacks : sequence of callable
        Passed to ``train``: called as ``callback(epoch, history, model)``.
    **options
        More of ``train``'s run arguments (``checkpoint``, ``checkpoint_every``, ``resume``).

    Returns
    -------
    Run
        The config, the seed used, the history and the trained model.

    Warns
    -----
    NotLearningWarning
        The run did not learn (see ``NotLearningWarning``): the learning rate
        is likely too high, or the epochs too few.
    """
    seed = config.seed if seed is None else seed
    model, (X, y), validation = _model_and_data(config, seed)
    history = train(
        model,
        X,
        y,
        **config.kwargs() | {"seed": seed},
        validation=validation,
        progress=False,
        callbacks=callbacks,
        **options,
    )
    problem = _not_learning(history, validation[1])
    if problem is not None:
        warnings.warn(
            NotLearningWarning(
                f"the run with lr {config.checked['lr']:g} and seed {seed} did not learn: "
                f"{problem} "
                "(a smaller learning rate or more epochs may help)"
            ),
            stacklevel=2,
        )
    return Run(config, seed, history, model)


def _model_and_data(config, seed):
    """Return the model ``run`` trains on ``config`` with ``seed``, and its data."""
    (X, y), validation, num_classes = load_data(config)
    sizes = [X.shape[1], *config.hidden, num_classes]
    return MLP(sizes, config.activation, config.dtype, seed=seed), (X, y), validation


def _compile_kernels(configs):
    """Compile (or load from the disk cache), in this process, the kernels runs of ``configs`` call.

    Workers started afterwards load them from the disk cache this fills: a cold
    cache is compiled, and announced on the ``fastmlp`` logger, once, here.
    """
    for config in dict.fromkeys(configs):
        model, (X, y), validation = _model_and_data(config, config.seed)
        _warm_up(model, X, y, config, validation)


#: Final accuracy within this of always predicting the most frequent class: not learning.
_GUESS_MARGIN = 0.01


def _not_learning(history, y_val):
    """Return what shows that a complete run did not learn, or None."""
    losses = history.train_loss
    if history.interrupted or not losses:
        return None
    if losses[-1] > losses[0]:
        return (
            f"its training loss rose from {losses[0]:.4g} in epoch 1 "
            f"to {losses[-1]:.4g} in epoch {len(losses)}"
        )
    guess = np.bincount(y_val).max() / len(y_val)
    accuracy = history.val_accuracy[-1]
    if accuracy <= guess + _GUESS_MARGIN:
        return (
            f"its validation accuracy {accuracy:.2%} is within one point of {guess:.2%}, "
            "that of always predicting the most frequent class"
        )
    return None


def repeat(
    config: Config,
    runs: int = 3,
    n_jobs: int | None = None,
    callback: Callable[[Run], object] | None = None,
) -> RepeatResult:
    """Train ``runs`` models on ``config`` with seeds ``config.seed + r``, in parallel.

    Parameters
    ----------
    config : Config
        What to train and how.
    runs : int
        Number of runs (>= 1).
    n_jobs : int, optional
        Worker processes (default ``os.cpu_count()``), at most one per run.
        With one, the runs are trained in this process, one by one. The
        results do not depend on it.
    callback : callable, optional
        Called in this process as ``callback(run)`` with each ``Run`` as it
        completes (in the order they complete), such as to report progress.

    Returns
    -------
    RepeatResult
        The runs' histories and models, in seed order.

    Raises
    ------
    Interrupted
        On Ctrl-C, with the runs that had completed.
    """
    runs = as_positive("runs", runs, numbers.Integral)
    seeds = [config.seed + r for r in range(runs)]
    return _collect(config, _run_all([(config, seed) for seed in seeds], n_jobs, callback))


def sweep(
    config: Config, runs: int = 3, n_jobs: int | None = None, **grid: Sequence[Any]
) -> SweepResult:
    """Repeat ``config`` at every point of the cartesian product of ``grid``, in parallel.

    Parameters
    ----------
    config : Config
        The base configuration.
    runs : int
        Runs per grid point (>= 1), with seeds ``seed + r`` as in ``repeat``.
    n_jobs : int, optional
        Worker processes, shared by all the runs of all the points (see ``repeat``).
    **grid : list
        Config field name -> list of values, e.g. ``lr=[0.001, 0.01]``,
        ``hidden=[(3,), (8,)]``. The last field varies fastest.

    Returns
    -------
    SweepResult
        Each grid point's fields and its ``RepeatResult``, in grid order.

    Raises
    ------
    Interrupted
        On Ctrl-C, with the runs that had completed.
    """
    runs = as_positive("runs", runs, numbers.Integral)
    # What to train on first, then how: the training settings.
    training = {f.name for f in fields()}
    names = sorted((f.name for f in dataclasses.fields(Config)), key=lambda n: n in training)
    for name, values in grid.items():
        if name not in names:
            raise reject("grid-field", "grid", fields=", ".join(names), value=name)
        if not isinstance(values, (list, tuple, range)):
            raise reject("grid-values", name, value=values)
        if len(values) == 0:
            raise reject("grid-empty", name, value=values)
    configs = [
        config.replace(**dict(zip(grid, point))) for point in itertools.product(*grid.values())
    ]
    done = _run_all([(c, c.seed + r) for c in configs for r in range(runs)], n_jobs)
    return SweepResult(
        config,
        params=[{name: getattr(c, name) for name in grid} for c in configs],
        results=[_collect(c, done[i * runs : (i + 1) * runs]) for i, c in enumerate(configs)],
    )


def _collect(config, runs):
    return RepeatResult(
        config,
        seeds=[r.seed for r in runs],
        histories=[r.history for r in runs],
        models=[r.model for r in runs],
    )


def _run_all(tasks, n_jobs, callback=None):
    """Return ``run(config, seed)`` for each ``(config, seed)`` in ``tasks``, in order.

    ``callback(run)`` is called with each run as it completes. On Ctrl-C,
    raise ``Interrupted`` with the runs completed so far.
    """
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    workers = min(as_positive("n_jobs", n_jobs, numbers.Integral), len(tasks))
    done = []
    try:
        if workers > 1:
            return _run_in_workers(tasks, workers, callback)
        for config, seed in tasks:
            result = run(config, seed)
            if result.history.interrupted:  # train took the Ctrl-C and stopped
                raise KeyboardInterrupt
            done.append(result)
            if callback is not None:
                callback(result)
        return done
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(done) from None


def _run_in_workers(tasks, workers, callback):
    """``_run_all`` in a pool of ``workers`` processes, which leave Ctrl-C to this one."""
    _compile_kernels(config for config, _ in tasks)
    context = multiprocessing.get_context("spawn")
    # Made first: it starts multiprocessing's resource tracker, whose start
    # would unblock SIGINT in this thread (see _sigint_held).
    stop = context.Event()
    futures = []
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(stop,)
    )
    with pool:
        try:
            with _sigint_held():  # the workers start in submit
                for config, seed in tasks:
                    futures.append(pool.submit(_run_unless_stopped, config, seed))
            done = {}
            for future in as_completed(futures):
                done[future] = _delivered(future.result())
                if callback is not None:
                    callback(done[future])
            return [done[future] for future in futures]
        except BaseException as error:
            # Failed or interrupted: queued runs never start, running ones end their
            # epoch. Wait for them: a worker must not outlive the event it reads.
            stop.set()
            pool.shutdown(cancel_futures=True)
            if not isinstance(error, KeyboardInterrupt):
                raise
    finished = [f.result() for f in futures if not f.cancelled() and f.exception() is None]
    raise Interrupted([r for r, _ in filter(None, finished) if not r.history.interrupted])


@contextlib.contextmanager
def _sigint_held():
    """Block SIGINT in this thread meanwhile (POSIX); a Ctrl-C then arrives on leaving.

    Processes started meanwhile inherit the block, so a worker never sees a
    Ctrl-C, not even while it starts up; ``_start_worker`` ignores SIGINT
    where blocking is not available.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


#: In a worker process: set by the parent to make the runs stop (see ``_run_in_workers``).
_stop = None


def _start_worker(stop):
    global _stop
    _stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_unless_stopped(config, seed):
    """Return ``run(config, seed)`` and its warnings in a worker, or None when stopping.

    The warnings go back to the calling process, whose filters and display
    decide what becomes of them, as for a run made there.
    """
    if _stop.is_set():
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A run stopped on the parent's request is dropped: its warning would mislead.
        warnings.filterwarnings("ignore", "training interrupted", UserWarning)
        result = run(config, seed, callbacks=[_stop_requested])
    return result, [w.message for w in caught]


def _delivered(outcome):
    """Issue in this process the warnings of a worker's run; return the run."""
    result, caught = outcome
    for message in caught:
        # Points at the caller of repeat or sweep (via _run_in_workers and _run_all).
        warnings.warn(message, stacklevel=5)
    return result


def _stop_requested(epoch, history, model):
    if _stop.is_set():
        # train takes this as Ctrl-C: the run ends as interrupted, at this epoch.
        raise KeyboardInterrupt
