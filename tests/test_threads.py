"""One model used from several threads: the parameters end as in a sequential run, bit for bit.

Inference and ``gradients`` never write parameters (a narrowing layer is
read through a transposed copy that is not written back), so overlapping
them with ``train`` cannot put stale weights over its updates. ``train``
holds the model's lock, so two trainings of one model run one after the
other. The kernels hold the GIL, so threads interleave between Python
statements: a short switch interval and many calls make them overlap often.
"""

import sys
import threading

import numpy as np
import pytest
from helpers import run_python

import fastmlp

#: A later layer narrower than its input (30 -> 5, like 300 -> 10 on MNIST):
#: the layer the kernels work on transposed.
SIZES = [20, 30, 5]
EPOCHS = 60


@pytest.fixture
def often_switching():
    """Let the interpreter switch threads every few microseconds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.random((48, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], 48)


def in_threads(*jobs):
    """Run ``jobs`` in threads released together; re-raise the first error."""
    barrier, errors = threading.Barrier(len(jobs)), []

    def run(job):
        barrier.wait()
        try:
            job()
        except BaseException as error:  # re-raised in the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_inference_and_gradients_overlapping_training_leave_its_result(
    often_switching, data, batch_size
):
    X, y = data
    options = dict(epochs=EPOCHS, batch_size=batch_size, lr=0.2, seed=1)
    sequential = fastmlp.MLP(SIZES, "tanh", seed=2)
    fastmlp.train(sequential, X, y, **options)
    model = fastmlp.MLP(SIZES, "tanh", seed=2)
    done, calls = threading.Event(), [0]

    def train():
        try:
            fastmlp.train(model, X, y, **options)
        finally:
            done.set()

    def infer():
        while not done.is_set():
            model.predict_proba(X[:7])
            model.evaluate(X[:5], y[:5])
            fastmlp.gradients(model, X[:3], y[:3])
            calls[0] += 1

    in_threads(train, infer)
    assert calls[0] > 0
    np.testing.assert_array_equal(model.params, sequential.params)


def test_two_threads_training_one_model_give_two_trainings_in_a_row(often_switching, data):
    X, y = data
    options = dict(epochs=EPOCHS // 2, batch_size=2, lr=0.1, seed=5, momentum=0.5)
    sequential = fastmlp.MLP(SIZES, "relu", seed=4)
    fastmlp.train(sequential, X, y, **options)
    fastmlp.train(sequential, X, y, **options)
    model = fastmlp.MLP(SIZES, "relu", seed=4)
    histories = []

    def train():
        histories.append(fastmlp.train(model, X, y, **options))

    in_threads(train, train)
    np.testing.assert_array_equal(model.params, sequential.params)
    assert len(histories) == 2


def test_a_callback_may_train_and_evaluate_its_own_model(data):
    """The lock is reentrant: a callback of ``train`` may call ``train`` on the same model."""
    X, y = data
    model, twin = fastmlp.MLP(SIZES, seed=6), fastmlp.MLP(SIZES, seed=6)

    def nested(epoch, history, m):
        fastmlp.train(m, X, y, seed=epoch)
        m.evaluate(X, y)

    fastmlp.train(model, X, y, epochs=2, shuffle=False, callbacks=[nested])
    for epoch in range(2):
        fastmlp.train(twin, X, y, shuffle=False)
        fastmlp.train(twin, X, y, seed=epoch)
    np.testing.assert_array_equal(model.params, twin.params)


def test_parallel_kernels_from_two_threads_take_turns(tmp_path):
    """Numba's workqueue threading layer aborted the process on parallel launches from two threads.

    Its fallback when neither OpenMP nor TBB is installed: parallel inference
    (many rows) overlapping parallel training (large batches) killed the
    interpreter with "Concurrent access has been detected".
    """
    out = run_python(
        """
        import sys, threading
        import numpy as np
        import fastmlp
        sys.setswitchinterval(1e-6)
        model = fastmlp.MLP([20, 30, 5], seed=0)
        X = np.random.default_rng(0).random((2000, 20))
        y = np.arange(2000) % 5
        twin = model.copy()
        fastmlp.train(twin, X, y, batch_size=32, epochs=3)
        done = threading.Event()

        def train():
            fastmlp.train(model, X, y, batch_size=32, epochs=3)
            done.set()

        thread = threading.Thread(target=train)
        thread.start()
        while not done.is_set():
            model.predict_proba(X)
        thread.join()
        print(np.array_equal(model.params, twin.params))
        """,
        tmp_path,
        NUMBA_THREADING_LAYER="workqueue",
        NUMBA_NUM_THREADS="2",
    )
    assert out == "True"
