"""Learning-rate schedules: the learning rate of each epoch.

A schedule is called as ``schedule(epoch, epochs)`` with the 0-based epoch
and the planned number of epochs. ``train(lr_schedule=...)`` also takes any
callable ``epoch -> lr``, or one of the names in ``SCHEDULES`` (built with
the ``lr`` passed to ``train``).
"""

import numbers

from ._checks import as_positive


class Schedule:
    """Base class: subclasses define ``__call__(epoch, epochs)``."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The same rate every epoch."""

    def __init__(self, lr):
        self.lr = as_positive("lr", lr)

    def __call__(self, epoch, epochs=None):
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``."""
        return self.lr


class StepDecay(Schedule):
    """``lr * factor ** (epoch // every)``: multiply by ``factor`` every ``every`` epochs."""

    def __init__(self, lr, factor=0.5, every=10):
        self.lr = as_positive("lr", lr)
        self.factor = as_positive("factor", factor)
        self.every = as_positive("every", every, numbers.Integral)

    def __call__(self, epoch, epochs=None):
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``."""
        return self.lr * self.factor ** (epoch // self.every)


class InverseScaling(Schedule):
    """``lr / (epoch + 1) ** power``."""

    def __init__(self, lr, power=0.5):
        self.lr = as_positive("lr", lr)
        self.power = as_positive("power", power)

    def __call__(self, epoch, epochs=None):
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``."""
        return self.lr / (epoch + 1) ** self.power


class LowerAtEnd(Schedule):
    """``lr``, then ``lr * factor`` for the last ``last`` epochs of the run."""

    def __init__(self, lr, factor=0.1, last=1):
        self.lr = as_positive("lr", lr)
        self.factor = as_positive("factor", factor)
        self.last = as_positive("last", last, numbers.Integral)

    def __call__(self, epoch, epochs=None):
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``."""
        if epochs is not None and epoch >= epochs - self.last:
            return self.lr * self.factor
        return self.lr


class Piecewise(Schedule):
    """A stepped schedule: ``{first_epoch: lr, ...}``, each rate holding until the next."""

    def __init__(self, rates):
        if not rates or 0 not in rates:
            raise ValueError(
                f"rates: expected a dict of epoch -> lr starting at epoch 0, found {rates!r}"
            )
        self.rates = {int(e): as_positive(f"rates[{e}]", r) for e, r in sorted(rates.items())}

    def __call__(self, epoch, epochs=None):
        """Return the learning rate of ``epoch`` (0-based) in a run of ``epochs``."""
        return self.rates[max(e for e in self.rates if e <= epoch)]


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "invscaling": InverseScaling,
    "lower-at-end": LowerAtEnd,
}


def as_schedule(lr_schedule, lr):
    """Return a callable ``(epoch, epochs) -> lr`` for what ``train`` accepts as ``lr_schedule``."""
    if lr_schedule is None:
        return Constant(lr)
    if isinstance(lr_schedule, str):
        if lr_schedule not in SCHEDULES:
            raise ValueError(
                f"lr_schedule: expected one of {sorted(SCHEDULES)}, a Schedule or a callable, "
                f"found {lr_schedule!r}"
            )
        return SCHEDULES[lr_schedule](lr)
    if isinstance(lr_schedule, Schedule):
        return lr_schedule
    if callable(lr_schedule):
        return lambda epoch, epochs=None: lr_schedule(epoch)
    raise TypeError(
        f"lr_schedule: expected a name, a Schedule or a callable, found {lr_schedule!r}"
    )
