"""The drop-in estimators' parameters: scikit-learn's names, defaults and checks.

``PARAMETERS`` is the one table: each entry names a parameter, its default
and what it must be, declared as scikit-learn's ``_parameter_constraints``
are. ``check_params`` raises scikit-learn's ``InvalidParameterError`` (a
``ValueError`` and a ``TypeError``) with its message, so code that catches
scikit-learn's errors keeps working.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # scikit-learn is optional

    class InvalidParameterError(ValueError, TypeError):
        """A constructor parameter has a value scikit-learn's rules refuse."""


class Interval(NamedTuple):
    """Numbers of ``kind`` ("int" or "real") between ``lo`` and ``hi`` (None: unbounded)."""

    kind: str
    lo: float | None
    hi: float | None
    closed: str  # "left", "right", "both" or "neither"

    def accepts(self, value: Any) -> bool:
        # As scikit-learn's: a bool is an int (and a real); an unbounded side is open.
        if not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        if self.kind == "int" and not isinstance(value, numbers.Integral):
            return False
        if self.lo is None:
            low_ok = value > -math.inf
        else:
            low_ok = value >= self.lo if self.closed in ("left", "both") else value > self.lo
        if self.hi is None:
            high_ok = value < math.inf
        else:
            high_ok = value <= self.hi if self.closed in ("right", "both") else value < self.hi
        return low_ok and high_ok

    def __str__(self) -> str:
        kind = "an int" if self.kind == "int" else "a float"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        lo = "-inf" if self.lo is None else (self.lo if self.kind == "int" else float(self.lo))
        hi = "inf" if self.hi is None else (self.hi if self.kind == "int" else float(self.hi))
        return f"{kind} in the range {left}{lo}, {hi}{right}"


class Options(NamedTuple):
    """One of the given strings."""

    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return f"a str among {set(self.values)}"


class Kind(NamedTuple):
    """A kind of value scikit-learn names: boolean, array-like, random_state, verbose, inf."""

    name: str

    def accepts(self, value: Any) -> bool:
        if self.name == "boolean":
            return isinstance(value, (bool, np.bool_))
        if self.name == "array-like":
            return not isinstance(value, str) and (
                hasattr(value, "__len__") or hasattr(value, "shape")
            )
        if self.name == "random_state":
            if isinstance(value, numbers.Integral):
                return 0 <= value <= 2**32 - 1
            return value is None or isinstance(value, np.random.RandomState)
        if self.name == "verbose":
            return isinstance(value, (numbers.Integral, bool, np.bool_))
        if self.name == "inf":
            return isinstance(value, numbers.Real) and value == np.inf
        if self.name == "none":
            return value is None
        if self.name == "str":
            return isinstance(value, str)
        if self.name == "callable":
            return callable(value) or hasattr(value, "rate")
        raise AssertionError(self.name)

    def __str__(self) -> str:
        return {
            "boolean": "an instance of 'bool' or an instance of 'numpy.bool'",
            "array-like": "an array-like",
            "random_state": "an int in the range [0, 4294967295], an instance of "
            "'numpy.random.mtrand.RandomState' or None",
            "verbose": "an int or a bool",
            "inf": "a float among {inf}",
            "none": "None",
            "str": "a str",
            "callable": "a callable or a fastmlp Schedule",
        }[self.name]


_POSITIVE = Interval("real", 0, None, "neither")
_NONNEGATIVE = Interval("real", 0, None, "left")
_FRACTION = Interval("real", 0, 1, "left")
_COUNT = Interval("int", 1, None, "left")

#: scikit-learn's parameters in its order: name -> (default, constraints).
PARAMETERS: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "hidden_layer_sizes": ((100,), (Kind("array-like"), _COUNT)),
    "activation": ("relu", (Options(("identity", "logistic", "tanh", "relu")),)),
    "solver": ("adam", (Options(("lbfgs", "sgd", "adam")),)),
    "alpha": (0.0001, (_NONNEGATIVE,)),
    "batch_size": ("auto", (Options(("auto",)), _COUNT)),
    "learning_rate": ("constant", (Options(("constant", "invscaling", "adaptive")),)),
    "learning_rate_init": (0.001, (_POSITIVE,)),
    "power_t": (0.5, (_NONNEGATIVE,)),
    "max_iter": (200, (_COUNT,)),
    "shuffle": (True, (Kind("boolean"),)),
    "random_state": (None, (Kind("random_state"),)),
    "tol": (1e-4, (_NONNEGATIVE,)),
    "verbose": (False, (Kind("verbose"),)),
    "warm_start": (False, (Kind("boolean"),)),
    "momentum": (0.9, (Interval("real", 0, 1, "both"),)),
    "nesterovs_momentum": (True, (Kind("boolean"),)),
    "early_stopping": (False, (Kind("boolean"),)),
    "validation_fraction": (0.1, (_FRACTION,)),
    "beta_1": (0.9, (_FRACTION,)),
    "beta_2": (0.999, (_FRACTION,)),
    "epsilon": (1e-8, (_POSITIVE,)),
    "n_iter_no_change": (10, (_COUNT, Kind("inf"))),
    "max_fun": (15000, (_COUNT,)),
    # fastmlp's own, keyword-only at the end.
    "dtype": (None, (Kind("none"), Options(("float32", "float64")))),
    "backend": ("numba", (Options(("numba", "numpy")),)),
    "lr_schedule": (None, (Kind("none"), Kind("str"), Kind("callable"))),
}

#: The regressor's own parameter, first in its signature.
LOSS = ("squared_error", (Options(("squared_error", "poisson")),))


def _describe(constraints: tuple[Any, ...]) -> str:
    words = [str(c) for c in constraints]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def check_params(estimator: Any, table: dict[str, tuple[Any, tuple[Any, ...]]]) -> None:
    """Raise ``InvalidParameterError`` for the first parameter its constraints refuse.

    Parameters
    ----------
    estimator : object
        Holds the parameters as attributes (its class's name is in the message).
    table : dict
        ``PARAMETERS`` (plus ``LOSS`` for the regressor).
    """
    for name, (_, constraints) in table.items():
        value = getattr(estimator, name)
        if not any(c.accepts(value) for c in constraints):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be "
                f"{_describe(constraints)}. Got {value!r} instead."
            )
