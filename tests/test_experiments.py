import json
import warnings

import numpy as np
import pytest

import fastmlp.experiments
from fastmlp import History, StepDecay
from fastmlp.datasets import SYNTHETIC
from fastmlp.experiments import (
    CURVES,
    Config,
    Interrupted,
    NotLearningWarning,
    RepeatResult,
    load_data,
    repeat,
    run,
    sweep,
)

CFG = Config(data="synth", hidden=(3,), epochs=2, num_train=2000, num_val=500, lr=0.1)
#: Too small to learn: its runs warn with NotLearningWarning.
TINY = CFG.replace(epochs=1, num_train=200, num_val=50)


@pytest.fixture(scope="module")
def repeated():
    return repeat(CFG, runs=3, n_jobs=1)


def assert_same_runs(a, b):
    assert a.seeds == b.seeds
    for ha, hb in zip(a.histories, b.histories, strict=True):
        np.testing.assert_array_equal(ha.step_loss, hb.step_loss)
        assert ha.val_loss == hb.val_loss
        assert ha.val_accuracy == hb.val_accuracy
    for ma, mb in zip(a.models, b.models, strict=True):
        np.testing.assert_array_equal(ma.params, mb.params)


def test_run_trains_with_validation():
    result = run(CFG)
    assert result.config is CFG
    assert result.seed == 0
    history = result.history
    assert history.epochs == 2
    assert len(history.val_loss) == len(history.val_accuracy) == 2
    assert history.step_loss.shape == (2 * 2000,)
    assert np.isfinite(history.val_loss).all()
    assert result.model.sizes == (2, 3, 2)
    assert result.model.dtype == np.float32
    assert history.config["seed"] == 0 and history.config["lr"] == CFG.lr


def test_run_same_seed_is_bit_identical():
    a, b = run(CFG, seed=4), run(CFG.replace(seed=4))
    assert a.seed == b.seed == 4
    np.testing.assert_array_equal(a.model.params, b.model.params)
    np.testing.assert_array_equal(a.history.step_loss, b.history.step_loss)


def test_config_normalises_hidden_and_replaces():
    config = Config(hidden=[4, 4])
    assert config.hidden == (4, 4)
    assert hash(config) == hash(Config(hidden=(4, 4)))
    assert config.replace(lr=0.5).lr == 0.5 and config.lr is None  # as given: the default
    assert config.checked["lr"] == 0.01  # as training uses it: plain SGD's rate
    with pytest.raises(TypeError, match="hidden: expected a sequence"):
        Config(hidden=3)


def test_repeat_seeds_and_distinct_runs(repeated):
    assert repeated.config is CFG
    assert repeated.seeds == [0, 1, 2]
    assert len(repeated.histories) == len(repeated.models) == 3
    for seed, history, model in zip(repeated.seeds, repeated.histories, repeated.models):
        alone = run(CFG, seed=seed)
        np.testing.assert_array_equal(history.step_loss, alone.history.step_loss)
        np.testing.assert_array_equal(model.params, alone.model.params)
    params = [m.params for m in repeated.models]
    losses = [h.step_loss for h in repeated.histories]
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert not np.array_equal(params[i], params[j])
        assert not np.array_equal(losses[i], losses[j])


def test_repeat_curve_and_final(repeated):
    for key in CURVES:
        values = np.array([getattr(h, key) for h in repeated.histories])
        mean, std = repeated.curve(key)
        np.testing.assert_allclose(mean, values.mean(axis=0), rtol=1e-15)
        np.testing.assert_allclose(std, values.std(axis=0), rtol=1e-15)
    last = [h.val_accuracy[-1] for h in repeated.histories]
    assert repeated.final() == pytest.approx((np.mean(last), np.std(last)), rel=1e-15)
    last = [h.train_loss[-1] for h in repeated.histories]
    assert repeated.final("train_loss") == pytest.approx((np.mean(last), np.std(last)), rel=1e-15)
    with pytest.raises(ValueError, match=r"key: expected one of .*'val_loss'.*found 'lr'"):
        repeated.curve("lr")


def test_curve_truncates_to_the_shortest_run():
    histories = [History(train_loss=[1.0, 2.0, 3.0]), History(train_loss=[3.0, 4.0])]
    result = RepeatResult(CFG, [0, 1], histories, [None, None])
    mean, std = result.curve("train_loss")
    np.testing.assert_array_equal(mean, [2.0, 3.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])
    assert result.final("train_loss") == (3.5, 0.5)


