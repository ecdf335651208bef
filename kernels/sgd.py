"""Whole epochs of stochastic gradient descent in one compiled call.

The caller draws the sample order in numpy and passes it in, so a seed
fixes the run bit for bit whichever backend runs it. Each step's loss (the
mean over the step's rows, taken before the update) goes to ``step_loss``,
a float64 array.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike

from .._checks import (
    as_float_array,
    as_momentum,
    as_order,
    as_positive,
    as_sample_weight,
    as_targets,
    as_weight_decay,
)
from ..config import PARALLEL_MIN_BATCH
from ..names import activation_code, output_code
from ._jit import kernel
from .network import (
    Layout,
    _backprop_rows,
    _chunk,
    buffers,
    check_network,
    index_buffers,
    is_plain_array,
    launching,
)
from .per_sample import _sgd_epoch_per_sample, unit_buffers
from .update import _part, _update_bias, _update_rows, outer_scratch


@kernel
def _sgd_epoch(
    Ms,
    transposed,
    bs,
    VMs,
    vbs,
    Gs,
    X,
    y,
    sw,
    order,
    batch_size,
    code,
    out,
    lr,
    mu,
    wd,
    chunks,
    A,
    D,
    NZ,
    scratch,
    losses,
    hits,
    step_loss,
    step_correct,
):
    """SGD over ``X[order]``: each step follows the mean gradient of ``batch_size`` rows.

    The last batch holds the remaining rows and may be smaller; ``batch_size = 1``
    is per-sample SGD. ``Ms``, ``transposed``, ``bs``, ``A``, ``D`` are as in
    ``kernels.network`` (buffers of ``batch_size`` rows), ``VMs``, ``vbs`` the
    momentum velocities and ``Gs`` gradient buffers (both may be empty for
    plain SGD, see ``kernels.update``). ``sw`` weights each row's loss; ``mu``
    is the momentum and ``wd`` the L2 weight decay. ``losses`` and ``hits``
    hold the batch's per-row results before they are summed in row order.

    Each stage splits its rows into ``chunks`` parts: in the parallel build
    the parts run on threads. Each row is computed whole by one part and
    losses are summed in row order, so a run repeats itself bit for bit.
    """
    dtype = Ms[0].dtype.type
    lr, mu, wd = dtype(lr), dtype(mu), dtype(wd)
    n = order.size
    for k in range((n + batch_size - 1) // batch_size):
        start = k * batch_size
        B = min(batch_size, n - start)
        rows = order[start : start + B]
        for c in numba.prange(chunks):
            r0, r1 = _chunk(B, chunks, c)
            _backprop_rows(
                Ms, transposed, bs, X, y, sw, rows, code, out, A, D, losses, hits, r0, r1, NZ[c]
            )
        total = 0.0
        correct = 0
        for r in range(B):
            total += losses[r]
            correct += hits[r]
        step_loss[k] = total / B
        step_correct[k] = correct
        scale = dtype(1) / dtype(B)
        for c in numba.prange(chunks):
            # The threaded build types c as uint64: one type keeps one compiled _step_layers.
            part = np.intp(c)
            _step_layers(Ms, transposed, VMs, Gs, A, D, B, chunks, part, scale, lr, mu, wd, scratch)
        for l in range(len(Ms)):
            _update_bias(bs[l], vbs[l], D[l + 1][:B], scale, lr, mu)


@kernel
def _step_layers(Ms, transposed, VMs, Gs, A, D, B, chunks, c, scale, lr, mu, wd, scratch):
    """Part ``c`` of ``chunks`` of a step: its share of every layer's rows (see ``_update_rows``).

    ``A`` and ``D`` hold the batch's ``B`` rows of activations and deltas.
    """
    for l in range(len(Ms)):
        A_in, D_out = A[l][:B], D[l + 1][:B]
        U, Z = (D_out, A_in) if transposed[l] else (A_in, D_out)
        p0, p1 = _chunk(Ms[l].shape[0], chunks, c)
        _update_rows(Ms[l], VMs[l], Gs[l], U, Z, p0, p1, scale, lr, mu, wd, _part(scratch, c))


_sgd_epoch_parallel = kernel(_sgd_epoch.py_func, parallel=True)


def velocity_buffers(weights, momentum):
    """Return ``(VWs, vbs)``: zeroed momentum velocities, or empty placeholders without momentum."""
    rows = (lambda W: W.shape[0]) if momentum else (lambda W: 0)
    VWs = tuple(np.zeros((rows(W), W.shape[1]), dtype=W.dtype) for W in weights)
    vbs = tuple(np.zeros(W.shape[1] if momentum else 0, dtype=W.dtype) for W in weights)
    return VWs, vbs


class SGD:
    """Runs SGD epochs (or parts of them) of one network in the kernels, in place.

    Holds everything that lives across calls: the working ``Layout``, the
    momentum velocities and the row buffers. Plain per-sample SGD (batch size
    1, no momentum, no weight decay) runs ``kernels.per_sample``. Batches of at least
    ``config.PARALLEL_MIN_BATCH`` rows run the parallel build of the kernel
    when Numba has more than one thread (results agree with the serial build
    to float rounding).

    Parameters
    ----------
    weights, biases : tuple of numpy.ndarray
        The network, already checked by ``check_network``.
    batch_size : int
        Rows per step.
    momentum, weight_decay : float
        Checked hyperparameters (see ``kernels.update``).
    velocities : (tuple, tuple) or None
        Momentum velocities ``(VWs, vbs)`` shaped like the network, updated in
        place; None starts from zeros.
    """

    def __init__(
        self, weights, biases, batch_size, momentum=0.0, weight_decay=0.0, velocities=None
    ):
        self.biases, self.batch_size = biases, batch_size
        self.mu, self.wd = momentum, weight_decay
        self.per_sample = batch_size == 1 and not momentum and not weight_decay
        if self.per_sample:
            self.layout = Layout(weights, write_back=True)
            self.A, self.D = unit_buffers(weights)
            return
        if velocities is None:
            velocities = velocity_buffers(weights, momentum)
        VWs, self.vbs = velocities
        self.layout = Layout(weights, VWs if momentum else None, write_back=True)
        self.Gs, _ = self.layout.gradient_buffers(needed=bool(momentum or weight_decay))
        self.A, self.D = buffers(weights, batch_size)
        self.losses = np.empty(batch_size, dtype=np.float64)
        self.hits = np.empty(batch_size, dtype=np.int64)
        #: Use the parallel build, and how many parts each stage is cut into
        #: (its thread count; any count gives the same results).
        self.parallel = batch_size >= PARALLEL_MIN_BATCH and numba.get_num_threads() > 1
        self.chunks = numba.get_num_threads() if self.parallel else 1
        self._parts = None

    def part_buffers(self):
        """Return the per-part scratch ``(NZ, outer)`` of ``self.chunks`` parts, made once.

        ``NZ`` is from ``kernels.network.index_buffers``, ``outer`` from
        ``kernels.update.outer_scratch``.
        """
        if self._parts is None or self._parts[0] != self.chunks:
            Ms, chunks = self.layout.Ms, self.chunks
            rows = max(-(-M.shape[0] // chunks) + 1 for M in Ms)
            outer = outer_scratch(rows, self.batch_size, Ms[0].dtype, chunks)
            self._parts = (chunks, index_buffers(Ms, chunks), outer)
        return self._parts[1:]

    def run(self, X, y, sw, order, code, out, lr, step_loss, step_correct):
        """Take the steps over ``X[order]``; write their losses and hit counts.

        Inputs must be checked already (see ``_epoch_inputs``).
        """
        if self.per_sample:
            with self.layout as L:
                _sgd_epoch_per_sample(
                    *(L.Ms, L.transposed, self.biases, self.A, self.D, X, y, sw, order),
                    *(code, out, lr, step_loss, step_correct),
                )
            return
        epoch = _sgd_epoch_parallel if self.parallel else _sgd_epoch
        with self.layout as L, launching(self.parallel):
            epoch(
                L.Ms,
                L.transposed,
                self.biases,
                L.VMs,
                self.vbs,
                self.Gs,
                X,
                y,
                sw,
                order,
                self.batch_size,
                code,
                out,
                lr,
                self.mu,
                self.wd,
                self.chunks,
                self.A,
                self.D,
                *self.part_buffers(),
                self.losses,
                self.hits,
                step_loss,
                step_correct,
            )


def _epoch_inputs(weights, biases, X, y, order, activation, lr, options):
    weights, biases = check_network(weights, biases)
    dtype = weights[0].dtype
    X = as_float_array("X", X, dtype, 2, shape=(None, weights[0].shape[0]))
    out = output_code(options.get("output", "softmax"))
    y = as_targets("y", y, X.shape[0], weights[-1].shape[1], out, dtype)
    order = as_order("order", order, X.shape[0])
    sw = as_sample_weight(options.get("sample_weight"), X.shape[0], dtype)
    mu = as_momentum(options.get("momentum", 0.0))
    wd = as_weight_decay(options.get("weight_decay", 0.0))
    velocities = options.get("velocities")
    if velocities is not None:
        velocities = _check_velocities(velocities, weights, biases)
    code = activation_code(activation)
    lr = float(as_positive("lr", lr))
    return weights, biases, velocities, X, y, sw, order, (code, out), lr, mu, wd


def _check_velocities(velocities, weights, biases):
    """Return momentum velocities ``(VWs, vbs)`` checked against the network, layer for layer.

    Each must be a writeable C-contiguous array shaped like its parameter:
    the kernels update them in place. ``fastmlp.train`` checks with this too.
    """
    if not isinstance(velocities, (tuple, list)) or len(velocities) != 2:
        raise TypeError(
            f"velocities: expected a pair (VWs, vbs) of arrays shaped like the weights and "
            f"biases, found {type(velocities).__name__}"
        )
    checked = []
    for name, arrays, params in (
        ("weights", velocities[0], weights),
        ("biases", velocities[1], biases),
    ):
        try:
            arrays = tuple(arrays)
        except TypeError:
            raise TypeError(
                f"velocities: expected a sequence of {name} arrays, found {type(arrays).__name__}"
            ) from None
        if len(arrays) != len(params):
            raise ValueError(
                f"velocities: expected {len(params)} {name} arrays, found {len(arrays)}"
            )
        for l, (V, P) in enumerate(zip(arrays, params)):
            ok = is_plain_array(V) and V.shape == P.shape and V.dtype == P.dtype
            if not ok or not V.flags.c_contiguous or not V.flags.writeable:
                raise ValueError(
                    f"velocities: expected {name}[{l}] as a writeable C-contiguous "
                    f"{P.dtype} array of shape {P.shape}, found {type(V).__name__} "
                    f"{getattr(V, 'dtype', '')} {np.shape(V)}"
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
    X : array_like, shape (n, n_in)
        Inputs, converted to the parameters' dtype.
    y : array_like, shape (n,) or (n, n_outputs)
        Class labels in ``[0, n_classes)`` (output "softmax"), else targets
        (see ``fastmlp.MLP``'s ``output``).
    order : array_like of int
        The rows to visit, in order (usually a permutation of ``range(n)``).
    lr : float
        Learning rate.
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer activation.
    **options
        ``momentum`` (in [0, 1)), ``weight_decay`` (L2, >= 0, on weights only),
        ``sample_weight`` (one weight >= 0 per row of X, scaling its loss),
        ``velocities`` (``(VWs, vbs)`` shaped like the network, updated in
        place; zeros by default) and ``output`` (a name of
        ``fastmlp.names.OUTPUTS``, "softmax" by default).

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
    mean loss, shape ``(ceil(len(order) / batch_size),)``.

    Parameters
    ----------
    weights, biases : sequence of numpy.ndarray
        The network (see ``check_network``); updated in place.
    X : array_like, shape (n, n_in)
        Inputs, converted to the parameters' dtype.
    y : array_like, shape (n,) or (n, n_outputs)
        Class labels in ``[0, n_classes)`` (output "softmax"), else targets
        (see ``fastmlp.MLP``'s ``output``).
    order : array_like of int
        The rows to visit, in order (usually a permutation of ``range(n)``).
    lr : float
        Learning rate.
    batch_size : int
        Rows per step (>= 1); each step follows their mean gradient.
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer activation.
    **options
        ``momentum``, ``weight_decay``, ``sample_weight``, ``velocities`` and
        ``output``, as for ``sgd_epoch_per_sample``.

    Returns
    -------
    numpy.ndarray of float64, shape (ceil(len(order) / batch_size),)
        Each step's mean loss, before its update.
    """
    weights, biases, velocities, X, y, sw, order, codes, lr, mu, wd = _epoch_inputs(
        weights, biases, X, y, order, activation, lr, options
    )
    batch_size = as_positive("batch_size", batch_size, numbers.Integral)
    steps = -(-order.size // batch_size)
    step_loss = np.empty(steps, dtype=np.float64)
    step_correct = np.empty(steps, dtype=np.int64)
    # A batch larger than the data is one batch of all of it: size buffers for that.
    sgd = SGD(weights, biases, min(batch_size, max(order.size, 1)), mu, wd, velocities)
    sgd.run(X, y, sw, order, *codes, lr, step_loss, step_correct)
    return step_loss
