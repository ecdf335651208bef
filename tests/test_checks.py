"""The table of validation rules, ``fastmlp._checks.RULES``: its templates and their use.

Every rule is broken once, through the check that raises it, and the error
must be the rule's exception class with the rule's message for that
argument, every word of the template in place.
"""

import re
import string

import numpy as np
import pytest
from fastmlp.kernels import dense, sgd
from fastmlp.kernels.network import check_network
from helpers import rule_regex
from scipy import sparse

from fastmlp import (
    MLP,
    SGD,
    Adam,
    _checks,
    _warmup,
    callbacks,
    estimator,
    experiments,
    gradient_check,
    objective,
    optimizers,
    plots,
    reference,
    schedules,
    train,
)
from fastmlp._checks import RULES, reject
from fastmlp.datasets import mnist, preprocessing
from fastmlp.experiments import Config, SweepResult
from fastmlp.history import History
from fastmlp.model import check_forward
from fastmlp.names import LOGISTIC, POISSON
from fastmlp.settings import TrainSettings
from fastmlp.trainer import Trainer, _optimizer_state
from fastmlp.training import _callbacks


class Unconvertible:
    """An object numpy fails to convert with a TypeError (a ragged list gives a ValueError)."""

    def __array__(self, dtype=None, copy=None):
        raise TypeError("no array here")


def read_only(shape):
    arr = np.zeros(shape)
    arr.flags.writeable = False
    return arr


W, B = np.zeros((3, 4)), np.zeros(4)
X, Y = np.zeros((4, 3)), np.zeros(4, np.int64)


def sweep_result(params):
    return SweepResult(Config(), params, [None] * len(params))


def net(coefs, intercepts):
    """Check assigned ``coefs_`` and ``intercepts_`` of an estimator of 3 features, 2 outputs."""
    return estimator._as_layers(*estimator._as_lists(coefs, intercepts), 3, 2, np.float64)


def broken_csr(**arrays):
    """Return a 4 x 3 CSR of two entries with some of its arrays replaced, unchecked by scipy."""
    csr = sparse.csr_matrix(np.eye(4, 3) * [1, 1, 0])
    for name, value in arrays.items():
        setattr(csr, name, value)
    return csr


def broken_model(sizes=(3, 4, 2), **private):
    """Check an ``MLP(sizes)`` whose private state was changed by hand."""
    model = MLP(sizes)
    for name, value in private.items():
        setattr(model, name, value)
    return model.check_network()


def velocities_of(model):
    return [np.zeros_like(a) for a in model.weights], [np.zeros_like(a) for a in model.biases]


