"""``warmup``: compile (or load from the disk cache) the kernels ahead of time.

Numba compiles a kernel the first time it is called with a new combination
of argument types, so the first ``train`` or ``predict_proba`` of a process
pays for compilation (seconds) or for loading the compiled code from the
disk cache (much less). ``warmup`` pays that up front, once, by running every
path of the public API on tiny throwaway models.

It goes only through the public API (``MLP``, ``train``, ``gradients``), so
it reaches whatever kernels those call, however the kernels are organised.
What a compiled kernel is specialised on decides what must be warmed up:

- the parameters' dtype (float32, float64): each is compiled separately;
- the number of layers: a network is passed to the kernels as tuples of
  arrays, and a tuple's length is part of its type, so ``[784, 300, 10]``
  and ``[2, 3, 3, 2]`` need separate compilations;
- not the activation: it reaches the kernels as an integer argument, so
  one compilation serves sigmoid, tanh and relu;
- not the layer widths, momentum, weight decay or sample weights: values,
  not types (warmup still runs each of those paths);
- the batch size and the number of rows only where they choose between
  kernels (per-sample or minibatch SGD, a serial or a threaded build):
  warmup runs few rows and many, and batches of 1, 3 and 64;
- the arrays' types: read-only float arrays of the model's dtype (from
  ``np.load(..., mmap_mode="r")``, say) are passed to the kernels as they
  are and compile once more, outside the warm-up.

Choices made from the environment at call time, such as running a threaded
build of a kernel only when Numba has more than one thread, are warmed up as
the warming process makes them.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import numbers
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._checks import as_bool, reject
from .config import DEFAULT_DTYPE, DTYPES, PARALLEL_MIN_BATCH, cache_dir
from .kernels.network import parallel_rows
from .model import MLP, parameter_count
from .training import gradients, train

try:
    import resource
except ImportError:  # not on Windows
    resource = None

#: Hidden-layer counts warmed up by default: ``[n_in, h, n_out]`` and
#: ``[n_in, h1, h2, n_out]`` networks.
DEFAULT_HIDDEN_LAYERS = (1, 2)

_HIDDEN_WIDTH = 3
#: Inputs and classes of the warm-up networks.
_INPUTS = _CLASSES = 2
#: Rows of the warm-up data and the large batch size. Kernels may switch to a
#: threaded build from some batch size or row count on (thresholds in
#: ``fastmlp.config``), so the large cases stay past any such threshold.
_ROWS = 1024
_LARGE_BATCH = 64


class KernelStatus(NamedTuple):
    """One compiled kernel after ``warmup``.

    Attributes
    ----------
    signatures : int
        Compiled versions (argument types) the kernel holds in this process;
        0 for a kernel that worker processes compiled and that this process
        loaded only inside the kernels calling it.
    compiled : int
        Versions that ``warmup`` compiled.
    loaded : int
        Versions that ``warmup`` loaded from the disk cache.
    """

    signatures: int
    compiled: int
    loaded: int


@dataclass(frozen=True)
class WarmupReport:
    """What ``warmup`` did.

    Attributes
    ----------
    seconds : float
        Wall time of the warm-up.
    dtypes : tuple of str
        The parameter dtypes warmed up.
    hidden_layers : tuple of int
        The hidden-layer counts warmed up.
    cache_dir : pathlib.Path or None
        The disk cache the kernels read and write, or None when they are
        compiled in memory only (the warm-up then lasts for this process).
    kernels : dict of str to KernelStatus
        Every kernel that holds compiled code, by ``module._name`` within
        ``fastmlp.kernels``. Kernels loaded whole from the disk cache bring
        the kernels they call inside them, so those do not appear on their own.
    """

    seconds: float
    dtypes: tuple[str, ...]
    hidden_layers: tuple[int, ...]
    cache_dir: Path | None
    kernels: dict[str, KernelStatus] = field(default_factory=dict)

    @property
    def compiled(self) -> int:
        """Kernel versions compiled by the warm-up."""
        return sum(k.compiled for k in self.kernels.values())

    @property
    def loaded(self) -> int:
        """Kernel versions loaded from the disk cache by the warm-up."""
        return sum(k.loaded for k in self.kernels.values())

    def __str__(self) -> str:
        where = str(self.cache_dir) if self.cache_dir is not None else "none (compiled in memory)"
        lines = [
            f"warmed up {len(self.kernels)} kernels for {', '.join(self.dtypes)} and "
            f"{', '.join(map(str, self.hidden_layers))} hidden layer(s) in {self.seconds:.2f} s: "
            f"{self.compiled} compiled, {self.loaded} loaded from the cache",
            f"cache: {where}",
            f"{'kernel':<40} {'versions':>8} {'compiled':>8} {'loaded':>8}",
        ]
        for name, k in sorted(self.kernels.items()):
            lines.append(f"{name:<40} {k.signatures:>8} {k.compiled:>8} {k.loaded:>8}")
        return "\n".join(lines)


def warmup(
    dtypes: str | Sequence[str] = DEFAULT_DTYPE,
    hidden_layers: int | Sequence[int] = DEFAULT_HIDDEN_LAYERS,
    *,
    jobs: int | None = None,
    verbose: bool = False,
) -> WarmupReport:
    """Compile, or load from the disk cache, every kernel the public API runs; return a report.

    Afterwards ``train``, ``gradients``, ``gradcheck`` and the inference
    methods of ``MLP`` (``predict_proba``, ``predict``, ``evaluate``,
    ``loss``, ``accuracy``) start without a compile pause for models of the
    given dtypes and depths, with any activation, any layer widths and any
    training options. Compiled kernels are written to the disk cache (see
    ``fastmlp.config.cache_dir``), so one warm-up also shortens the first call
    of later processes, which then load instead of compiling.

    Parameters
    ----------
    dtypes : str or sequence of str
        Parameter dtypes to prepare, from ``"float32"`` and ``"float64"``;
        by default fastmlp's default dtype, float32. ``gradcheck`` always runs
        in float64.
    hidden_layers : int or sequence of int
        Numbers of hidden layers to prepare (0 is a softmax regression):
        a network's depth is part of the compiled kernels' argument types,
        but its widths are not.
    jobs : int, optional
        Processes that compile at once, one per CPU by default: Numba compiles
        on one core. Each dtype and depth compiles in a worker process, which
        writes the disk cache, and this process then loads the kernels from it.
        Without a disk cache everything compiles here.
    verbose : bool
        Print the time of each dtype and depth, then the report.

    Returns
    -------
    WarmupReport
        The wall time, the cache directory and, per kernel, its compiled
        versions and how many of them the warm-up compiled or loaded.

    Examples
    --------
    >>> import fastmlp
    >>> report = fastmlp.warmup(dtypes="float32", hidden_layers=1)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    """
    dtypes, hidden_layers = _as_dtypes(dtypes), _as_hidden_layers(hidden_layers)
    _check_fits(dtypes, hidden_layers)
    as_bool("verbose", verbose)
    before, start = _kernel_state(), time.perf_counter()
    done = _exercise_cases(dtypes, hidden_layers, jobs, verbose)
    report = _report(time.perf_counter() - start, dtypes, hidden_layers, before, done)
    if verbose:
        print(report)
    return report


def _exercise_cases(dtypes, hidden_layers, jobs, verbose):
    """Run ``_exercise`` for every dtype and depth, first in workers if ``jobs`` allows.

    Returns ``{kernel: (compiled, loaded)}`` summed over the workers (empty without them).
    """
    cases = [(dtype, depth) for dtype in dtypes for depth in hidden_layers]
    workers = min(_as_jobs(jobs), len(cases))
    if cache_dir() is None:  # workers could hand nothing back
        workers = 1
    done = _exercise_in_workers(cases, workers, verbose) if workers > 1 else {}
    for dtype, depth in cases:
        began = time.perf_counter()
        _exercise(dtype, depth)
        if verbose and not done:
            print(f"{dtype}, {depth} hidden layer(s): {time.perf_counter() - began:.2f} s")
    return done


def _report(seconds, dtypes, hidden_layers, before, done):
    """Return the ``WarmupReport`` of what changed since the kernel state ``before``.

    ``done`` is what worker processes compiled and loaded: this process then
    only loaded what they compiled, and their counts are the warm-up's.
    """
    kernels = {}
    for name, (signatures, compiled, loaded) in _since(before).items():
        if done:
            worker_compiled, loaded = done.get(name, (0, 0))
            compiled += worker_compiled
        if signatures or compiled or loaded:
            kernels[name] = KernelStatus(signatures, compiled, loaded)
    dispatchers = _kernels()
    on_disk = any(dispatchers[name].stats.cache_path is not None for name in kernels)
    return WarmupReport(seconds, dtypes, hidden_layers, cache_dir() if on_disk else None, kernels)


def _exercise_in_workers(cases, workers, verbose):
    """Run ``_exercise`` for each ``(dtype, depth)`` of ``cases`` in ``workers`` processes.

    Returns ``{kernel: (compiled, loaded)}`` summed over the workers.
    """
    done = {}
    # spawn, not fork: a forked child of a process running Numba's threads can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool:
        futures = {pool.submit(_exercise_counted, *case): case for case in cases}
        for future in as_completed(futures):
            seconds, counts = future.result()
            if verbose:
                dtype, depth = futures[future]
                print(f"{dtype}, {depth} hidden layer(s): {seconds:.2f} s (in a worker)")
            for name, (compiled, loaded) in counts.items():
                old = done.get(name, (0, 0))
                done[name] = (old[0] + compiled, old[1] + loaded)
    return done


def _start_worker():
    """Prepare a worker process: quiet, and with threads that sleep while they wait."""
    # Compiling is what a warm-up is for: no notice that it happens, from every worker.
    logging.getLogger("fastmlp").setLevel(logging.ERROR)
    # Several workers run Numba's threads on the same cores. OpenMP threads spin
    # while they wait by default, which made a warm-up on a warm cache take 20 s
    # in 2 workers on 2 cores instead of 2 s in one process. Set before the
    # first parallel kernel loads the OpenMP runtime.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _exercise_counted(dtype, depth):
    """Run ``_exercise``; return its seconds and ``{kernel: (compiled, loaded)}``."""
    before, start = _kernel_state(), time.perf_counter()
    _exercise(dtype, depth)
    counts = {name: c[1:] for name, c in _since(before).items() if any(c[1:])}
    return time.perf_counter() - start, counts


def _exercise(dtype, depth):
    """Run every kernel path of the public API on a tiny model of ``dtype`` and ``depth``.

    Each path runs on few rows and on many: per-sample SGD, small and large
    minibatches, inference and gradients. Momentum, weight decay, sample
    weights and unshuffled orders change no argument type today, but they
    take other branches of the kernels: running them keeps the warm-up
    complete if a kernel ever specialises on them.
    """
    model = MLP([_INPUTS, *[_HIDDEN_WIDTH] * depth, _CLASSES], "sigmoid", dtype, seed=0)
    rows, large_batch = _sizes(model.weights)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, _INPUTS))
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    small = (X[:4], y[:4])
    options = {"epochs": 1, "lr": 0.01, "progress": False}
    extras = {"momentum": 0.5, "weight_decay": 1e-4, "sample_weight": rng.random(rows)}
    for batch_size in (1, 3, large_batch):
        train(model, X, y, batch_size=batch_size, validation=small, **options)
        train(model, X, y, batch_size=batch_size, shuffle=False, **extras, **options)
    for data in (small, (X, y)):
        model.predict_proba(data[0])
        model.evaluate(*data)
        gradients(model, *data)


def _check_fits(dtypes, hidden_layers):
    """Refuse depths whose warm-up network would not fit in memory, before building anything.

    ``MLP`` refuses sizes it cannot allocate; here the check comes first, since
    a network's sizes alone take memory and time in proportion to its depth.
    """
    depth = max(hidden_layers)
    dtype = max(dtypes, key=lambda name: DTYPES[name].itemsize)
    n_params = _parameter_count(depth)
    needed, limit = n_params * DTYPES[dtype].itemsize, _memory_limit()
    if limit is not None and needed > limit:
        raise ValueError(
            f"hidden_layers: {depth} hidden layers of {_HIDDEN_WIDTH} units need {n_params} "
            f"parameters ({needed / 2**30:.3g} GiB in {dtype}), more than the "
            f"{limit / 2**30:.3g} GiB of memory this process can have"
        )


def _parameter_count(depth):
    """Return ``parameter_count`` of the warm-up network of ``depth`` hidden layers."""
    if depth == 0:
        return parameter_count([_INPUTS, _CLASSES])
    inner = parameter_count([_HIDDEN_WIDTH, _HIDDEN_WIDTH])
    ends = parameter_count([_INPUTS, _HIDDEN_WIDTH, _CLASSES])
    return ends + (depth - 1) * inner


def _memory_limit():
    """Return the bytes of memory this process can have at most, or None if unknown."""
    limits = []
    with contextlib.suppress(AttributeError, ValueError, OSError):
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    if resource is not None:
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    return min(limits, default=None)


def _sizes(weights):
    """Return ``(rows, large batch size)`` for ``weights``: past the threaded builds' thresholds."""
    large_batch = max(_LARGE_BATCH, PARALLEL_MIN_BATCH)
    return max(_ROWS, parallel_rows(weights), 2 * large_batch), large_batch


