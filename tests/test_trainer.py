"""The ``Trainer``: rollback, the compile probe, and orders and parameters drawn by the caller."""

import numpy as np
import pytest
from helpers import assert_close

import fastmlp.trainer
from fastmlp import MLP, reference, train
from fastmlp.callbacks import Checkpointing
from fastmlp.errors import TrainingDivergedError
from fastmlp.settings import TrainSettings
from fastmlp.trainer import Rollback, Trainer


def data(rng, n=40, dtype="float64"):
    return rng.normal(size=(n, 4)).astype(dtype), rng.integers(0, 3, n)


def test_rollback_restores_the_arrays_when_the_block_raises():
    a, b = np.arange(4.0), np.ones((2, 2))
    rollback = Rollback([a, b])
    saved = rollback.saved
    with rollback:
        a += 1
    np.testing.assert_array_equal(a, [1, 2, 3, 4])  # kept: the block succeeded
    for error in (KeyboardInterrupt, ValueError):
        with pytest.raises(error), rollback:
            a[...], b[...] = -1, -1
            raise error
        np.testing.assert_array_equal(a, [1, 2, 3, 4])
        np.testing.assert_array_equal(b, np.ones((2, 2)))
    assert rollback.saved is saved and all(s is t for s, t in zip(saved, rollback.saved))


def test_the_compile_probe_runs_once_per_process_and_signature(rng, monkeypatch):
    monkeypatch.setattr(fastmlp.trainer, "_PROBED", set())
    probes = []
    warm_up = fastmlp.trainer._NumbaRunner.warm_up

    def counting(self, *args):
        probes.append((self.model.dtype.name, self.hp["batch_size"]))
        return warm_up(self, *args)

    monkeypatch.setattr(fastmlp.trainer._NumbaRunner, "warm_up", counting)
    X, y = data(rng, dtype="float32")
    first = train(MLP([4, 3], seed=0), X, y, validation=(X[:5], y[:5]))
    again = train(MLP([4, 3], seed=1), X, y, validation=(X[:5], y[:5]))
    assert probes == [("float32", 1)] and again.compile_time == 0.0 <= first.compile_time
    train(MLP([4, 3], dtype="float64"), X, y)  # another signature: probed
    train(MLP([4, 3], dtype="float64"), X, y, backend="numpy")  # nothing to compile
    assert probes == [("float32", 1), ("float64", 1)]


def sgd_by_hand(model, X, y, orders, lr, batch_size):
    """The numpy reference, epoch by epoch over ``orders``."""
    steps = []
    for order in orders:
        losses, _ = reference.sgd_epoch(
            model.weights, model.biases, X, y, order, lr, batch_size, model.activation
        )
        steps.append(losses)
    return np.concatenate(steps)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_parameters_and_orders_drawn_by_the_caller(rng, backend, batch_size):
    """As the next issue draws them: from scikit-learn's legacy RandomState stream."""
    X, y = data(rng)
    state = np.random.RandomState(42)
    model = MLP([4, 5, 3], "tanh", "float64", seed=None)
    model.params[...] = state.uniform(-0.5, 0.5, model.params.size)
    by_hand = model.copy()
    orders = [state.permutation(len(X)) for _ in range(3)]
    expected = sgd_by_hand(by_hand, X, y, orders, 0.05, batch_size)
    settings = TrainSettings(epochs=3, lr=0.05, batch_size=batch_size, backend=backend)
    for given in (iter(orders), lambda epoch, n: orders[epoch]):
        trained = MLP([4, 5, 3], "tanh", "float64", seed=None)
        trained.params[...] = model.params
        history = Trainer(trained, settings, orders=given).fit(X, y)
        assert_close(history.step_loss, expected, "float64")
        assert_close(trained.params, by_hand.params, "float64")


