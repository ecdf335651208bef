"""``mnist-inference``: class probabilities of 10,000 MNIST test images, 784-300-10 float32.

Every implementation holds the same parameters; its output is checked
against the numpy reference (outside the timed rounds).
"""

import contextlib

import numpy as np
import pytest
from harness import (
    ACTIVATION,
    IMPLEMENTATIONS,
    MNIST_SIZES,
    fastmlp_inference,
    measure,
    new_model,
    numpy_inference,
    samples_for,
    sklearn_inference,
    torch_inference,
    torch_threads,
)

from fastmlp import reference

WORKLOAD = "mnist-inference"


@pytest.mark.parametrize("implementation", [i for i in IMPLEMENTATIONS if i != "python"])
def test_mnist_inference(benchmark, mnist, implementation):
    X_train, y_train, X, _ = mnist
    X = X[: samples_for(WORKLOAD, implementation)]
    threads = contextlib.nullcontext()
    if implementation == "fastmlp":
        make = fastmlp_inference(MNIST_SIZES)
    elif implementation == "numpy":
        make = numpy_inference(MNIST_SIZES)
    elif implementation.startswith("torch"):
        pytest.importorskip("torch")
        make = torch_inference(MNIST_SIZES)
        threads = torch_threads(implementation)
    else:
        pytest.importorskip("sklearn")
        make = sklearn_inference(MNIST_SIZES, X_train[:1000], y_train[:1000])
    with threads:
        P = measure(
            benchmark,
            make,
            X,
            None,
            workload=WORKLOAD,
            implementation=implementation,
            batch_size=len(X),
            sizes=MNIST_SIZES,
        )
    model = new_model(MNIST_SIZES)
    expected = reference.predict_proba(model.weights, model.biases, X[:100], ACTIVATION)
    assert P.dtype == np.float32
    np.testing.assert_allclose(P[:100], expected, rtol=1e-3, atol=1e-5)