def _kernels():
    """Return the Numba dispatchers defined in ``fastmlp.kernels`` modules, by ``module._name``."""
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    from . import kernels

    found = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = value
    return found


def _counts(dispatcher):
    """Return ``(signatures, cache hits, cache misses)`` of a dispatcher so far."""
    stats = dispatcher.stats
    return (
        len(dispatcher.signatures),
        sum(stats.cache_hits.values()),
        sum(stats.cache_misses.values()),
    )


def _kernel_state():
    return {name: _counts(dispatcher) for name, dispatcher in _kernels().items()}


def _since(before):
    """Return ``{kernel: (signatures, compiled, loaded)}`` since ``before`` (``_kernel_state``)."""
    counts = {}
    for name, (signatures, hits, misses) in _kernel_state().items():
        old = before.get(name, (0, 0, 0))
        counts[name] = (signatures, misses - old[2], hits - old[1])
    return counts


def _as_dtypes(value):
    """Return ``value`` (a dtype name, or a sequence of them) as a tuple of distinct names."""
    items = [value] if isinstance(value, (str, np.dtype, type)) else value
    try:
        items = list(items)
    except TypeError:
        raise reject("dtype-names-type", "dtypes", value=value) from None
    names = []
    for item in items:
        try:
            name = None if item is None else np.dtype(item).name
        except (TypeError, ValueError):
            name = None
        if name not in DTYPES:
            raise reject("dtype-names", "dtypes", choices=sorted(DTYPES), value=item, given=value)
        if name not in names:
            names.append(name)
    if not names:
        raise reject("dtype-names-empty", "dtypes", choices=sorted(DTYPES), value=value)
    return tuple(names)


def _as_jobs(value):
    """Return ``value`` (None: one per CPU) as a count of processes >= 1."""
    if value is None:
        return os.cpu_count() or 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise reject("jobs", "jobs", value=value)
    return int(value)


def _as_hidden_layers(value):
    """Return ``value`` (an int >= 0, or a sequence of them) as a sorted tuple of distinct ints."""
    items = [value] if isinstance(value, numbers.Integral) else value
    try:
        items = list(items)
    except TypeError:
        raise reject("layer-counts-type", "hidden_layers", value=value) from None
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral) or item < 0:
            raise reject("layer-counts", "hidden_layers", value=item, given=value)
    if not items:
        raise reject("layer-counts-empty", "hidden_layers", value=value)
    return tuple(sorted({int(item) for item in items}))
