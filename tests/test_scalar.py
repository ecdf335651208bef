"""The worked example through all three implementations, and the scalar oracle against numpy."""

import math

import numpy as np
import pytest
from helpers import random_network

import fastmlp
from fastmlp import reference, scalar

X = [1.0, -1.0]
W = [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]
B = [0.0, 0.0, 0.0]
V = [[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]]
C = [0.0, 0.0]
HALF_SIGMOID_2 = 0.5 / (1 + math.exp(-2))  # 0.44040


def check_worked_example(loss, dW, db, dV, dc, rel):
    assert loss == pytest.approx(math.log(2), rel=rel)
    assert HALF_SIGMOID_2 == pytest.approx(0.44040, abs=5e-6)
    np.testing.assert_allclose(dV, [[-HALF_SIGMOID_2, HALF_SIGMOID_2]] * 3, rtol=rel)
    np.testing.assert_allclose(dc, [-0.5, 0.5], rtol=rel)
    np.testing.assert_array_equal(dW, np.zeros((2, 3)))
    np.testing.assert_array_equal(db, np.zeros(3))


def test_worked_example_scalar():
    loss, g = scalar.forward_backward(X, W, B, V, C, target=0)
    check_worked_example(loss, g["W"], g["b"], g["V"], g["c"], rel=1e-15)


def test_worked_example_reference():
    weights = [np.array(W), np.array(V)]
    biases = [np.array(B), np.array(C)]
    loss, dWs, dbs = reference.mean_gradients(
        weights, biases, np.array([X]), np.array([0]), "sigmoid"
    )
    check_worked_example(loss, dWs[0], dbs[0], dWs[1], dbs[1], rel=1e-15)


@pytest.mark.parametrize(("dtype", "rel"), [("float64", 1e-15), ("float32", 1e-6)])
def test_worked_example_kernels(dtype, rel):
    model = fastmlp.MLP([2, 3, 2], dtype=dtype)
    model.weights[0][...] = W
    model.weights[1][...] = V
    model.biases[0][...] = B
    model.biases[1][...] = C
    (dW, dV), (db, dc) = fastmlp.gradients(model, [X], [0])
    check_worked_example(model.loss([X], [0]), dW, db, dV, dc, rel=rel)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_scalar_matches_reference_on_random_nets(rng, activation):
    weights, biases = random_network(rng, [4, 5, 3], "float64")
    x = rng.normal(size=4)
    loss, g = scalar.forward_backward(
        x.tolist(),
        weights[0].tolist(),
        biases[0].tolist(),
        weights[1].tolist(),
        biases[1].tolist(),
        target=2,
        activation=activation,
    )
    ref_loss, dWs, dbs = reference.mean_gradients(
        weights, biases, x[None], np.array([2]), activation
    )
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for got, want in zip((g["W"], g["b"], g["V"], g["c"]), (dWs[0], dbs[0], dWs[1], dbs[1])):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    # The intermediate derivatives: dL/do is dL/dc, dL/dk is dL/db, dL/dh = V dL/do.
    np.testing.assert_allclose(g["o"], dbs[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g["k"], dbs[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g["h"], weights[1] @ dbs[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("output", ["logistic", "identity", "exp"])
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_scalar_matches_reference_for_every_output(rng, activation, output):
    weights, biases = random_network(rng, [4, 5, 3], "float64")
    x = rng.normal(size=4)
    y = {"logistic": [1.0, 0.0, 1.0], "identity": [0.5, -2.0, 1.0], "exp": [0.0, 3.0, 1.0]}[output]
    params = [a.tolist() for pair in zip(weights, biases) for a in pair]
    loss, g = scalar.forward_backward(x.tolist(), *params, y, activation, output=output)
    ref_loss, dWs, dbs = reference.mean_gradients(
        weights, biases, x[None], np.array([y]), activation, output=output
    )
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for got, want in zip((g["W"], g["b"], g["V"], g["c"]), (dWs[0], dbs[0], dWs[1], dbs[1])):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_scalar_sgd_step_matches_reference_epoch(rng):
    weights, biases = random_network(rng, [3, 4, 2], "float64")
    lists = [p.tolist() for p in (weights[0], biases[0], weights[1], biases[1])]
    X3 = rng.normal(size=(5, 3))
    y = rng.integers(0, 2, 5)
    losses = [scalar.sgd_step(X3[i].tolist(), *lists, int(y[i]), lr=0.1) for i in range(5)]
    ref_losses, _ = reference.sgd_epoch(weights, biases, X3, y, np.arange(5), 0.1, 1, "sigmoid")
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    for got, want in zip(lists, (weights[0], biases[0], weights[1], biases[1])):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_worked_example_forward_values():
    values = scalar.forward(X, W, B, V, C, target=0)
    sigmoid_2 = 1 / (1 + math.exp(-2))
    assert values["k"] == [2.0, 2.0, 2.0]
    assert values["h"] == pytest.approx([sigmoid_2] * 3, rel=1e-15)
    assert values["o"] == pytest.approx([-sigmoid_2, -sigmoid_2], rel=1e-15)
    assert values["p"] == [0.5, 0.5]
    assert values["loss"] == pytest.approx(math.log(2), rel=1e-15)


def test_worked_example_derivatives_of_the_intermediate_values():
    _, g = scalar.forward_backward(X, W, B, V, C, target=0)
    assert g["o"] == [-0.5, 0.5]
    # Each hidden unit feeds both outputs with equal weights: the pulls cancel.
    assert g["h"] == [0.0, 0.0, 0.0]
    assert g["k"] == [0.0, 0.0, 0.0]


def test_worked_example_sgd_step_matches_the_kernels():
    lists = [[row[:] for row in W], B[:], [row[:] for row in V], C[:]]
    loss = scalar.sgd_step(X, *lists, 0, lr=0.1)
    model = fastmlp.MLP([2, 3, 2], dtype="float64")
    for param, value in zip((*model.weights, *model.biases), (W, V, B, C)):
        param[...] = value
    history = fastmlp.train(model, [X], [0], lr=0.1, shuffle=False, progress=False)
    assert loss == pytest.approx(history.step_loss[0], rel=1e-15)
    for got, want in zip(
        lists, (model.weights[0], model.biases[0], model.weights[1], model.biases[1])
    ):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-17)
    after = scalar.forward(X, *lists, target=0)["loss"]
    assert after == pytest.approx(model.loss([X], [0]), rel=1e-14)
    assert after < loss
