"""How the drop-in estimators fit: scikit-learn's solvers, run by fastmlp's engine.

``fit_stochastic`` runs scikit-learn's ``_fit_stochastic`` as a ``Trainer``:
the epochs are the kernels', and scikit-learn's per-epoch rules (its loss
curve, no-improvement count, early stopping on the validation score,
``invscaling`` and ``adaptive`` rates, warnings) are the callback
``SklearnEpochs``. ``fit_lbfgs`` hands ``fastmlp.loss_and_gradient`` to
SciPy's L-BFGS-B with scikit-learn's options and parameter order.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._sklearn_random import shuffled, validation_split
from .callbacks import Callback
from .model import MLP
from .objective import loss_and_gradient
from .optimizers import SGD, Adam
from .settings import TrainSettings
from .trainer import Trainer

#: scikit-learn's floor below which ``adaptive`` stops dividing the rate.
ADAPTIVE_FLOOR = 1e-6


class SklearnOptimizer:
    """The rate scikit-learn's optimizer object keeps, and fastmlp's optimizer and state.

    As scikit-learn's, it is rebuilt by every ``fit`` and kept across
    ``partial_fit`` calls (Adam's moments and step count go on).
    """

    def __init__(self, est: Any) -> None:
        self.solver, self.schedule = est.solver, est.learning_rate
        self.learning_rate_init = float(est.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.power_t = est.power_t
        if est.solver == "sgd":
            self.optimizer = SGD(est.learning_rate_init, est.momentum, est.nesterovs_momentum)
        else:
            self.optimizer = Adam(est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon)
        #: fastmlp's optimizer state (None until the first epoch makes it).
        self.state = None

    @property
    def varies(self) -> bool:
        """Whether the rate is this object's to change (SGD with a schedule other than constant)."""
        return self.solver == "sgd" and self.schedule != "constant"

    def iteration_ends(self, time_step: int) -> None:
        """Set ``invscaling``'s rate for ``time_step`` samples seen."""
        if self.solver == "sgd" and self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: Any) -> bool:
        """Return whether a plateau stops training; ``adaptive`` divides the rate by 5 instead."""
        if self.solver != "sgd" or self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= ADAPTIVE_FLOOR:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class SklearnEpochs(Callback):
    """scikit-learn's end of an epoch, on the estimator's attributes (``_fit_stochastic``).

    Parameters
    ----------
    est : estimator
        The drop-in estimator; its ``loss_curve_``, ``t_``, ``n_iter_`` and
        the rest change here, epoch by epoch, as scikit-learn's do.
    validation : (X, y, sample_weight) or None
        The held-out rows of early stopping.
    incremental : bool
        A ``partial_fit`` call (one epoch, no convergence warning).
    """

    def __init__(self, est: Any, validation: Any, incremental: bool) -> None:
        self.est, self.validation, self.incremental = est, validation, incremental

    def rate(self, epoch: int, lr: float) -> float:
        opt = self.est._optimizer
        return opt.learning_rate if opt.varies else lr

    def on_epoch_end(self, trainer: Any, epoch: int) -> bool:
        est = self.est
        est.n_iter_ += 1
        est.loss_ = trainer.history.train_loss[-1]
        est.t_ += trainer.X.shape[0]
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        self._count_no_improvement(trainer.model)
        est._optimizer.iteration_ends(est.t_)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if est._optimizer.trigger_stopping(msg, est.verbose):
                return True
            est._no_improvement_count = 0
        if not self.incremental and est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                # From here through the Trainer and the estimator to the caller of fit.
                stacklevel=8,
            )
        return False

    def _count_no_improvement(self, model):
        """scikit-learn's ``_update_no_improvement_count``, keeping the best parameters."""
        est = self.est
        if not est.early_stopping:
            if est.loss_curve_[-1] > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if est.loss_curve_[-1] < est.best_loss_:
                est.best_loss_ = est.loss_curve_[-1]
            return
        score = est._score_model(model, *self.validation)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_coefs = [W.copy() for W in model.weights]
            est._best_intercepts = [b.copy() for b in model.biases]


def _fits(state, model):
    """Return whether an optimizer ``state`` (or None) is shaped like ``model``'s parameters."""
    if state is None:
        return True
    shapes = [a.shape for slot in state.weights.values() for a in slot]
    return shapes == [W.shape for W in model.weights] * len(state.weights)


def _batch_size(est, n):
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=4,
        )
    return int(np.clip(est.batch_size, 1, n))


