"""``MLPClassifier``: fastmlp behind scikit-learn's estimator interface.

scikit-learn is optional. When it is installed the estimator subclasses its
``ClassifierMixin`` and ``BaseEstimator``, so pipelines, ``GridSearchCV``,
``clone`` and ``check_estimator`` treat it as one of their own; without it,
``_Params`` provides ``get_params``/``set_params``/``score`` by the same
rules (parameters are exactly the ``__init__`` arguments, stored unchanged,
and checked only in ``fit``).
"""

from __future__ import annotations

import copy
import inspect
import numbers
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from . import io
from ._checks import (
    as_array,
    as_dtype,
    as_float_array,
    as_hidden_sizes,
    as_positive,
    as_rng,
    check_random_state,
    reject,
)
from .callbacks import EarlyStopping
from .model import MLP
from .names import activation_code
from .settings import fields as settings_fields
from .training import new_velocities, train

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
except ImportError:  # scikit-learn is optional
    BaseEstimator = ClassifierMixin = None

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before ``fit``."""

    class ConvergenceWarning(UserWarning):
        """Training stopped at ``max_epochs`` before its loss settled."""

    class DataConversionWarning(UserWarning):
        """Input was converted (a column vector of labels was flattened)."""


#: Rows per step that ``batch_size="auto"`` takes (fewer when the data has fewer).
AUTO_BATCH_SIZE = 200
#: Parameters that are ``train``'s settings under another name (the rest keep theirs).
_SETTING_NAMES = {"learning_rate": "lr", "max_epochs": "epochs"}
#: Parameters named as settings that mean something else here (scikit-learn's meaning).
_NOT_SETTINGS = frozenset({"early_stopping"})


class _Params:
    """``get_params``, ``set_params`` and ``score`` as scikit-learn defines them."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the estimator's parameters (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> _Params:
        """Set parameters by name and return the estimator."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise reject("parameter-name", "set_params", choices=valid, value=name)
            setattr(self, name, value)
        return self

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the (weighted) accuracy of ``predict(X)`` against ``y``."""
        hits = self.predict(X) == np.asarray(y)
        return float(np.average(hits, weights=sample_weight))

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, defaults[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


_Bases = (ClassifierMixin, BaseEstimator) if BaseEstimator is not None else (_Params,)


class MLPClassifier(*_Bases):
    """A multilayer perceptron classifier trained by fastmlp's SGD kernels.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int
        Units of each hidden layer; ``()`` is softmax regression.
    activation : {"sigmoid", "tanh", "relu"}
        Activation of the hidden layers.
    learning_rate : float
        Step size (the base rate of a named ``lr_schedule``).
    batch_size : int or "auto"
        Rows per step; 1 is per-sample SGD, ``"auto"`` is
        ``min(200, n_samples)``.
    max_epochs : int
        Most passes over the training data that ``fit`` makes.
    momentum : float
        Classical momentum in [0, 1).
    weight_decay : float
        L2 penalty on the weights (not the biases).
    lr_schedule : str, Schedule or callable, optional
        As ``fastmlp.train``'s; ``partial_fit`` keeps its epoch count
        between calls.
    early_stopping : bool
        Hold out ``validation_fraction`` of the rows, stop when their loss
        stops improving (``n_iter_no_change``), and keep the best epoch's
        parameters.
    validation_fraction : float, optional
        Fraction of the rows held out for validation, in (0, 1). The
        default, None, holds out 0.1 with early stopping and nothing
        without; a value holds out that fraction either way, and the
        validation curves are recorded.
    n_iter_no_change : int
        Training stops when more than this many epochs in a row did not
        improve on the best loss so far by more than ``tol`` (validation
        loss with early stopping, else training loss): scikit-learn's rule,
        ``fastmlp.EarlyStopping(rule="sklearn")``.
    tol : float
        Smallest improvement of the monitored loss that counts.
    shuffle : bool
        Visit the rows in a fresh random order each epoch.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        Seeds the initial parameters, the validation split and the orders.
    dtype : {"float32", "float64"}
        The model's dtype; inputs are converted to it.
    backend : {"numba", "numpy"}
        The compiled kernels, or the numpy reference.
    verbose : int
        Show progress bars when > 0.
    warm_start : bool
        Let ``fit`` continue from the fitted parameters instead of starting
        afresh (the data must have the same features and classes).

    Attributes
    ----------
    coefs_ : list of numpy.ndarray
        ``coefs_[l]`` is layer ``l``'s weight matrix, shape ``(n_in, n_out)``.
    intercepts_ : list of numpy.ndarray
        ``intercepts_[l]`` is layer ``l``'s bias vector.
    classes_ : numpy.ndarray
        The class labels, sorted; output unit ``k`` scores ``classes_[k]``.
    n_features_in_ : int
        Features seen in ``fit``.
    n_iter_ : int
        Epochs trained (summed over ``partial_fit`` calls).
    loss_ : float
        Training loss of the last epoch.
    loss_curve_ : list of float
        Training loss of each epoch.
    validation_loss_curve_, validation_scores_ : list of float
        Loss and accuracy on the held-out rows after each epoch (empty
        without a validation split).
    history_ : fastmlp.History
        The full record of the last ``fit`` or ``partial_fit`` call.
    converged_ : bool
        True when training stopped because the monitored loss stopped
        improving, False when it ran out of epochs.
    model_ : fastmlp.MLP
        The trained network.

    Notes
    -----
    Sparse input (any SciPy sparse matrix or array) is accepted and
    converted to a dense array: the kernels skip zero inputs themselves.
    Binary problems use two softmax outputs, so ``predict_proba`` always has
    one column per class.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str = "sigmoid",
        *,
        learning_rate: float = 0.01,
        batch_size: int | str = 1,
        max_epochs: int = 200,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        lr_schedule: Any = None,
        early_stopping: bool = False,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        shuffle: bool = True,
        random_state: Any = None,
        dtype: str = "float32",
        backend: str = "numba",
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.backend = backend
        self.verbose = verbose
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> MLPClassifier:
        """Train on ``X``, ``y`` for up to ``max_epochs`` epochs and return the estimator.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Training inputs.
        y : array_like, shape (n_samples,)
            Class labels of any kind ``numpy.unique`` can sort.
        sample_weight : array_like, shape (n_samples,), optional
            Non-negative weight of each row's loss.

        Returns
        -------
        MLPClassifier
        """
        max_epochs = _as_count("max_epochs", self.max_epochs)
        stop = EarlyStopping(
            patience=_as_count("n_iter_no_change", self.n_iter_no_change),
            min_delta=_as_tol(self.tol),
            restore_best=bool(self.early_stopping),
            monitor="val_loss" if self.early_stopping else "train_loss",
            rule="sklearn",
        )
        warm = bool(self.warm_start) and self._is_fitted()
        model, X, codes, sw, classes, rng = self._fit_inputs(X, y, sample_weight, warm)
        validation = None
        fraction = self.validation_fraction
        if fraction is None and self.early_stopping:
            fraction = 0.1
        if fraction is not None:
            train_rows, val_rows = _split(rng, X.shape[0], _as_fraction(fraction))
            validation = (X[val_rows], codes[val_rows])
            X, codes = X[train_rows], codes[train_rows]
            sw = None if sw is None else _rows(sw, train_rows, X.shape[0] + val_rows.size)
        self._train(
            *(model, X, codes, sw),
            seed=_seed(rng),
            # A warm start goes on with the random stream partial_fit continues.
            rng=None if warm else rng,
            classes=None if warm else classes,
            epochs=max_epochs,
            validation=validation,
            early_stopping=stop,
            initial_epoch=0,
        )
        self.converged_ = stop.stopped
        # An interrupted fit has warned already (train's warning on Ctrl-C).
        if not stop.stopped and not self.history_.interrupted:
            monitored = "validation" if self.early_stopping else "training"
            warnings.warn(
                f"MLPClassifier: max_epochs={max_epochs} reached and the "
                f"{monitored} loss was still improving by more than tol={stop.min_delta}",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _fit_inputs(self, X, y, sample_weight, warm):
        """Return ``fit``'s checked ``(model, X, codes, sample_weight, classes, rng)``.

        The model is the fitted one for a warm start, else a new one drawn
        from ``rng``.
        """
        model = self._network() if warm else None
        X = self._check_X(X, model)
        y = _as_label_array(y, X.shape[0])
        classes = np.unique(y)
        if classes.size < 2:
            raise reject("two-classes", "y", value=_label(classes[0]))
        rng = as_rng(self.random_state, "random_state")
        architecture = self._architecture(X.shape[1], classes.size)
        if not warm:
            model = MLP(*architecture, _seed(rng))
        elif not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"y: warm_start expects the classes {self.classes_.tolist()}, "
                f"found {classes.tolist()}"
            )
        sw = None if sample_weight is None else as_array("sample_weight", sample_weight)
        numeric = sw is not None and sw.dtype.kind in "iuf"
        if numeric and sw.ndim == 1 and sw.size and not np.any(sw):
            raise reject("weight-positive", "sample_weight")
        return model, X, np.searchsorted(classes, y), sw, classes, rng

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> MLPClassifier:
        """Train one epoch on ``X``, ``y``, continuing from the current state; return self.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Inputs of this call.
        y : array_like, shape (n_samples,)
            Their labels, all in ``classes``.
        classes : array_like, optional
            Every class the estimator will see; required on the first call
            (as in scikit-learn), and if given later it must not change.
        sample_weight : array_like, shape (n_samples,), optional
            Non-negative weight of each row's loss.

        Returns
        -------
        MLPClassifier

        Notes
        -----
        The learning-rate schedule, the momentum velocities and the random
        orders continue from the previous call. ``early_stopping`` and
        ``validation_fraction`` apply to ``fit`` only.
        """
        first = not self._is_fitted()
        model = None if first else self._network()
        X = self._check_X(X, model)
        y = _as_label_array(y, X.shape[0])
        if first:
            known, model, rng = self._first_partial_fit(X.shape[1], classes)
        else:
            known, rng = self._next_partial_fit(X.shape[1], classes)
        unknown = ~np.isin(y, known)
        if unknown.any():
            found = _label(y[np.argmax(unknown)])
            raise reject("known-label", "y", known=known.tolist(), value=found)
        self._train(
            *(model, X, np.searchsorted(known, y), sample_weight),
            seed=_seed(rng),
            rng=rng,
            classes=known if first else None,
            epochs=1,
            validation=None,
            early_stopping=None,
            initial_epoch=0 if first else self.n_iter_,
        )
        self.converged_ = False
        return self

    def _first_partial_fit(self, n_features, classes):
        """Return the first ``partial_fit``'s ``(classes, new model, random stream)``."""
        if classes is None:
            raise reject("classes-missing", "classes")
        known = np.unique(_as_label_array(classes, None))
        if known.size < 2:
            raise reject("class-list", "classes", value=known.tolist())
        rng = as_rng(self.random_state, "random_state")
        return known, MLP(*self._architecture(n_features, known.size), _seed(rng)), rng

    def _next_partial_fit(self, n_features, classes):
        """Return a later ``partial_fit``'s ``(classes, random stream)`` after checking both."""
        known = self.classes_
        self._architecture(n_features, known.size)
        if classes is not None and not np.array_equal(
            np.unique(_as_label_array(classes, None)), known
        ):
            found = np.unique(classes).tolist()
            raise reject("classes-changed", "classes", known=known.tolist(), value=found)
        check_random_state(self.random_state, "random_state")  # unused until a fresh start
        # A copy: the estimator's stream advances only when the call succeeds.
        return known, copy.deepcopy(self._rng)

    def _settings(self, **given):
        """Return ``train``'s settings from the parameters that are settings, then ``given``.

        A parameter is a setting by its name (``momentum``, ``shuffle``, ...)
        or by ``_SETTING_NAMES``; ``early_stopping`` is scikit-learn's (hold
        rows out), not ``train``'s, and ``fit`` gives ``train``'s.
        """
        names = {f.name for f in settings_fields()}
        mapped = {
            _SETTING_NAMES.get(param, param): getattr(self, param)
            for param in self._get_param_names()
            if param not in _NOT_SETTINGS
        }
        return {name: value for name, value in mapped.items() if name in names} | given

    def _train(self, model, X, codes, sw, *, seed, rng, classes, validation, **given):
        """Train ``model``, then record the result in the estimator's fitted attributes.

        ``classes`` is given for a new ``model`` (a fresh start) and None to
        continue ``model_``; ``rng`` is the random stream further calls
        continue (None: keep the current one); ``given`` are settings of this
        call (``epochs``, ``initial_epoch``, ``early_stopping``). Every argument
        is checked (here and by ``train``) before any attribute changes, so a
        rejected call leaves the estimator as it was.
        """
        as_positive("learning_rate", self.learning_rate)
        fresh = classes is not None
        velocities = None if fresh or given["initial_epoch"] == 0 else self._velocities
        if velocities is None:
            velocities = new_velocities(model)
        batch_size = self.batch_size
        if isinstance(batch_size, str):
            if batch_size != "auto":
                raise reject("integer-or-auto", "batch_size", value=batch_size)
            batch_size = min(AUTO_BATCH_SIZE, X.shape[0])
        history = train(
            *(model, X, codes),
            **self._settings(batch_size=batch_size, seed=seed, **given),
            validation=validation,
            sample_weight=sw,
            progress=bool(self.verbose),
            velocities=velocities if self.momentum else None,
        )
        if fresh:
            self.model_, self.classes_, self.n_features_in_ = model, classes, X.shape[1]
            self._reset_curves()
        if rng is not None:
            self._rng = rng
        self._velocities = velocities
        self.history_ = history
        self.n_iter_ += history.epochs
        self.loss_curve_ += history.train_loss
        self.validation_loss_curve_ += history.val_loss
        self.validation_scores_ += history.val_accuracy
        self.loss_ = self.loss_curve_[-1]

    def _reset_curves(self):
        self.n_iter_ = 0
        self.loss_curve_, self.validation_loss_curve_, self.validation_scores_ = [], [], []
        self._velocities = None
        self._rng = None

    def _architecture(self, n_features, n_classes):
        """Return the checked ``(sizes, activation, dtype)`` the parameters ask for."""
        activation_code(self.activation)
        return self._sizes(n_features, n_classes), self.activation, as_dtype(self.dtype)

    def _sizes(self, n_features, n_classes):
        return [n_features, *as_hidden_sizes(self.hidden_layer_sizes), n_classes]

    # -- prediction --------------------------------------------------------------------------

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        numpy.ndarray
        """
        model = self._network()
        return model.predict_proba(self._check_X(X, model))

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the log of ``predict_proba(X)`` (``-inf`` where a probability underflows to 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Return the most probable class label of each row of ``X``."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    # -- files -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Write the fitted estimator to ``path`` (``.npz``, atomic); ``fastmlp.load`` reads it.

        The file holds the network, ``classes_``, the parameters that are plain
        values and the training curves: never a pickle. A callable
        ``lr_schedule`` is not stored (it is None after loading).
        """
        model = self._network()
        params = {k: v for k, v in self.get_params().items() if _is_plain(v)}
        state = {
            "n_iter_": self.n_iter_,
            "loss_curve_": self.loss_curve_,
            "validation_loss_curve_": self.validation_loss_curve_,
            "validation_scores_": self.validation_scores_,
            "converged_": bool(getattr(self, "converged_", False)),
        }
        extra = {"estimator": type(self).__name__, "params": params, "state": state}
        return io.save(model, path, classes=self.classes_, extra=extra)

    @classmethod
    def _from_file(cls, model, metadata):
        extra = metadata["extra"]
        params, state = extra.get("params", {}), extra.get("state", {})
        for name, value in (("params", params), ("state", state)):
            if not isinstance(value, dict):
                raise TypeError(f"extra.{name}: expected a dict, found {type(value).__name__}")
        known = set(cls._get_param_names())
        estimator = cls(**{k: v for k, v in params.items() if k in known})
        if isinstance(estimator.hidden_layer_sizes, list):
            estimator.hidden_layer_sizes = tuple(estimator.hidden_layer_sizes)
        estimator.model_ = model
        estimator.classes_ = io.classes_array(metadata)
        estimator.n_features_in_ = model.sizes[0]
        estimator._reset_curves()
        # The random orders of further training start again from random_state.
        estimator._rng = as_rng(estimator.random_state, "random_state")
        for name, value in state.items():
            setattr(estimator, name, _state_value(name, value))
        if estimator.loss_curve_:
            estimator.loss_ = estimator.loss_curve_[-1]
        return estimator

    # -- fitted attributes and checks --------------------------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[l]`` of shape ``(n_in, n_out)`` (views into ``model_``).

        Assignable, as in scikit-learn: the list, or entries of it, may be
        replaced. What is assigned is checked when the estimator next uses
        its network (``predict*``, ``score``, ``partial_fit``, a warm-start
        ``fit``, ``save``) and copied into the model's parameters then.
        """
        return self._assignable("coefs")

    @coefs_.setter
    def coefs_(self, value: list[np.ndarray]) -> None:
        self._parameters().coefs = value

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, one per layer (views into ``model_``; assignable as ``coefs_`` is)."""
        return self._assignable("intercepts")

    @intercepts_.setter
    def intercepts_(self, value: list[np.ndarray]) -> None:
        self._parameters().intercepts = value

    def _parameters(self):
        """Return what ``coefs_`` and ``intercepts_`` hold for the current ``model_``."""
        model = getattr(self, "model_", None)
        held = self.__dict__.get("_held")
        if held is None or held.model is not model:
            held = self._held = _Parameters(model)
        return held

    def _assignable(self, name):
        value = getattr(self._parameters(), name)
        if value is None:
            self._check_fitted()
        return value

    def _network(self):
        """Return ``model_`` holding what ``coefs_`` and ``intercepts_`` hold now.

        Every method that reaches a kernel goes through here. Arrays assigned
        to ``coefs_`` or ``intercepts_`` are checked (a network from
        ``n_features_in_`` inputs to one output per class, finite, of a dtype
        the model's holds) and copied into the model's parameters; other layer
        sizes than the model's make a new model of those sizes.
        """
        self._check_fitted()
        model = self.model_
        # Read without _parameters(): a prediction must not add attributes.
        held = self.__dict__.get("_held")
        if held is None or held.model is not model or not held.assigned():
            return model
        weights, biases = _as_network(
            held.coefs, held.intercepts, self.n_features_in_, len(self.classes_), model.dtype
        )
        sizes = (weights[0].shape[0], *(W.shape[1] for W in weights))
        if sizes != tuple(model.sizes):
            model = MLP(sizes, model.activation, model.dtype, seed=None)
            self._velocities = None  # shaped like the old layers
        for target, source in zip((*model.weights, *model.biases), (*weights, *biases)):
            target[...] = source
        self.model_ = model
        held.adopt(model)
        return model

    def __getstate__(self) -> dict[str, Any]:
        try:
            state = super().__getstate__()  # scikit-learn adds its version
        except AttributeError:  # object has no __getstate__ before Python 3.11
            state = self.__dict__
        held = state.get("_held")
        if held is None or held.assigned():
            return state
        # Lists of views would unpickle as copies the model no longer reads.
        return {name: value for name, value in state.items() if name != "_held"}

    def __sklearn_is_fitted__(self) -> bool:
        return self._is_fitted()

    def _is_fitted(self):
        return hasattr(self, "model_")

    def _check_fitted(self):
        if not self._is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' or "
                "'partial_fit' with appropriate arguments before using this estimator."
            )

    def _check_X(self, X, model=None):
        """Return ``X`` as a 2-D float array for ``model`` (the fitted one), or a new model."""
        if X is None:
            raise ValueError("X: expected a 2-D array of samples, found None")
        if hasattr(X, "toarray") and hasattr(X, "tocsr"):  # SciPy sparse
            X = X.toarray()
        X = as_array("X", X)
        if np.iscomplexobj(X):
            raise ValueError(f"X: Complex data not supported, found dtype {X.dtype}")
        if X.dtype == object:
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as error:
                raise type(error)(
                    f"X: expected numbers, found an object array with entries that are not "
                    f"({error})"
                ) from None
        if X.ndim != 2:
            raise ValueError(
                f"X: expected a 2-D array, found shape {X.shape}. Reshape your data with "
                "X.reshape(-1, 1) if it has a single feature or X.reshape(1, -1) if it is "
                "a single sample"
            )
        for axis, what in enumerate(("sample", "feature")):
            if X.shape[axis] == 0:
                raise ValueError(
                    f"X: found array with 0 {what}(s) (shape={X.shape}) while a minimum of "
                    "1 is required."
                )
        if model is not None and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        dtype = model.dtype if model is not None else as_dtype(self.dtype)
        return as_float_array("X", X, dtype, 2)