#: rule key -> (argument name, a call that breaks the rule).
BREAKS = {
    "unconvertible": ("X", lambda: _checks.as_array("X", [[1.0, 2.0], [3.0]])),
    "unconvertible-type": ("X", lambda: _checks.as_array("X", Unconvertible())),
    "numeric": ("X", lambda: _checks.as_float_array("X", [["a"]], np.float64, 2)),
    "ndim": ("X", lambda: _checks.as_float_array("X", np.zeros(3), np.float64, 2)),
    "non-empty": ("X", lambda: _checks.as_float_array("X", np.zeros((0, 3)), np.float64, 2)),
    "axis-size": (
        "X",
        lambda: _checks.as_float_array("X", np.zeros((2, 3)), np.float64, 2, shape=(None, 4)),
    ),
    "finite": ("X", lambda: _checks.as_float_array("X", [[1.0, np.nan]], np.float64, 2)),
    "dtype-range": ("X", lambda: _checks.as_float_array("X", [[1e39]], np.float32, 2)),
    "images": ("X", lambda: MLP([4, 2]).check_X(np.zeros((1, 3, 3)))),
    "weights": ("sample_weight", lambda: _checks.as_sample_weight([1.0, -1.0], 2, np.float64)),
    "shape": ("biases[0]", lambda: check_network([W], [np.zeros(3)])),
    "sparse-format": ("X", lambda: _checks.as_csr("X", sparse.coo_array(np.ones(3)), np.float64)),
    "sparse-lengths": ("X", lambda: _checks.as_csr("X", broken_csr(data=np.ones(1)), np.float64)),
    "sparse-index-dtype": (
        "X",
        lambda: _checks.as_csr("X", broken_csr(indptr=np.zeros(5)), np.float64),
    ),
    "sparse-indptr": (
        "X",
        lambda: _checks.as_csr("X", broken_csr(indptr=np.array([0, 2, 1, 2, 2])), np.float64),
    ),
    "sparse-indices": (
        "X",
        lambda: _checks.as_csr("X", broken_csr(indices=np.array([0, 3])), np.float64),
    ),
    "in-place-type": ("W", lambda: dense._check_in_place(W[:, ::2], B)),
    "in-place-readonly": ("b", lambda: dense._check_in_place(W, read_only(4))),
    "float-pair": ("W, b", lambda: dense._check_in_place(W, B.astype(np.float32))),
    "float-array": ("weights[0]", lambda: check_network([W.astype(int)], [B])),
    "layer-sequence": ("weights", lambda: check_network(W, [B])),
    "layer-pairs": ("weights, biases", lambda: check_network([W], [])),
    "layer-array": ("weights[1]", lambda: check_network([W, W.astype(np.float32)], [B, B])),
    "writeable": ("biases[0]", lambda: check_network([W], [read_only(4)])),
    "layer-rows": ("weights[1]", lambda: check_network([W, np.zeros((5, 2))], [B, np.zeros(2)])),
    "velocities-pair": ("velocities", lambda: sgd._check_velocities(5, [W], [B])),
    "velocities-sequence": ("velocities", lambda: sgd._check_velocities((5, []), [W], [B])),
    "velocities-count": ("velocities", lambda: sgd._check_velocities(([], []), [W], [B])),
    "buffer-array": (
        "velocities",
        lambda: sgd._check_velocities(([W], [read_only(4)]), [W], [B]),
    ),
    "model-dtype": ("model.dtype", lambda: broken_model(_dtype=np.dtype(np.float64))),
    "params-array": ("model.params", lambda: broken_model(_params=np.zeros(3, np.float32))),
    "layer-count": (
        "model.weights",
        lambda: broken_model(
            _weights=(np.zeros((3, 4), np.float32),), _biases=(np.zeros(4, np.float32),)
        ),
    ),
    "param-view": (
        "model.weights[0]",
        lambda: broken_model((3, 4), _weights=(np.zeros((3, 4), np.float32),)),
    ),
    "state-type": ("state", lambda: sgd._runner_options([W], [B], 0.1, {"state": 5})),
    "state-names": ("state", lambda: optimizers.State.adopt(SGD(momentum=0.5), [W], [B], {})),
    "momentum-beside": (
        "momentum",
        lambda: sgd._runner_options([W], [B], 0.1, {"optimizer": Adam(), "momentum": 0.5}),
    ),
    "rate-beside": (
        "lr",
        lambda: sgd._runner_options([W], [B], 0.1, {"optimizer": SGD(lr=0.2)}),
    ),
    "velocities-beside": (
        "velocities",
        lambda: sgd._runner_options([W], [B], 0.1, {"state": 5, "velocities": ([W], [B])}),
    ),
    "step-weights": (
        "sample_weight",
        lambda: sgd.check_batch_weights(np.array([1.0, 0.0, 0.0]), np.arange(3), 1),
    ),
    "label-span": ("y_true", lambda: plots._labels("y_true", np.array([0, 5]), 3)),
    "label-ndim": ("y", lambda: _checks.as_labels("y", np.zeros((2, 2)), 2, 3)),
    "label-count": ("y", lambda: _checks.as_labels("y", [0], 2, 3)),
    "label-whole": ("y", lambda: _checks.as_labels("y", [0.5, 1.0], 2, 3)),
    "label-dtype": ("y", lambda: _checks.as_labels("y", ["a", "b"], 2, 3)),
    "label-range": ("y", lambda: _checks.as_labels("y", [0, 3], 2, 3)),
    "target-ndim": (
        "y",
        lambda: _checks.as_targets("y", np.zeros((2, 2, 1)), 2, 2, LOGISTIC, np.float64),
    ),
    "target-binary": (
        "y",
        lambda: _checks.as_targets("y", [[0.0, 0.5]], 1, 2, LOGISTIC, np.float64),
    ),
    "target-count": ("y", lambda: _checks.as_targets("y", [-1.0], 1, 1, POISSON, np.float64)),
    "order-type": ("order", lambda: _checks.as_order("order", [0.5], 3)),
    "order-empty": ("order", lambda: _checks.as_order("order", np.array([], np.int64), 3)),
    "order-range": ("order", lambda: _checks.as_order("order", [0, 3], 3)),
    "integer": ("epochs", lambda: _checks.as_count("epochs", 2.0)),
    "real": ("lr", lambda: _checks.as_positive("lr", "0.1")),
    "bool": ("nesterov", lambda: SGD(nesterov=1)),
    "positive": ("lr", lambda: _checks.as_positive("lr", 0.0)),
    "nonnegative": ("weight_decay", lambda: _checks.as_nonnegative("weight_decay", -0.1)),
    "unit-interval": ("momentum", lambda: _checks.as_momentum(1.0)),
    "at-least": ("initial_epoch", lambda: _checks.as_count("initial_epoch", -1)),
    "int64": ("epochs", lambda: _checks.as_count("epochs", 2**63)),
    "choice": ("backend", lambda: _checks.as_choice("backend", "torch", ("numba", "numpy"))),
    "optimizer-type": ("optimizer", lambda: optimizers.rule("adam")),
    "momentum-unused": ("momentum", lambda: TrainSettings(optimizer="adam", momentum=0.5)),
    "rate-conflict": ("lr", lambda: TrainSettings(optimizer=SGD(lr=0.1), lr=0.2)),
    "momentum-conflict": ("momentum", lambda: TrainSettings(optimizer=SGD(), momentum=0.5)),
    "random-state": ("random_state", lambda: _checks.as_rng(-1, "random_state")),
    "random-state-type": ("seed", lambda: _checks.check_random_state(1.5)),
    "default-rng": ("seed", lambda: TrainSettings(seed=-1)),
    "default-rng-type": ("seed", lambda: TrainSettings(seed=1.5)),
    "model-type": ("model", lambda: objective._check_model("not a model")),
    "pair": ("validation", lambda: train(MLP([3, 2]), X, Y, validation=(X,))),
    "orders": ("orders", lambda: Trainer(MLP([3, 2]), orders=5).fit(X, Y)),
    "order-length": ("orders", lambda: Trainer(MLP([3, 2]), orders=[[0, 1, 2]]).fit(X, Y)),
    "order-missing": (
        "orders",
        lambda: Trainer(MLP([3, 2]), TrainSettings(epochs=2), orders=[[0, 1, 2, 3]]).fit(X, Y),
    ),
    "settings-type": ("settings", lambda: Trainer(MLP([3, 2]), settings={"epochs": 1})),
    "callback-objects": ("callbacks", lambda: Trainer(MLP([3, 2]), callbacks=[print])),
    "callback-callables": ("callbacks", lambda: callbacks.FunctionCallback(5)),
    "callback-sequence": ("callbacks", lambda: _callbacks(None, False, None, 1, False)),
    "early-stopping": ("early_stopping", lambda: callbacks.as_early_stopping("x")),
    "epochs-steps": ("epochs", lambda: train(MLP([3, 2]), X, Y, epochs=2**62)),
    "optimizer-state": ("state", lambda: _optimizer_state(MLP([3, 2]), Adam(), None, 5)),
    "velocities-unused": (
        "velocities",
        lambda: _optimizer_state(MLP([3, 2]), Adam(), velocities_of(MLP([3, 2])), None),
    ),
    "weight-sum": ("sample_weight", lambda: objective._divisor("weights", np.zeros(4))),
    "forward-overflow": ("X", lambda: check_forward(np.array([[1.0, np.inf]]), np.float32)),
    "gradient-overflow": (
        "X",
        lambda: objective._finite_gradients([np.array([np.nan])], [], np.float32),
    ),
    "step-max": ("eps", lambda: gradient_check._check_eps(2.0)),
    "step-rounding": (
        "eps",
        lambda: gradient_check._logit_differences(np.array([[1e20, 0.0]]), np.array([0]), 1e-6),
    ),
    "rates": ("rates", lambda: schedules.Piecewise({1: 0.1})),
    "schedule-name": ("lr_schedule", lambda: schedules.as_schedule("nope", 0.1)),
    "schedule-type": ("lr_schedule", lambda: schedules.as_schedule(5, 0.1)),
    "dtype-names-type": ("dtypes", lambda: _warmup._as_dtypes(5)),
    "dtype-names": ("dtypes", lambda: _warmup._as_dtypes(["float32", "int8"])),
    "dtype-names-empty": ("dtypes", lambda: _warmup._as_dtypes([])),
    "jobs": ("jobs", lambda: _warmup._as_jobs(0)),
    "layer-counts-type": ("hidden_layers", lambda: _warmup._as_hidden_layers(1.5)),
    "layer-counts": ("hidden_layers", lambda: _warmup._as_hidden_layers([1, -1])),
    "layer-counts-empty": ("hidden_layers", lambda: _warmup._as_hidden_layers([])),
    "hidden-sequence": ("hidden", lambda: Config(hidden=5)),
    "one-swept": ("by", lambda: sweep_result([{"lr": 0.1, "epochs": 1}]).by("lr")),
    "swept-name": ("name", lambda: sweep_result([{"lr": 0.1}]).by("epochs")),
    "swept-distinct": ("lr", lambda: sweep_result([{"lr": 0.1}, {"lr": 0.1}]).by("lr")),
    "label-table": ("label", lambda: experiments.load_data(Config(label="y"))),
    "data-name": ("data", lambda: experiments.load_data(Config(data="nope"))),
    "rows-available": ("num_train", lambda: experiments._rows("num_train", 5, 3)),
    "grid-field": ("grid", lambda: experiments.sweep(Config(), nope=[1])),
    "grid-values": ("lr", lambda: experiments.sweep(Config(), lr=0.1)),
    "grid-empty": ("lr", lambda: experiments.sweep(Config(), lr=[])),
    "step-losses": ("history", lambda: plots.step_loss(np.zeros(0))),
    "window": ("window", lambda: plots.step_loss(np.ones(5), window=9)),
    "epochs-none": ("history", lambda: plots.epoch_loss(History())),
    "rates-none": ("results", lambda: plots.lr_comparison({})),
    "rates-positive": ("results", lambda: plots.lr_comparison({0.0: []})),
    "histories-none": ("histories", lambda: plots._runs("histories", [])),
    "curve-empty": ("histories", lambda: plots._curves("histories", [History()], "val_loss")),
    "two-inputs": ("model", lambda: plots.decision_boundary(MLP([3, 2]), np.zeros((2, 3)), [0, 1])),
    "digit-images": ("images", lambda: plots._digits(np.zeros((0, 784)), [], [], 1)),
    "images-none": ("n", lambda: plots._digits(np.zeros((1, 784)), [0], [0], 0)),
    "image-labels": ("y_true, y_pred", lambda: plots._digits(np.zeros((1, 784)), [0, 1], [0], 1)),
    "label-pair": ("y_true, y_pred", lambda: plots.confusion_counts([0, 1], [0])),
    "positive-outputs": ("outputs", lambda: plots.softmax_vs_normalisation([-1.0])),
    "binary-target": ("target", lambda: plots.softmax_vs_normalisation(target=2)),
    "format-suffix": ("path", lambda: plots.save(None, "figure")),
    "layer-list": ("coefs_", lambda: net(np.zeros((3, 2)), [np.zeros(2)])),
    "layer-lists": ("coefs_, intercepts_", lambda: net([np.zeros((3, 2))], [])),
    "coef-rows": ("coefs_[0]", lambda: net([np.zeros((4, 2))], [np.zeros(2)])),
    "intercept-shape": ("intercepts_[0]", lambda: net([np.zeros((3, 2))], [np.zeros(3)])),
    "coef-columns": ("coefs_[0]", lambda: net([np.zeros((3, 4))], [np.zeros(4)])),
    "outputs-vector": ("z", lambda: reference.normalised_xent_backward([], 0)),
    "outputs-positive": ("z", lambda: reference.normalised_xent_backward([1.0, -1.0], 0)),
    "class-index": ("t", lambda: reference.normalised_xent_backward([1.0, 2.0], 2)),
    "folder-type": ("data_dir", lambda: mnist.mnist_dir(5)),
    "mirrors": ("mirrors", lambda: mnist.mirrors_to_try("https://example.org/")),
    "arrays-none": ("arrays", lambda: preprocessing._stats_source([], None)),
    "feature-shape": (
        "arrays",
        lambda: preprocessing._stats_source([np.zeros((2, 3)), np.zeros((2, 4))], None),
    ),
    "sizes-type": ("sizes", lambda: MLP(5)),
    "sizes-length": ("sizes", lambda: MLP([3])),
    "sizes-value": ("sizes", lambda: MLP([3, 0, 2])),
}


