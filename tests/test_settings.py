"""One place per hyperparameter: everything that names one derives from ``TrainSettings``."""

import dataclasses
import inspect
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, Adam, train
from fastmlp.checkpoint import CheckpointError
from fastmlp.cli import build_parser
from fastmlp.experiments import Config, NotLearningWarning, run
from fastmlp.settings import RUN_FINGERPRINT, TrainSettings, fields, fingerprint
from fastmlp.training import RUN_ARGUMENTS

NAMES = [f.name for f in fields()]
#: Settings deliberately kept off the command line.
NOT_ON_THE_COMMAND_LINE = {"initial_epoch"}
#: A value other than the default for every setting a resumed run must share.
OTHER_VALUE = {
    "lr": 0.3,
    "batch_size": 2,
    "shuffle": False,
    "seed": 1,
    "backend": "numba",
    "momentum": 0.5,
    "weight_decay": 0.1,
    "lr_schedule": "step",
    "early_stopping": 3,
    "initial_epoch": 1,
    "optimizer": Adam(lr=0.01),  # the default rate: only the optimizer differs
    "l2": 0.5,
    "average": "weights",
}


def data(rng, n=40):
    return rng.normal(size=(n, 4)), rng.integers(0, 3, n)


def test_train_keywords_are_the_settings_and_the_run_arguments():
    parameters = inspect.signature(train).parameters
    keywords = [p for p in parameters.values() if p.kind is p.KEYWORD_ONLY]
    settings = [p.name for p in keywords if p.name not in RUN_ARGUMENTS]
    assert settings == NAMES  # every setting, in the settings' order, and nothing else
    assert {p.name for p in keywords} - set(NAMES) == set(RUN_ARGUMENTS)
    for f in fields():
        assert parameters[f.name].default == f.default, f.name
        assert f"\n{f.name} : " in train.__doc__, f.name  # documented from its metadata


def test_every_setting_is_recorded_in_the_history_config(rng):
    X, y = data(rng)
    history = train(MLP([4, 3]), X, y, backend="numpy", momentum=0.5, lr_schedule="step")
    assert set(NAMES) <= set(history.config)
    assert history.config["momentum"] == 0.5
    assert history.config["lr_schedule"] == "StepDecay(lr=0.01, factor=0.5, every=10)"
    assert history.config["early_stopping"] == "None"


def test_the_fingerprint_holds_every_setting_but_epochs():
    assert set(fingerprint()) == set(RUN_FINGERPRINT) | set(NAMES) - {"epochs"}
    assert set(OTHER_VALUE) == set(NAMES) - {"epochs"}  # a new setting needs a value here


@pytest.mark.parametrize("name", sorted(OTHER_VALUE))
def test_a_checkpoint_of_other_settings_is_refused(tmp_path, rng, name):
    X, y = data(rng)
    Xv, yv = data(rng, 10)
    path = tmp_path / "c.npz"
    options = dict(backend="numpy", validation=(Xv, yv), checkpoint=path, progress=False)
    train(MLP([4, 3]), X, y, epochs=1, **options)
    changed = TrainSettings().replace(**{name: OTHER_VALUE[name]})
    with pytest.raises(CheckpointError, match=f"written for {name}="):
        train(MLP([4, 3]), X, y, **{**options, name: getattr(changed, name)}, resume=True)


def test_every_setting_on_the_command_line_reaches_the_config():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for command in ("train", "sweep"):
        dests = {action.dest for action in commands[command]._actions}
        assert set(NAMES) - NOT_ON_THE_COMMAND_LINE <= dests, command
        assert not NOT_ON_THE_COMMAND_LINE & dests
    argv = ["train", "--epochs", "3", "--lr", "0.2", "--batch-size", "4", "--no-shuffle"]
    argv += ["--seed", "7", "--backend", "numpy", "--momentum", "0.5", "--weight-decay", "0.1"]
    argv += ["--schedule", "step", "--early-stopping", "2"]
    argv += ["--optimizer", "sgd", "--l2", "0.3", "--average", "weights"]
    args = parser.parse_args(argv)
    config = fastmlp.cli._config(args)
    expected = dict(epochs=3, lr=0.2, batch_size=4, shuffle=False, seed=7, backend="numpy")
    expected |= dict(momentum=0.5, weight_decay=0.1, lr_schedule="step", early_stopping=2)
    expected |= dict(optimizer="sgd", l2=0.3, average="weights")
    assert {name: getattr(config, name) for name in expected} == expected
    assert set(expected) == set(NAMES) - NOT_ON_THE_COMMAND_LINE  # every flag was given