def test_repeat_to_dict_is_json(repeated):
    data = json.loads(json.dumps(repeated.to_dict()))
    assert data["seeds"] == [0, 1, 2]
    assert data["config"] == CFG.to_dict()
    assert data["histories"][1] == repeated.histories[1].to_dict()
    assert data["curves"]["val_loss"]["mean"] == repeated.curve("val_loss")[0].tolist()
    assert set(data["curves"]) == set(CURVES)
    schedule = StepDecay(0.1, every=1)
    assert Config(lr_schedule=schedule).to_dict()["lr_schedule"] == repr(schedule)
    assert Config(lr_schedule="step").to_dict()["lr_schedule"] == "step"


def test_parallel_equals_sequential(repeated):
    assert_same_runs(repeat(CFG, runs=3, n_jobs=2), repeated)


def test_sweep_over_lr_in_one_pool():
    config = CFG.replace(lr_schedule=StepDecay(0.01, every=1))  # a schedule crosses the pool too
    with pytest.warns(NotLearningWarning):  # lr 0.01 is too small for 2 epochs
        result = sweep(config, runs=2, n_jobs=2, lr=[0.01, 0.1])
    assert result.config is config
    assert result.params == [{"lr": 0.01}, {"lr": 0.1}]
    for params, repeated in zip(result.params, result.results, strict=True):
        assert repeated.config == config.replace(**params)
        assert repeated.seeds == [0, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotLearningWarning)  # asserted above
            assert_same_runs(repeated, repeat(config.replace(**params), runs=2, n_jobs=1))
    by_lr = result.by("lr")
    assert list(by_lr) == [0.01, 0.1]
    assert by_lr[0.1] is result.results[1]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["params"] == [{"lr": 0.01}, {"lr": 0.1}]
    assert data["config"]["lr_schedule"] == repr(config.lr_schedule)
    assert len(data["results"]) == 2


def test_sweep_two_parameters():
    with pytest.warns(NotLearningWarning):
        result = sweep(TINY, runs=1, n_jobs=1, lr=[0.01, 0.1], hidden=[[3], [5]])
    assert result.params == [
        {"lr": 0.01, "hidden": (3,)},
        {"lr": 0.01, "hidden": (5,)},
        {"lr": 0.1, "hidden": (3,)},
        {"lr": 0.1, "hidden": (5,)},
    ]
    assert [r.models[0].sizes for r in result.results] == [(2, 3, 2), (2, 5, 2)] * 2
    assert [r.histories[0].config["lr"] for r in result.results] == [0.01, 0.01, 0.1, 0.1]
    with pytest.raises(ValueError, match=r"exactly one parameter, found \['lr', 'hidden'\]"):
        result.by("lr")
    json.dumps(result.to_dict())


def test_sweep_by_checks_its_argument():
    with pytest.warns(NotLearningWarning):
        result = sweep(TINY, runs=1, n_jobs=1, lr=[0.1, 0.1])
    with pytest.raises(ValueError, match=r"name: expected the swept parameter 'lr', found 'seed'"):
        result.by("seed")
    with pytest.raises(ValueError, match=r"lr: expected distinct swept values, found \[0.1, 0.1\]"):
        result.by("lr")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lrr": [0.1]}, ValueError, r"grid: expected Config fields \(data, .*\), found 'lrr'"),
        ({"lr": []}, ValueError, r"lr: expected a non-empty list of values, found \[\]"),
        ({"lr": 0.1}, TypeError, r"lr: expected a list of values, found 0.1"),
        ({"runs": 0, "lr": [0.1]}, ValueError, r"runs: expected a finite value > 0, found 0"),
        ({"n_jobs": 0, "lr": [0.1]}, ValueError, r"n_jobs: expected a finite value > 0, found 0"),
    ],
)
def test_sweep_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        sweep(TINY, **kwargs)


def test_repeat_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"runs: expected a finite value > 0, found 0"):
        repeat(TINY, runs=0)
    with pytest.raises(ValueError, match=r"n_jobs: expected a finite value > 0, found -1"):
        repeat(TINY, n_jobs=-1)
    with pytest.raises(TypeError, match=r"runs: expected an integer, found 2.0"):
        repeat(TINY, runs=2.0)


