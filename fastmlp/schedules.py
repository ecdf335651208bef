"""Learning-rate schedules: the learning rate of each epoch.

A schedule is called as ``schedule(epoch, epochs)`` with the 0-based epoch
and the planned number of epochs. ``train(lr_schedule=...)`` also takes any
callable ``epoch -> lr``, or one of the names in ``SCHEDULES`` (built with
the ``lr`` passed to ``train``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping

from ._checks import as_positive, reject


class Schedule:
    """Base class: subclasses define ``__call__(epoch, epochs)``."""

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``.

        Parameters
        ----------
        epoch : int
            The epoch, counted from 0.
        epochs : int, optional
            The planned number of epochs of the run (only ``LowerAtEnd`` needs it).

        Returns
        -------
        float
            The learning rate.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The same rate every epoch.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    """

    def __init__(self, lr: float) -> None:
        self.lr = as_positive("lr", lr)

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        return self.lr


class StepDecay(Schedule):
    """``lr * factor ** (epoch // every)``: multiply by ``factor`` every ``every`` epochs.

    Parameters
    ----------
    lr : float
        The learning rate of the first epochs (> 0).
    factor : float
        The multiplier (> 0).
    every : int
        Epochs between multiplications (>= 1).
    """

    def __init__(self, lr: float, factor: float = 0.5, every: int = 10) -> None:
        self.lr = as_positive("lr", lr)
        self.factor = as_positive("factor", factor)
        self.every = as_positive("every", every, numbers.Integral)

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        return self.lr * self.factor ** (epoch // self.every)


class InverseScaling(Schedule):
    """``lr / (epoch + 1) ** power``.

    Parameters
    ----------
    lr : float
        The learning rate of epoch 0 (> 0).
    power : float
        The exponent (> 0).
    """

    def __init__(self, lr: float, power: float = 0.5) -> None:
        self.lr = as_positive("lr", lr)
        self.power = as_positive("power", power)

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        return self.lr / (epoch + 1) ** self.power


class LowerAtEnd(Schedule):
    """``lr``, then ``lr * factor`` for the last ``last`` epochs of the run.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    factor : float
        The multiplier of the last epochs (> 0).
    last : int
        How many epochs at the end of the run are lowered (>= 1).
    """

    def __init__(self, lr: float, factor: float = 0.1, last: int = 1) -> None:
        self.lr = as_positive("lr", lr)
        self.factor = as_positive("factor", factor)
        self.last = as_positive("last", last, numbers.Integral)

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        if epochs is not None and epoch >= epochs - self.last:
            return self.lr * self.factor
        return self.lr


class Piecewise(Schedule):
    """A stepped schedule: ``{first_epoch: lr, ...}``, each rate holding until the next.

    Parameters
    ----------
    rates : mapping of int to float
        Each rate (> 0) by the first epoch it applies to; must include epoch 0.
    """

    def __init__(self, rates: Mapping[int, float]) -> None:
        if not rates or 0 not in rates:
            raise reject("rates", "rates", value=rates)
        self.rates = {int(e): as_positive(f"rates[{e}]", r) for e, r in sorted(rates.items())}

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        return self.rates[max(e for e in self.rates if e <= epoch)]


class Function(Schedule):
    """A callable ``epoch -> lr`` as a schedule.

    Its ``repr`` (part of a run's settings, compared when a checkpoint is
    resumed) names the callable by module and qualified name, never by its
    memory address, so it is the same in a new process. That name says
    nothing about what the callable computes: a resumed run is also checked
    against the learning rates the checkpoint recorded for its completed
    epochs (``checkpoint.restore``).

    Parameters
    ----------
    function : callable
        Called as ``function(epoch)``; returns the learning rate.
    """

    def __init__(self, function: Callable[[int], float]) -> None:
        self.function = function

    def __call__(self, epoch: int, epochs: int | None = None) -> float:
        """See ``Schedule.__call__``."""
        return self.function(epoch)

    def __repr__(self) -> str:
        function = self.function
        name = getattr(function, "__qualname__", type(function).__qualname__)
        return f"Function({getattr(function, '__module__', None)}.{name})"


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "invscaling": InverseScaling,
    "lower-at-end": LowerAtEnd,
}


def as_schedule(
    lr_schedule: str | Schedule | Callable[[int], float] | None, lr: float
) -> Callable[..., float]:
    """Return a callable ``(epoch, epochs) -> lr`` for what ``train`` accepts as ``lr_schedule``.

    Parameters
    ----------
    lr_schedule : str, Schedule, callable or None
        A name in ``SCHEDULES`` (built with ``lr``), a ``Schedule``, a
        callable ``epoch -> lr``, or None for ``Constant(lr)``.
    lr : float
        The base learning rate, used by names and None.

    Returns
    -------
    callable
        Called as ``schedule(epoch, epochs=None)``; returns the learning rate.

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For anything else that is not callable.
    """
    if lr_schedule is None:
        return Constant(lr)
    if isinstance(lr_schedule, str):
        if lr_schedule not in SCHEDULES:
            raise reject(
                "schedule-name", "lr_schedule", choices=sorted(SCHEDULES), value=lr_schedule
            )
        return SCHEDULES[lr_schedule](lr)
    if isinstance(lr_schedule, Schedule):
        return lr_schedule
    if callable(lr_schedule):
        return Function(lr_schedule)
    raise reject("schedule-type", "lr_schedule", value=lr_schedule)
