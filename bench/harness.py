"""Shared machinery of the benchmarks: sample counts, implementations, measurement.

Every implementation is a *factory* ``make(X, y) -> (setup, target)``: ``setup()``
returns ``(args, kwargs)`` for one round (a fresh model, so every round does the
same work) and ``target(*args, **kwargs)`` is the timed round. ``measure`` warms
an implementation up on a few rows (JIT compile, first-call allocations), picks
the number of rounds, runs ``benchmark.pedantic`` and fills ``extra_info``.

Set ``FASTMLP_BENCH_QUICK=1`` for a smoke run: every workload uses a few hundred
rows and one round, so the suite runs inside the normal test session.
"""

import contextlib
import importlib.metadata
import os
import platform
import time
import warnings

import numba
import numpy as np

import fastmlp
from fastmlp import reference, scalar

QUICK = os.environ.get("FASTMLP_BENCH_QUICK", "") not in ("", "0")

DTYPE = "float32"
ACTIVATION = "sigmoid"
TINY_SIZES = (2, 3, 2)
MNIST_SIZES = (784, 300, 10)
LR = 0.1
#: MNIST workloads with training: name -> batch size.
MNIST_TRAINING = {
    "mnist-per-sample": 1,
    "mnist-batch-8": 8,
    "mnist-batch-16": 16,
    "mnist-batch-128": 128,
}

#: Column order of the report: the numba kernels, the numpy reference they are
#: compared with, then the peers.
IMPLEMENTATIONS = ("fastmlp", "numpy", "python", "torch-1thread", "torch", "sklearn")

#: Rows per round in a full run, by workload and implementation. Times are
#: reported per sample, so different counts are comparable; slow
#: implementations get fewer rows so a full run stays within minutes.
SAMPLES = {
    "tiny-per-sample": {"fastmlp": 60_000, "default": 5_000},
    "mnist-per-sample": {"fastmlp": 10_000, "numpy": 10_000, "default": 2_000},
    "mnist-batch-8": {"default": 10_000},
    "mnist-batch-16": {"default": 10_000},
    "mnist-batch-128": {"default": 10_000},
    "mnist-inference": {"default": 10_000},
}
QUICK_SAMPLES = 256
#: Rows of the warm-up runs (at least two batches of the largest batch size).
WARMUP_ROWS = 256
#: A full run times up to MAX_ROUNDS rounds, fewer when the warm-up predicts
#: that they would take longer than ROUND_BUDGET_S seconds together. The
#: machines are shared virtual ones whose speed drifts by tens of percent
#: within seconds: the fastest of many short rounds is the stable figure.
MAX_ROUNDS = 15
ROUND_BUDGET_S = 15.0
#: Seconds of rest before each benchmark, so that threads the previous one
#: left spinning (BLAS, OpenMP) have gone to sleep before the next starts.
SETTLE_S = 0.25


def samples_for(workload, implementation):
    """Return the rows per round of ``implementation`` on ``workload``."""
    if QUICK:
        return QUICK_SAMPLES
    counts = SAMPLES[workload]
    return counts.get(implementation, counts["default"])


def version(distribution):
    """Return the installed version of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(implementation):
    """Return the library versions behind ``implementation`` (always numpy, numba, fastmlp)."""
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "fastmlp": fastmlp.__version__,
    }
    if implementation.startswith("torch"):
        import torch

        info["torch"] = torch.__version__
    if implementation == "sklearn":
        info["sklearn"] = version("scikit-learn")
    return info


def blas_threads():
    """Return the threads of numpy's BLAS (via threadpoolctl, when installed), else None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


def fastmlp_threads(workload, batch_size):
    """Return the threads the kernels use on ``workload`` (see ``fastmlp.config``)."""
    from fastmlp.config import PARALLEL_MIN_BATCH, PARALLEL_MIN_ROWS

    threshold = PARALLEL_MIN_ROWS if workload == "mnist-inference" else PARALLEL_MIN_BATCH
    return numba.get_num_threads() if batch_size >= threshold else 1


def new_model(sizes):
    """Return a fresh float32 sigmoid MLP; every implementation starts from its parameters."""
    return fastmlp.MLP(sizes, ACTIVATION, DTYPE, seed=0)