def test_disc_run():
    config = Config(data="disc", hidden=(8,), epochs=2, num_train=2000, num_val=500, lr=0.1)
    (X, y), (Xv, yv), num_classes = load_data(config)
    expected = SYNTHETIC["disc"](num_train=2000, num_val=500, seed=0)
    for got, want in zip([X, y, Xv, yv], [*expected[0], *expected[1]], strict=True):
        np.testing.assert_array_equal(got, want)
    assert num_classes == 2
    with pytest.warns(NotLearningWarning):  # 2 epochs of 2000 points stay near the majority
        result = run(config)
    assert result.model.sizes == (2, 8, 2)
    assert result.history.epochs == 2
    assert 0 <= result.history.val_accuracy[-1] <= 1


def test_load_data_is_the_same_for_every_run_seed():
    (X, y), (Xv, yv), _ = load_data(CFG)
    for seed in (1, 7):
        (X2, y2), (Xv2, yv2), _ = load_data(CFG.replace(seed=seed))
        for got, want in [(X2, X), (y2, y), (Xv2, Xv), (yv2, yv)]:
            np.testing.assert_array_equal(got, want)
    (X3, _), (Xv3, _), _ = SYNTHETIC["synth"](num_train=2000, num_val=500, seed=0)
    np.testing.assert_array_equal(X3, X)
    np.testing.assert_array_equal(Xv3, Xv)
    (X, _), (Xv, _), _ = load_data(Config(data="moons"))
    assert X.shape == (10_000, 2) and Xv.shape == (2_000, 2)  # the loader's default sizes


def test_load_data_rejects_unknown_data():
    with pytest.raises(
        ValueError,
        match=r"data: expected one of \['synth', .*'mnist'\] or a .csv or .npz file, found 'nope'",
    ):
        load_data(Config(data="nope"))


def test_mnist_trains(mnist_dir, user_cache):
    config = Config(
        data="mnist",
        data_dir=str(mnist_dir),
        hidden=(16,),
        epochs=1,
        num_train=2000,
        num_val=500,
        batch_size=16,
        lr=0.1,
    )
    (X, y), (Xv, yv), num_classes = load_data(config)
    assert X.shape == (2000, 784) and Xv.shape == (500, 784) and num_classes == 10
    assert X.dtype == np.float32 and y.shape == (2000,) and yv.shape == (500,)
    result = run(config)
    assert result.model.sizes == (784, 16, 10)
    assert result.history.val_accuracy[-1] > 0.5
    with pytest.raises(ValueError, match=r"num_train: expected at most the 55000 rows"):
        load_data(config.replace(num_train=60_000))


def test_worker_errors_reach_the_caller():
    with pytest.raises(ValueError, match="data: expected one of"):
        repeat(Config(data="nope"), runs=2, n_jobs=2)


def test_repeat_reports_each_run_as_it_completes():
    seen = []
    with pytest.warns(NotLearningWarning):
        result = repeat(TINY, runs=2, n_jobs=1, callback=seen.append)
    assert [r.seed for r in seen] == result.seeds == [0, 1]
    assert [r.model for r in seen] == result.models


@pytest.mark.parametrize("how", ["inside-train", "between-epochs"])
def test_ctrl_c_stops_the_remaining_runs_and_keeps_the_completed_ones(monkeypatch, how):
    real_run = fastmlp.experiments.run
    started = []

    def ctrl_c_in_run_1(config, seed, **options):
        started.append(seed)
        if seed == 1 and how == "between-epochs":
            raise KeyboardInterrupt
        result = real_run(config, seed, **options)
        # train turns a Ctrl-C into an interrupted history and returns.
        result.history.interrupted = seed == 1
        return result

    monkeypatch.setattr(fastmlp.experiments, "run", ctrl_c_in_run_1)
    with pytest.raises(Interrupted) as info, pytest.warns(NotLearningWarning):
        repeat(TINY, runs=3, n_jobs=1)
    assert isinstance(info.value, KeyboardInterrupt)
    assert started == [0, 1]  # run 2 never started
    assert [r.seed for r in info.value.runs] == [0]
    assert not info.value.runs[0].history.interrupted
    with pytest.raises(Interrupted) as info, pytest.warns(NotLearningWarning):
        sweep(TINY, runs=2, n_jobs=1, lr=[0.01, 0.1])
    assert [(r.config.lr, r.seed) for r in info.value.runs] == [(0.01, 0)]