def test_orders_are_checked(rng, tmp_path):
    X, y = data(rng, n=10)
    settings = TrainSettings(epochs=2, backend="numpy")
    model = MLP([4, 3])
    before = model.params.copy()
    with pytest.raises(ValueError, match="orders: expected an order for epoch 1, found none"):
        Trainer(model, settings, orders=[np.arange(10)]).fit(X, y)
    model.params[...] = before
    with pytest.raises(ValueError, match="orders: expected 10 indices for epoch 0, found 9"):
        Trainer(model, settings, orders=lambda epoch, n: np.arange(9)).fit(X, y)
    with pytest.raises(ValueError, match=r"orders: expected indices in \[0, 10\)"):
        Trainer(model, settings, orders=lambda epoch, n: np.arange(1, 11)).fit(X, y)
    np.testing.assert_array_equal(model.params, before)  # rolled back
    with pytest.raises(TypeError, match="orders: expected None, a callable"):
        Trainer(model, settings, orders=3).fit(X, y)
    with pytest.raises(ValueError, match="orders: a checkpointed run draws its orders from seed"):
        Trainer(model, settings, orders=[], callbacks=[Checkpointing(tmp_path / "c")]).fit(X, y)


def test_the_trainer_is_what_train_runs(rng):
    X, y = data(rng)
    a, b = MLP([4, 3], seed=0), MLP([4, 3], seed=0)
    settings = TrainSettings(epochs=2, lr=0.1, batch_size=8, momentum=0.5, backend="numpy")
    ha = Trainer(a, settings).fit(X, y, validation=(X[:9], y[:9]))
    hb = train(b, X, y, epochs=2, lr=0.1, batch_size=8, momentum=0.5, backend="numpy",
               validation=(X[:9], y[:9]))  # fmt: skip
    np.testing.assert_array_equal(a.params, b.params)
    assert ha.to_dict() | {"epoch_time": 0, "samples_per_second": 0} == hb.to_dict() | {
        "epoch_time": 0,
        "samples_per_second": 0,
    }
    with pytest.raises(TypeError, match="callbacks: expected Callback objects, found 3"):
        Trainer(a, settings, callbacks=[3])
    with pytest.raises(TypeError, match="settings: expected TrainSettings"):
        Trainer(a, {"epochs": 2})


def test_a_trainer_runs_again_as_train_would_be_called_again(rng):
    X, y = data(rng)
    settings = TrainSettings(batch_size=16, momentum=0.5, backend="numpy")
    a, b = MLP([4, 3], seed=0), MLP([4, 3], seed=0)
    trainer = Trainer(a, settings)
    with pytest.warns(UserWarning, match="batch_size: 16 is larger than the 10 rows"):
        small = trainer.fit(X[:10], y[:10])
    again = trainer.fit(X, y)
    assert (small.config["batch_size"], again.config["batch_size"]) == (10, 16)
    with pytest.warns(UserWarning, match="batch_size: 16 is larger than the 10 rows"):
        train(b, X[:10], y[:10], batch_size=16, momentum=0.5, backend="numpy")
    train(b, X, y, batch_size=16, momentum=0.5, backend="numpy")
    np.testing.assert_array_equal(a.params, b.params)  # each run from zero velocity


# Optimizers, the L2 penalty and the outputs, through train: the kernels against the twin.

