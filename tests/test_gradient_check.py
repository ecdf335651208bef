import numpy as np
import pytest

import fastmlp
import fastmlp.gradient_check as gradcheck_module
from fastmlp.config import GRADCHECK_RTOL

SIZES = [[3, 4, 3], [5, 6, 4, 2], [4, 3, 5, 3, 3], [2, 8, 8, 8, 2]]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_match_central_differences(activation, sizes, seed, backend):
    rng = np.random.default_rng(seed)
    model = fastmlp.MLP(sizes, activation, dtype="float64", seed=seed)
    # Generic parameters: zero biases put relu units exactly on their kink.
    model.params[...] = rng.normal(0, 0.7, model.params.size)
    X = rng.normal(size=(6, sizes[0]))
    y = rng.integers(0, sizes[-1], 6)
    assert fastmlp.gradcheck(model, X, y, backend=backend) < GRADCHECK_RTOL


def test_gradcheck_of_a_float32_model_runs_in_float64(activation):
    model = fastmlp.MLP([3, 4, 2], activation, dtype="float32")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 3))
    assert fastmlp.gradcheck(model, X, [0, 1, 1, 0]) < GRADCHECK_RTOL
    assert model.dtype == np.float32


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    model = fastmlp.MLP([3, 4, 2], dtype="float64")
    X = np.random.default_rng(0).normal(size=(4, 3))
    y = [0, 1, 1, 0]
    true_gradients = gradcheck_module.gradients

    def off_by_one_percent(*args, **kwargs):
        dWs, dbs = true_gradients(*args, **kwargs)
        dWs[0] = dWs[0] * 1.01
        return dWs, dbs

    monkeypatch.setattr(gradcheck_module, "gradients", off_by_one_percent)
    assert fastmlp.gradcheck(model, X, y) == pytest.approx(0.01 / 1.01, rel=1e-3)


@pytest.mark.parametrize(
    ("eps", "error", "message"),
    [
        (0, ValueError, "eps: expected a finite value > 0, found 0"),
        (0.0, ValueError, "eps: expected a finite value > 0, found 0.0"),
        (-1e-5, ValueError, "eps: expected a finite value > 0"),
        (float("nan"), ValueError, "eps: expected a finite value > 0, found nan"),
        (float("inf"), ValueError, "eps: expected a finite value > 0, found inf"),
        (1e300, ValueError, r"eps: expected a step <= 1.0, found 1e\+300"),
        ("1e-5", TypeError, "eps: expected a real number, found '1e-5'"),
        (None, TypeError, "eps: expected a real number, found None"),
        (True, TypeError, "eps: expected a real number, found True"),
    ],
)
def test_a_bad_step_is_named(eps, error, message):
    model = fastmlp.MLP([3, 4, 2], dtype="float64")
    X = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(error, match=message):
        fastmlp.gradcheck(model, X, [0, 1, 1, 0], eps=eps)


def test_a_model_that_is_not_an_mlp_is_named():
    with pytest.raises(TypeError, match=r"model: expected a fastmlp\.MLP, found dict"):
        fastmlp.gradcheck({}, np.ones((2, 3)), [0, 1])
