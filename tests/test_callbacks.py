"""The callbacks' protocol, and early stopping's two rules (its own, and scikit-learn's)."""

import functools
import types

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, History, train
from fastmlp.callbacks import Callback, EarlyStopping
from fastmlp.errors import TrainingDivergedError


def data(rng, n=40):
    return rng.normal(size=(n, 4)), rng.integers(0, 3, n)


class Recorder(Callback):
    """Records every hook call; stops after ``stop_at``."""

    def __init__(self, stop_at=None):
        self.calls, self.stop_at = [], stop_at

    def on_train_begin(self, trainer):
        self.calls.append("begin")

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(("epoch", epoch, trainer.epoch_lr))

    def on_chunk_end(self, trainer, samples):
        self.calls.append(("chunk", samples))

    def on_epoch_end(self, trainer, epoch):
        self.calls.append(("end", epoch, trainer.history.epochs))
        return epoch == self.stop_at

    def on_train_end(self, trainer):
        self.calls.append(("done", type(trainer.error).__name__))


def test_hooks_run_in_order_and_a_true_epoch_end_stops(rng):
    X, y = data(rng)
    recorder = Recorder(stop_at=1)
    history = train(MLP([4, 3]), X, y, epochs=4, lr=0.1, callbacks=[recorder], backend="numpy")
    assert recorder.calls == [
        "begin",
        ("epoch", 0, 0.1),
        ("chunk", 40),
        ("end", 0, 1),
        ("epoch", 1, 0.1),
        ("chunk", 40),
        ("end", 1, 2),
        ("done", "NoneType"),
    ]
    assert history.stopped_early and history.epochs == 2


def test_on_train_end_sees_the_error_that_ended_training(rng):
    X, y = data(rng)
    recorder = Recorder()
    # As in test_training: gradients of ~1e3 at a rate of 1e38 overflow float32 weights.
    schedule = fastmlp.Piecewise({0: 0.001, 1: 1e38})
    with pytest.raises(TrainingDivergedError):
        train(MLP([4, 5, 3]), X * 1000, y, epochs=3, lr_schedule=schedule,
              callbacks=[recorder], backend="numpy")  # fmt: skip
    assert recorder.calls[-1] == ("done", "TrainingDivergedError")
    assert ("end", 1, 2) not in recorder.calls


def test_a_callback_may_change_the_epochs_learning_rate(rng):
    X, y = data(rng)

    class Halve(Callback):
        def on_epoch_begin(self, trainer, epoch):
            trainer.epoch_lr /= 2

    class Third(Callback):
        def rate(self, epoch, lr):
            return lr / 3 if epoch else lr

    history = train(MLP([4, 3]), X, y, epochs=2, lr=0.1, callbacks=[Halve()], backend="numpy")
    assert history.lr == [0.05, 0.05]
    history = train(MLP([4, 3]), X, y, epochs=2, lr=0.3, callbacks=[Third()], backend="numpy")
    assert history.lr == [0.3, 0.3 / 3]


class Counter(Callback):
    """A stateful callback: counts epochs and keeps the parameters of the first one."""

    state_arrays = ("first_params",)

    def __init__(self):
        self.seen, self.first = 0, None

    def on_epoch_end(self, trainer, epoch):
        self.seen += 1
        if self.first is None:
            self.first = trainer.model.params.copy()
        if self.seen == 2 and self.interrupt:
            raise KeyboardInterrupt
        return False

    def state_dict(self):
        return {"seen": self.seen, "first_params": self.first}

    def load_state_dict(self, state, history):
        if state["seen"] != history.epochs:
            raise ValueError(f"expected seen={history.epochs}, found {state['seen']!r}")
        self.seen, self.first = state["seen"], state["first_params"]


