"""Whole epochs of stochastic gradient descent in one compiled call.

The caller draws the sample order in numpy and passes it in, so a seed
fixes the run bit for bit whichever backend runs it. Each step's loss,
``(summed row losses + l2 / 2 * |W|^2) / divisor`` taken before the update
(scikit-learn's, penalty included), goes to ``step_loss``, a float64 array.
The optimizer (``fastmlp.optimizers``) is a kernel argument like the rest:
any rule runs at any batch size through ``_sgd_epoch``; only plain
per-sample SGD takes the fused ``kernels.per_sample``.
"""

from __future__ import annotations

import contextlib
import numbers
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike

from .. import optimizers
from .._checks import (
    as_inputs,
    as_momentum,
    as_nonnegative,
    as_order,
    as_positive,
    as_sample_weight,
    as_targets,
    describe,
    reject,
)
from ..config import PARALLEL_MIN_BATCH
from ..names import activation_code, output_code
from ._jit import kernel
from .network import (
    Data,
    Layout,
    Net,
    _backprop_rows,
    _chunk,
    _input_join,
    _input_parts,
    buffers,
    check_network,
    index_buffers,
    is_plain_array,
    kernel_rows,
    launching,
)
from .per_sample import _sgd_epoch_per_sample, unit_buffers
from .update import _part, _step_rate, _update_bias, _update_rows, outer_scratch

#: The epoch's scalars: rows per step, parts per stage, the activation's
#: code, the rate, the L2 penalty, the weight decay, whether a step
#: divides by its rows' summed weights (else by their count), and the factor
#: on the reported row losses (``loss_scale``, not on the gradient).
Steps = namedtuple(
    "Steps", ["batch_size", "chunks", "code", "out", "lr", "l2", "wd", "by_weight", "loss_scale"]
)
#: Buffers (``plan``): activations and deltas (``kernels.network.buffers``),
#: per-row losses and hits, per-part scratch (``NZ``, ``scratch``) and
#: gradient buffers shaped like ``Ms`` and ``bs``.
Work = namedtuple("Work", ["A", "D", "losses", "hits", "NZ", "scratch", "Gs", "gbs"])
#: The optimizer: its ``rule`` ``(code, h0, h1, h2)`` (``optimizers.Rule``),
#: two state arrays per layer matrix (``S1s``, ``S2s``, shaped like ``Ms``,
#: of no columns when unused) and bias (``s1bs``, ``s2bs``), and the step count ``t``.
Moments = namedtuple("Moments", ["rule", "S1s", "S2s", "s1bs", "s2bs", "t"])


