import numpy as np
import pytest
from helpers import assert_close, sparse_inputs

import fastmlp
from fastmlp import MLP, History, gradients, train


def data(rng, n=120, d=10, k=3, dtype="float64"):
    return sparse_inputs(rng, n, d, dtype, density=0.6), rng.integers(0, k, n)


@pytest.mark.parametrize("batch_size", [1, 8, 16, 100])
def test_numba_and_numpy_backends_follow_the_same_trajectory(rng, dtype, activation, batch_size):
    X, y = data(rng, n=230, dtype=dtype)
    a = MLP([10, 7, 3], activation, dtype, seed=5)
    b = a.copy()
    ha = train(a, X, y, epochs=2, lr=0.05, batch_size=batch_size, seed=9)
    hb = train(b, X, y, epochs=2, lr=0.05, batch_size=batch_size, seed=9, backend="numpy")
    assert_close(ha.step_loss, hb.step_loss, dtype)
    assert_close(a.params, b.params, dtype)
    assert a.params.dtype == dtype


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("batch_size", [1, 16])
def test_same_seed_gives_bit_identical_parameters(rng, backend, batch_size):
    X, y = data(rng, dtype="float32")
    runs = []
    for _ in range(2):
        model = MLP([10, 6, 3], seed=1)
        history = train(
            model, X, y, epochs=3, lr=0.1, batch_size=batch_size, seed=42, backend=backend
        )
        runs.append((model.params.copy(), history.step_loss.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    other = MLP([10, 6, 3], seed=1)
    train(other, X, y, epochs=3, lr=0.1, batch_size=batch_size, seed=43, backend=backend)
    assert not np.array_equal(other.params, runs[0][0])


def test_history_records_every_step_and_epoch(rng):
    X, y = data(rng, n=50)
    model = MLP([10, 4, 3], dtype="float64")
    history = train(model, X, y, epochs=3, lr=0.1, batch_size=8)
    assert isinstance(history, History)
    assert history.steps_per_epoch == 7  # 6 full batches and one of 2
    assert history.step_loss.shape == (21,) and history.step_loss.dtype == np.float64
    assert len(history.train_loss) == len(history.epoch_time) == 3
    sizes = np.array([8] * 6 + [2])
    first_epoch = history.step_loss[:7] @ sizes / 50
    assert history.train_loss[0] == pytest.approx(first_epoch, rel=1e-14)
    assert all(t > 0 for t in history.epoch_time)


def test_per_sample_step_losses_are_the_losses_before_each_update(rng):
    X, y = data(rng, n=5)
    model = MLP([10, 4, 3], dtype="float64")
    probe = model.copy()
    history = train(model, X, y, epochs=1, lr=0.1, shuffle=False)
    for i in range(5):
        assert history.step_loss[i] == pytest.approx(
            probe.loss(X[i : i + 1], y[i : i + 1]), rel=1e-12
        )
        train(probe, X[i : i + 1], y[i : i + 1], lr=0.1, shuffle=False)
    np.testing.assert_allclose(probe.params, model.params, rtol=1e-12)


def test_training_learns_a_separable_problem(rng):
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = MLP([2, 4, 2], seed=0)
    before = model.loss(X, y)
    history = train(model, X, y, epochs=10, lr=0.1)
    assert history.train_loss[-1] < history.train_loss[0]
    assert model.loss(X, y) < before / 2
    assert model.accuracy(X, y) > 0.95


def test_gradients_match_between_backends(rng, dtype, activation):
    X, y = data(rng, n=17, dtype=dtype)
    model = MLP([10, 5, 4, 3], activation, dtype, seed=3)
    dW, db = gradients(model, X, y)
    ref_dW, ref_db = gradients(model, X, y, backend="numpy")
    assert len(dW) == len(db) == 3
    for got, want, param in zip([*dW, *db], [*ref_dW, *ref_db], [*model.weights, *model.biases]):
        assert got.shape == param.shape and got.dtype == dtype
        assert_close(got, want, dtype)


def test_gradient_step_lowers_the_loss(rng):
    X, y = data(rng, n=40)
    model = MLP([10, 6, 3], dtype="float64")
    dW, db = gradients(model, X, y)
    before = model.loss(X, y)
    for param, grad in zip([*model.weights, *model.biases], [*dW, *db]):
        param -= 0.01 * grad
    assert model.loss(X, y) < before


def test_one_full_batch_step_is_plain_gradient_descent(rng):
    X, y = data(rng, n=30)
    model = MLP([10, 6, 3], dtype="float64")
    dW, db = gradients(model, X, y)
    expected = [p - 0.5 * g for p, g in zip([*model.weights, *model.biases], [*dW, *db])]
    train(model, X, y, lr=0.5, batch_size=30)
    for got, want in zip([*model.weights, *model.biases], expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, "epochs: expected a finite value > 0, found 0"),
        ({"epochs": 1.5}, TypeError, "epochs: expected an integer, found 1.5"),
        ({"lr": -0.1}, ValueError, "lr: expected a finite value > 0, found -0.1"),
        ({"lr": "fast"}, TypeError, "lr: expected a real number, found 'fast'"),
        ({"batch_size": 0}, ValueError, "batch_size: expected a finite value > 0, found 0"),
        (
            {"backend": "torch"},
            ValueError,
            r"backend: expected one of \['numba', 'numpy'\], found 'torch'",
        ),
    ],
)
def test_bad_hyperparameters_are_named(rng, kwargs, error, message):
    X, y = data(rng, n=10)
    model = MLP([10, 3], dtype="float64")
    before = model.params.copy()
    with pytest.raises(error, match=message):
        train(model, X, y, **kwargs)
    np.testing.assert_array_equal(model.params, before)