def test_config_is_the_settings_plus_the_data_and_run_passes_every_setting():
    assert [f.name for f in dataclasses.fields(Config)][: len(NAMES)] == NAMES
    assert Config().epochs == 5 and TrainSettings().epochs == 1
    config = Config(num_train=60, num_val=20, epochs=2, backend="numpy", shuffle=False, lr=0.1)
    config = config.replace(momentum=0.5, early_stopping=1, initial_epoch=1, lr_schedule="step")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotLearningWarning)  # a few epochs of 60 points
        history = run(config, seed=3).history
    assert {k: history.config[k] for k in NAMES} == config.replace(seed=3).record()


def test_estimator_parameters_map_onto_settings(rng):
    pytest.importorskip("sklearn")
    from fastmlp.estimator import _NOT_SETTINGS, _SETTING_NAMES, MLPClassifier

    estimator_only = {"hidden_layer_sizes", "activation", "validation_fraction", "dtype"}
    estimator_only |= {"n_iter_no_change", "tol", "random_state", "verbose", "warm_start"}
    for name in MLPClassifier._get_param_names():
        setting = _SETTING_NAMES.get(name, name)
        assert (setting in NAMES and name not in _NOT_SETTINGS) != (
            name in estimator_only | _NOT_SETTINGS
        ), name
    X, y = data(rng)
    clf = MLPClassifier((3,), learning_rate=0.2, max_epochs=2, momentum=0.5, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 2 epochs
        clf.set_params(backend="numpy", weight_decay=0.1, batch_size=4).fit(X, y)
    config = clf.history_.config
    assert (config["lr"], config["epochs"], config["momentum"]) == (0.2, 2, 0.5)
    assert (config["shuffle"], config["weight_decay"], config["batch_size"]) == (False, 0.1, 4)
    assert config["backend"] == "numpy"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"lr": 0}, ValueError, "lr: expected a finite value > 0, found 0"),
        ({"batch_size": 2.0}, TypeError, "batch_size: expected an integer, found 2.0"),
        ({"shuffle": "yes"}, TypeError, "shuffle: expected True or False, found 'yes'"),
        ({"seed": -1}, ValueError, "seed: expected None or an integer >= 0, found -1"),
        ({"backend": "jax"}, ValueError, r"backend: expected one of \['numba', 'numpy'\]"),
        ({"momentum": -0.1}, ValueError, r"momentum: expected a value in \[0, 1\)"),
        ({"lr_schedule": 3}, TypeError, "lr_schedule: expected a name, a Schedule"),
        ({"early_stopping": 0}, ValueError, "early_stopping: expected a finite value > 0"),
        ({"initial_epoch": True}, TypeError, "initial_epoch: expected an integer, found True"),
    ],
)
def test_settings_are_checked_on_construction_and_replace(changes, error, message):
    with pytest.raises(error, match=message):
        TrainSettings(**changes)
    with pytest.raises(error, match=message):
        Config().replace(**changes)


def test_settings_are_frozen_hashable_and_keep_values_as_given():
    settings = TrainSettings(lr=1, early_stopping=True)
    assert settings.lr == 1 and settings.checked["lr"] == 1.0
    assert settings.checked["early_stopping"] == fastmlp.EarlyStopping()
    assert hash(settings) == hash(TrainSettings(lr=1, early_stopping=True))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lr = 0.5
    assert Config(lr_schedule="step").to_dict()["lr_schedule"] == "step"
    assert np.isclose(settings.schedule(3, 10), 1.0)
