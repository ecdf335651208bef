"""``TrainSettings``: every training hyperparameter, defined once.

Each field carries, in its metadata, what everything else derives from it:
its validation (a rule of ``fastmlp._checks``), its help text, whether a
checkpoint must have been written with the same value to be resumed (the
resume fingerprint), and how the ``fastmlp`` command spells it. ``train``'s
keyword arguments, ``History.config``, the checkpoint's fingerprint,
``experiments.Config`` and the command's flags all come from here, so adding
a hyperparameter is adding a field below (and its keyword to ``train``, which
a test holds to these fields). The drop-in estimators keep scikit-learn's
parameter names and build a ``TrainSettings`` from them
(``fastmlp._sklearn_fit.fit_stochastic``).
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Callable
from dataclasses import field
from typing import Any

import numpy as np

from ._checks import (
    as_bool,
    as_choice,
    as_count,
    as_momentum,
    as_nonnegative,
    as_positive,
    reject,
)
from .callbacks import EarlyStopping, as_early_stopping
from .objective import BACKENDS
from .optimizers import AVERAGES, BY_NAME, Optimizer, as_average, as_l2, rule
from .schedules import SCHEDULES, Schedule, as_schedule

#: What a run's fingerprint holds besides the settings: the model and the data.
RUN_FINGERPRINT = (
    *("sizes", "activation", "output", "dtype"),
    *("n_samples", "data_sha256", "validation_sha256"),
)


@dataclasses.dataclass(frozen=True)
class Setting:
    """The metadata of one hyperparameter (see ``hyperparameter``)."""

    help: str
    check: Callable[[Any], Any]
    resume: bool
    flag: str | None
    kind: str
    record: Callable[[Any, TrainSettings], Any] | None
    choices: tuple[str, ...] | None
    doc: tuple[str, str]


def hyperparameter(
    help: str,
    check: Callable[[Any], Any],
    *,
    resume: bool = True,
    flag: str | None = "",
    kind: str = "value",
    record: Callable[[Any, TrainSettings], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    doc: tuple[str, str] = ("", ""),
) -> dict[str, Setting]:
    """Return the metadata of a ``TrainSettings`` field: ``field(default=..., metadata=...)``.

    Parameters
    ----------
    help : str
        One line for the command's ``--help`` (and for readers).
    check : callable
        ``check(value)`` returns the value as training uses it, or raises a
        ``TypeError``/``ValueError`` naming the argument.
    resume : bool
        A checkpoint resumes only a run with the same value.
    flag : str or None
        The command-line flag; ``""`` derives ``--name-with-dashes``, None
        keeps the setting off the command line.
    kind : {"value", "count", "natural", "choice", "switch"}
        How the command parses it: a number passed to ``check``, an integer
        >= 1 or >= 0, one of ``choices``, or a ``--x/--no-x`` switch.
    record : callable, optional
        ``record(checked, settings)``: the JSON value in ``History.config``
        (default: the checked value).
    choices : tuple of str, optional
        The values the command offers (``kind="choice"``).
    doc : (str, str)
        The type and the description in ``train``'s docstring (numpydoc).

    Returns
    -------
    dict
        ``{"setting": Setting(...)}``.
    """
    return {"setting": Setting(help, check, resume, flag, kind, record, choices, doc)}


def _positive_int(name):
    return lambda value: int(as_positive(name, value, numbers.Integral))


def _seed(value):
    # The orders' generator takes what numpy's default_rng takes; its errors name ``seed``.
    try:
        np.random.default_rng(value)
    except (TypeError, ValueError) as error:
        key = "default-rng-type" if isinstance(error, TypeError) else "default-rng"
        raise reject(key, "seed", value=value, error=error) from None
    return value


def _rate(value):
    return None if value is None else float(as_positive("lr", value))


def _optimizer(value):
    if isinstance(value, str):
        return as_choice("optimizer", value, tuple(BY_NAME))
    rule(value)  # raises naming the optimizer for anything but a known optimizer object
    return value


def _resolve_optimizer(checked):
    """Return ``optimizer``, ``lr`` and ``momentum`` as a run uses them: one object, its values.

    A name builds the optimizer from ``lr`` (default: the optimizer's own) and,
    for sgd, ``momentum``. An object carries its own rate and momentum: ``lr``
    or ``momentum`` given beside it must agree with it, not be silently dropped.
    """
    optimizer, lr, momentum = checked["optimizer"], checked["lr"], checked["momentum"]
    if isinstance(optimizer, str):
        kind = BY_NAME[optimizer]
        with_momentum = "momentum" in {f.name for f in dataclasses.fields(kind)}
        if momentum and not with_momentum:
            raise reject("momentum-unused", "momentum", optimizer=optimizer, value=momentum)
        given = {"lr": lr} if lr is not None else {}
        optimizer = kind(**given, **({"momentum": momentum} if with_momentum else {}))
    else:
        if lr is not None and lr != optimizer.lr:
            raise reject("rate-conflict", "lr", optimizer=optimizer, value=lr)
        if momentum and momentum != getattr(optimizer, "momentum", None):
            raise reject("momentum-conflict", "momentum", optimizer=optimizer, value=momentum)
    return {
        "optimizer": optimizer,
        "lr": optimizer.lr,
        "momentum": getattr(optimizer, "momentum", 0.0),
    }


def _schedule(value):
    as_schedule(value, 1.0)  # the type and name; the rate is ``lr``'s, checked on its own
    return value


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """The hyperparameters of a training run, checked on construction.

    Values are kept as given (so that a ``Config`` built from them compares
    and prints as written); ``checked`` holds them as training uses them.
    See ``fastmlp.train`` for the meaning of each.
    """

    epochs: int = field(
        default=1,
        metadata=hyperparameter(
            "passes over the training set",
            _positive_int("epochs"),
            resume=False,
            kind="count",
            doc=("int", "Passes over the data (fewer if training stops early)."),
        ),
    )
    lr: float | None = field(
        default=None,
        metadata=hyperparameter(
            "learning rate (default: the optimizer's; 0.01 for sgd, 0.001 for adam)",
            _rate,
            doc=(
                "float, optional",
                "Learning rate (the base rate of a named ``lr_schedule``). By default\n"
                "the optimizer's own (``fastmlp.SGD``: 0.01, ``fastmlp.Adam``: 0.001);\n"
                "given beside an ``optimizer`` object, it must be that object's rate.",
            ),
        ),
    )
    batch_size: int = field(
        default=1,
        metadata=hyperparameter(
            "samples per SGD step, gradients averaged",
            _positive_int("batch_size"),
            kind="count",
            doc=(
                "int",
                "Rows per step. 1 is per-sample SGD; otherwise each step follows the\n"
                "mean gradient of its rows, and the epoch's last step takes the rows\n"
                "left over (it may be smaller). Larger than the data: one full batch\n"
                "(with a warning).",
            ),
        ),
    )
    shuffle: bool = field(
        default=True,
        metadata=hyperparameter(
            "visit the rows in a new random order each epoch",
            functools.partial(as_bool, "shuffle"),
            kind="switch",
            doc=("bool", "Visit the rows in a fresh random order each epoch (else in order)."),
        ),
    )
    seed: Any = field(
        default=0,
        metadata=hyperparameter(
            "seed of the sample orders (and of the model, where the run makes it)",
            _seed,
            kind="natural",
            doc=(
                "int",
                "Seed of the ``np.random.Generator`` that draws the orders. The orders\n"
                "are drawn in numpy for both backends, so a seed fixes the run.",
            ),
        ),
    )
    backend: str = field(
        default="numba",
        metadata=hyperparameter(
            "numba kernels, or the numpy reference",
            functools.partial(as_choice, "backend", choices=BACKENDS),
            kind="choice",
            choices=BACKENDS,
            doc=(
                '{"numba", "numpy"}',
                '``"numba"`` runs the compiled kernels; ``"numpy"`` the reference twin.',
            ),
        ),
    )
    momentum: float = field(
        default=0.0,
        metadata=hyperparameter(
            "momentum coefficient, in [0, 1)",
            as_momentum,
            doc=("float", "Classical momentum in [0, 1), applied inside the kernels."),
        ),
    )
    weight_decay: float = field(
        default=0.0,
        metadata=hyperparameter(
            "L2 weight-decay coefficient, >= 0",
            functools.partial(as_nonnegative, "weight_decay"),
            doc=("float", "L2 penalty ``weight_decay / 2 * |W|^2`` on the weights (not biases)."),
        ),
    )
    lr_schedule: str | Schedule | Callable[[int], float] | None = field(
        default=None,
        metadata=hyperparameter(
            "learning-rate schedule (default: constant)",
            _schedule,
            flag="--schedule",
            kind="choice",
            choices=tuple(sorted(SCHEDULES)),
            record=lambda value, settings: repr(settings.schedule),
            doc=(
                "str, Schedule or callable, optional",
                '``"constant"``, ``"step"``, ``"invscaling"``, ``"lower-at-end"``, a\n'
                "``fastmlp.schedules.Schedule`` or any callable ``epoch -> lr``.",
            ),
        ),
    )
    early_stopping: bool | int | EarlyStopping | None = field(
        default=None,
        metadata=hyperparameter(
            "stop after this many epochs without a lower validation loss, keeping the best "
            "epoch (default: off)",
            as_early_stopping,
            kind="count",
            record=lambda value, settings: repr(value),
            doc=(
                "bool, int or EarlyStopping, optional",
                "Stop when the validation loss stops improving (an int is the\n"
                "patience) and restore the best epoch's parameters. Needs ``validation``\n"
                "(unless an ``EarlyStopping`` monitors the training loss).",
            ),
        ),
    )
    initial_epoch: int = field(
        default=0,
        metadata=hyperparameter(
            "epochs trained already: the schedule goes on from there",
            functools.partial(as_count, "initial_epoch"),
            flag=None,
            doc=(
                "int",
                "Epochs the model has been trained already, for training in several\n"
                "calls: the schedule continues from there (it sees epoch\n"
                "``initial_epoch + e`` of ``initial_epoch + epochs``).",
            ),
        ),
    )
    optimizer: str | Optimizer = field(
        default="sgd",
        metadata=hyperparameter(
            "the update rule: sgd (with --momentum) or adam, at rate --lr",
            _optimizer,
            kind="choice",
            choices=tuple(BY_NAME),
            record=lambda value, settings: repr(value),
            doc=(
                "str, SGD or Adam",
                '``"sgd"`` or ``"adam"`` (at rate ``lr``, with ``momentum`` for sgd),\n'
                "or an optimizer object, ``fastmlp.SGD(lr, momentum, nesterov)`` or\n"
                "``fastmlp.Adam(lr, beta1, beta2, eps)``, which carries its own rate.",
            ),
        ),
    )
    l2: float = field(
        default=0.0,
        metadata=hyperparameter(
            "L2 penalty on the weights (scikit-learn's alpha), >= 0",
            as_l2,
            doc=(
                "float",
                "L2 penalty with scikit-learn's ``alpha`` meaning: each step adds\n"
                "``l2 * W`` to the summed gradient of its rows before dividing by the\n"
                "step's divisor (see ``average``), and its loss carries\n"
                "``l2 / 2 * |W|^2`` over the same divisor. Weights only.",
            ),
        ),
    )
    average: str = field(
        default="rows",
        metadata=hyperparameter(
            "what a step divides its summed gradient by: its rows, or their sample weights",
            as_average,
            kind="choice",
            choices=AVERAGES,
            doc=(
                '{"rows", "weights"}',
                "A step's divisor: its row count, or (as scikit-learn) the sum of its\n"
                "rows' sample weights.",
            ),
        ),
    )
    # New hyperparameters go here: a field with its default, help text, check,
    # resume rule and flag (see ``hyperparameter``), and its keyword in ``train``.

    def __post_init__(self) -> None:
        checked = {f.name: f.metadata["setting"].check(getattr(self, f.name)) for f in fields()}
        checked.update(_resolve_optimizer(checked))
        # Not a field: it takes no part in equality, hashing or ``replace``.
        object.__setattr__(self, "checked", checked)

    @property
    def schedule(self) -> Callable[..., float]:
        """The learning-rate schedule: ``schedule(epoch, epochs) -> lr``."""
        return as_schedule(self.lr_schedule, self.checked["lr"])

    def kwargs(self) -> dict[str, Any]:
        """Return the settings, as given, as ``train``'s keywords (a subclass's own fields not)."""
        return {f.name: getattr(self, f.name) for f in fields()}

    def replace(self, **changes: Any) -> TrainSettings:
        """Return a copy with the fields in ``changes`` replaced (and checked)."""
        return dataclasses.replace(self, **changes)

    def record(self) -> dict[str, Any]:
        """Return the settings as ``History.config`` records them (JSON-ready)."""
        out = {}
        for f in fields():
            rule = f.metadata["setting"].record
            value = self.checked[f.name]
            out[f.name] = value if rule is None else rule(value, self)
        return out


def numpydoc() -> str:
    """Return the numpydoc entries of every setting, for ``train``'s docstring."""
    entries = []
    for f in fields():
        kind, text = f.metadata["setting"].doc
        entries.append(
            f"{f.name} : {kind}\n" + "\n".join(f"    {line}" for line in text.split("\n"))
        )
    return "\n".join(entries)


def fields() -> tuple[dataclasses.Field, ...]:
    """Return the fields of ``TrainSettings``, in order (each with a ``Setting``)."""
    return dataclasses.fields(TrainSettings)


def fingerprint() -> tuple[str, ...]:
    """Return the ``History.config`` keys a checkpoint must share with the run it resumes."""
    return (*RUN_FINGERPRINT, *(f.name for f in fields() if f.metadata["setting"].resume))