class _Parameters:
    """What an estimator's ``coefs_`` and ``intercepts_`` hold for one ``model``.

    At first, and after each ``adopt``, lists of the model's own views;
    afterwards whatever the user assigned to them or into them.
    """

    def __init__(self, model):
        self.model, self.coefs, self.intercepts, self._adopted = model, None, None, ((), ())
        if model is not None:
            self.adopt(model)

    def adopt(self, model):
        """Hold views of ``model``'s parameters, in the same list objects when they are lists."""
        self.model = model
        self.coefs = _refilled(self.coefs, model.weights)
        self.intercepts = _refilled(self.intercepts, model.biases)
        self._adopted = (tuple(self.coefs), tuple(self.intercepts))

    def assigned(self):
        """Return True when something other than the adopted views is held."""
        return not all(
            isinstance(held, list) and len(held) == len(views) and all(map(_is, held, views))
            for held, views in zip((self.coefs, self.intercepts), self._adopted)
        )


def _is(a, b):
    return a is b


def _refilled(held, arrays):
    if isinstance(held, list):
        held[:] = arrays  # a list the user holds keeps following the model
        return held
    return list(arrays)


def _as_network(coefs, intercepts, n_features, n_classes, dtype):
    """Return assigned ``coefs_`` and ``intercepts_`` as C-contiguous ``dtype`` arrays.

    They must be lists of equal length of 2-D and 1-D finite numeric arrays,
    chained from ``n_features`` inputs to ``n_classes`` outputs.
    """
    for name, arrays in (("coefs_", coefs), ("intercepts_", intercepts)):
        if not isinstance(arrays, (list, tuple)):
            raise reject("layer-list", name, type=type(arrays).__name__)
    if not coefs or len(intercepts) != len(coefs):
        raise reject("layer-lists", "coefs_, intercepts_", count=len(coefs), other=len(intercepts))
    weights = [as_float_array(f"coefs_[{l}]", W, dtype, 2) for l, W in enumerate(coefs)]
    biases = [as_float_array(f"intercepts_[{l}]", b, dtype, 1) for l, b in enumerate(intercepts)]
    width, source = n_features, f"n_features_in_ = {n_features}"
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
    if width != n_classes:
        raise reject(
            "coef-columns",
            f"coefs_[{len(weights) - 1}]",
            n_classes=n_classes,
            shape=weights[-1].shape,
        )
    return weights, biases