def test_bad_data_is_named(rng):
    model = MLP([10, 3])
    X, y = data(rng, n=10)
    with pytest.raises(ValueError, match="y: expected 10 labels"):
        train(model, X, y[:9])
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 3\), found 3"):
        gradients(model, X, np.full(10, 3))
    with pytest.raises(ValueError, match=r"X: expected size 10 on axis 1"):
        fastmlp.gradients(model, X[:, :9], y)


# --- issue 4: momentum, weight decay, sample weights, schedules, validation, stopping ------


@pytest.mark.parametrize("batch_size", [1, 16, 100])
@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.9, 0.0), (0.0, 1e-3), (0.5, 1e-2)])
def test_momentum_and_weight_decay_match_the_reference(
    rng, dtype, batch_size, momentum, weight_decay
):
    # Momentum 0.9 amplifies float32 rounding differences along a trajectory (FMA in
    # the kernels, BLAS order in numpy): float32 is compared over one shorter epoch.
    n, epochs = (230, 2) if dtype == "float64" else (100, 1)
    X, y = data(rng, n=n, dtype=dtype)
    a = MLP([10, 7, 3], "tanh", dtype, seed=5)
    b = a.copy()
    kwargs = dict(
        epochs=epochs,
        lr=0.05,
        batch_size=batch_size,
        seed=9,
        momentum=momentum,
        weight_decay=weight_decay,
    )
    ha = train(a, X, y, **kwargs)
    hb = train(b, X, y, backend="numpy", **kwargs)
    assert_close(ha.step_loss, hb.step_loss, dtype)
    assert_close(a.params, b.params, dtype)
    assert ha.train_accuracy == hb.train_accuracy


def test_momentum_step_by_hand(rng):
    X, y = data(rng, n=2)
    model = MLP([10, 3], dtype="float64")
    W0 = model.params.copy()
    g0 = np.concatenate([g.ravel() for pair in zip(*gradients(model, X[:1], y[:1])) for g in pair])
    probe = model.copy()
    probe.params[...] = W0 - 0.1 * g0
    g1 = np.concatenate([g.ravel() for pair in zip(*gradients(probe, X[1:], y[1:])) for g in pair])
    train(model, X, y, lr=0.1, momentum=0.9, shuffle=False)
    v1 = -0.1 * g0
    v2 = 0.9 * v1 - 0.1 * g1
    np.testing.assert_allclose(model.params, W0 + v1 + v2, rtol=1e-12)