def test_every_rule_is_broken_here():
    assert sorted(BREAKS) == sorted(RULES)


@pytest.mark.parametrize("key", sorted(RULES))
def test_template_names_the_argument_and_what_was_expected(key):
    rule = RULES[key]
    fields = [field for _, field, _, _ in string.Formatter().parse(rule.message) if field]
    assert rule.message.startswith("{name}: expected "), rule.message
    assert "name" in fields
    assert issubclass(rule.error, (TypeError, ValueError)), rule.error


@pytest.mark.parametrize("key", sorted(BREAKS))
def test_a_broken_rule_raises_its_error_and_message(key):
    name, call = BREAKS[key]
    with pytest.raises(Exception) as caught:
        call()
    error = caught.value
    assert type(error) is RULES[key].error, f"{type(error).__name__}: {error}"
    pattern = rule_regex(key).replace("{name}", re.escape(name))
    assert re.fullmatch(pattern, str(error)), f"{error!s} does not match the rule {key!r}"


def test_reject_fills_the_template_without_raising():
    error = reject("positive", "lr", value=-0.5)
    assert type(error) is ValueError
    assert str(error) == "lr: expected a finite value > 0, found -0.5"
    with pytest.raises(KeyError):
        reject("positive", "lr")  # a missing field is the caller's bug, not a blank
