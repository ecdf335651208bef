import numpy as np
import pytest

import fastmlp
import fastmlp.gradient_check as gradcheck_module
from fastmlp.config import GRADCHECK_RTOL
from fastmlp.gradient_check import softmax_xent_gradcheck

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


# softmax_xent_gradcheck: the output layer's local derivative, softmax(z) - onehot(t).


def softmax_minus_onehot(z, t):
    """The derivation's result, written independently of fastmlp (float64)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum() - np.eye(z.size)[t]


@pytest.mark.parametrize("seed", range(5))
def test_softmax_xent_derivative_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, size=7)
    check = softmax_xent_gradcheck(z, seed % 7)
    np.testing.assert_allclose(check.analytic, softmax_minus_onehot(z, seed % 7), atol=1e-15)
    np.testing.assert_allclose(check.numeric, check.analytic, atol=1e-9)
    assert check.error == np.max(np.abs(check.analytic - check.numeric)) < 1e-9
    # Bounded: every entry lies in [-1, 1], and the entries sum to 0.
    assert np.abs(check.analytic).max() <= 1
    assert abs(check.analytic.sum()) < 1e-15


def test_softmax_xent_derivative_of_a_batch_has_the_shape_of_the_logits():
    Z = np.random.default_rng(0).normal(size=(4, 3))
    check = softmax_xent_gradcheck(Z, [0, 1, 2, 0])
    assert check.analytic.shape == check.numeric.shape == (4, 3)
    for row, t in zip(range(4), [0, 1, 2, 0]):
        np.testing.assert_allclose(check.numeric[row], softmax_minus_onehot(Z[row], t), atol=1e-9)


@pytest.mark.parametrize(
    ("z", "t", "expected"),
    [
        # Saturated and wrong: the target's derivative is -1, the winner's +1, not larger.
        ([1e4, -1e4, 0.0], 1, [1.0, -1.0, 0.0]),
        # Saturated and right: the derivative vanishes, the sample stops teaching.
        ([1e4, -1e4, 0.0], 0, [0.0, 0.0, 0.0]),
        ([-1e4, -1e4, 1e4], 0, [-1.0, 0.0, 1.0]),
        # Large logits, ordinary differences: only the differences matter.
        ([1e4, 1e4 + 1, 1e4 - 2], 2, None),
    ],
)
def test_softmax_xent_derivative_at_extreme_logits(z, t, expected):
    check = softmax_xent_gradcheck(z, t)  # no overflow warning (pytest turns it into an error)
    want = softmax_minus_onehot(z, t) if expected is None else expected
    np.testing.assert_allclose(check.analytic, want, atol=1e-15)
    assert check.error < 1e-7, check


def test_softmax_xent_derivative_of_float32_logits_is_the_float32_kernels():
    z = np.array([2.0, -1.0, 0.5, 30.0], dtype=np.float32)
    check = softmax_xent_gradcheck(z, 2)
    assert check.analytic.dtype == np.float32 and check.numeric.dtype == np.float64
    # float32 rounding of entries in [-1, 1]: a few units of 6e-8.
    assert check.error < 5e-7
    np.testing.assert_allclose(check.numeric, softmax_minus_onehot(z, 2), atol=1e-9)
    extreme = softmax_xent_gradcheck(np.array([1e4, -1e4], dtype=np.float32), 1)
    np.testing.assert_array_equal(extreme.analytic, [1, -1])
    assert extreme.error < 1e-7


def test_softmax_xent_gradcheck_catches_a_wrong_derivative(monkeypatch):
    true_backward = gradcheck_module.softmax_xent_backward

    def forgets_the_onehot(z, t):  # the classic slip: softmax(z) alone
        loss, delta = true_backward(z, t)
        delta[..., t] += 1
        return loss, delta

    monkeypatch.setattr(gradcheck_module, "softmax_xent_backward", forgets_the_onehot)
    assert softmax_xent_gradcheck([0.3, -0.2, 1.0], 1).error == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize(
    ("z", "t", "eps", "error", "message"),
    [
        ([1.0, 2.0], 2, 1e-5, ValueError, r"t: expected labels in \[0, 2\), found 2"),
        ([1.0, np.nan], 0, 1e-5, ValueError, "z: expected finite values"),
        ("ab", 0, 1e-5, TypeError, "z: expected a numeric array"),
        ([1.0, 2.0], 0, 0.0, ValueError, "eps: expected a finite value > 0, found 0.0"),
        ([1.0, 2.0], 0, 2.0, ValueError, r"eps: expected a step <= 1.0, found 2.0"),
        (
            [1e12, 0.0],
            0,
            1e-5,
            ValueError,
            r"eps: expected a step that changes every logit, found 1e-05 lost in rounding "
            r"against a logit of 1000000000000\.0",
        ),
    ],
)
def test_softmax_xent_gradcheck_names_a_bad_argument(z, t, eps, error, message):
    with pytest.raises(error, match=message):
        softmax_xent_gradcheck(z, t, eps=eps)