def test_weight_decay_spares_biases_and_shrinks_weights(rng):
    X, y = data(rng, n=50)
    plain, decayed = MLP([10, 3], dtype="float64", seed=1), MLP([10, 3], dtype="float64", seed=1)
    decayed.biases[0][...] = plain.biases[0][...] = 0.5
    train(plain, X, y, lr=0.1, epochs=3)
    train(decayed, X, y, lr=0.1, epochs=3, weight_decay=0.5)
    assert np.abs(decayed.weights[0]).sum() < np.abs(plain.weights[0]).sum()
    # zero inputs, zero gradient: only the decay moves a weight row of a zero feature
    zero_feature = MLP([10, 3], dtype="float64", seed=1)
    X0 = X.copy()
    X0[:, 0] = 0
    before = zero_feature.weights[0][0].copy()
    train(zero_feature, X0, y, lr=0.1, weight_decay=0.5, batch_size=50)
    np.testing.assert_allclose(zero_feature.weights[0][0], before * (1 - 0.1 * 0.5), rtol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_sample_weights_match_the_reference_and_zero_weight_rows_do_nothing(rng, dtype, batch_size):
    X, y = data(rng, n=60, dtype=dtype)
    sw = rng.uniform(0, 2, 60)
    a = MLP([10, 5, 3], dtype=dtype, seed=2)
    b = a.copy()
    ha = train(a, X, y, lr=0.1, batch_size=batch_size, sample_weight=sw, seed=1)
    hb = train(b, X, y, lr=0.1, batch_size=batch_size, sample_weight=sw, seed=1, backend="numpy")
    assert_close(ha.step_loss, hb.step_loss, dtype)
    assert_close(a.params, b.params, dtype)
    c = MLP([10, 5, 3], dtype=dtype, seed=2)
    before = c.params.copy()
    train(c, X, y, lr=0.1, batch_size=batch_size, sample_weight=np.zeros(60))
    np.testing.assert_array_equal(c.params, before)


def test_sample_weight_is_validated(rng):
    X, y = data(rng, n=10)
    model = MLP([10, 3])
    with pytest.raises(
        ValueError, match=r"sample_weight: expected weights >= 0, found -1.0 at index 2"
    ):
        train(model, X, y, sample_weight=[1, 1, -1, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"sample_weight: expected size 10 on axis 0"):
        train(model, X, y, sample_weight=np.ones(9))


def test_history_records_validation_lr_time_and_throughput(rng):
    X, y = data(rng, n=300)
    Xv, yv = data(rng, n=40)
    model = MLP([10, 6, 3], seed=0)
    history = train(model, X, y, epochs=4, lr=0.05, validation=(Xv, yv), lr_schedule="step")
    assert history.epochs == 4
    assert len(history.val_loss) == len(history.val_accuracy) == len(history.train_accuracy) == 4
    assert history.val_loss[-1] == pytest.approx(model.loss(Xv, yv), rel=1e-12)
    assert history.val_accuracy[-1] == model.accuracy(Xv, yv)
    assert history.lr == [0.05] * 4  # StepDecay halves every 10 epochs
    assert all(s > 0 for s in history.samples_per_second)
    assert history.compile_time >= 0
    assert history.config["lr"] == 0.05 and history.config["sizes"] == [10, 6, 3]


def test_train_accuracy_counts_predictions_before_each_update(rng):
    X, y = data(rng, n=7)
    model = MLP([10, 4, 3], dtype="float64")
    probe = model.copy()
    history = train(model, X, y, lr=0.5, shuffle=False)
    hits = 0
    for i in range(7):
        hits += int(probe.predict(X[i : i + 1])[0] == y[i])
        train(probe, X[i : i + 1], y[i : i + 1], lr=0.5, shuffle=False)
    assert history.train_accuracy == [hits / 7]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_lr_schedules_set_each_epochs_rate(rng, backend):
    X, y = data(rng, n=20)
    model = MLP([10, 3])
    schedule = fastmlp.Piecewise({0: 0.1, 2: 0.01})
    history = train(model, X, y, epochs=4, lr_schedule=schedule, backend=backend)
    assert history.lr == [0.1, 0.1, 0.01, 0.01]
    history = train(model, X, y, epochs=3, lr_schedule=lambda epoch: 0.1 / (epoch + 1))
    assert history.lr == pytest.approx([0.1, 0.05, 0.1 / 3])
    history = train(model, X, y, epochs=3, lr=0.2, lr_schedule=fastmlp.LowerAtEnd(0.2, 0.1, last=1))
    assert history.lr == pytest.approx([0.2, 0.2, 0.02])


def test_a_schedule_returning_a_bad_rate_is_named(rng):
    X, y = data(rng, n=10)
    with pytest.raises(
        ValueError, match=r"lr_schedule\(1\): expected a finite value > 0, found -1"
    ):
        train(MLP([10, 3]), X, y, epochs=2, lr_schedule=lambda epoch: 0.1 if epoch == 0 else -1)


def test_chunked_epochs_give_bit_identical_results(rng, capsys):
    X, y = data(rng, n=fastmlp.training.INNER_BAR_MIN_SAMPLES + 37)
    runs = []
    for progress in (False, True):
        for batch_size in (1, 16):
            model = MLP([10, 5, 3], seed=4)
            history = train(
                model,
                X,
                y,
                epochs=2,
                lr=0.05,
                batch_size=batch_size,
                momentum=0.5,
                progress=progress,
            )
            runs.append((model.params.copy(), history.step_loss.copy()))
    assert "sample" in capsys.readouterr().err  # the inner bar ran, so epochs were chunked
    for plain, chunked in zip(runs[:2], runs[2:]):
        np.testing.assert_array_equal(plain[0], chunked[0])
        np.testing.assert_array_equal(plain[1], chunked[1])


def test_callbacks_see_each_epoch_and_can_stop(rng):
    X, y = data(rng, n=30)
    model = MLP([10, 3])
    seen = []

    def stop_after_two(epoch, history, got_model):
        seen.append((epoch, history.epochs, got_model is model))
        return epoch == 1

    history = train(model, X, y, epochs=5, callbacks=[stop_after_two])
    assert seen == [(0, 1, True), (1, 2, True)]
    assert history.stopped_early and history.epochs == 2
    assert history.step_loss.shape == (2 * 30,)


def test_early_stopping_restores_the_best_epoch(rng):
    X, y = data(rng, n=200)
    Xv, yv = X[:50], (y[:50] + 1) % 3  # validation labels disagree with training
    model = MLP([10, 8, 3], dtype="float64", seed=0)
    reference_model = model.copy()
    history = train(
        model,
        X,
        y,
        epochs=20,
        lr=0.2,
        validation=(Xv, yv),
        early_stopping=fastmlp.EarlyStopping(patience=2),
    )
    assert history.stopped_early and history.best_epoch is not None
    assert history.epochs == history.best_epoch + 3
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best
    train(reference_model, X, y, epochs=best + 1, lr=0.2)
    np.testing.assert_array_equal(model.params, reference_model.params)


def test_early_stopping_needs_validation(rng):
    X, y = data(rng, n=10)
    with pytest.raises(ValueError, match="early_stopping: needs validation"):
        train(MLP([10, 3]), X, y, early_stopping=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"momentum": 1.0}, ValueError, r"momentum: expected a value in \[0, 1\), found 1.0"),
        ({"weight_decay": -1}, ValueError, "weight_decay: expected a finite value >= 0"),
        ({"lr_schedule": "cosine"}, ValueError, "lr_schedule: expected one of"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping: expected None, a bool"),
        ({"callbacks": [3]}, TypeError, "callbacks: expected callables, found 3"),
        ({"initial_epoch": -1}, ValueError, "initial_epoch: expected a value >= 0, found -1"),
        ({"initial_epoch": 1.5}, TypeError, "initial_epoch: expected an integer, found 1.5"),
        ({"velocities": ((), ())}, ValueError, "velocities: expected 1 weights arrays, found 0"),
    ],
)
def test_bad_training_options_are_named(rng, kwargs, error, message):
    X, y = data(rng, n=10)
    with pytest.raises(error, match=message):
        train(MLP([10, 3]), X, y, **kwargs)