# -- training -------------------------------------------------------------------------------


def fastmlp_training(sizes, batch_size):
    """One epoch of ``fastmlp.train`` (the numba kernels)."""

    def make(X, y):
        def setup():
            return (new_model(sizes),), {}

        def target(model):
            fastmlp.train(
                model, X, y, epochs=1, lr=LR, batch_size=batch_size, seed=0, progress=False
            )
            return model

        return setup, target

    return make


def numpy_training(sizes, batch_size):
    """One epoch of ``reference.sgd_epoch`` on a model's weights and biases."""

    def make(X, y):
        def setup():
            return (new_model(sizes), np.random.default_rng(0)), {}

        def target(model, rng):
            order = rng.permutation(len(X))
            reference.sgd_epoch(
                model.weights, model.biases, X, y, order, LR, batch_size, ACTIVATION
            )
            return model

        return setup, target

    return make


def python_training(sizes, batch_size):
    """One epoch of ``scalar.sgd_step`` on nested lists (one hidden layer, per-sample)."""
    if len(sizes) != 3 or batch_size != 1:
        raise ValueError("the pure-Python version trains one hidden layer, per sample")

    def make(X, y):
        rows, labels = X.tolist(), y.tolist()

        def setup():
            model = new_model(sizes)
            W, V = (w.tolist() for w in model.weights)
            b, c = (v.tolist() for v in model.biases)
            return (W, b, V, c, np.random.default_rng(0)), {}

        def target(W, b, V, c, rng):
            for i in rng.permutation(len(rows)).tolist():
                scalar.sgd_step(rows[i], W, b, V, c, labels[i], LR, ACTIVATION)
            return W, b, V, c

        return setup, target

    return make


def torch_net(sizes):
    """Return ``nn.Sequential(Linear, Sigmoid, Linear)`` with the parameters of ``new_model``."""
    import torch
    from torch import nn

    model = new_model(sizes)
    layers = []
    for l, (n_in, n_out) in enumerate(model.layer_shapes):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(model.weights[l].T.copy()))
            linear.bias.copy_(torch.from_numpy(model.biases[l].copy()))
        layers.append(linear)
        if l < len(model.layer_shapes) - 1:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def torch_training(sizes, batch_size):
    """One epoch of torch SGD (momentum 0), CrossEntropyLoss, ``batch_size`` rows a step."""
    import torch

    def make(X, y):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()

        def setup():
            net = torch_net(sizes)
            optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=0)
            return (net, optimizer, torch.Generator().manual_seed(0)), {}

        def target(net, optimizer, generator):
            order = torch.randperm(len(Xt), generator=generator)
            Xs, ys = Xt[order], yt[order]
            for start in range(0, len(Xs), batch_size):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(net(Xs[start : start + batch_size]), ys[start : start + batch_size])
                loss.backward()
                optimizer.step()
            return net

        return setup, target

    return make


@contextlib.contextmanager
def quiet_convergence():
    """Ignore sklearn's ConvergenceWarning (one epoch never converges), and nothing else."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        yield


def sklearn_classifier(sizes, batch_size):
    """Return an unfitted MLPClassifier for one plain-SGD epoch of ``sizes``."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]),
        activation="logistic",
        solver="sgd",
        momentum=0,
        alpha=0,
        learning_rate_init=LR,
        batch_size=batch_size,
        max_iter=1,
        shuffle=True,
        random_state=0,
    )


def sklearn_training(sizes, batch_size):
    """One epoch of ``MLPClassifier.fit`` (float32 input, so sklearn computes in float32)."""

    def make(X, y):
        def setup():
            return (sklearn_classifier(sizes, batch_size),), {}

        def target(classifier):
            with quiet_convergence():
                return classifier.fit(X, y)

        return setup, target

    return make


TRAINING = {
    "fastmlp": fastmlp_training,
    "numpy": numpy_training,
    "python": python_training,
    "torch-1thread": torch_training,
    "torch": torch_training,
    "sklearn": sklearn_training,
}


# -- inference ------------------------------------------------------------------------------


def fastmlp_inference(sizes):
    """``MLP.predict_proba`` (the numba kernel)."""
    model = new_model(sizes)

    def make(X, y):
        return None, lambda: model.predict_proba(X)

    return make


