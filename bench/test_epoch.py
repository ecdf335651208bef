"""One per-sample SGD epoch of a 784-300-10 float32 net on random data, both backends.

Run with ``nox -s bench``. The numba kernels are compiled before timing (the
compile time is reported apart in ``extra_info``); the numpy epoch is slow,
so it runs one round.
"""

import time

import numpy as np
import pytest

import fastmlp

N = 55_000  # the MNIST training split
SIZES = [784, 300, 10]


@pytest.fixture(scope="module", params=[1.0, 0.2], ids=["dense", "mnist-like-20pct-nonzero"])
def data(request):
    rng = np.random.default_rng(0)
    X = rng.random((N, SIZES[0]), dtype=np.float32)
    X *= rng.random((N, SIZES[0]), dtype=np.float32) < request.param
    return X, rng.integers(0, SIZES[-1], N)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_per_sample_epoch(benchmark, data, backend):
    X, y = data
    start = time.perf_counter()
    fastmlp.train(fastmlp.MLP(SIZES), X[:10], y[:10], backend=backend)  # compile / warm up
    benchmark.extra_info["warmup_s"] = time.perf_counter() - start
    benchmark.extra_info.update(dtype="float32", batch_size=1, samples=N, backend=backend)
    model = fastmlp.MLP(SIZES)
    rounds = 3 if backend == "numba" else 1
    benchmark.pedantic(
        fastmlp.train, args=(model, X, y), kwargs={"backend": backend}, rounds=rounds, iterations=1
    )
    benchmark.extra_info["us_per_sample"] = benchmark.stats.stats.min / N * 1e6
