import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from helpers import sparse_inputs

import fastmlp
from fastmlp import MLP, train
from fastmlp.checkpoint import CheckpointError


def data(rng, n=120, d=10, k=3):
    return sparse_inputs(rng, n, d, "float32", density=0.6), rng.integers(0, k, n)


def stop_after(epoch):
    """A callback that raises KeyboardInterrupt (as Ctrl-C would) after ``epoch``."""

    def callback(e, history, model):
        if e == epoch:
            raise KeyboardInterrupt

    return callback


RUNS = {
    "per-sample": dict(batch_size=1),
    "minibatch-momentum-decay": dict(batch_size=8, momentum=0.9, weight_decay=1e-3),
    "schedule-early-stopping": dict(
        batch_size=4, lr_schedule=fastmlp.StepDecay(0.2, every=2), early_stopping=3
    ),
}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("options", list(RUNS.values()), ids=list(RUNS))
def test_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path, rng, backend, options):
    X, y = data(rng)
    Xv, yv = data(rng, n=40)
    common = dict(
        epochs=7, lr=0.2, seed=3, backend=backend, validation=(Xv, yv), progress=False, **options
    )
    whole = MLP([10, 6, 3], seed=1)
    once = train(whole, X, y, checkpoint=tmp_path / "whole.npz", **common)

    parts = MLP([10, 6, 3], seed=1)
    path = tmp_path / "parts.npz"
    with pytest.warns(UserWarning, match=r"training interrupted after 3 completed epoch"):
        cut = train(parts, X, y, checkpoint=path, callbacks=[stop_after(2)], **common)
    assert cut.interrupted and cut.epochs == 3
    # A new process would start from a fresh model: the checkpoint carries everything.
    fresh = MLP([10, 6, 3], seed=99)
    resumed = train(fresh, X, y, checkpoint=path, resume=True, **common)

    np.testing.assert_array_equal(fresh.params, whole.params)
    np.testing.assert_array_equal(resumed.step_loss, once.step_loss)
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        assert getattr(resumed, key) == getattr(once, key), key
    assert (resumed.best_epoch, resumed.stopped_early) == (once.best_epoch, once.stopped_early)


