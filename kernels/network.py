"""A whole network over a batch of rows: forward, output deltas, back-propagation, inference.

The kernels see a network as a tuple of layer matrices ``Ms`` (each layer's
``W``, or ``W.T`` where ``transposed[l]``; see ``Layout``) and a tuple of
bias vectors ``bs``. Activations and deltas live in per-layer buffers with
a row per sample: ``A[0]`` holds the inputs, ``A[l + 1]`` the output of
layer ``l`` (the last one holds the logits) and ``D[l + 1]`` its delta,
dL/dz (``D[0]`` is unused). The caller allocates them once; a kernel that
works on row ``r`` touches only row ``r``, so threads can share them.

The row work (``_backprop_rows``, ``_evaluate_rows``, ``_predict_proba_rows``,
``_gradient_block``) is compiled as functions of its own, called once per part
of the rows, not inlined: Numba's parallel passes analyse all the code inside
a ``prange``, so inlined row work made a threaded build take three times as
long to compile as its serial twin (51 s for ``_sgd_epoch_parallel``). So is
a row's forward pass, ``_forward``, called once per row: Numba inlines by
copying and retyping the callee's IR at each call site: with ``_forward``
inlined, the three row kernels that run it took 18.1 s of CPU to compile in a
cold ``warmup`` (float32, one hidden layer), against 8.9 s with ``_forward``
compiled once (2.5 s of it). The call per row measured nothing next to the
row's work (MNIST 784-300-10 inference, gradients and minibatch SGD, one thread,
A/B against the inlined build: equal within the runs' noise). The serial and
threaded SGD builds and ``_loss_and_gradient`` share one compiled
``_backprop_rows`` per kind of target (class indices for softmax, a row of
targets for the other outputs; see ``kernels.outputs``), and inference needs
no threaded build at all: ``infer`` runs its parts on Python threads (one call
each; the row kernels release the GIL). One call per part costs nothing
measurable.
"""

import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import NamedTuple

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .._checks import describe, reject
from ..config import CACHE_LINE, ERROR_MODEL, FASTMATH, PARALLEL_MIN_ROWS, PARALLEL_MIN_WORK
from ..names import IDENTITY
from ._jit import kernel
from .dense import _dense_forward, _dense_forward_sparse, _dense_propagate
from .outputs import _output_delta, _output_loss, _output_transform
from .update import _add_outer_rows, _part, outer_scratch, thread_rows

#: Held around every launch of a parallel kernel. Numba's workqueue threading
#: layer (its fallback without OpenMP or TBB) aborts the process when two
#: threads launch parallel kernels at once; a launch uses every core anyway,
#: so taking turns costs little.
_PARALLEL_LAUNCH = threading.Lock()

#: Rows of activation buffers per block of ``_loss_and_gradient``: a block
#: walks its rows in chunks of this size, so memory does not grow with the data.
GRADIENT_ROWS = 256
#: Blocks of rows ``_loss_and_gradient`` sums apart (at most; one per row for
#: fewer rows). A constant, not the thread count, so that the order of its
#: sums, and so its results, are the same on any number of threads; 8 keeps
#: up to 8 threads busy at the memory cost of 8 gradient buffers.
GRADIENT_BLOCKS = 8


