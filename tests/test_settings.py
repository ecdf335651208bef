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


#: The drop-in estimators' parameters that ``fit_stochastic`` passes on as settings, and how:
#: estimator parameter -> (setting, value given, what ``History.config`` records).
ESTIMATOR_SETTINGS = {
    "learning_rate_init": ("lr", 0.2, 0.2),
    "max_iter": ("epochs", 2, 2),
    "batch_size": ("batch_size", 4, 4),
    "backend": ("backend", "numpy", "numpy"),
    "alpha": ("l2", 0.1, 0.1),
    "momentum": ("momentum", 0.5, 0.5),
    "lr_schedule": ("lr_schedule", "step", "StepDecay(lr=0.2, factor=0.5, every=10)"),
}


def test_estimator_parameters_map_onto_settings(rng):
    from fastmlp.estimator import MLPClassifier

    params = {name: value for name, (_, value, _) in ESTIMATOR_SETTINGS.items()}
    assert {setting for setting, _, _ in ESTIMATOR_SETTINGS.values()} <= set(NAMES)
    assert set(params) <= set(MLPClassifier._get_param_names())
    X, y = data(rng)
    clf = MLPClassifier((3,), solver="sgd", nesterovs_momentum=False, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 2 epochs
        clf.fit(X, y)
    config = clf.history_.config
    recorded = {setting: config[setting] for setting, _, _ in ESTIMATOR_SETTINGS.values()}
    assert recorded == {setting: value for setting, _, value in ESTIMATOR_SETTINGS.values()}
    # scikit-learn's rules: its optimizer and the mean over the batch's sample weights.
    assert config["optimizer"] == "SGD(lr=0.2, momentum=0.5, nesterov=False)"
    assert config["average"] == "weights" and config["weight_decay"] == 0.0
    adam = MLPClassifier((3,), beta_1=0.8, max_iter=1, batch_size="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = adam.fit(X, y).history_.config
    assert config["optimizer"] == "Adam(lr=0.001, beta1=0.8, beta2=0.999, eps=1e-08)"
    assert config["batch_size"] == min(200, len(X))


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