def numpy_inference(sizes):
    """``reference.predict_proba`` on the same parameters."""
    model = new_model(sizes)

    def make(X, y):
        return None, lambda: reference.predict_proba(model.weights, model.biases, X, ACTIVATION)

    return make


def torch_inference(sizes):
    """``softmax(net(X))`` under ``torch.inference_mode``, returned as a numpy array."""
    import torch

    net = torch_net(sizes)

    def make(X, y):
        Xt = torch.from_numpy(X)

        def target():
            with torch.inference_mode():
                return torch.softmax(net(Xt), dim=1).numpy()

        return None, target

    return make


def sklearn_inference(sizes, X_fit, y_fit):
    """``MLPClassifier.predict_proba``, after a short fit, with the parameters of ``new_model``."""
    classifier = sklearn_classifier(sizes, batch_size=min(200, len(X_fit)))
    with quiet_convergence():
        classifier.fit(X_fit, y_fit)
    model = new_model(sizes)
    classifier.coefs_ = [W.copy() for W in model.weights]
    classifier.intercepts_ = [b.copy() for b in model.biases]

    def make(X, y):
        return None, lambda: classifier.predict_proba(X)

    return make


# -- measurement ----------------------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(implementation):
    """Run ``torch-1thread`` on one thread and ``torch`` on torch's default; restore after."""
    import torch

    before = torch.get_num_threads()
    if implementation == "torch-1thread":
        torch.set_num_threads(1)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def threads_of(implementation, workload, batch_size):
    """Return the threads ``implementation`` computes on (None: BLAS default, not known)."""
    if implementation == "fastmlp":
        return fastmlp_threads(workload, batch_size)
    if implementation == "python":
        return 1
    if implementation.startswith("torch"):
        import torch

        return torch.get_num_threads()
    return blas_threads()


def _run_once(setup, target):
    args, kwargs = setup() if setup else ((), {})
    start = time.perf_counter()
    target(*args, **kwargs)
    return time.perf_counter() - start


def _warm_up(make, X, y, rows):
    """Run on ``rows`` rows twice; return (seconds of the first run, estimated s per sample)."""
    setup, target = make(X[:rows], None if y is None else y[:rows])
    first = _run_once(setup, target)
    if QUICK:
        return first, None
    return first, _run_once(setup, target) / rows


def measure(benchmark, make, X, y, *, workload, implementation, batch_size, sizes, **info):
    """Warm ``make`` up, time it with ``benchmark.pedantic`` and fill ``extra_info``.

    Returns the result of the last timed round.
    """
    samples = len(X)
    if not QUICK:
        time.sleep(SETTLE_S)
    warmup_s, per_sample = _warm_up(make, X, y, min(samples, max(WARMUP_ROWS, 2 * batch_size)))
    if per_sample is None:
        rounds = 1
    else:
        rounds = int(min(MAX_ROUNDS, max(1, ROUND_BUDGET_S // max(per_sample * samples, 1e-9))))
    setup, target = make(X, y)
    benchmark.group = workload
    benchmark.extra_info.update(
        workload=workload,
        implementation=implementation,
        dtype=DTYPE,
        batch_size=batch_size,
        threads=threads_of(implementation, workload, batch_size),
        samples=samples,
        sizes=list(sizes),
        rounds=rounds,
        warmup_s=warmup_s,
        quick=QUICK,
        loadavg_1m=os.getloadavg()[0],
        **versions(implementation),
    )
    benchmark.extra_info.update(info)
    result = benchmark.pedantic(target, setup=setup, rounds=rounds, iterations=1)
    benchmark.extra_info["loadavg_1m"] = max(benchmark.extra_info["loadavg_1m"], os.getloadavg()[0])
    record_time(benchmark, samples)
    return result


def record_time(benchmark, samples):
    """Set ``us_per_sample`` and ``samples_per_second`` from the fastest round.

    Nothing is set when benchmarks are disabled (quick mode in the test session).
    """
    if benchmark.stats is not None:
        best = benchmark.stats.stats.min
        benchmark.extra_info["us_per_sample"] = best / samples * 1e6
        benchmark.extra_info["samples_per_second"] = samples / best if best > 0 else None