class CSR(NamedTuple):
    """Sparse inputs as the kernels take them: a checked CSR's arrays (``_checks.as_csr``).

    ``data`` in the parameters' dtype, ``indices`` and ``indptr`` int64, all
    C-contiguous; row ``i`` holds ``data[p]`` at column ``indices[p]`` for
    ``p`` in ``indptr[i]:indptr[i + 1]``, columns sorted and distinct.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_cols: int


def kernel_rows(X):
    """Return checked inputs as the kernels take them: an array as is, a scipy CSR as ``CSR``."""
    if isinstance(X, np.ndarray):
        return X
    return CSR(X.data, X.indices, X.indptr, X.shape[1])


# The kernels read inputs only through the three helpers below, each an overload
# on the type of X: one kernel source serves dense and CSR inputs, each kind
# compiled once, and a CSR row costs a zero fill and a scatter into a buffer row.
_INLINE = {"fastmath": set(FASTMATH), "error_model": ERROR_MODEL}


def _load_row(X, i, x):
    """Write row ``i`` of the inputs ``X`` (a 2-D array or a ``CSR``) into ``x``, dense."""


def _input_row(X, i, x):
    """Return row ``i`` of ``X`` as a dense 1-D array: a view of an array, else ``x`` loaded."""


def _row_count(X):
    """Return the number of rows of the inputs ``X`` (a 2-D array or a ``CSR``)."""


def _load_dense_row(X, i, x):
    for j in range(x.size):
        x[j] = X[i, j]


@kernel(inline=True)
def _load_csr_row(X, i, x):
    """Write row ``i`` of the ``CSR`` ``X`` into ``x``: zeros, then its stored entries."""
    for j in range(x.size):
        x[j] = 0
    for p in range(X.indptr[i], X.indptr[i + 1]):
        x[X.indices[p]] = X.data[p]


def _csr_row(X, i, x):
    _load_csr_row(X, i, x)
    return x


def _load_csr(X, i, x):
    _load_csr_row(X, i, x)


@overload(_load_row, inline="always", jit_options=_INLINE)
def _load_row_overload(X, i, x):
    return _load_dense_row if isinstance(X, types.Array) else _load_csr


@overload(_input_row, inline="always", jit_options=_INLINE)
def _input_row_overload(X, i, x):
    if isinstance(X, types.Array):
        return lambda X, i, x: X[i]
    return _csr_row


def _input_parts(X):
    """Return ``X`` as four values none of which is a tuple; ``_input_join`` rejoins them.

    Numba's threaded build fails on a ``CSR`` unpacked from a tuple (such as
    ``Data``) and used in a ``prange``: unpack it before, rejoin it inside.
    """


def _input_join(a, b, p, n):
    """Return the inputs ``_input_parts`` split: ``a`` for an array, else a ``CSR``."""


@overload(_input_parts, inline="always", jit_options=_INLINE)
def _input_parts_overload(X):
    if isinstance(X, types.Array):
        return lambda X: (X, np.empty(0, np.int64), np.empty(0, np.int64), 0)
    return lambda X: (X.data, X.indices, X.indptr, X.n_cols)


@overload(_input_join, inline="always", jit_options=_INLINE)
def _input_join_overload(a, b, p, n):
    if a.ndim == 2:
        return lambda a, b, p, n: a
    return lambda a, b, p, n: CSR(a, b, p, n)


@overload(_row_count, inline="always", jit_options=_INLINE)
def _row_count_overload(X):
    if isinstance(X, types.Array):
        return lambda X: X.shape[0]
    return lambda X: X.indptr.size - 1


@kernel(inline=True)
def _chunk(n, chunks, c):
    """Return the bounds ``(start, stop)`` of part ``c`` of ``range(n)`` cut into ``chunks``."""
    return c * n // chunks, (c + 1) * n // chunks


@kernel
def _forward(Ms, transposed, bs, x, code, A, r, nz):
    """Propagate one sample ``x`` into row ``r`` of ``A``; the last layer has no activation.

    ``nz`` is a scratch buffer of ``x.size`` integers (the first layer visits
    only the rows of nonzero inputs).
    """
    last = len(Ms) - 1
    _dense_forward_sparse(Ms[0], bs[0], x, nz, code if last > 0 else IDENTITY, A[1][r])
    for l in range(1, last + 1):
        act = code if l < last else IDENTITY
        _dense_forward(Ms[l], transposed[l], bs[l], A[l][r], act, A[l + 1][r])


@kernel
def _backprop_rows(Ms, transposed, bs, X, y, sw, rows, code, out, A, D, losses, hits, r0, r1, nz):
    """Batch rows ``r0:r1``: load ``X[rows[r]]`` into ``A[0][r]``, forward, and back-propagate.

    Fills ``A`` and ``D`` (every layer's delta) for those rows with the current
    parameters; each row's weighted loss goes to ``losses[r]`` and its hit to
    ``hits[r]`` (see ``kernels.outputs`` for output ``out`` and targets ``y``).
    A row needs nothing from other rows, so parts of a batch can run on
    different threads.
    """
    last = len(Ms)
    for r in range(r0, r1):
        i = rows[r]
        x = A[0][r]
        _load_row(X, i, x)
        _forward(Ms, transposed, bs, x, code, A, r, nz)
        losses[r], hits[r] = _output_delta(A[last][r], y[i], sw[i], out, D[last][r])
        for l in range(last - 1, 0, -1):
            _dense_propagate(Ms[l], transposed[l], D[l + 1][r], A[l][r], code, D[l][r])


@kernel
def _gradient_block(
    Ms,
    transposed,
    bs,
    X,
    y,
    sw,
    code,
    out,
    rows,
    A,
    D,
    losses,
    hits,
    Gs,
    gbs,
    NZ,
    scratch,
    b,
    block_loss,
):
    """Add block ``b`` of the rows of ``X`` into its gradients and its loss into ``block_loss[b]``.

    The buffers are the fields of a ``GradientWork`` (passed one by one:
    Numba's threaded build does not take a named tuple of tuples): block ``b``
    uses rows ``b * R:(b + 1) * R`` of the row buffers (``R`` rows per block)
    and entry ``b`` of the gradient buffers and scratch. The block's rows are
    taken ``R`` at a time, in order, so its sums do not depend on which
    thread runs it.
    """
    n, blocks = _row_count(X), Gs[0].shape[0]
    R = rows.size // blocks
    lo, hi, base = b * n // blocks, (b + 1) * n // blocks, b * R
    one = Ms[0].dtype.type(1)
    total = 0.0
    for start in range(lo, hi, R):
        m = min(R, hi - start)
        for r in range(m):
            rows[base + r] = start + r
        _backprop_rows(
            Ms, transposed, bs, X, y, sw, rows, code, out, A, D, losses, hits, base, base + m, NZ[b]
        )
        for l in range(len(Ms)):
            A_in, D_out = A[l][base : base + m], D[l + 1][base : base + m]
            U, Z = (D_out, A_in) if transposed[l] else (A_in, D_out)
            G = Gs[l][b]
            _add_outer_rows(G, U, Z, 0, G.shape[0], one, _part(scratch, b))
            gb = gbs[l][b]
            for r in range(m):
                for j in range(gb.size):
                    gb[j] += D_out[r, j]
        for r in range(base, base + m):
            total += losses[r]
    block_loss[b] = total


@kernel(parallel=True)
def _loss_and_gradient(net, data, codes, work, block_loss):
    """Sum the loss and gradient over every row of ``X`` into ``Gs[l][0]`` and ``gbs[l][0]``.

    ``net`` is a ``Net``, ``data`` the ``Rows``, ``codes`` the activation's
    and output's codes, ``work`` a ``GradientWork``. The rows are cut into
    ``block_loss.size`` blocks, run on threads, each summed into its own
    buffers; then the blocks are added in block order. The order of every
    sum is fixed by the block count, not by the number of threads, so
    results are bit-identical on any number of threads. Returns the summed
    loss (float64).
    """
    # The threaded build passes a prange's variables to its threads as flat
    # tuples and fails on a tuple inside a tuple: unpack the groups first.
    Ms, transposed, bs = net
    X, y, sw = data
    X0, X1, X2, X3 = _input_parts(X)
    code, out = codes
    rows, A, D, losses, hits, Gs, gbs, NZ, scratch = work
    blocks = block_loss.size
    for c in numba.prange(blocks):
        b = np.intp(c)  # one type for the threaded build's uint64 index, one _gradient_block
        _gradient_block(
            Ms,
            transposed,
            bs,
            _input_join(X0, X1, X2, X3),
            y,
            sw,
            code,
            out,
            rows,
            A,
            D,
            losses,
            hits,
            Gs,
            gbs,
            NZ,
            scratch,
            b,
            block_loss,
        )
    for l in range(len(Ms)):
        _add_blocks(Gs[l])
        _add_blocks(gbs[l])
    total = 0.0
    for b in range(blocks):
        total += block_loss[b]
    return total


@kernel(inline=True)
def _add_blocks(G):
    """Add ``G[1:]`` into ``G[0]`` in block order (``G`` has a leading block axis)."""
    first = G[0].reshape(-1)
    for b in range(1, G.shape[0]):
        block = G[b].reshape(-1)
        for j in range(first.size):
            first[j] += block[j]


class Net(NamedTuple):
    """A network as the kernels take it: a ``Layout``'s ``Ms`` and ``transposed``, the biases."""

    Ms: tuple
    transposed: np.ndarray
    bs: tuple


class Data(NamedTuple):
    """The rows of an epoch: inputs, targets, sample weights, and the order to visit them in."""

    #: A 2-D array or a ``CSR``; so for ``Rows``.
    X: np.ndarray | CSR
    y: np.ndarray
    sw: np.ndarray
    order: np.ndarray


class Rows(NamedTuple):
    """Rows to sum a loss over: inputs, targets (see ``kernels.outputs``) and sample weights."""

    X: np.ndarray | CSR
    y: np.ndarray
    sw: np.ndarray


class GradientWork(NamedTuple):
    """The buffers of ``_loss_and_gradient``, made by ``gradient_work``."""

    #: Row indices into X, ``blocks * R`` (``R`` rows per block).
    rows: np.ndarray
    #: Activations and deltas (see ``buffers``) of ``blocks * R`` rows.
    A: tuple
    D: tuple
    #: Per-row losses (float64) and hits of those rows.
    losses: np.ndarray
    hits: np.ndarray
    #: Per block: gradients shaped like the ``Layout``'s ``Ms`` and the biases.
    Gs: tuple
    gbs: tuple
    #: Per block: ``_forward``'s scratch (``index_buffers``) and ``_add_outer_rows``'s.
    NZ: np.ndarray
    scratch: tuple


def gradient_work(weights, layout, n):
    """Return ``(GradientWork, block_loss)`` for the gradient of ``weights`` over ``n`` rows.

    ``layout`` is the ``Layout`` of ``weights`` the kernel will be given.

    ``min(GRADIENT_BLOCKS, n)`` blocks of at most ``GRADIENT_ROWS`` rows at a
    time: memory grows with the blocks, not with ``n``.
    """
    Ms = layout.Ms
    blocks = min(GRADIENT_BLOCKS, n)
    R = min(GRADIENT_ROWS, -(-n // blocks))
    A, D = buffers(weights, blocks * R)
    widths = [M.shape[0] if t else M.shape[1] for M, t in zip(Ms, layout.transposed)]
    work = GradientWork(
        rows=np.zeros(blocks * R, np.intp),
        A=A,
        D=D,
        losses=np.zeros(blocks * R),
        hits=np.zeros(blocks * R, np.int64),
        Gs=tuple(np.zeros((blocks, *M.shape), M.dtype) for M in Ms),
        gbs=tuple(np.zeros((blocks, w), Ms[0].dtype) for w in widths),
        NZ=index_buffers(weights, blocks),
        scratch=outer_scratch(max(M.shape[0] for M in Ms), R, Ms[0].dtype, blocks),
    )
    return work, np.zeros(blocks)


class RowWork(NamedTuple):
    """One part's buffers for inference: ``buffers``' ``A``, the row of them it uses, ``nz``."""

    A: tuple
    row: int
    #: ``_forward``'s scratch (a row of ``index_buffers``).
    nz: np.ndarray


@kernel(nogil=True)
def _predict_proba_rows(net, X, codes, work, P, r0, r1):
    """Write the prediction of output ``out`` for rows ``r0:r1`` of ``X`` into ``P``.

    Class probabilities (softmax), unit probabilities (logistic), or values
    (identity, exp; see ``kernels.outputs._output_transform``). ``net`` is a
    ``Net``, ``codes`` the hidden activation's and the output's codes, and
    ``work`` a ``RowWork``: each row is propagated through its buffer row.
    """
    Ms, transposed, bs = net
    code, out = codes
    A, row, nz = work
    last = len(Ms)
    for i in range(r0, r1):
        _forward(Ms, transposed, bs, _input_row(X, i, A[0][row]), code, A, row, nz)
        _output_transform(A[last][row], out, P[i])


@kernel(nogil=True)
def _evaluate_rows(net, X, codes, work, y, losses, hits, r0, r1):
    """Per row ``i`` in ``r0:r1``: its loss into ``losses[i]``, its hit into ``hits[i]``.

    Arguments as for ``_predict_proba_rows``; hits as in ``kernels.outputs``.
    """
    Ms, transposed, bs = net
    code, out = codes
    A, row, nz = work
    last = len(Ms)
    for i in range(r0, r1):
        _forward(Ms, transposed, bs, _input_row(X, i, A[0][row]), code, A, row, nz)
        losses[i], hits[i] = _output_loss(A[last][row], y[i], out)


_INFERENCE = {"predict_proba": _predict_proba_rows, "evaluate": _evaluate_rows}


def infer(task, weights, biases, X, code, out, *outputs):
    """Run inference kernel ``task`` over the rows of ``X``, writing into ``outputs``.

    ``task`` is "predict_proba" (``outputs = (P,)``) or "evaluate" (``outputs
    = (y, losses, hits)``), for hidden activation ``code`` and output ``out``;
    all arrays must be checked already (``X`` dense or a scipy CSR, see
    ``_checks.as_inputs``). From
    ``parallel_rows(weights)`` rows on, the rows are cut into one part per
    Numba thread, run at once on Python threads: the kernels release the GIL.
    Each row is computed whole by one part, so the results do not depend on
    the number of parts.
    """
    n, X = X.shape[0], kernel_rows(X)
    parts = numba.get_num_threads() if n >= parallel_rows(weights) else 1
    rows = _INFERENCE[task]
    # Each part works in its own buffer row, far enough from the next part's
    # row that no cache line holds both.
    narrowest = min(W.shape[1] for W in weights) * weights[0].itemsize
    spread = 1 + -(-CACHE_LINE // narrowest)
    A, _ = buffers(weights, parts * spread)
    NZ = index_buffers(weights, parts)
    with Layout(weights) as L:
        net = Net(L.Ms, L.transposed, biases)

        def run(c):
            r0, r1 = c * n // parts, (c + 1) * n // parts
            rows(net, X, (code, out), RowWork(A, c * spread, NZ[c]), *outputs, r0, r1)

        if parts == 1:
            run(0)
            return
        futures = [_threads(os.getpid()).submit(run, c) for c in range(parts)]
        wait(futures)  # every part, before any error is raised
        for future in futures:
            future.result()


@functools.cache
def _threads(pid):
    """Return this process's thread pool for ``infer`` (a forked child gets its own)."""
    return ThreadPoolExecutor(numba.config.NUMBA_NUM_THREADS, thread_name_prefix="fastmlp")


def parallel_rows(weights):
    """Return the fewest rows from which ``infer`` runs on threads for ``weights``.

    ``config.PARALLEL_MIN_ROWS`` rows that take ``config.PARALLEL_MIN_WORK``
    multiply-adds at least.
    """
    return max(PARALLEL_MIN_ROWS, -(-PARALLEL_MIN_WORK // sum(W.size for W in weights)))


def launching(parallel):
    """Return the context to launch a kernel in: one parallel launch at a time, process-wide."""
    return _PARALLEL_LAUNCH if parallel else contextlib.nullcontext()


def is_plain_array(arr):
    """Return True for a numpy array the kernels may write into: an ndarray or a memmap.

    Subclasses with meaning of their own (a masked array's mask, a matrix's
    shape rules) are refused: the kernels would ignore it, or fail to compile.
    """
    return type(arr) is np.ndarray or isinstance(arr, np.memmap)


def check_network(weights, biases):
    """Validate a network's parameters for the kernels and return them as tuples.

    The kernels update parameters in place, so nothing is converted: every
    array must already be C-contiguous, of one float dtype, with chained
    shapes ``(n_0, n_1), (n_1, n_2), ...`` and ``biases[l].shape == (n_{l+1},)``.
    """
    layers = []
    for name, arrays in (("weights", weights), ("biases", biases)):
        try:
            if isinstance(arrays, np.ndarray):
                raise TypeError  # one array, not a sequence of them
            layers.append(tuple(arrays))
        except TypeError:
            raise reject("layer-sequence", name, type=type(arrays).__name__) from None
    weights, biases = layers
    if not weights or len(weights) != len(biases):
        raise reject("layer-pairs", "weights, biases", count=len(weights), other=len(biases))
    dtype = getattr(weights[0], "dtype", None)
    if dtype not in (np.float32, np.float64):
        raise reject("float-array", "weights[0]", dtype=dtype)
    for l, (W, b) in enumerate(zip(weights, biases)):
        for name, arr, ndim in ((f"weights[{l}]", W, 2), (f"biases[{l}]", b, 1)):
            if not is_plain_array(arr) or arr.dtype != dtype or arr.ndim != ndim:
                raise reject("layer-array", name, ndim=ndim, dtype=dtype, found=describe(arr))
            if not arr.flags.c_contiguous or not arr.flags.writeable:
                raise reject("writeable", name)
        if b.shape != W.shape[1:]:
            raise reject("shape", f"biases[{l}]", shape=W.shape[1:], found=b.shape)
        if l and W.shape[0] != weights[l - 1].shape[1]:
            raise reject(
                "layer-rows",
                f"weights[{l}]",
                rows=weights[l - 1].shape[1],
                previous=f"weights[{l - 1}]",
                shape=W.shape,
            )
    return weights, biases


class Layout:
    """The kernels' working copy of a network's weight matrices (or of arrays shaped like them).

    A layer after the first whose output is narrower than its input (such as
    the 300 -> 10 output layer on MNIST) is kept transposed, ``W.T``: its
    forward pass is then a few long dot products and its update a few long
    rows instead of hundreds of rows of ten. The first layer keeps ``W``, so
    zero inputs are skipped. Use as a context manager around kernel calls:
    entering copies transposed layers in; with ``write_back`` (training),
    leaving copies them back. Inference and gradients only read the working
    copy and must not write it back: another thread may be training the same
    weights meanwhile, and stale values would overwrite its updates.

    Parameters
    ----------
    weights : tuple of numpy.ndarray
        The model's weights (checked by ``check_network``), or an optimizer's
        state arrays shaped like them (laid out alike, so that the kernels
        step a parameter and its state row by row).
    write_back : bool
        Copy the working copy back into ``weights`` on leaving.
    """

    def __init__(self, weights, *, write_back=False):
        self.write_back = write_back
        self.transposed = np.array(
            [l > 0 and W.shape[1] < W.shape[0] for l, W in enumerate(weights)], dtype=np.bool_
        )
        self._pairs = []
        self.Ms = self._working(weights)

    def _working(self, arrays):
        working = []
        for W, t in zip(arrays, self.transposed):
            if t:
                working.append(np.empty(W.shape[::-1], W.dtype))
                self._pairs.append((W, working[-1]))
            else:
                working.append(W)
        return tuple(working)

    def gradient_buffers(self, needed=True):
        """Return ``(Gs, gbs)``: zeroed gradient buffers shaped like ``Ms`` and the biases.

        With ``needed=False``, empty placeholders (plain SGD needs no buffers).
        """
        rows = (lambda M: M.shape[0]) if needed else (lambda M: 0)
        Gs = tuple(np.zeros((rows(M), M.shape[1]), M.dtype) for M in self.Ms)
        widths = [M.shape[0] if t else M.shape[1] for M, t in zip(self.Ms, self.transposed)]
        gbs = tuple(np.zeros(w if needed else 0, M.dtype) for w, M in zip(widths, self.Ms))
        return Gs, gbs

    def to_model(self, G, l):
        """Return layer ``l``'s array ``G`` (shaped like ``Ms[l]``) in the model's orientation."""
        return G.T.copy() if self.transposed[l] else G

    def __enter__(self):
        for W, M in self._pairs:
            M[...] = W.T
        return self

    def __exit__(self, *exc):
        if self.write_back:
            for W, M in self._pairs:
                W[...] = M.T


def index_buffers(weights, parts):
    """Return a row of input indices per part (thread) of a kernel: ``_forward``'s ``nz``."""
    return thread_rows(parts, weights[0].shape[0], np.intp)


def buffers(weights, rows):
    """Return ``(A, D)``: activation and delta buffers with ``rows`` rows per layer."""
    dtype = weights[0].dtype
    outputs = tuple(np.zeros((rows, W.shape[1]), dtype) for W in weights)
    A = (np.zeros((rows, weights[0].shape[0]), dtype), *outputs)
    D = (np.zeros((rows, 0), dtype), *(np.zeros_like(a) for a in outputs))
    return A, D
