import numpy as np
import pytest
from fastmlp.kernels import softmax_xent_backward, softmax_xent_forward
from helpers import assert_close

from fastmlp import reference


@pytest.mark.parametrize("n", [1, 5])
def test_forward_and_backward_match_reference(rng, dtype, n):
    Z = rng.normal(0, 3, (n, 4)).astype(dtype)
    t = rng.integers(0, 4, n)
    losses = softmax_xent_forward(Z, t)
    losses_b, delta = softmax_xent_backward(Z, t)
    expected_losses, expected_delta = reference.softmax_xent_backward(Z, t)
    for out in (losses, losses_b, delta):
        assert out.dtype == dtype
    assert_close(losses, expected_losses, dtype)
    np.testing.assert_array_equal(losses_b, losses)
    assert_close(delta, expected_delta, dtype)


def test_gradient_is_softmax_minus_onehot():
    z = np.array([1.0, 2.0, 3.0])
    loss, delta = softmax_xent_backward(z, 2)
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(delta, p - [0, 0, 1], rtol=1e-15)
    np.testing.assert_allclose(loss, -np.log(p[2]), rtol=1e-15)
    assert abs(delta.sum()) < 1e-15


def test_uniform_logits_give_log_of_class_count():
    assert softmax_xent_forward(np.zeros(10), 3) == pytest.approx(np.log(10), rel=1e-15)


@pytest.mark.parametrize("scale", [1e3, 1e4])
def test_extreme_logits_are_finite(dtype, scale):
    z = np.array([scale, -scale, 0.0], dtype=dtype)
    right, delta_right = softmax_xent_backward(z, 0)
    wrong, delta_wrong = softmax_xent_backward(z, 1)
    assert right == 0
    assert wrong == pytest.approx(2 * scale)
    np.testing.assert_array_equal(delta_right, [0, 0, 0])
    np.testing.assert_array_equal(delta_wrong, [1, -1, 0])


def test_labels_are_checked_before_the_kernel():
    with pytest.raises(ValueError, match=r"t: expected labels in \[0, 3\), found 3 at index 1"):
        softmax_xent_forward(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="t: expected 2 labels"):
        softmax_xent_backward(np.zeros((2, 3)), [0])