def test_a_batch_larger_than_the_data_is_one_full_batch(rng):
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 2, 10)
    huge, full = fastmlp.MLP([3, 4, 2], seed=0), fastmlp.MLP([3, 4, 2], seed=0)
    # 10**12 rows of buffers could not be allocated: the kernels use 10.
    with pytest.warns(UserWarning, match=r"batch_size: 1000000000000 is larger than the 10 rows"):
        history = fastmlp.train(huge, X, y, batch_size=10**12, progress=False)
    fastmlp.train(full, X, y, batch_size=10, progress=False)
    assert history.steps_per_epoch == 1
    np.testing.assert_array_equal(huge.params, full.params)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_training_in_several_calls_continues_the_schedule_and_momentum(rng, backend):
    X, y = data(rng)
    options = dict(
        lr=0.1, batch_size=8, shuffle=False, momentum=0.9, backend=backend, progress=False
    )
    schedule = fastmlp.StepDecay(0.1, factor=0.5, every=1)
    whole, parts = MLP([10, 4, 3], seed=1), MLP([10, 4, 3], seed=1)
    once = train(whole, X, y, epochs=3, lr_schedule=schedule, **options)
    velocities = fastmlp.training.new_velocities(parts)
    rates = []
    for epoch in range(3):
        history = train(
            parts,
            X,
            y,
            lr_schedule=schedule,
            initial_epoch=epoch,
            velocities=velocities,
            **options,
        )
        rates += history.lr
    assert rates == once.lr == [0.1, 0.05, 0.025]
    np.testing.assert_array_equal(parts.params, whole.params)