def test_checkpoints_keep_every_callbacks_state(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    options = dict(epochs=4, lr=0.1, backend="numpy", checkpoint=path, progress=False)
    cut = Counter()
    cut.interrupt = True
    with pytest.warns(UserWarning, match="interrupted after 2 completed"):
        train(MLP([4, 3], seed=0), X, y, callbacks=[cut], **options)
    first = cut.first
    resumed = Counter()
    resumed.interrupt = False
    train(MLP([4, 3], seed=5), X, y, callbacks=[resumed], resume=True, **options)
    # Epoch 1 was interrupted before its checkpoint: the run goes on from epoch 0's.
    assert resumed.seen == 4
    np.testing.assert_array_equal(resumed.first, first)
    # A state the callback refuses refuses the checkpoint, naming the file.
    liar = Counter()
    liar.interrupt = False
    liar.load_state_dict = lambda state, history: Counter.load_state_dict(
        liar, {**state, "seen": 99}, history
    )
    with pytest.raises(fastmlp.checkpoint.CheckpointError, match=r"c\.npz: expected seen=4"):
        train(MLP([4, 3], seed=5), X, y, callbacks=[liar], resume=True, **options)


def test_callback_state_names_may_not_collide(tmp_path, rng):
    X, y = data(rng)

    class Greedy(Callback):
        def state_dict(self):
            return {"params": 1}

    with pytest.raises(ValueError, match="state entry 'params' taken already"):
        train(MLP([4, 3]), X, y, backend="numpy", callbacks=[Greedy()],
              checkpoint=tmp_path / "c.npz")  # fmt: skip


# --- early stopping's rules, on hand-computed sequences --------------------------------------


def feed(stopping, values, monitor, lrs=None):
    """Run ``stopping``'s hooks on ``values`` as the monitored curve; return what it did."""
    model = MLP([2, 2], dtype="float64")
    history = History()
    trainer = types.SimpleNamespace(model=model, history=history, validation=(1, 2), error=None)
    stopping.on_train_begin(trainer)
    counts, stop_epoch, rates = [], None, []
    for epoch, value in enumerate(values):
        trainer.epoch_lr = stopping.rate(epoch, 0.01 if lrs is None else lrs)  # as the Trainer
        stopping.on_epoch_begin(trainer, epoch)
        rates.append(trainer.epoch_lr)
        history.lr.append(trainer.epoch_lr)
        getattr(history, monitor).append(value)
        model.params[...] = epoch  # the parameters after this epoch
        stop = stopping.on_epoch_end(trainer, epoch)
        counts.append(stopping.waited)
        if stop:
            stop_epoch = epoch
            break
    stopping.on_train_end(trainer)
    return counts, stop_epoch, rates, history.best_epoch, model.params[0]


def test_the_patience_rule_is_fastmlps():
    # An improvement beats the best by more than min_delta, and only it becomes the best.
    stopping = EarlyStopping(patience=2, min_delta=0.1)
    counts, stop, _, best, params = feed(stopping, [1.0, 0.95, 0.85, 0.8, 0.79], "val_loss")
    assert counts == [0, 1, 0, 1, 2] and stop == 4
    assert best == 2 and params == 2  # restored: epoch 2's parameters (0.85)


def test_the_sklearn_rule_on_a_loss():
    # tol 0.1, n_iter_no_change 2: a count grows unless the loss is at most best - tol,
    # the best is the lowest loss seen, and training stops when the count exceeds 2.
    stopping = EarlyStopping(patience=2, min_delta=0.1, monitor="train_loss", rule="sklearn")
    values = [1.0, 0.95, 0.8, 0.85, 0.75, 0.72, 0.71]
    counts, stop, _, best, params = feed(stopping, values, "train_loss")
    assert counts == [0, 1, 0, 1, 2, 3] and stop == 5
    assert best == 5 and params == 5  # 0.72 is the lowest loss seen, if not by tol


def test_the_sklearn_rule_on_a_score_where_higher_is_better():
    stopping = EarlyStopping(patience=1, min_delta=0.01, monitor="val_accuracy", rule="sklearn")
    values = [0.5, 0.55, 0.555, 0.7, 0.69, 0.7, 0.705]
    counts, stop, _, best, params = feed(stopping, values, "val_accuracy")
    assert counts == [0, 0, 1, 0, 1, 2] and stop == 5
    assert best == 3 and params == 3  # 0.7 at epoch 3; the tie at epoch 5 is not better


def test_the_sklearn_rule_drops_the_rate_on_a_plateau_when_adaptive():
    # scikit-learn's learning_rate="adaptive": divide by 5 instead of stopping, count
    # again, and stop once the last epoch's rate was at most 1e-6.
    stopping = EarlyStopping(0, 0.01, monitor="train_loss", rule="sklearn", adaptive=True)
    counts, stop, rates, _, _ = feed(stopping, [1.0, 0.5] + [0.5] * 8, "train_loss", lrs=1e-4)
    expected = [1e-4, 1e-4, 1e-4]
    for _ in range(3):
        expected.append(expected[-1] / 5)  # 2e-5, 4e-6, 8e-7: the last is <= 1e-6
    assert rates == expected and stop == 5
    assert counts == [0, 0, 0, 0, 0, 1]


def adaptive_run(X, y, epochs, **options):
    """Train with an adaptive EarlyStopping whose rule drops the rate every third epoch."""
    # min_delta 10: no epoch after the first improves, so the count passes patience=1 every
    # second epoch after it, and each time the rate is divided by 5 instead of stopping.
    stopping = EarlyStopping(1, 10.0, monitor="train_loss", rule="sklearn", adaptive=True)
    model = MLP([4, 5, 3], seed=0)
    history = train(model, X, y, epochs=epochs, lr=0.1, early_stopping=stopping,
                    backend="numpy", progress=False, **options)  # fmt: skip
    return model, history


def test_a_run_with_adaptive_rate_drops_resumes_from_its_checkpoint(tmp_path, rng):
    X, y = data(rng)
    whole, expected = adaptive_run(X, y, 9)
    assert expected.lr == [0.1] * 3 + [0.02] * 2 + [0.004] * 2 + [0.1 / 5 / 5 / 5] * 2
    path = tmp_path / "c.npz"
    adaptive_run(X, y, 7, checkpoint=path)  # two drops before the checkpoint
    resumed, history = adaptive_run(X, y, 9, checkpoint=path, resume=True)
    assert history.lr == expected.lr and history.train_loss == expected.train_loss
    np.testing.assert_array_equal(resumed.params, whole.params)


@pytest.mark.parametrize("drops", [[0], [3, 2], [2, 2], [5], 2, [1.0], [True], "1"])
def test_early_stopping_refuses_rate_drops_it_could_not_have_made(drops):
    stopping = EarlyStopping(1, rule="sklearn", adaptive=True)
    state = {"best_loss": None, "waited": 0, "best_params": None, "lr_drops": drops}
    history = History(train_loss=[1.0] * 4)
    with pytest.raises(ValueError, match=r"^expected lr_drops to be ascending epochs from 1 to 4"):
        stopping.load_state_dict(state, history)
    stopping.load_state_dict({**state, "lr_drops": [1, 4]}, history)
    assert stopping.rate(0, 1.0) == 1.0 and stopping.rate(3, 1.0) == 0.2
    assert stopping.rate(4, 1.0) == 1.0 / 5 / 5


def next_score(scores, X, y, sample_weight=None):
    """scikit-learn's ``_score``, giving the next of ``scores``."""
    return next(scores)


def test_the_sklearn_rule_matches_scikit_learns_own_code(rng):
    sklearn_mlp = pytest.importorskip("sklearn.neural_network._multilayer_perceptron")
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    for early_stopping, monitor in ((True, "val_accuracy"), (False, "train_loss")):
        values = np.round(rng.uniform(0.4, 0.6, 40), 3).tolist()
        # scikit-learn's loop in _fit_stochastic, around its _update_no_improvement_count
        clf = sklearn_mlp.MLPClassifier(n_iter_no_change=2, tol=0.01)
        clf.validation_scores_, clf.loss_curve_, clf._no_improvement_count = [], [], 0
        clf.best_validation_score_, clf.best_loss_ = -np.inf, np.inf
        clf.coefs_, clf.intercepts_ = [np.zeros(1)], [np.zeros(1)]
        optimizer = SGDOptimizer([np.zeros(1)], 0.01, lr_schedule="adaptive")
        clf._score = functools.partial(next_score, iter(values))
        counts, rates, stop = [], [], None
        for epoch, value in enumerate(values):
            rates.append(optimizer.learning_rate)
            clf.loss_curve_.append(value)
            clf._update_no_improvement_count(early_stopping, None, None, None)
            if clf._no_improvement_count > clf.n_iter_no_change:
                if optimizer.trigger_stopping("", False):
                    counts.append(clf._no_improvement_count)
                    stop = epoch
                    break
                clf._no_improvement_count = 0
            counts.append(clf._no_improvement_count)
        ours = EarlyStopping(2, 0.01, monitor=monitor, rule="sklearn", adaptive=True)
        got_counts, got_stop, got_rates, _, _ = feed(ours, values, monitor)
        assert (got_counts, got_stop, got_rates) == (counts, stop, rates), monitor


def test_early_stopping_is_checked_and_monitors_the_training_loss_without_validation(rng):
    X, y = data(rng)
    with pytest.raises(ValueError, match=r"early_stopping\.monitor: expected one of"):
        train(MLP([4, 3]), X, y, early_stopping=EarlyStopping(monitor="loss"))
    with pytest.raises(ValueError, match=r"early_stopping\.adaptive: needs rule='sklearn'"):
        train(MLP([4, 3]), X, y, early_stopping=EarlyStopping(adaptive=True))
    with pytest.raises(ValueError, match="early_stopping: needs validation"):
        train(MLP([4, 3]), X, y, early_stopping=EarlyStopping(monitor="val_accuracy"))
    stopping = EarlyStopping(patience=1, min_delta=10.0, monitor="train_loss")
    history = train(MLP([4, 3]), X, y, epochs=5, early_stopping=stopping, backend="numpy")
    assert history.stopped_early and history.epochs == 2 and history.best_epoch == 0
    assert repr(stopping) == (
        "EarlyStopping(patience=1, min_delta=10.0, restore_best=True, monitor='train_loss')"
    )
