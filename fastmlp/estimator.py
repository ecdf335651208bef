"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's, fitted by fastmlp's kernels.

Drop-in replacements for ``sklearn.neural_network``'s estimators: the same
parameters, methods and fitted attributes, and for an integer
``random_state`` the same fitted weights. Every random draw is
scikit-learn's, in its order (``fastmlp._sklearn_random``); the epochs run
in fastmlp's kernels (``fastmlp._sklearn_fit``). What fastmlp adds:
``dtype``, ``backend`` and ``lr_schedule`` keywords, ``history_``, and
``save`` / ``fastmlp.load`` (never a pickle).

The fitted ``coefs_`` and ``intercepts_`` are plain lists of arrays, as
scikit-learn's; users may assign them. Every method that reaches a kernel
checks what they hold first (``_network``).
"""

from __future__ import annotations

import numbers
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import io
from ._checks import as_float_array, reject
from ._sklearn_files import from_file
from ._sklearn_fit import fit_lbfgs, fit_stochastic
from ._sklearn_params import LOSS, PARAMETERS, check_params
from ._sklearn_random import glorot_parameters
from .model import MLP

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

_STOCHASTIC_SOLVERS = ("sgd", "adam")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: scikit-learn's ``BaseMultilayerPerceptron``."""

    _table = PARAMETERS

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> _BaseMLP:
        """Fit the model to ``X`` and ``y``; return the estimator.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Inputs.
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)
            Class labels (a 0/1 indicator matrix for multilabel) or values.
        sample_weight : array_like, shape (n_samples,), optional
            Weight of each row; gradients and the ``alpha`` term are divided
            by their sum.

        Returns
        -------
        self
        """
        check_params(self, self._table)
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental):
        hidden = _hidden_sizes(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, y = self._validate_input(X, y, incremental, reset=first_pass)
        X = X.tocsr() if hasattr(X, "tocsr") else X  # the kernels take sparse rows as CSR
        sw = None if sample_weight is None else _sample_weight(sample_weight, X.shape[0])
        self.n_outputs_ = Y.shape[1]
        layer_units = [X.shape[1], *hidden, self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, X.dtype)
        if self.solver in _STOCHASTIC_SOLVERS:
            model = self._network(X.dtype, X.shape[1])
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            targets = self._targets(Y, model)
            self.history_ = fit_stochastic(self, model, X, targets, y, sw, incremental, stratify)
        else:
            model = self._lbfgs(X, Y, sw)
        self._adopt(model)
        if not all(np.isfinite(p).all() for p in chain(self.coefs_, self.intercepts_)):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        return self

    def _lbfgs(self, X, Y, sw):
        model = self._network(X.dtype, X.shape[1])
        return fit_lbfgs(self, model, X, self._targets(Y, model), sw)

    def _initialize(self, Y, layer_units, dtype):
        """Set scikit-learn's starting attributes and draw the parameters (its ``_initialize``)."""
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self.coefs_, self.intercepts_ = glorot_parameters(
            self._random_state, layer_units, self.activation, dtype
        )
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _best_params(self):
        return [*self._best_coefs, *self._best_intercepts]

    def _loss_scale(self):
        """Factor on the summed row losses: scikit-learn averages squared error over outputs."""
        return 1.0 / self.n_outputs_ if self.out_activation_ == "identity" else 1.0

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    # -- the network ---------------------------------------------------------------------------

    def _network(self, dtype=None, n_features=None):
        """Return an ``MLP`` holding ``coefs_`` and ``intercepts_``, after checking them.

        The fitted model when they are still its arrays (then ``dtype``, if
        given, must be its dtype), else a new one of ``dtype`` (default: the
        arrays' own, float32 only if all are float32) holding copies.
        """
        coefs, intercepts = _as_lists(self.coefs_, self.intercepts_)
        model = self.__dict__.get("_model")
        if model is not None and _holds(model, coefs, intercepts):
            if dtype is None or model.dtype == dtype:
                if model.output == self.out_activation_:
                    return model
        if dtype is None:
            floats32 = all(getattr(a, "dtype", None) == np.float32 for a in (*coefs, *intercepts))
            dtype = np.float32 if floats32 else np.float64
        n_features = getattr(self, "n_features_in_", None) if n_features is None else n_features
        weights, biases = _as_layers(coefs, intercepts, n_features, self.n_outputs_, dtype)
        sizes = [weights[0].shape[0], *(W.shape[1] for W in weights)]
        model = MLP(sizes, self.activation, dtype, seed=None, output=self.out_activation_)
        for target, source in zip((*model.weights, *model.biases), (*weights, *biases)):
            target[...] = source
        return model

    def _adopt(self, model):
        """Make the fitted attributes ``model``'s arrays (after a fit wrote into them)."""
        self._model = model
        self.coefs_, self.intercepts_ = list(model.weights), list(model.biases)

    def _outputs(self, X):
        """Return the output layer's values for ``X``, checked: scikit-learn's forward pass."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return _forward(self._network(), X)

    def _score_model(self, model, X, y, sample_weight):
        """Return the validation score of ``model``: accuracy or R², NaN for non-finite outputs."""
        P = model._outputs(X, check_finite=False)
        prediction = self._from_outputs(P)
        if np.issubdtype(prediction.dtype, np.floating) and not np.isfinite(prediction).all():
            return np.nan
        return self._score_function(y, prediction, sample_weight=sample_weight)

    # -- files and pickles ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Write the fitted estimator to ``path`` (``.npz``, atomic); ``fastmlp.load`` reads it.

        The file holds the network, the classes, the parameters that are plain
        values and the training curves: never a pickle.
        """
        check_is_fitted(self)
        params = {k: v for k, v in self.get_params().items() if _is_plain(v)}
        state = {name: _plain(getattr(self, name, None)) for name in _SAVED_STATE}
        extra = {"estimator": type(self).__name__, "params": params, "state": state, "format": 2}
        classes = getattr(self, "classes_", None)
        return io.save(self._network(), path, classes=classes, extra=extra)

    @classmethod
    def _from_file(cls, model, metadata):
        return from_file(cls, model, metadata)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        # The cached model's buffer duplicates coefs_ and intercepts_.
        return {name: value for name, value in state.items() if name != "_model"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _forward(model, X):
    """Return the output layer's values (probabilities, values or rates) of ``model`` for ``X``."""
    if model.output in ("softmax", "logistic"):
        return model.predict_proba(X)
    return model.predict(X)


def _holds(model, coefs, intercepts):
    """Return whether ``coefs`` and ``intercepts`` are lists of ``model``'s own arrays."""
    if not isinstance(coefs, list) or not isinstance(intercepts, list):
        return False
    if len(coefs) != len(model.weights) or len(intercepts) != len(model.biases):
        return False
    return all(a is b for a, b in zip((*coefs, *intercepts), (*model.weights, *model.biases)))


def _as_layers(coefs, intercepts, n_features, n_outputs, dtype):
    """Return assigned ``coefs_`` and ``intercepts_`` as C-contiguous ``dtype`` arrays.

    They must be lists of equal length of 2-D and 1-D finite numeric arrays,
    chained from ``n_features`` inputs to ``n_outputs`` outputs.
    """
    weights = [as_float_array(f"coefs_[{l}]", W, dtype, 2) for l, W in enumerate(coefs)]
    biases = [as_float_array(f"intercepts_[{l}]", b, dtype, 1) for l, b in enumerate(intercepts)]
    width = weights[0].shape[0] if n_features is None else n_features
    source = f"n_features_in_ = {width}"
    for l, (W, b) in enumerate(zip(weights, biases)):
        if W.shape[0] != width:
            raise reject("coef-rows", f"coefs_[{l}]", rows=width, source=source, shape=W.shape)
        if b.shape != W.shape[1:]:
            raise reject(
                "intercept-shape",
                f"intercepts_[{l}]",
                shape=W.shape[1:],
                coefs=f"coefs_[{l}]",
                found=b.shape,
            )
        width, source = W.shape[1], f"the columns of coefs_[{l}]"
    if width != n_outputs:
        raise reject(
            "coef-columns", f"coefs_[{len(weights) - 1}]", n_outputs=n_outputs, shape=W.shape
        )
    return weights, biases


def _keep(estimator, given):
    """Store the constructor's arguments ``given`` unchanged, as scikit-learn's estimators do."""
    for name in estimator._get_param_names():
        setattr(estimator, name, given[name])


def _as_lists(coefs, intercepts):
    """Return ``coefs`` and ``intercepts`` after checking they are lists of one length >= 1."""
    for name, arrays in (("coefs_", coefs), ("intercepts_", intercepts)):
        if not isinstance(arrays, (list, tuple)):
            raise reject("layer-list", name, type=type(arrays).__name__)
    if not coefs or len(intercepts) != len(coefs):
        raise reject("layer-lists", "coefs_, intercepts_", count=len(coefs), other=len(intercepts))
    return coefs, intercepts


def _hidden_sizes(hidden_layer_sizes):
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if np.any(np.array(sizes) <= 0):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    for size in sizes:
        # scikit-learn's errors, which numpy raises there when it draws the weights.
        if isinstance(size, (bool, np.bool_)):
            raise TypeError("an integer is required")
        if not isinstance(size, numbers.Integral):
            raise TypeError(f"'{type(size).__name__}' object cannot be interpreted as an integer")
    return [int(s) for s in sizes]


def _sample_weight(sample_weight, n):
    """Return ``sample_weight`` as scikit-learn's ``_check_sample_weight`` does (float64, (n,))."""
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, sample_weight, dtype=np.float64)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if sw.shape != (n,):
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected {(n,)}!")
    if not np.isfinite(sw).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw


#: The fitted attributes ``save`` stores besides the network.
_SAVED_STATE = (
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
)


def _plain(value):
    """Return ``value`` as JSON holds it (numpy scalars as Python numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return False


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's, fitted by fastmlp's kernels.

    Parameters, attributes and behaviour are ``sklearn.neural_network.MLPClassifier``'s
    (see its documentation); for an integer ``random_state`` the fitted weights
    are the same. fastmlp's own keywords come last.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
    beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As scikit-learn's.
    dtype : {None, "float32", "float64"}
        The dtype sgd and adam train in; None follows the input (float32 input
        stays float32, anything else is float64), as scikit-learn does.
        L-BFGS works in float64.
    backend : {"numba", "numpy"}
        fastmlp's compiled kernels or their numpy twin.
    lr_schedule : str, fastmlp Schedule or callable, optional
        A fastmlp learning-rate schedule over the epochs of each ``fit``
        (with ``learning_rate="constant"``), as ``fastmlp.train``'s.

    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_,
    feature_names_in_, n_iter_, n_layers_, n_outputs_, out_activation_
        As scikit-learn's.
    history_ : fastmlp.History
        The record of the last sgd or adam call (per-step losses, timings).
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: str | None = None,
        backend: str = "numba",
        lr_schedule: Any = None,
    ) -> None:
        _keep(self, locals())

    _score_function = staticmethod(accuracy_score)

    def _output_activation(self):
        return "softmax" if self._y_type == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        """Return ``(X, Y, y)``: checked inputs, binarised targets (n, n_outputs) and labels."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        X = _as_dtype(X, self.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._y_type, self.classes_ = _label_kind(y)
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, _binarize(y, self.classes_, self._y_type), y

    def _targets(self, Y, model):
        """Return the kernels' targets: class indices for softmax, else the 0/1 matrix."""
        if model.output == "softmax":
            return np.argmax(Y, axis=1).astype(np.int64)
        return Y.astype(model.dtype)

    def _from_outputs(self, P):
        """Return the labels scikit-learn's ``LabelBinarizer.inverse_transform`` gives for ``P``."""
        if self.out_activation_ == "softmax":
            return self.classes_.take(np.argmax(P, axis=1))
        if self._y_type == "multilabel-indicator":
            return (P > 0.5).astype(int)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_[0], P.shape[0])
        return self.classes_[(P[:, 0] > 0.5).astype(int)]

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Return the predicted class labels (an indicator matrix for multilabel)."""
        return self._from_outputs(self._outputs(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> MLPClassifier:
        """Take one epoch of the stochastic solver over ``X``, ``y``; return the estimator.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Inputs.
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array_like, shape (n_samples,), optional
            Weight of each row.
        classes : array_like, shape (n_classes,), optional
            Every class; required on the first call.

        Returns
        -------
        self
        """
        check_params(self, self._table)
        if _partial_fit_first_call(self, classes):
            kind = type_of_target(y)
            self._y_type = kind if kind.startswith("multilabel") else _label_kind(classes)[0]
            if kind.startswith("multilabel"):
                self.classes_ = _label_kind(y)[1]
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the log of ``predict_proba(X)``."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the probability of each class (of each label, for multilabel)."""
        P = self._outputs(X)
        if self.n_outputs_ == 1 and self.out_activation_ == "logistic":
            p = P.ravel()
            return np.vstack([1 - p, p]).T
        return P

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @property
    def _y_type(self):
        kind = self.__dict__.get("_y_kind")
        if kind is not None:
            return kind
        # Set by a fit; a network assigned by hand takes its kind from its outputs.
        if getattr(self, "out_activation_", None) == "softmax":
            return "multiclass"
        return "binary"

    @_y_type.setter
    def _y_type(self, value):
        self._y_kind = value


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's, fitted by fastmlp's kernels.

    Parameters, attributes and behaviour are ``sklearn.neural_network.MLPRegressor``'s,
    with ``loss="squared_error"`` or ``"poisson"``; fastmlp's keywords
    (``dtype``, ``backend``, ``lr_schedule``) and ``history_`` as for
    ``MLPClassifier``.
    """

    _table: ClassVar[dict] = {"loss": LOSS, **PARAMETERS}

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: str | None = None,
        backend: str = "numba",
        lr_schedule: Any = None,
    ) -> None:
        _keep(self, locals())

    _score_function = staticmethod(r2_score)

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        """Return ``(X, Y, y)``: checked inputs, targets as (n, n_outputs), and as given."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        X = _as_dtype(X, self.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y.reshape(-1, 1) if y.ndim == 1 else y, y

    def _targets(self, Y, model):
        return np.ascontiguousarray(Y, dtype=model.dtype)

    def _from_outputs(self, P):
        return P.ravel() if P.shape[1] == 1 else P

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Return the predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        return self._from_outputs(self._outputs(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> MLPRegressor:
        """Take one epoch of the stochastic solver over ``X``, ``y``; return the estimator.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Inputs.
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array_like, shape (n_samples,), optional
            Weight of each row.

        Returns
        -------
        self
        """
        check_params(self, self._table)
        return self._fit(X, y, sample_weight, incremental=True)


def _as_dtype(X, dtype):
    return X if dtype is None or X.dtype == np.dtype(dtype) else X.astype(dtype)


def _label_kind(y):
    """Return ``(kind, classes)`` as scikit-learn's ``LabelBinarizer.fit`` finds them."""
    kind = type_of_target(y, input_name="y")
    if "multioutput" in kind:
        raise ValueError("Multioutput target data is not supported with label binarization")
    classes = unique_labels(y)  # raises scikit-learn's error for targets that are not labels
    if kind == "multilabel-indicator":
        return kind, np.arange(np.asarray(y).shape[1])
    return kind, classes


def _binarize(y, classes, kind):
    """Return scikit-learn's binarised targets (bool, (n, n_outputs)) of labels ``y``."""
    if kind == "multilabel-indicator":
        Y = np.asarray(y.toarray() if hasattr(y, "toarray") else y)
        return Y.astype(bool)
    y = np.asarray(y)
    if kind == "multiclass":
        return (y[:, None] == np.asarray(classes)[None, :]).astype(bool)
    if len(classes) == 1:
        return np.zeros((y.shape[0], 1), dtype=bool)
    return (y == classes[1]).reshape(-1, 1)


def _partial_fit_first_call(clf, classes):
    """scikit-learn's rule for ``classes`` in ``partial_fit``: return True on the first call."""
    if getattr(clf, "classes_", None) is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is None:
        return False
    if getattr(clf, "classes_", None) is not None:
        if not np.array_equal(clf.classes_, unique_labels(classes)):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                f"was: {clf.classes_!r}"
            )
        return False
    clf.classes_ = unique_labels(classes)
    return True
