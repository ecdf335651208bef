import numpy as np
import pytest
from helpers import assert_close, sparse_inputs

from fastmlp import MLP, reference


def test_parameters_are_views_into_one_buffer():
    model = MLP([4, 3, 2])
    assert model.params.shape == (4 * 3 + 3 + 3 * 2 + 2,)
    assert [W.shape for W in model.weights] == [(4, 3), (3, 2)]
    assert [b.shape for b in model.biases] == [(3,), (2,)]
    for p in (*model.weights, *model.biases):
        assert p.base is model.params and p.flags.c_contiguous and p.flags.writeable
    model.weights[1][2, 0] = 7.0
    model.biases[0][1] = -3.0
    assert model.params[12 + 3 + 2 * 2] == 7.0
    assert model.params[12 + 1] == -3.0


def test_assigning_into_views_changes_predictions(rng):
    model = MLP([3, 4, 2], dtype="float64")
    X = rng.normal(size=(5, 3))
    before = model.predict_proba(X)
    model.biases[-1][...] = [10.0, -10.0]
    after = model.predict_proba(X)
    assert not np.allclose(before, after)
    assert (after[:, 0] > 0.99).all()


def test_weights_list_cannot_be_rebound():
    model = MLP([2, 2])
    with pytest.raises(TypeError):
        model.weights[0] = np.zeros((2, 2))


@pytest.mark.parametrize("sizes", [[2, 2], [3, 5, 4], [2, 3, 3, 2], [4, 6, 5, 4, 3]])
def test_predict_proba_matches_reference(rng, dtype, activation, sizes):
    model = MLP(sizes, activation, dtype, seed=1)
    X = sparse_inputs(rng, 9, sizes[0], dtype, density=0.7)
    P = model.predict_proba(X)
    assert P.dtype == dtype and P.shape == (9, sizes[-1])
    assert_close(P, reference.predict_proba(model.weights, model.biases, X, activation), dtype)
    assert_close(P.sum(axis=1), np.ones(9), dtype)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))


def test_loss_and_accuracy_match_reference(rng, dtype):
    model = MLP([5, 8, 3], dtype=dtype, seed=2)
    X = rng.normal(size=(20, 5))
    y = rng.integers(0, 3, 20)
    logits = reference.forward(model.weights, model.biases, X.astype(dtype), "sigmoid")[-1]
    expected = reference.softmax_xent_forward(logits, y).astype(np.float64).mean()
    loss = model.loss(X, y)
    assert isinstance(loss, float) and model.evaluate(X, y)[0].dtype == np.float64
    assert_close(loss, expected, dtype)
    assert model.accuracy(X, y) == np.mean(logits.argmax(axis=1) == y)


def test_initialisation_is_seeded_and_leaves_global_state_alone():
    np.random.seed(0)  # noqa: NPY002 - the global state this test guards
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a, b, c = MLP([10, 20, 5], seed=3), MLP([10, 20, 5], seed=3), MLP([10, 20, 5], seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_glorot_uniform_for_sigmoid_and_tanh(activation):
    model = MLP([400, 300, 10], activation, "float64")
    limit = np.sqrt(6 / 700)
    W = model.weights[0]
    assert np.abs(W).max() <= limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert not model.biases[0].any()


def test_he_normal_for_relu():
    model = MLP([400, 300, 10], "relu", "float64")
    assert model.weights[0].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert model.weights[0].mean() == pytest.approx(0, abs=0.002)


def test_copy_is_independent():
    model = MLP([3, 2], "tanh", "float64")
    clone = model.copy()
    np.testing.assert_array_equal(clone.params, model.params)
    clone.weights[0][0, 0] += 1
    assert clone.params[0] != model.params[0]
    assert (clone.sizes, clone.activation, clone.dtype) == (
        model.sizes,
        model.activation,
        model.dtype,
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [3]}, ValueError, "sizes: expected at least an input and an output size"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes: expected integers >= 1, found \[3, 0, 2\]"),
        ({"sizes": [3, 2.5]}, ValueError, "sizes: expected integers >= 1"),
        ({"sizes": 5}, TypeError, "sizes: expected a sequence of layer sizes, found 5"),
        ({"sizes": [3, 2], "activation": "softmax"}, ValueError, "activation: expected one of"),
        ({"sizes": [3, 2], "dtype": "float16"}, ValueError, "dtype: expected one of"),
    ],
)
def test_bad_construction_is_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        MLP(**kwargs)


def test_bad_inputs_are_caught_before_any_kernel(rng):
    model = MLP([3, 2])
    with pytest.raises(ValueError, match=r"X: expected size 3 on axis 1, found shape \(4, 5\)"):
        model.predict(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 2\), found 2 at index 0"):
        model.loss(np.zeros((1, 3)), [2])
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 2\), found -1 at index 1"):
        model.accuracy(np.zeros((2, 3)), [0, -1])
    with pytest.raises(
        ValueError, match=r"y: expected whole-number class labels, found 0\.5 at index 0"
    ):
        model.loss(np.zeros((1, 3)), [0.5])
    with pytest.raises(ValueError, match=r"X: expected a non-empty array, found shape \(0, 3\)"):
        model.predict(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="X: expected a numeric array, found dtype <U1"):
        model.predict([["a", "b", "c"]])


def test_whole_float_labels_and_fortran_inputs_are_accepted(rng):
    model = MLP([3, 2], dtype="float64")
    X = np.asfortranarray(rng.normal(size=(4, 3)))
    assert model.loss(X, [0.0, 1.0, 1.0, 0.0]) == model.loss(np.ascontiguousarray(X), [0, 1, 1, 0])


def test_pickle_keeps_views_into_one_buffer():
    import pickle

    model = MLP([3, 4, 2], "tanh", "float64", seed=3)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.params, model.params)
    assert all(W.base is clone.params for W in clone.weights)
    clone.weights[0][0, 0] = 42.0
    assert clone.params[0] == 42.0
    assert clone.sizes == model.sizes and clone.activation == model.activation
    assert clone.dtype == model.dtype