#: The training state ``save`` stores, and what each must be.
_STATE = {
    "n_iter_": "an integer >= 0",
    "loss_curve_": "a list of numbers",
    "validation_loss_curve_": "a list of numbers",
    "validation_scores_": "a list of numbers",
    "converged_": "a bool",
}


def _state_value(name, value):
    """Return a saved state entry after checking it is one ``save`` writes, of its type."""
    if name not in _STATE:
        raise ValueError(f"extra.state: expected entries among {sorted(_STATE)}, found {name!r}")
    if name == "n_iter_":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif name == "converged_":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        )
    if not ok:
        raise ValueError(f"extra.state.{name}: expected {_STATE[name]}, found {value!r}")
    return value


def _as_label_array(y, n):
    name = "y" if n is not None else "classes"
    if y is None:
        raise ValueError(
            f"{name}: this estimator requires y to be passed, but the target y is None"
        )
    arr = as_array(name, y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected: "
            f"{name} of shape {arr.shape} was flattened to ({arr.shape[0]},)",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise reject("label-vector", name, shape=arr.shape)
    if n is not None and arr.shape[0] != n:
        raise reject("label-count", "y", n=n, count=arr.shape[0])
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"Input {name} contains NaN or infinity: labels must be finite")
        if (arr != np.round(arr)).any():
            first = arr[arr != np.round(arr)][0]
            raise ValueError(
                f"Unknown label type: continuous. {name}: expected class labels "
                f"(integers, strings), found non-integer floats such as {first}"
            )
    elif arr.dtype.kind not in "iubUSO":
        raise ValueError(f"Unknown label type: {name} has dtype {arr.dtype}")
    if arr.dtype == object:
        kinds = {type(v) for v in arr}
        if len(kinds) > 1:
            raise ValueError(
                f"Unknown label type: {name} mixes label types {sorted(k.__name__ for k in kinds)}"
            )
    return arr


def _as_count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise reject("integer-min-1", name, value=value)
    return int(value)


def _as_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise reject("real-min-0", "tol", value=tol)
    return float(tol)


def _as_fraction(fraction):
    ok = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool)
    if not ok or not 0 < fraction < 1:
        raise reject("open-interval", "validation_fraction", value=fraction)
    return float(fraction)


def _label(value):
    """Return a numpy scalar label as the Python value it prints as."""
    return value.item() if isinstance(value, np.generic) else value


def _seed(rng):
    return int(rng.integers(2**63))


def _split(rng, n, fraction):
    """Return ``(train_rows, validation_rows)``: a random ``fraction`` of ``n`` rows held out."""
    if n < 2:
        raise ValueError(f"validation_fraction: needs at least 2 samples to split, found {n}")
    held = min(max(1, round(n * fraction)), n - 1)
    order = rng.permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


def _rows(sample_weight, rows, n):
    sw = np.asarray(sample_weight)
    if sw.shape != (n,):
        raise reject("shape", "sample_weight", shape=(n,), found=sw.shape)
    return sw[rows]


def _is_plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return False