OPTIMIZERS = {
    "adam": lambda: fastmlp.Adam(lr=0.01),
    "nesterov": lambda: fastmlp.SGD(lr=0.05, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_train_with_an_optimizer_and_l2_matches_the_numpy_twin(rng, name, batch_size):
    X, y = data(rng)
    sw = rng.uniform(0.5, 2.0, len(y))
    runs = []
    for backend in ("numba", "numpy"):
        model = MLP([4, 5, 3], dtype="float64", seed=1)
        history = train(
            *(model, X, y),
            epochs=3,
            batch_size=batch_size,
            optimizer=OPTIMIZERS[name](),
            l2=0.1,
            average="weights",
            sample_weight=sw,
            backend=backend,
            progress=False,
        )
        runs.append((model.params.copy(), history.step_loss))
    assert_close(runs[0][0], runs[1][0], "float64")
    assert_close(runs[0][1], runs[1][1], "float64")
    assert history.config["optimizer"] == repr(OPTIMIZERS[name]())
    assert history.config["lr"] == OPTIMIZERS[name]().lr


def test_the_optimizer_carries_its_rate_and_a_disagreeing_lr_or_momentum_is_an_error(rng):
    X, y = data(rng)
    history = train(MLP([4, 3]), X, y, optimizer=fastmlp.Adam(), progress=False)
    assert history.lr == [0.001]
    assert train(MLP([4, 3]), X, y, optimizer="adam", lr=0.02, progress=False).lr == [0.02]
    assert train(MLP([4, 3]), X, y, progress=False).lr == [0.01]  # plain SGD's default rate
    with pytest.raises(ValueError, match="lr: expected None or the rate of optimizer=Adam"):
        train(MLP([4, 3]), X, y, lr=0.01, optimizer=fastmlp.Adam(), progress=False)
    with pytest.raises(ValueError, match="momentum: expected 0 with optimizer='adam'"):
        train(MLP([4, 3]), X, y, momentum=0.5, optimizer="adam", progress=False)
    with pytest.raises(ValueError, match="momentum: expected 0 or the momentum of optimizer"):
        train(MLP([4, 3]), X, y, momentum=0.5, optimizer=fastmlp.SGD(), progress=False)
    with pytest.raises(ValueError, match="velocities: expected None for optimizer=Adam"):
        model = MLP([4, 3])
        velocities = fastmlp.training.new_velocities(model)
        train(model, X, y, optimizer="adam", velocities=velocities, progress=False)
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        train(MLP([4, 3]), X, y, optimizer="rmsprop", progress=False)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_an_adam_run_resumed_from_its_checkpoint_is_the_uninterrupted_run(
    rng, tmp_path, batch_size
):
    X, y = data(rng, dtype="float32")
    options = dict(optimizer="adam", lr=0.01, batch_size=batch_size, l2=0.01, progress=False)
    whole = MLP([4, 6, 3], seed=2)
    expected = train(whole, X, y, epochs=4, **options)
    path = tmp_path / "adam.npz"
    part = MLP([4, 6, 3], seed=2)
    train(part, X, y, epochs=2, checkpoint=path, **options)
    again = MLP([4, 6, 3], seed=5)  # other parameters: the checkpoint's must replace them
    history = train(again, X, y, epochs=4, checkpoint=path, resume=True, **options)
    np.testing.assert_array_equal(again.params, whole.params)
    np.testing.assert_array_equal(history.step_loss, expected.step_loss)


def test_a_diverging_adam_epoch_rolls_the_moments_back_with_the_parameters(rng):
    X, y = data(rng)
    settings = TrainSettings(epochs=1, optimizer="adam", batch_size=8)
    one = Trainer(MLP([4, 5, 3], "relu"), settings)
    one.fit(X, y)
    assert one.state_arrays[-1][0] == 5  # t: the steps taken (40 rows, batches of 8)

    class Poison(fastmlp.Callback):
        def on_epoch_begin(self, trainer, epoch):
            if epoch == 1:  # after the checks: the forward pass gives NaN
                trainer.X[-1] = np.inf

    model = MLP([4, 5, 3], "relu")
    two = Trainer(model, settings.replace(epochs=2), callbacks=[Poison()])
    with pytest.raises(fastmlp.errors.TrainingDivergedError, match="epoch 1"):
        two.fit(X.copy(), y)
    np.testing.assert_array_equal(model.params, one.model.params)
    for after, expected in zip(two.state_arrays, one.state_arrays, strict=True):
        np.testing.assert_array_equal(after, expected)


@pytest.mark.parametrize("output", ["logistic", "identity", "exp"])
def test_train_fits_every_output_and_the_kernels_match_the_twin(rng, output):
    X = rng.normal(size=(60, 4))
    Y = {
        "logistic": (X[:, :2] > 0).astype(float),
        "identity": X[:, :2] @ [[1.0, -0.5], [0.5, 2.0]],
        "exp": np.exp(0.3 * X[:, :2]),
    }[output]
    runs = []
    for backend in ("numba", "numpy"):
        model = MLP([4, 8, 2], activation="tanh", dtype="float64", output=output, seed=3)
        before = model.loss(X, Y)
        history = train(
            model, X, Y, epochs=20, batch_size=4, lr=0.05, backend=backend, progress=False
        )
        runs.append((model.params.copy(), history.train_loss))
        assert model.loss(X, Y) < 0.7 * before, backend
    assert_close(runs[0][0], runs[1][0], "float64")
    assert_close(runs[0][1], runs[1][1], "float64")


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_given_optimizer_state_goes_on_across_runs(rng, backend):
    # Two runs of one epoch handing Adam's state on equal one run of two epochs.
    X, y = data(rng)
    settings = TrainSettings(epochs=1, batch_size=8, optimizer="adam", backend=backend)
    one, two = MLP([4, 5, 3], "tanh", "float64", seed=1), MLP([4, 5, 3], "tanh", "float64", seed=1)
    orders = [rng.permutation(40) for _ in range(2)]
    first = Trainer(one, settings, orders=orders[:1])
    first.fit(X, y)
    Trainer(one, settings, orders=orders[1:], state=first.state).fit(X, y)
    Trainer(two, settings.replace(epochs=2), orders=orders).fit(X, y)
    assert first.state.t[0] == 10
    np.testing.assert_array_equal(one.params, two.params)


def test_a_state_that_does_not_fit_the_network_is_refused(rng):
    X, y = data(rng)
    settings = TrainSettings(epochs=1, optimizer="adam")
    other = fastmlp.Adam().new_state(*(MLP([4, 6, 3], seed=0).weights, MLP([4, 6, 3]).biases))
    with pytest.raises(ValueError, match=r"^state: expected the state of Adam"):
        Trainer(MLP([4, 5, 3], seed=0), settings, state=other).fit(X, y)
    sgd_state = fastmlp.SGD(momentum=0.5).new_state(MLP([4, 5, 3]).weights, MLP([4, 5, 3]).biases)
    with pytest.raises(ValueError, match=r"^state: expected the state of Adam"):
        Trainer(MLP([4, 5, 3], seed=0), settings, state=sgd_state).fit(X, y)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_loss_scale_scales_the_recorded_row_losses_not_the_steps(rng, backend):
    X = rng.normal(size=(30, 3))
    Y = rng.normal(size=(30, 2))
    settings = TrainSettings(epochs=2, batch_size=7, l2=0.3, backend=backend)
    runs = {}
    for scale in (1.0, 0.5):
        model = MLP([3, 4, 2], "tanh", "float64", seed=2, output="identity")
        orders = [np.arange(30)] * 2
        history = Trainer(model, settings, orders=orders, loss_scale=scale).fit(X, Y)
        runs[scale] = (model.params.copy(), history.step_loss)
    np.testing.assert_array_equal(runs[1.0][0], runs[0.5][0])
    # Each step's loss is (sum of row losses + l2/2 |W|^2) / rows: recompute the data term.
    model = MLP([3, 4, 2], "tanh", "float64", seed=2, output="identity")
    twin = reference.sgd_epoch(
        *(model.weights, model.biases, X, Y, np.arange(30), 0.01, 7, "tanh"),
        l2=0.3,
        output="identity",
        loss_scale=0.5,
    )[0]
    assert_close(runs[0.5][1][:5], twin, "float64")
    assert not np.allclose(runs[0.5][1], runs[1.0][1])


def test_check_finite_false_lets_a_diverging_run_go_on(rng):
    X = rng.normal(size=(20, 3)) * 1e150
    Y = rng.normal(size=(20, 1))
    settings = TrainSettings(epochs=3, batch_size=5, lr=1.0)
    model = MLP([3, 4, 1], "identity", "float64", seed=0, output="identity")
    with pytest.raises(TrainingDivergedError):
        Trainer(model.copy(), settings).fit(X, Y)
    with np.errstate(all="ignore"):
        history = Trainer(model, settings, check_finite=False).fit(X, Y)
    assert history.epochs == 3
    assert not np.isfinite(history.train_loss[-1])
