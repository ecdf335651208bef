"""Optimizers: their hyperparameters, their state, and the one table that lists them.

An optimizer is a frozen dataclass of hyperparameters (``SGD``, ``Adam``),
validated on construction. Its row in ``OPTIMIZERS`` gives what the rest of
fastmlp needs: the kernel code (``kernels.update`` branches on it), the
names of its state arrays (one of each per parameter array, shaped like
it), its hyperparameters as the three floats the kernels take, and its
numpy twin step (``fastmlp.reference.sgd_epoch`` runs it). Adding an
optimizer means adding its dataclass and row here, its update step in
``kernels.update`` and its twin step below; nothing else.

The update rules are scikit-learn's (``sklearn.neural_network._stochastic_optimizers``),
in its order of operations, so that its weights can be matched:

- SGD: ``v = mu * v - lr * g``, then ``p += v`` (classical) or
  ``p += mu * v - lr * g`` with the new ``v`` (Nesterov); without momentum
  ``p -= lr * g`` and no state.
- Adam: ``t += 1``, ``m = b1 * m + (1 - b1) * g``, ``v = b2 * v + (1 - b2) * g**2``,
  ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)``, ``p += -lr_t * m / (sqrt(v) + eps)``.

The step count ``t`` lives in a one-element int64 array that the kernels
advance in place, so a run resumed from saved state continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import (
    as_bool,
    as_choice,
    as_momentum,
    as_nonnegative,
    as_positive,
    as_unit_interval,
    describe,
    reject,
)

#: Kernel codes of the update rules (see ``OPTIMIZERS``).
SGD_CODE, ADAM_CODE = 0, 1


def as_l2(value: float) -> float:
    """Return an L2 penalty (scikit-learn's ``alpha``) >= 0 as float, else raise naming ``l2``."""
    return as_nonnegative("l2", value)


#: How a step divides its summed gradient: by its rows, or by their summed sample weights.
AVERAGES = ("rows", "weights")


def as_average(value: str) -> str:
    """Return ``value`` if it is one of ``AVERAGES``, else raise naming ``average``."""
    return as_choice("average", value, AVERAGES)


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent, with optional classical or Nesterov momentum.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        Momentum coefficient in [0, 1); 0 is plain SGD, which keeps no state.
    nesterov : bool
        Nesterov's momentum: step by ``momentum * v - lr * g`` with the new
        velocity ``v`` instead of by ``v``.
    """

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        object.__setattr__(self, "lr", float(as_positive("lr", self.lr)))
        object.__setattr__(self, "momentum", as_momentum(self.momentum))
        object.__setattr__(self, "nesterov", as_bool("nesterov", self.nesterov))

    def new_state(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> State:
        """Return zeroed state for a network with these ``weights`` and ``biases``."""
        return State.zeros(self, weights, biases)

    def load_state(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        arrays: Mapping[str, np.ndarray],
    ) -> State:
        """Return state that holds ``arrays`` (named as ``State.arrays`` names them), checked.

        The arrays are used, not copied: the kernels update them in place.
        """
        return State.adopt(self, weights, biases, arrays)


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma and Ba, 2014), with scikit-learn's bias correction folded into the rate.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    beta1, beta2 : float
        Decay rates in [0, 1) of the first and second moment estimates.
    eps : float
        Added to ``sqrt(v)`` before dividing, > 0.
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        object.__setattr__(self, "lr", float(as_positive("lr", self.lr)))
        object.__setattr__(self, "beta1", as_unit_interval("beta1", self.beta1))
        object.__setattr__(self, "beta2", as_unit_interval("beta2", self.beta2))
        object.__setattr__(self, "eps", float(as_positive("eps", self.eps)))

    new_state = SGD.new_state
    load_state = SGD.load_state


Optimizer = SGD | Adam


def _sgd_twin_step(opt, lr, t, param, grad, slots):
    """Step ``param`` in place by SGD at rate ``lr``, with ``slots = [velocity]`` under momentum."""
    if not opt.momentum:
        param -= lr * grad
        return
    (velocity,) = slots
    velocity *= opt.momentum
    velocity -= lr * grad
    param += opt.momentum * velocity - lr * grad if opt.nesterov else velocity


def _adam_twin_step(opt, lr, t, param, grad, slots):
    """Step ``param`` in place by Adam at rate ``lr``, step ``t`` (from 1), ``slots = [m, v]``."""
    m, v = slots
    m *= opt.beta1
    m += (1 - opt.beta1) * grad
    v *= opt.beta2
    v += (1 - opt.beta2) * grad**2
    lr_t = param.dtype.type(adam_rate(lr, opt.beta1, opt.beta2, t))
    param += -lr_t * m / (np.sqrt(v) + opt.eps)


def adam_rate(lr: float, beta1: float, beta2: float, t: int) -> float:
    """Return Adam's bias-corrected rate ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` in float64.

    In float64 even for float32 networks, then cast: ``1 - beta2**t`` cancels
    (0.999**1 in float32 is 0.99900001, so ``1 - beta2`` would be off by 1e-5
    relative), and scikit-learn computes the rate with Python floats.
    """
    return lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)


class Rule(NamedTuple):
    """An optimizer's row in ``OPTIMIZERS``."""

    #: Kernel code, branched on in ``kernels.update``.
    code: int
    #: Names of the state arrays kept per parameter array, for an instance.
    slots: Callable[[Optimizer], tuple[str, ...]]
    #: The hyperparameters the kernels take besides the rate, three floats.
    hyper: Callable[[Optimizer], tuple[float, float, float]]
    #: The numpy twin of the kernel's step: ``twin(opt, lr, t, param, grad, slots)``.
    twin: Callable
    #: Whether the state lists the step count ``t`` (the update reads it).
    counts_steps: bool


#: Every optimizer, by class.
OPTIMIZERS = {
    SGD: Rule(
        SGD_CODE,
        lambda o: ("velocity",) if o.momentum else (),
        lambda o: (o.momentum, float(o.nesterov), 0.0),
        _sgd_twin_step,
        False,
    ),
    Adam: Rule(
        ADAM_CODE,
        lambda o: ("m", "v"),
        lambda o: (o.beta1, o.beta2, o.eps),
        _adam_twin_step,
        True,
    ),
}


#: Every optimizer, by the name ``train(optimizer=...)`` and ``--optimizer`` take.
BY_NAME = {cls.__name__.lower(): cls for cls in OPTIMIZERS}


def rule(optimizer: Optimizer) -> Rule:
    """Return ``optimizer``'s row of ``OPTIMIZERS``, or raise a TypeError naming the options."""
    if type(optimizer) not in OPTIMIZERS:
        names = ", ".join(f"fastmlp.{cls.__name__}" for cls in OPTIMIZERS)
        raise reject("optimizer-type", "optimizer", choices=names, value=optimizer)
    return OPTIMIZERS[type(optimizer)]


def velocity_state(
    optimizer: SGD,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    velocities: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
) -> State:
    """Return ``optimizer``'s state holding momentum ``velocities = (VWs, vbs)``, checked.

    ``velocities`` is the older form of SGD's state (``train(velocities=...)``).
    """
    named = {f"velocity_w{l}": V for l, V in enumerate(velocities[0])}
    named.update({f"velocity_b{l}": v for l, v in enumerate(velocities[1])})
    return optimizer.load_state(weights, biases, named)


class State:
    """An optimizer's state for one network: arrays shaped like its parameters, and ``t``.

    ``weights[name]`` and ``biases[name]`` are tuples with one array per layer
    for each of the optimizer's slot names (``"velocity"``; ``"m"``, ``"v"``);
    ``t`` is a one-element int64 array, the number of steps taken. Make one
    with ``optimizer.new_state`` or ``optimizer.load_state``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        weights: dict[str, tuple[np.ndarray, ...]],
        biases: dict[str, tuple[np.ndarray, ...]],
        t: np.ndarray,
    ):
        self.optimizer, self.weights, self.biases, self.t = optimizer, weights, biases, t

    @classmethod
    def zeros(cls, optimizer, weights, biases):
        """Return zeroed state of ``optimizer`` for a network of ``weights`` and ``biases``."""
        slots = rule(optimizer).slots(optimizer)
        return cls(
            optimizer,
            {s: tuple(np.zeros_like(W) for W in weights) for s in slots},
            {s: tuple(np.zeros_like(b) for b in biases) for s in slots},
            np.zeros(1, np.int64),
        )

    @classmethod
    def adopt(cls, optimizer, weights, biases, arrays):
        """Return state of ``optimizer`` holding ``arrays`` (see ``arrays``), each checked."""
        want = cls.zeros(optimizer, weights, biases).arrays()
        if not isinstance(arrays, Mapping) or set(arrays) != set(want):
            found = sorted(arrays) if isinstance(arrays, Mapping) else type(arrays).__name__
            raise reject("state-names", "state", names=sorted(want), found=found)
        for name, like in want.items():
            got = arrays[name]
            ok = type(got) is np.ndarray and got.shape == like.shape and got.dtype == like.dtype
            if not ok or not got.flags.c_contiguous or not got.flags.writeable:
                raise reject(
                    "buffer-array",
                    "state",
                    what=name,
                    dtype=like.dtype,
                    shape=like.shape,
                    found=describe(got),
                )
        slots = rule(optimizer).slots(optimizer)
        layers = range(len(weights))
        return cls(
            optimizer,
            {s: tuple(arrays[f"{s}_w{l}"] for l in layers) for s in slots},
            {s: tuple(arrays[f"{s}_b{l}"] for l in layers) for s in slots},
            arrays.get("t", np.zeros(1, np.int64)),
        )

    def flat(self) -> list[np.ndarray]:
        """Return the live arrays in the order checkpoints store them, ``t`` last if listed.

        Per slot, every layer's weights' array, then every layer's biases': for
        momentum the order of the ``(VWs, vbs)`` velocities checkpoints held before.
        """
        named = self.arrays()
        flat = []
        for slot in self.weights:
            layers = range(len(self.weights[slot]))
            flat += [named[f"{slot}_w{l}"] for l in layers] + [
                named[f"{slot}_b{l}"] for l in layers
            ]
        return flat + ([named["t"]] if "t" in named else [])

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the state's live arrays by name: ``<slot>_w<l>``, ``<slot>_b<l>`` and ``t``.

        ``t`` is listed only for an optimizer whose update reads it (Adam).
        """
        named = {}
        for slot, arrays in self.weights.items():
            named.update({f"{slot}_w{l}": W for l, W in enumerate(arrays)})
            named.update({f"{slot}_b{l}": b for l, b in enumerate(self.biases[slot])})
        if rule(self.optimizer).counts_steps:
            named["t"] = self.t
        return named
