"""One epoch of SGD per round, every implementation on the same net, data and dtype.

Workloads (each a benchmark group): ``tiny-per-sample`` ([2, 3, 2] on
``load_synth``), ``mnist-per-sample`` and ``mnist-batch-{8,16,128}``
(784-300-10 on MNIST). All sigmoid, float32, learning rate 0.1, plain SGD.
Run with ``nox -s bench``; see harness.py for sample counts and quick mode.
"""

import contextlib

import pytest
from harness import (
    IMPLEMENTATIONS,
    MNIST_SIZES,
    MNIST_TRAINING,
    TINY_SIZES,
    TRAINING,
    measure,
    samples_for,
    torch_threads,
)


def run_training(benchmark, workload, implementation, sizes, batch_size, X, y):
    if implementation.startswith("torch"):
        pytest.importorskip("torch")
    if implementation == "sklearn":
        pytest.importorskip("sklearn")
    n = samples_for(workload, implementation)
    X, y = X[:n], y[:n]
    info = {}
    if implementation == "python":
        info["dtype"] = "float64"
        info["note"] = "Python floats are float64: pure Python has no float32"
    if implementation == "sklearn" and sizes[-1] == 2:
        info["note"] = "sklearn fits two classes with one logistic output unit ([2, 3, 1])"
    threads = (
        torch_threads(implementation)
        if implementation.startswith("torch")
        else contextlib.nullcontext()
    )
    make = TRAINING[implementation](sizes, batch_size)
    with threads:
        result = measure(
            benchmark,
            make,
            X,
            y,
            workload=workload,
            implementation=implementation,
            batch_size=batch_size,
            sizes=sizes,
            **info,
        )
    if implementation == "sklearn":
        # float32 input keeps sklearn in float32; record what it really used.
        benchmark.extra_info["dtype"] = result.coefs_[0].dtype.name


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_tiny_per_sample(benchmark, synth, implementation):
    X, y = synth
    run_training(benchmark, "tiny-per-sample", implementation, TINY_SIZES, 1, X, y)


@pytest.mark.parametrize("implementation", [i for i in IMPLEMENTATIONS if i != "python"])
@pytest.mark.parametrize("workload", list(MNIST_TRAINING))
def test_mnist_training(benchmark, mnist, workload, implementation):
    X, y, _, _ = mnist
    batch_size = MNIST_TRAINING[workload]
    run_training(benchmark, workload, implementation, MNIST_SIZES, batch_size, X, y)