def test_resuming_a_finished_run_trains_no_more(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    model = MLP([10, 4, 3], seed=0)
    first = train(model, X, y, epochs=2, checkpoint=path, progress=False)
    again = MLP([10, 4, 3], seed=5)
    second = train(again, X, y, epochs=2, checkpoint=path, resume=True, progress=False)
    np.testing.assert_array_equal(again.params, model.params)
    assert second.train_loss == first.train_loss
    # More epochs than the checkpoint has continue the run.
    more = train(again, X, y, epochs=3, checkpoint=path, resume=True, progress=False)
    assert more.epochs == 3 and more.train_loss[:2] == first.train_loss


def test_checkpoints_are_written_every_n_epochs_and_at_the_end(tmp_path, rng, monkeypatch):
    X, y = data(rng)
    written = []
    save = fastmlp.checkpoint.save

    def spy(path, params, velocities, history, progress):
        written.append(history.epochs)
        return save(path, params, velocities, history, progress)

    monkeypatch.setattr(fastmlp.checkpoint, "save", spy)
    path = tmp_path / "c.npz"
    train(MLP([10, 3]), X, y, epochs=5, checkpoint=path, checkpoint_every=2, progress=False)
    assert written == [2, 4, 5]
    with np.load(path, allow_pickle=False) as archive:
        assert json.loads(str(archive["metadata"]))["epochs_done"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary files left


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": 0.3}, "written for lr=0.1, this run has lr=0.3"),
        ({"seed": 1}, "written for seed=0, this run has seed=1"),
        ({"batch_size": 2}, "written for batch_size=1"),
        ({"data": True}, "written for data_sha256="),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(tmp_path, rng, change, message):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    train(MLP([10, 3]), X, y, epochs=1, lr=0.1, checkpoint=path, progress=False)
    options = dict(epochs=2, lr=0.1, seed=0, batch_size=1)
    if change.pop("data", False):
        X = X.copy()
        X[0, 0] += 1
    options.update(change)
    with pytest.raises(CheckpointError, match=message):
        train(MLP([10, 3]), X, y, checkpoint=path, resume=True, progress=False, **options)


def test_a_checkpoint_of_another_output_is_refused(tmp_path, rng):
    X = rng.normal(size=(30, 10))
    Y = (X[:, :3] > 0).astype(float)  # targets both logistic and identity outputs take
    path = tmp_path / "c.npz"
    train(MLP([10, 3], output="logistic"), X, Y, epochs=1, checkpoint=path, progress=False)
    with pytest.raises(CheckpointError, match="written for output='logistic'"):
        model = MLP([10, 3], output="identity")
        train(model, X, Y, epochs=2, checkpoint=path, resume=True, progress=False)


def test_an_unreadable_checkpoint_is_refused(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        train(MLP([10, 3]), X, y, checkpoint=path, resume=True, progress=False)
    MLP([10, 3]).save(path)  # a model file is not a checkpoint
    with pytest.raises(CheckpointError, match="not a fastmlp checkpoint"):
        train(MLP([10, 3]), X, y, checkpoint=path, resume=True, progress=False)


KILLED_RUN = """
import numpy as np, sys, time
import fastmlp
from fastmlp.datasets import load_synth

(X, y), _, _ = load_synth(num_train=20_000, num_val=1)
model = fastmlp.MLP([2, 16, 2], seed=0)

def slow(epoch, history, model):
    print(epoch, flush=True)
    time.sleep(0.2)  # room for the parent to kill the run mid-way

fastmlp.train(model, X, y, epochs=int(sys.argv[1]), lr=0.05, checkpoint=sys.argv[2],
              resume=True, callbacks=[slow], progress=False)
model.save(sys.argv[3])
"""


@pytest.mark.skipif(os.name != "posix", reason="kills the child with SIGKILL")
def test_a_run_killed_by_a_signal_resumes_to_the_same_model(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(KILLED_RUN))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMLP_", "NUMBA_"))}
    whole, cut = tmp_path / "whole.npz", tmp_path / "cut.npz"
    args = [sys.executable, str(script), "6"]
    subprocess.run([*args, str(tmp_path / "w.ckpt.npz"), str(whole)], env=env, check=True)
    child = subprocess.Popen(
        [*args, str(tmp_path / "c.ckpt.npz"), str(cut)], env=env, stdout=subprocess.PIPE, text=True
    )
    with child.stdout:
        assert child.stdout.readline().strip() == "0"
        # Epoch 1's callback runs: epoch 0 is checkpointed, epoch 1 not yet.
        assert child.stdout.readline().strip() == "1"
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL and not cut.exists()
    time.sleep(0.1)
    subprocess.run([*args, str(tmp_path / "c.ckpt.npz"), str(cut)], env=env, check=True)
    np.testing.assert_array_equal(fastmlp.load(cut).params, fastmlp.load(whole).params)


def test_a_checkpoint_made_with_another_validation_set_is_refused(tmp_path, rng):
    X, y = data(rng)
    Xv, yv = data(rng, n=30)
    path = tmp_path / "c.npz"
    options = dict(lr=0.1, progress=False, checkpoint=path)
    train(MLP([10, 3]), X, y, epochs=1, validation=(Xv, yv), **options)
    other = (Xv[::-1].copy(), yv[::-1].copy())
    with pytest.raises(CheckpointError, match=r"written for validation_sha256='[0-9a-f]{64}'"):
        train(MLP([10, 3]), X, y, epochs=2, validation=other, resume=True, **options)
    with pytest.raises(CheckpointError, match="this run has validation_sha256=None"):
        train(MLP([10, 3]), X, y, epochs=2, resume=True, **options)


def decay(start):
    """Return a new callable schedule ``epoch -> start / (epoch + 1)`` (a new object each call)."""

    def schedule(epoch):
        return start / (epoch + 1)

    return schedule


def test_a_callable_schedule_resumes_with_an_equal_callable_and_refuses_another(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    options = dict(progress=False, checkpoint=path, seed=0)
    whole = MLP([10, 3], seed=1)
    once = train(whole, X, y, epochs=3, lr_schedule=decay(0.2), progress=False, seed=0)
    first = train(MLP([10, 3], seed=1), X, y, epochs=2, lr_schedule=decay(0.2), **options)
    assert "0x" not in first.config["lr_schedule"]  # no address: the same in a new process
    # Another object with the same code, as a new process would create: accepted.
    fresh = MLP([10, 3], seed=5)
    resumed = train(fresh, X, y, epochs=3, lr_schedule=decay(0.2), resume=True, **options)
    np.testing.assert_array_equal(fresh.params, whole.params)
    assert resumed.lr == once.lr
    # The same name, other rates: refused by the rates the checkpoint recorded.
    with pytest.raises(CheckpointError, match=r"epoch 0 ran with lr=0\.2, this run's lr_schedule"):
        train(MLP([10, 3]), X, y, epochs=4, lr_schedule=decay(0.3), resume=True, **options)


def test_a_schedule_whose_past_rates_depend_on_the_epochs_refuses_more_epochs(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    options = dict(lr_schedule=fastmlp.LowerAtEnd(0.2, 0.1, last=1), progress=False)
    train(MLP([10, 3]), X, y, epochs=2, checkpoint=path, **options)  # epoch 1 lowered
    with pytest.raises(CheckpointError, match=r"epoch 1 ran with lr=0\.02"):
        train(MLP([10, 3]), X, y, epochs=3, checkpoint=path, resume=True, **options)


def test_a_checkpoint_of_format_version_1_is_refused_by_name(tmp_path, rng):
    X, y = data(rng)
    path = tmp_path / "c.npz"
    train(MLP([10, 3]), X, y, epochs=1, checkpoint=path, progress=False)
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        arrays = {name: archive[name] for name in archive.files if name != "metadata"}
    metadata["format_version"] = 1
    with open(path, "wb") as f:
        np.savez(f, metadata=np.array(json.dumps(metadata)), **arrays)
    with pytest.raises(CheckpointError, match="expected format version 2, found 1"):
        train(MLP([10, 3]), X, y, epochs=2, checkpoint=path, resume=True, progress=False)
