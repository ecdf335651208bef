import numpy as np
import pytest
from fastmlp.kernels import dense_backward, dense_backward_sgd, dense_forward
from helpers import assert_close, sparse_inputs

from fastmlp import reference

ACTIVATIONS_AND_IDENTITY = ["sigmoid", "tanh", "relu", "identity"]


@pytest.mark.parametrize("activation", ACTIVATIONS_AND_IDENTITY)
@pytest.mark.parametrize("n", [1, 7])
def test_forward_batch_matches_reference(rng, dtype, activation, n):
    W = rng.normal(size=(6, 4)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    X = sparse_inputs(rng, n, 6, dtype)
    out = dense_forward(W, b, X, activation)
    assert out.dtype == dtype and out.shape == (n, 4)
    assert_close(out, reference.dense_forward(W, b, X, activation), dtype)


def test_forward_one_sample_equals_its_row_of_the_batch(rng, dtype, activation):
    W = rng.normal(size=(5, 3)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    X = sparse_inputs(rng, 4, 5, dtype)
    batch = dense_forward(W, b, X, activation)
    for r in range(4):
        np.testing.assert_array_equal(dense_forward(W, b, X[r], activation), batch[r])


def test_skipping_zero_inputs_is_exact(rng):
    # A zero input contributes exactly nothing, so skipping it cannot change the sum.
    W = rng.normal(size=(8, 3))
    b = np.zeros(3)
    x = np.zeros(8)
    x[[1, 5]] = [0.25, -2.0]
    expected = x[1] * W[1] + x[5] * W[5]
    np.testing.assert_array_equal(dense_forward(W, b, x, "identity"), expected)


@pytest.mark.parametrize("activation_in", ACTIVATIONS_AND_IDENTITY)
def test_backward_matches_reference(rng, dtype, activation_in):
    W = rng.normal(size=(5, 3)).astype(dtype)
    a_in = reference.activate(rng.normal(size=5).astype(dtype), activation_in)
    delta = rng.normal(size=3).astype(dtype)
    dW, db, delta_in = dense_backward(W, a_in, delta, activation_in)
    for out in (dW, db, delta_in):
        assert out.dtype == dtype
    assert_close(dW, np.outer(a_in, delta), dtype)
    assert_close(db, delta, dtype)
    expected = (W @ delta) * reference.derivative_from_output(a_in, activation_in)
    assert_close(delta_in, expected, dtype)


def test_fused_sgd_step_equals_backward_then_update(rng, dtype, activation):
    W = rng.normal(size=(6, 4)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    a_in = reference.activate(rng.normal(size=6).astype(dtype), activation)
    delta = rng.normal(size=4).astype(dtype)
    dW, db, expected_delta_in = dense_backward(W, a_in, delta, activation)
    expected_W, expected_b = W - dtype_lr(dtype) * dW, b - dtype_lr(dtype) * db
    delta_in = dense_backward_sgd(W, b, a_in, delta, activation, lr=0.1)
    assert delta_in.dtype == W.dtype == b.dtype == dtype
    assert_close(delta_in, expected_delta_in, dtype)
    assert_close(W, expected_W, dtype)
    assert_close(b, expected_b, dtype)


def dtype_lr(dtype):
    return np.dtype(dtype).type(0.1)


def test_forward_rejects_wrong_width(rng):
    W = rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"x: expected size 5 on axis 1, found shape \(2, 4\)"):
        dense_forward(W, np.zeros(3), np.zeros((2, 4)))


def test_forward_rejects_wrong_bias_length(rng):
    with pytest.raises(ValueError, match=r"b: expected size 3 on axis 0, found shape \(4,\)"):
        dense_forward(rng.normal(size=(5, 3)), np.zeros(4), np.zeros(5))


def test_forward_rejects_non_finite_input(rng):
    x = np.zeros(5)
    x[3] = np.nan
    with pytest.raises(
        ValueError, match=r"x: expected finite values, found 1 non-finite \(first at index \(3,\)"
    ):
        dense_forward(rng.normal(size=(5, 3)), np.zeros(3), x)


def test_sgd_step_refuses_arrays_it_cannot_update_in_place(rng):
    W = np.asfortranarray(rng.normal(size=(4, 3)))
    with pytest.raises(TypeError, match="W: expected a C-contiguous numpy array"):
        dense_backward_sgd(W, np.zeros(3), np.zeros(4), np.zeros(3))
    with pytest.raises(TypeError, match="W, b: expected float32 or float64 arrays of one dtype"):
        dense_backward_sgd(np.zeros((4, 3), np.float32), np.zeros(3), np.zeros(4), np.zeros(3))
