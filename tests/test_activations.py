import numpy as np
import pytest
from fastmlp.kernels.activations import _activate, _scale_by_derivative
from helpers import assert_close

from fastmlp import reference
from fastmlp.names import ACTIVATIONS, IDENTITY, activation_code


def test_activate_matches_reference(rng, dtype, activation):
    z = rng.normal(0, 3, 50).astype(dtype)
    a = z.copy()
    _activate(a, ACTIVATIONS[activation])
    assert a.dtype == dtype
    assert_close(a, reference.activate(z, activation), dtype)


def test_identity_leaves_values(rng, dtype):
    z = rng.normal(0, 3, 20).astype(dtype)
    a = z.copy()
    _activate(a, IDENTITY)
    np.testing.assert_array_equal(a, z)


@pytest.mark.parametrize("scale", [1e3, 1e4])
def test_saturated_inputs_stay_finite(dtype, activation, scale):
    z = np.array([-scale, -1.0, 0.0, 1.0, scale], dtype=dtype)
    a = z.copy()
    _activate(a, ACTIVATIONS[activation])
    assert np.isfinite(a).all()
    expected = {"sigmoid": [0, 1], "tanh": [-1, 1], "relu": [0, scale]}[activation]
    np.testing.assert_allclose(a[[0, -1]], expected)
    delta = np.ones_like(a)
    _scale_by_derivative(delta, a, ACTIVATIONS[activation])
    assert np.isfinite(delta).all()


def test_derivative_from_output_matches_reference(rng, dtype, activation):
    a = rng.normal(0, 2, 50).astype(dtype)
    reference_a = reference.activate(a, activation)
    delta = rng.normal(size=50).astype(dtype)
    scaled = delta.copy()
    _scale_by_derivative(scaled, reference_a, ACTIVATIONS[activation])
    assert_close(scaled, delta * reference.derivative_from_output(reference_a, activation), dtype)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_derivative_from_output_is_the_derivative(activation):
    z = np.linspace(-4, 4, 81)
    h = 1e-6
    numeric = (reference.activate(z + h, activation) - reference.activate(z - h, activation)) / (
        2 * h
    )
    analytic = reference.derivative_from_output(reference.activate(z, activation), activation)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)


def test_relu_derivative_is_a_step():
    a = reference.activate(np.array([-2.0, 0.0, 3.0]), "relu")
    np.testing.assert_array_equal(reference.derivative_from_output(a, "relu"), [0, 0, 1])


@pytest.mark.parametrize("name", ["softplus", "", None, "Sigmoid"])
def test_unknown_activation_is_named(name):
    with pytest.raises(ValueError, match="activation: expected one of"):
        activation_code(name)


@pytest.fixture(scope="module")
def exp32():
    """The kernels' exp (``_exp32`` for float32) over an array, in a kernel's loop."""
    from fastmlp.kernels._jit import kernel
    from fastmlp.kernels.activations import _exp

    @kernel
    def apply(x, out):
        for i in range(x.size):
            out[i] = _exp(x[i])

    def run(x):
        x = np.asarray(x, dtype=np.float32)
        out = np.empty_like(x)
        apply(x, out)
        return out

    return run


def test_exp32_is_within_two_ulp_of_the_true_exp(exp32):
    x = np.linspace(-87, 88, 1_000_001, dtype=np.float32)
    got = exp32(x)
    assert got.dtype == np.float32
    exact = np.exp(x.astype(np.float64))
    ulps = np.abs(got - exact) / np.spacing(exact.astype(np.float32))
    assert ulps.max() <= 2.0


def test_exp32_limits_and_nan(exp32):
    x = [np.nan, np.inf, -np.inf, 88.5, -88.5, 0.0, -0.0, 1e-30]
    np.testing.assert_array_equal(exp32(x), [np.nan, np.inf, 0, np.inf, 0, 1, 1, 1])


def test_float32_sigmoid_keeps_nan_and_saturates(exp32):
    a = np.array([np.nan, -np.inf, np.inf, -1e4, 1e4, 0.0], dtype=np.float32)
    _activate(a, ACTIVATIONS["sigmoid"])
    np.testing.assert_array_equal(a, [np.nan, 0, 1, 0, 1, 0.5])