@kernel
def _sgd_epoch(net, data, steps, work, state, step_loss, step_correct):
    """SGD over ``data.X[data.order]``: each step follows the gradient of ``batch_size`` rows.

    The last batch holds the remaining rows and may be smaller;
    ``batch_size = 1`` is per-sample SGD. Arguments are the namedtuples
    above. Each stage splits its rows into ``chunks`` parts: in the parallel
    build the parts run on threads. Each row is computed whole by one part
    and losses are summed in row order, so a run repeats itself bit for bit.
    """
    # The threaded build passes a prange's variables to its threads as flat
    # tuples and fails on a tuple inside a tuple: unpack the groups first.
    # The steps' work is in compiled calls, not inlined, shared by both builds
    # (see kernels.network): inlined, the optimizer's updates made the cold
    # compile of the training kernels longer.
    Ms, tr, bs = net
    X, y, sw, order = data
    X0, X1, X2, X3 = _input_parts(X)  # see _input_parts
    A, D, losses, hits, NZ, scratch, Gs, gbs = work
    rule, S1s, S2s, s1bs, s2bs, t = state
    dtype = Ms[0].dtype.type
    n, size, chunks, code, out = order.size, steps.batch_size, steps.chunks, steps.code, steps.out
    for k in range((n + size - 1) // size):
        start = k * size
        B = min(size, n - start)
        rows = order[start : start + B]
        for c in numba.prange(chunks):
            r0, r1 = _chunk(B, chunks, c)
            Xc = _input_join(X0, X1, X2, X3)
            _backprop_rows(
                Ms, tr, bs, Xc, y, sw, rows, code, out, A, D, losses, hits, r0, r1, NZ[c]
            )
        divisor = _divisor(sw, rows, steps.by_weight)
        step_loss[k], step_correct[k] = _step_result(
            Ms, losses, hits, B, divisor, steps.l2, steps.loss_scale
        )
        t[0] += 1
        lr = _step_rate(rule, steps.lr, t[0])
        scalars = (dtype(1.0 / divisor), dtype(lr), dtype(steps.l2 / divisor), dtype(steps.wd))
        for c in numba.prange(chunks):
            # The threaded build types c as uint64: one type keeps one compiled _step_layers.
            _step_layers(Ms, tr, Gs, S1s, S2s, A, D, B, chunks, np.intp(c), rule, scalars, scratch)
        _step_biases(bs, gbs, s1bs, s2bs, D, B, rule, scalars)


@kernel(inline=True)
def _divisor(sw, rows, by_weight):
    """Return what a step divides its summed gradient by, in float64: rows or summed weights."""
    if not by_weight:
        return np.float64(rows.size)
    total = 0.0
    for i in rows:
        total += sw[i]
    return total


@kernel
def _step_result(Ms, losses, hits, B, divisor, l2, scale):
    """Return the step's loss (with the L2 penalty, before the update) and its hit count.

    The loss is ``(scale * sum of row losses + l2 / 2 * |W|^2) / divisor`` in
    float64, as scikit-learn's; row losses are summed in row order.
    """
    total = 0.0
    correct = 0
    for r in range(B):
        total += losses[r]
        correct += hits[r]
    if scale != 1.0:
        total = total * scale
    if l2 != 0:
        squares = 0.0
        for M in Ms:
            for p in range(M.shape[0]):
                for j in range(M.shape[1]):
                    squares += np.float64(M[p, j]) * np.float64(M[p, j])
        total += 0.5 * l2 * squares
    return total / divisor, correct


@kernel
def _step_layers(Ms, transposed, Gs, S1s, S2s, A, D, B, chunks, c, rule, scalars, scratch):
    """Part ``c`` of ``chunks`` of a step: its share of every layer's rows (see ``_update_rows``).

    ``A`` and ``D`` hold the batch's ``B`` rows of activations and deltas;
    ``scratch`` is from ``kernels.update.outer_scratch``.
    """
    for l in range(len(Ms)):
        A_in, D_out = A[l][:B], D[l + 1][:B]
        U, Z = (D_out, A_in) if transposed[l] else (A_in, D_out)
        p0, p1 = _chunk(Ms[l].shape[0], chunks, c)
        part = _part(scratch, c)
        _update_rows(Ms[l], Gs[l], S1s[l], S2s[l], U, Z, p0, p1, rule, scalars, part)


@kernel
def _step_biases(bs, gbs, s1bs, s2bs, D, B, rule, scalars):
    """Step every layer's biases (see ``_update_bias``); ``D`` holds the ``B`` rows of deltas."""
    for l in range(len(bs)):
        _update_bias(bs[l], gbs[l], s1bs[l], s2bs[l], D[l + 1][:B], rule, scalars)


_sgd_epoch_parallel = kernel(_sgd_epoch.py_func, parallel=True)


def plan(weights, Ms, batch_size, chunks, gradients):
    """Return the ``Work`` buffers for steps of ``batch_size`` rows cut into ``chunks`` parts.

    ``Ms`` is the working copy of ``weights`` (``Layout.Ms``); ``gradients=False``
    leaves the weight gradient buffers empty (plain SGD steps straight from the deltas).
    """
    layout_rows = [M.shape[0] if gradients else 0 for M in Ms]
    Gs = tuple(np.zeros((rows, M.shape[1]), M.dtype) for rows, M in zip(layout_rows, Ms))
    A, D = buffers(weights, batch_size)
    gbs = tuple(np.zeros(a.shape[1], a.dtype) for a in A[1:])
    part_rows = max(-(-M.shape[0] // chunks) + 1 for M in Ms)
    return Work(
        A,
        D,
        np.empty(batch_size, np.float64),
        np.empty(batch_size, np.int64),
        index_buffers(Ms, chunks),
        outer_scratch(part_rows, batch_size, Ms[0].dtype, chunks),
        Gs,
        gbs,
    )


class SGD:
    """Runs epochs (or parts of them) of one network and optimizer in the kernels, in place.

    Holds everything that lives across calls: the working ``Layout`` of the
    network and of the optimizer's state, and the buffers. Plain per-sample
    SGD (batch size 1, no momentum, penalty or decay, averaging over rows)
    runs ``kernels.per_sample``. Batches of at least
    ``config.PARALLEL_MIN_BATCH`` rows run the parallel build of the kernel
    when Numba has more than one thread (results agree with the serial build
    to float rounding).

    Parameters
    ----------
    weights, biases : tuple of numpy.ndarray
        The network, already checked by ``check_network``.
    batch_size : int
        Rows per step.
    optimizer : fastmlp.optimizers.SGD or Adam, optional
        The update rule; plain SGD by default. Its rate is ignored: each
        ``run`` gives the rate (the schedule's).
    weight_decay, l2 : float
        Checked decay (added as ``wd * W`` to the mean gradient) and L2
        penalty (added as ``l2 * W`` to the summed gradient), see ``kernels.update``.
    state : fastmlp.optimizers.State, optional
        The optimizer's state for this network, updated in place; None
        starts from zeros.
    average : {"rows", "weights"}
        Divide each step's summed gradient by its row count or by the sum
        of its rows' sample weights (scikit-learn's).
    loss_scale : float
        Factor on the row losses in each step's reported loss, not on the
        gradient: ``1 / n_outputs`` reports squared error averaged over the
        outputs, as scikit-learn does while its gradient sums them.
    """

    def __init__(
        self,
        weights,
        biases,
        batch_size,
        optimizer=None,
        weight_decay=0.0,
        state=None,
        *,
        l2=0.0,
        average="rows",
        loss_scale=1.0,
    ):
        self.optimizer = optimizers.SGD() if optimizer is None else optimizer
        rule = optimizers.rule(self.optimizer)
        plain = optimizers.SGD_CODE == rule.code and not rule.slots(self.optimizer)
        self.weights, self.biases, self.batch_size = weights, biases, batch_size
        self.wd, self.l2, self.by_weight = float(weight_decay), float(l2), average == "weights"
        self.loss_scale = float(loss_scale)
        self.per_sample = batch_size == 1 and plain and not (weight_decay or l2 or self.by_weight)
        self.per_sample = self.per_sample and self.loss_scale == 1.0
        self.layout = Layout(weights, write_back=True)
        self.state = self.optimizer.new_state(weights, biases) if state is None else state
        if self.per_sample:
            self.A, self.D = unit_buffers(weights)
            return
        # Two state arrays per parameter for the kernels: empty ones (rows of no
        # columns, so that a row can still be cut) stand in for unused slots.
        self._state_layouts = [Layout(Ws, write_back=True) for Ws in self.state.weights.values()]
        unused = 2 - len(self._state_layouts)
        self._unused = [tuple(np.empty((M.shape[0], 0), M.dtype) for M in self.layout.Ms)] * unused
        self._bias_state = [*self.state.biases.values()]
        self._bias_state += [tuple(np.empty(0, b.dtype) for b in biases)] * unused
        self.rule = (rule.code, *(float(h) for h in rule.hyper(self.optimizer)))
        self.gradients = not plain or bool(weight_decay or l2)
        #: Use the parallel build, and how many parts each stage is cut into
        #: (its thread count; any count gives the same results).
        self.parallel = batch_size >= PARALLEL_MIN_BATCH and numba.get_num_threads() > 1
        self.chunks = numba.get_num_threads() if self.parallel else 1
        self._work = None

    def moments(self, stack):
        """Return the kernels' ``Moments``, entering the state's working layouts on ``stack``."""
        working = [stack.enter_context(layout).Ms for layout in self._state_layouts]
        return Moments(self.rule, *working, *self._unused, *self._bias_state, self.state.t)

    def run(self, X, y, sw, order, code, out, lr, step_loss, step_correct):
        """Take the steps over ``X[order]``; write their losses and hit counts.

        Inputs must be checked already (see ``_epoch_inputs``); ``X`` is a
        2-D array or a scipy CSR (``_checks.as_inputs``).
        """
        X = kernel_rows(X)
        if self.per_sample:
            with self.layout as L:
                net = Net(L.Ms, L.transposed, self.biases)
                data = Data(X, y, sw, order)
                _sgd_epoch_per_sample(
                    net, (self.A, self.D), data, (code, out), lr, step_loss, step_correct
                )
            return
        if self.by_weight:
            check_batch_weights(sw, order, self.batch_size)
        if self._work is None or self._work.NZ.shape[0] != self.chunks:
            self._work = plan(
                self.weights, self.layout.Ms, self.batch_size, self.chunks, self.gradients
            )
        epoch = _sgd_epoch_parallel if self.parallel else _sgd_epoch
        with contextlib.ExitStack() as stack, self.layout as L, launching(self.parallel):
            steps = Steps(
                *(self.batch_size, self.chunks, code, out, float(lr), self.l2, self.wd),
                *(self.by_weight, self.loss_scale),
            )
            net = Net(L.Ms, L.transposed, self.biases)
            epoch(
                net,
                Data(X, y, sw, order),
                steps,
                self._work,
                self.moments(stack),
                step_loss,
                step_correct,
            )


def check_batch_weights(sw, order, batch_size):
    """Raise a ValueError if a step's sample weights sum to 0 (it would divide by 0)."""
    if order.size == 0:
        return
    sums = np.add.reduceat(sw[order].astype(np.float64), np.arange(0, order.size, batch_size))
    if not (sums > 0).all():
        k = int(np.argmin(sums > 0))
        last = min((k + 1) * batch_size, order.size) - 1
        raise reject("step-weights", "sample_weight", step=k, start=k * batch_size, stop=last + 1)


def _epoch_inputs(weights, biases, X, y, order, activation, lr, options):
    weights, biases = check_network(weights, biases)
    dtype = weights[0].dtype
    X = as_inputs("X", X, dtype, weights[0].shape[0])
    out = output_code(options.pop("output", "softmax"))
    y = as_targets("y", y, X.shape[0], weights[-1].shape[1], out, dtype)
    order = as_order("order", order, X.shape[0])
    sw = as_sample_weight(options.get("sample_weight"), X.shape[0], dtype)
    code = activation_code(activation)
    lr = float(as_positive("lr", lr))
    options = _runner_options(weights, biases, lr, options)
    return weights, biases, X, y, sw, order, (code, out), lr, options


def _runner_options(weights, biases, lr, options):
    """Return the keyword arguments of ``SGD`` (the runner) that ``options`` ask for, checked."""
    mu = as_momentum(options.get("momentum", 0.0))
    optimizer = options.get("optimizer")
    if optimizer is None:
        optimizer = optimizers.SGD(lr, mu)
    elif optimizers.rule(optimizer) and mu:
        raise reject("momentum-beside", "momentum", value=mu)
    elif optimizer.lr != lr:
        raise reject("rate-beside", "lr", rate=optimizer.lr, value=lr)
    state, velocities = options.get("state"), options.get("velocities")
    if state is not None and velocities is not None:
        raise reject("velocities-beside", "velocities")
    if velocities is not None:
        velocities = _check_velocities(velocities, weights, biases)
        if mu:
            state = optimizers.velocity_state(optimizer, weights, biases, velocities)
    elif state is not None:
        if not isinstance(state, optimizers.State):
            raise reject("state-type", "state", value=state)
        state = optimizer.load_state(weights, biases, state.arrays())
    return {
        "optimizer": optimizer,
        "state": state,
        "weight_decay": as_nonnegative("weight_decay", options.get("weight_decay", 0.0)),
        "l2": optimizers.as_l2(options.get("l2", 0.0)),
        "average": optimizers.as_average(options.get("average", "rows")),
    }


def _check_velocities(velocities, weights, biases):
    """Return momentum velocities ``(VWs, vbs)`` checked against the network, layer for layer.

    Each must be a writeable C-contiguous array shaped like its parameter:
    the kernels update them in place. ``fastmlp.train`` checks with this too.
    """
    if not isinstance(velocities, (tuple, list)) or len(velocities) != 2:
        raise reject("velocities-pair", "velocities", type=type(velocities).__name__)
    checked = []
    for name, arrays, params in (
        ("weights", velocities[0], weights),
        ("biases", velocities[1], biases),
    ):
        try:
            arrays = tuple(arrays)
        except TypeError:
            raise reject(
                "velocities-sequence", "velocities", kind=name, type=type(arrays).__name__
            ) from None
        if len(arrays) != len(params):
            raise reject(
                "velocities-count", "velocities", count=len(params), kind=name, found=len(arrays)
            )
        for l, (V, P) in enumerate(zip(arrays, params)):
            ok = is_plain_array(V) and V.shape == P.shape and V.dtype == P.dtype
            if not ok or not V.flags.c_contiguous or not V.flags.writeable:
                raise reject(
                    "buffer-array",
                    "velocities",
                    what=f"{name}[{l}]",
                    dtype=P.dtype,
                    shape=P.shape,
                    found=describe(V),
                )
        checked.append(arrays)
    return tuple(checked)


def sgd_epoch_per_sample(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: ArrayLike,
    y: ArrayLike,
    order: ArrayLike,
    lr: float,
    activation: str = "sigmoid",
    **options: Any,
) -> np.ndarray:
    """Run one epoch of per-sample SGD, updating ``weights`` and ``biases`` in place.

    Parameters
    ----------
    weights, biases : sequence of numpy.ndarray
        The network (see ``check_network``); updated in place.
    X : array_like or scipy.sparse matrix or array, shape (n, n_in)
        Inputs, converted to the parameters' dtype (sparse input to CSR,
        never densified).
    y : array_like of int, shape (n,)
        Class labels in ``[0, n_classes)``.
    order : array_like of int
        The rows to visit, in order (usually a permutation of ``range(n)``).
    lr : float
        Learning rate.
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer activation.
    **options
        ``momentum`` (in [0, 1)), ``weight_decay`` (>= 0, added as
        ``weight_decay * W`` to the mean gradient, weights only),
        ``sample_weight`` (one weight >= 0 per row of X, scaling its loss),
        ``velocities`` (``(VWs, vbs)`` shaped like the network, updated in
        place; zeros by default), ``optimizer`` (``fastmlp.SGD`` or
        ``fastmlp.Adam`` whose rate is ``lr``; not with ``momentum``),
        ``state`` (its ``fastmlp.optimizers.State``, updated in place; not
        with ``velocities``), ``l2`` (>= 0, scikit-learn's ``alpha``: added
        as ``l2 * W`` to the summed gradient, weights only) and ``average``
        (``"rows"``, the default, or ``"weights"``: divide each step's sums
        by its row count or by its rows' summed sample weights).

    Returns
    -------
    numpy.ndarray of float64, shape (len(order),)
        Each step's loss, before its update.
    """
    return sgd_epoch_minibatch(weights, biases, X, y, order, lr, 1, activation, **options)


def sgd_epoch_minibatch(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: ArrayLike,
    y: ArrayLike,
    order: ArrayLike,
    lr: float,
    batch_size: int,
    activation: str = "sigmoid",
    **options: Any,
) -> np.ndarray:
    """Run one epoch of minibatch SGD, updating ``weights`` and ``biases`` in place.

    Takes the arguments of ``sgd_epoch_per_sample`` plus ``batch_size``, the
    rows per step; the last step takes what is left. Returns each step's
    loss, shape ``(ceil(len(order) / batch_size),)``.

    Parameters
    ----------
    weights, biases : sequence of numpy.ndarray
        The network (see ``check_network``); updated in place.
    X : array_like or scipy.sparse matrix or array, shape (n, n_in)
        Inputs, converted to the parameters' dtype (sparse input to CSR,
        never densified).
    y : array_like of int, shape (n,)
        Class labels in ``[0, n_classes)``.
    order : array_like of int
        The rows to visit, in order (usually a permutation of ``range(n)``).
    lr : float
        Learning rate.
    batch_size : int
        Rows per step (>= 1).
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer activation.
    **options
        As for ``sgd_epoch_per_sample``.

    Returns
    -------
    numpy.ndarray of float64, shape (ceil(len(order) / batch_size),)
        Each step's loss (see the module docstring), before its update.
    """
    weights, biases, X, y, sw, order, codes, lr, runner_options = _epoch_inputs(
        weights, biases, X, y, order, activation, lr, options
    )
    batch_size = as_positive("batch_size", batch_size, numbers.Integral)
    steps = -(-order.size // batch_size)
    step_loss = np.empty(steps, dtype=np.float64)
    step_correct = np.empty(steps, dtype=np.int64)
    # A batch larger than the data is one batch of all of it: size buffers for that.
    sgd = SGD(weights, biases, min(batch_size, max(order.size, 1)), **runner_options)
    sgd.run(X, y, sw, order, *codes, lr, step_loss, step_correct)
    return step_loss
