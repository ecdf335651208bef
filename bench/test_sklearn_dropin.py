"""fastmlp's drop-in ``MLPClassifier`` against scikit-learn's, same parameters, same weights.

Workloads (benchmark groups), float32 MNIST rows unless named:

- ``sklearn-defaults``: ``MLPClassifier(max_iter=1)``: scikit-learn's defaults
  (Adam, relu, 100 hidden units, ``alpha=1e-4``, batches of 200), one epoch;
- ``sklearn-sgd-batch-1``: ``solver="sgd", batch_size=1`` (Nesterov momentum 0.9), one epoch;
- ``sklearn-lbfgs``: ``solver="lbfgs", max_iter=50`` on the 1,797 digits of
  ``sklearn.datasets.load_digits``, seconds per fit.

Both estimators fit the same weights for the same ``random_state``
(tests/test_sklearn_fit.py); here only the time counts.
"""

import pytest
from harness import QUICK, measure, quiet_convergence

#: Rows per round: scikit-learn's per-sample SGD takes about 0.8 ms a row.
ROWS = {
    ("sklearn-defaults", "fastmlp"): 20_000,
    ("sklearn-defaults", "sklearn"): 20_000,
    ("sklearn-sgd-batch-1", "fastmlp"): 10_000,
    ("sklearn-sgd-batch-1", "sklearn"): 1_000,
}
#: The estimator parameters of each workload (``random_state=0`` for all).
PARAMS = {
    "sklearn-defaults": {"max_iter": 1},
    "sklearn-sgd-batch-1": {"max_iter": 1, "solver": "sgd", "batch_size": 1},
    "sklearn-lbfgs": {"max_iter": 50, "solver": "lbfgs", "hidden_layer_sizes": (50,)},
}
ESTIMATORS = ("fastmlp", "sklearn")


def estimator_class(implementation):
    if implementation == "fastmlp":
        from fastmlp import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    return MLPClassifier


def fitting(implementation, workload):
    """Return ``make(X, y)`` for ``measure``: a fresh estimator fitted in each round."""
    cls = estimator_class(implementation)

    def make(X, y):
        def setup():
            return (cls(random_state=0, **PARAMS[workload]),), {}

        def target(estimator):
            with quiet_convergence():
                return estimator.fit(X, y)

        return setup, target

    return make


@pytest.mark.parametrize("implementation", ESTIMATORS)
@pytest.mark.parametrize("workload", ["sklearn-defaults", "sklearn-sgd-batch-1"])
def test_sklearn_mnist(benchmark, mnist, workload, implementation):
    X, y, _, _ = mnist
    n = 256 if QUICK else ROWS[(workload, implementation)]
    batch_size = PARAMS[workload].get("batch_size", 200)
    result = measure(
        benchmark,
        fitting(implementation, workload),
        X[:n],
        y[:n],
        workload=workload,
        implementation=implementation,
        batch_size=batch_size,
        sizes=[784, 100, 10],
    )
    assert result.coefs_[0].dtype.name == "float32"


@pytest.mark.parametrize("implementation", ESTIMATORS)
def test_sklearn_lbfgs(benchmark, implementation):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    result = measure(
        benchmark,
        fitting(implementation, "sklearn-lbfgs"),
        X,
        y,
        workload="sklearn-lbfgs",
        implementation=implementation,
        batch_size=len(X),
        sizes=[64, 50, 10],
        unit="s/run",
        note="digits, 50 L-BFGS iterations, float64",
    )
    benchmark.extra_info["dtype"] = "float64"
    if benchmark.stats is not None:
        benchmark.extra_info["s_per_run"] = benchmark.stats.stats.min
    assert result.n_iter_ <= 50