def _early_stopping_split(est, X, targets, y, sw, stratify):
    """Return ``(X, targets, sw, validation)`` after holding out scikit-learn's validation rows."""
    train, val = validation_split(
        est._random_state, X.shape[0], est.validation_fraction, stratify=stratify
    )
    if val.size < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of "
            "your dataset."
        )
    validation = (X[val], y[val], None if sw is None else sw[val])
    return X[train], targets[train], None if sw is None else sw[train], validation


def fit_stochastic(est, model, X, targets, y, sw, incremental, stratify):
    """Train ``model`` by ``est``'s solver as scikit-learn's ``_fit_stochastic``; return History.

    ``targets`` are the kernels' (``MLP.check_y``), ``y`` the labels or values
    that the validation score compares predictions with; ``stratify`` the
    binarised targets the early-stopping split stratifies by, or None.
    """
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = SklearnOptimizer(est)
    elif not _fits(est._optimizer.state, model):
        # Assigned coefs_ of other sizes: the optimizer starts afresh for the new shapes.
        est._optimizer.state = None
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    validation = None
    if est.early_stopping:
        X, targets, sw, validation = _early_stopping_split(est, X, targets, y, sw, stratify)
    n = X.shape[0]
    order = [np.arange(n)]

    def orders(epoch, rows):
        # scikit-learn shuffles the previous epoch's order, not the rows afresh.
        if est.shuffle:
            order[0] = shuffled(est._random_state, order[0])
        return order[0]

    settings = TrainSettings(
        epochs=1 if incremental else est.max_iter,
        lr=est.learning_rate_init,
        batch_size=_batch_size(est, n),
        shuffle=est.shuffle,  # recorded only: the orders come from scikit-learn's stream
        backend=est.backend,
        optimizer=est._optimizer.optimizer,
        l2=est.alpha,
        average="weights",
        lr_schedule=est.lr_schedule,
    )
    trainer = Trainer(
        model,
        settings,
        callbacks=[SklearnEpochs(est, validation, incremental)],
        orders=orders,
        state=est._optimizer.state,
        loss_scale=est._loss_scale(),
        check_finite=False,
    )
    trainer.stacklevel = 4
    est.n_iter_ = 0
    history = trainer.fit(X, targets, sample_weight=sw)
    est._optimizer.state = trainer.state
    if est.early_stopping:
        for param, best in zip((*model.weights, *model.biases), est._best_params()):
            param[...] = best
    return history


def _packing(model):
    """Return the positions in ``model.params`` of scikit-learn's packed vector.

    ``model.params`` holds each layer's weights then its biases; scikit-learn
    packs every layer's weights, then every layer's biases.
    """
    weights, biases, start = [], [], 0
    for W, b in zip(model.weights, model.biases):
        weights.append(np.arange(start, start + W.size))
        biases.append(np.arange(start + W.size, start + W.size + b.size))
        start += W.size + b.size
    return np.concatenate([*weights, *biases])


def fit_lbfgs(est, model, X, targets, sw):
    """Fit ``model`` by SciPy's L-BFGS-B as scikit-learn's ``_fit_lbfgs``; return the result.

    As scikit-learn's, the objective runs in the dtype of the data (SciPy
    keeps a float32 start's dtype and evaluates at float32 points) and the
    result is float64: a new float64 model. Sets ``est.n_iter_`` and ``est.loss_``.
    """
    at, scale = _packing(model), est._loss_scale()

    def objective(x):
        model.params[at] = x
        loss, grad = loss_and_gradient(
            model, X, targets, l2=est.alpha, sample_weight=sw, average="weights", loss_scale=scale
        )
        return loss, grad[at]

    result = scipy.optimize.minimize(
        objective,
        model.params[at],
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
    )
    est.n_iter_ = _iterations(result, est.max_iter)
    est.loss_ = float(result.fun)
    fitted = MLP(model.sizes, model.activation, np.float64, seed=None, output=model.output)
    fitted.params[at] = result.x
    return fitted


def _iterations(result, max_iter):
    """Return the iterations L-BFGS took, warning as scikit-learn does when it did not converge."""
    if result.status != 0:
        message = result.message
        if isinstance(message, bytes):
            message = message.decode("latin1")
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}):"
            f"\n{message}.\n\nIncrease the number of iterations to improve the convergence "
            f"(max_iter={max_iter}).\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html",
            ConvergenceWarning,
            stacklevel=4,
        )
    return min(result.nit, max_iter)