def test_velocities_of_another_shape_are_named(rng):
    X, y = data(rng, n=10)
    velocities = fastmlp.training.new_velocities(MLP([10, 5, 3]))
    with pytest.raises(ValueError, match=r"velocities: expected weights\[0\] as a writeable"):
        train(MLP([10, 4, 3]), X, y, momentum=0.5, velocities=velocities)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_divergence_stops_with_the_epoch_start_parameters(rng, backend, batch_size):
    X, y = data(rng, dtype="float32")
    X *= 1000  # gradients of ~1e3: a rate of 1e38 takes float32 weights past their range
    schedule = fastmlp.Piecewise({0: 0.001, 2: 1e38})
    options = dict(batch_size=batch_size, backend=backend, progress=False)
    good, bad = MLP([10, 5, 3], seed=0), MLP([10, 5, 3], seed=0)
    train(good, X, y, epochs=2, lr_schedule=schedule, **options)
    with pytest.raises(
        fastmlp.errors.TrainingDivergedError, match="diverged in epoch 2 at step"
    ) as info:
        train(bad, X, y, epochs=4, lr_schedule=schedule, **options)
    error = info.value
    assert error.epoch == 2 and 0 <= error.step < -(-len(X) // batch_size)
    assert error.history.epochs == 2 and len(error.history.lr) == 2
    assert error.history.step_loss.size == 2 * error.history.steps_per_epoch
    assert np.isfinite(bad.params).all()
    np.testing.assert_array_equal(bad.params, good.params)


def test_interrupted_mid_epoch_keeps_the_last_completed_epoch(rng, monkeypatch):
    X, y = data(rng)
    done = MLP([10, 5, 3], seed=0)
    train(done, X, y, epochs=2, progress=False)
    calls = []
    run = fastmlp.training._NumbaRunner.run

    def interrupted_in_epoch_2(self, *args):
        run(self, *args)  # the parameters change, then Ctrl-C lands
        calls.append(self.model is model and args[3].size > 0)  # not the warm-up's empty run
        if sum(calls) == 3:
            raise KeyboardInterrupt

    model = MLP([10, 5, 3], seed=0)
    monkeypatch.setattr(fastmlp.training._NumbaRunner, "run", interrupted_in_epoch_2)
    with pytest.warns(UserWarning, match="interrupted after 2 completed epoch"):
        history = train(model, X, y, epochs=5, validation=data(rng, n=20), progress=False)
    assert history.interrupted and history.epochs == 2
    assert len(history.val_loss) == len(history.lr) == len(history.epoch_time) == 2
    assert history.step_loss.size == 2 * len(X)
    np.testing.assert_array_equal(model.params, done.params)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_extreme_inputs_keep_losses_and_gradients_finite(activation, dtype):
    """Saturated sigmoids, dead relus and logits of +-1e4 give finite losses and gradients."""
    model = MLP([4, 3, 2], activation, dtype, seed=0)
    model.weights[0][...] = 1e3  # every hidden unit saturates (or, negated, dies)
    model.weights[1][...] = [[1e4, -1e4]] * 3
    X = np.array([[10.0, 10, 10, 10], [-10, -10, -10, -10]])
    y = np.array([1, 0])
    losses, _ = model.evaluate(X, y)
    assert np.isfinite(losses).all() and losses.max() > 1e3
    dWs, dbs = gradients(model, X, y)
    assert all(np.isfinite(g).all() for g in (*dWs, *dbs))
    train(model, X, y, epochs=2, lr=1e-3, progress=False)
    assert np.isfinite(model.params).all()


def test_a_model_that_is_not_an_mlp_is_named(rng):
    X, y = data(rng, n=5)
    with pytest.raises(TypeError, match=r"model: expected a fastmlp\.MLP, found str"):
        train("model", X, y)
    with pytest.raises(TypeError, match=r"model: expected a fastmlp\.MLP, found NoneType"):
        gradients(None, X, y)


def test_warnings_of_train_point_at_its_caller(rng):
    """``train`` runs inside the wrapper that holds the model's lock: warnings skip that frame."""
    X, y = data(rng, n=5)
    with pytest.warns(UserWarning, match="batch_size: 8 is larger") as record:
        train(MLP([10, 3]), X, y, batch_size=8)
    assert record[0].filename == __file__


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_validation_data_overflowing_the_forward_pass_is_named(backend):
    """Issue 12: such rows gave a NaN validation loss (numba) or numpy overflow warnings."""
    model = MLP([2, 3, 2], "relu", "float32", seed=1)
    X, y, huge = np.ones((4, 2)), [0, 1, 0, 1], np.full((4, 2), 3e38, np.float32)
    with pytest.raises(ValueError, match="X: expected inputs the forward pass can carry in"):
        train(model, X, y, validation=(huge, y), backend=backend)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_gradients_overflowing_the_dtype_are_named_not_nan(backend):
    """Issue 12: finite input near float32's limit gave NaN gradients, silently."""
    model = MLP([2, 3, 2], "relu", "float32", seed=1)
    huge, y = np.full((4, 2), 3e38, np.float32), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="X: expected inputs whose gradients float32 can carry"):
        gradients(model, huge, y, backend=backend)
    dWs, dbs = gradients(model, np.ones((4, 2)), y, backend=backend)
    assert all(np.isfinite(g).all() for g in (*dWs, *dbs))
