"""Reading an estimator file back: the drop-in's own, and those of fastmlp's earlier estimator.

Files written before the drop-in (no ``format`` in their metadata) used
fastmlp's own parameter names: ``learning_rate`` was the rate (now
``learning_rate_init``, with ``solver="sgd"`` and classical momentum),
``max_epochs`` the epochs (``max_iter``), ``sigmoid`` the logistic
activation, and there was no L2 penalty (``alpha=0``). ``LEGACY`` maps
each; what has no equivalent is kept and named in a warning, never dropped
in silence.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import is_classifier

from . import io

#: The earlier estimator's parameters and what each becomes: a new name, or a
#: function of the value returning the new parameters it sets.
LEGACY = {
    "learning_rate": lambda v: {"learning_rate_init": v, "learning_rate": "constant"},
    "max_epochs": lambda v: {"max_iter": v},
    "activation": lambda v: {"activation": "logistic" if v == "sigmoid" else v},
    "validation_fraction": lambda v: {"validation_fraction": 0.1 if v is None else v},
}
#: What the earlier estimator did that the new defaults do not.
LEGACY_DEFAULTS = {"solver": "sgd", "alpha": 0.0, "momentum": 0.0, "nesterovs_momentum": False}

#: Fitted attributes a file may carry, and what each must be.
STATE = {
    "n_iter_": "an integer >= 0",
    "t_": "an integer >= 0",
    "loss_": "a number or None",
    "loss_curve_": "a list of numbers",
    "best_loss_": "a number or None",
    "validation_scores_": "a list of numbers or None",
    "best_validation_score_": "a number or None",
    # The earlier estimator's.
    "validation_loss_curve_": "a list of numbers",
    "converged_": "a bool",
}


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _state_value(name, value):
    """Return a saved attribute after checking it is one ``save`` writes, of its type."""
    if name not in STATE:
        raise ValueError(f"extra.state: expected entries among {sorted(STATE)}, found {name!r}")
    kind = STATE[name]
    if kind.startswith("an integer"):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif kind == "a bool":
        ok = isinstance(value, bool)
    elif kind.startswith("a list"):
        ok = (value is None and kind.endswith("None")) or (
            isinstance(value, list) and all(_number(v) for v in value)
        )
    else:
        ok = value is None or _number(value)
    if not ok:
        raise ValueError(f"extra.state.{name}: expected {kind}, found {value!r}")
    return value


def migrated(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return the earlier estimator's ``params`` under the drop-in's names, and what has none.

    Parameters
    ----------
    params : dict
        Parameters as the earlier estimator saved them.

    Returns
    -------
    params : dict
        The drop-in's parameters.
    unmapped : list of str
        ``name=value`` of each parameter with no equivalent (a nonzero
        ``weight_decay``).
    """
    out, unmapped = dict(LEGACY_DEFAULTS), []
    for name, value in params.items():
        if name in LEGACY:
            out.update(LEGACY[name](value))
        elif name == "weight_decay":
            if value:
                unmapped.append(f"weight_decay={value!r}")
        else:
            out[name] = value
    return out, unmapped


def _parameters(cls, extra):
    """Return the constructor's parameters from a file's ``extra``, mapping earlier names."""
    params = extra.get("params", {})
    if not isinstance(params, dict):
        raise TypeError(f"extra.params: expected a dict, found {type(params).__name__}")
    if extra.get("format") is None:
        params, unmapped = migrated(params)
        if unmapped:
            warnings.warn(
                f"{cls.__name__}: this file's {', '.join(unmapped)} has no equivalent among "
                "scikit-learn's parameters; the loaded estimator predicts as saved, and "
                "further training uses alpha=0 (no penalty)",
                UserWarning,
                stacklevel=5,
            )
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"extra.params: expected parameters of {cls.__name__}, found {unknown}")
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    return params


def from_file(cls, model, metadata):
    """Return the estimator of class ``cls`` that an estimator file holds.

    Parameters
    ----------
    cls : type
        ``MLPClassifier`` or ``MLPRegressor``.
    model : fastmlp.MLP
        The network read from the file (already checked by ``fastmlp.io``).
    metadata : dict
        The file's metadata.

    Returns
    -------
    estimator
    """
    extra = metadata["extra"]
    state = extra.get("state", {})
    if not isinstance(state, dict):
        raise TypeError(f"extra.state: expected a dict, found {type(state).__name__}")
    est = cls(**_parameters(cls, extra))
    est._model = model
    est.coefs_, est.intercepts_ = list(model.weights), list(model.biases)
    est.n_features_in_, est.n_outputs_ = model.sizes[0], model.sizes[-1]
    est.n_layers_, est.out_activation_ = len(model.sizes), model.output
    # scikit-learn's starting values (its _initialize), unless the file has them.
    est.n_iter_, est.t_, est.loss_curve_, est._no_improvement_count = 0, 0, [], 0
    est.best_loss_ = None if est.early_stopping else np.inf
    est.validation_scores_ = [] if est.early_stopping else None
    est.best_validation_score_ = -np.inf if est.early_stopping else None
    if is_classifier(est):
        est.classes_ = io.classes_array(metadata)
        multilabel = model.output == "logistic" and model.sizes[-1] > 1
        est._y_type = "multilabel-indicator" if multilabel else None
    for name, value in state.items():
        setattr(est, name, _state_value(name, value))
    if isinstance(getattr(est, "loss_curve_", None), list) and est.loss_curve_:
        est.loss_ = est.loss_curve_[-1] if getattr(est, "loss_", None) is None else est.loss_
    return est
