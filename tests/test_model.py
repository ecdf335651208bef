import itertools
import re
import sys

import numpy as np
import pytest
from helpers import assert_close, run_python, sparse_inputs
from test_crash_safety import model_tamperings

import fastmlp
from fastmlp import MLP, reference
from fastmlp.errors import TrainingDivergedError


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


@pytest.mark.parametrize(
    ("name", "value", "instead"),
    [
        ("weights", (np.zeros((2, 3)), np.ones((3, 100000))), r"model\.weights\[l\]\[\.\.\.\]"),
        ("biases", (np.zeros(3), np.zeros(100000)), r"model\.biases\[l\]\[\.\.\.\]"),
        ("params", np.zeros(17, np.float32), r"model\.params\[\.\.\.\]"),
        ("sizes", (2, 30, 2), "build a new MLP"),
        ("dtype", np.dtype(np.float64), "build a new MLP"),
        ("activation", "relu", "build a new MLP"),
    ],
)
def test_attributes_the_kernels_rely_on_are_read_only(name, value, instead):
    """Issue 12: a wider layer assigned to ``model.weights`` made predict_proba corrupt memory."""
    model = MLP([2, 3, 2])
    before = getattr(model, name)
    with pytest.raises(AttributeError, match=rf"^{name}: MLP\.{name} is read-only; .*{instead}"):
        setattr(model, name, value)
    assert getattr(model, name) is before
    model.predict_proba(np.ones((2000, 2), np.float32))


def test_parameter_values_stay_writable_in_place():
    model = MLP([2, 3, 2], dtype="float64")
    model.params[...] = 0.5
    model.weights[1][...] = 2.0
    model.biases[0][1] = -1.0
    assert model.params[9:15].tolist() == [2.0] * 6 and model.params[7] == -1.0
    assert model.check_network()[0][1] is model.weights[1]


@pytest.mark.parametrize("tampering", sorted(model_tamperings(MLP([2, 3, 2]))))
def test_private_state_that_does_not_fit_never_reaches_a_kernel(tampering):
    model = MLP([2, 3, 2], "tanh")
    attribute, value, message = model_tamperings(model)[tampering]
    buffer, params = model.params, model.params.copy()
    object.__setattr__(model, attribute, value)
    X, y = np.ones((3, 2)), [0, 1, 1]
    for call in (
        lambda: model.predict_proba(X),
        lambda: model.predict(X),
        lambda: model.evaluate(X, y),
        lambda: model.loss(X, y),
        lambda: model.accuracy(X, y),
        lambda: fastmlp.train(model, X, y),
        lambda: fastmlp.train(model, X, y, backend="numpy"),
        lambda: fastmlp.gradients(model, X, y),
        lambda: fastmlp.gradients(model, X, y, backend="numpy"),
        model.copy,
        model.initialize,
    ):
        with pytest.raises((TypeError, ValueError), match=message):
            call()
    np.testing.assert_array_equal(buffer, params)


@pytest.mark.parametrize(
    ("sizes", "activation", "seed"), [([2, 3, 2], "relu", 1), ([2, 2], "sigmoid", 1)]
)
def test_a_forward_pass_overflowing_the_dtype_is_an_error_not_nan(sizes, activation, seed):
    """Issue 12: relu in float32 with |X| near 3e38 predicted NaN and class 0, silently."""
    model = MLP(sizes, activation, "float32", seed=seed)
    X = np.full((4, 2), 3e38, np.float32)
    message = r"X: expected inputs the forward pass can carry in float32, found 4 of 4 rows"
    for call in (
        lambda: model.predict_proba(X),
        lambda: model.predict(X),
        lambda: model.evaluate(X, [0, 1, 0, 1]),
        lambda: model.loss(X, [0, 1, 0, 1]),
        lambda: model.accuracy(X, [0, 1, 0, 1]),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    for backend in ("numba", "numpy"):
        with pytest.raises(TrainingDivergedError):
            fastmlp.train(model, X, [0, 1, 0, 1], backend=backend)
    assert np.isfinite(model.predict_proba(X / 1e30)).all()


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunked_initialisation_draws_what_one_draw_would(monkeypatch, activation, dtype):
    """``initialize`` draws in chunks: the values are those of one draw per layer, bit for bit."""
    monkeypatch.setattr(fastmlp.model, "INIT_CHUNK", 7)
    sizes = [13, 11, 4]
    model = MLP(sizes, activation, dtype, seed=9)
    rng = np.random.default_rng(9)
    for W, (n_in, n_out) in zip(model.weights, itertools.pairwise(sizes)):
        if activation == "relu":
            expected = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            expected = rng.uniform(-limit, limit, size=(n_in, n_out))
        np.testing.assert_array_equal(W, expected.astype(dtype))
    np.testing.assert_array_equal(MLP(sizes, activation, dtype, seed=9).params, model.params)


def test_construction_needs_about_the_parameters_memory_only():
    """Issue 12: ``MLP()`` peaked at 3x its parameters (a float64 temporary of each layer)."""
    import tracemalloc

    tracemalloc.start()
    try:
        model = MLP([2000, 1000, 10], "relu", "float32")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    chunks = 4 * fastmlp.model.INIT_CHUNK * 8  # a float64 draw and numpy's temporaries
    assert peak < model.params.nbytes + chunks, (peak, model.params.nbytes)


def test_running_out_of_memory_while_drawing_is_the_named_error(monkeypatch):
    """Issue 12: a MemoryError in construction escaped instead of the named ValueError."""

    class Exhausted:
        def uniform(self, *args):
            raise MemoryError

    monkeypatch.setattr(fastmlp.model, "_as_rng", lambda seed: Exhausted())
    message = r"sizes: \[30, 20, 5\] needs 725 parameters .*MemoryError"
    with pytest.raises(ValueError, match=message):
        MLP([30, 20, 5])


def test_copies_and_pickles_are_checked_and_independent():
    import copy
    import pickle

    model = MLP([3, 4, 2], seed=1)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model)), model.copy()):
        np.testing.assert_array_equal(clone.params, model.params)
        assert clone.check_network()[0][0].base is clone.params
        assert clone._lock is not model._lock
    object.__setattr__(model, "_weights", (model.weights[0].copy(), model.weights[1]))
    with pytest.raises(ValueError, match=r"model\.weights\[0\]: "):
        pickle.dumps(model)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_a_model_that_fits_in_memory_is_built_and_one_that_does_not_is_named(tmp_path):
    """Issue 12: with room for the parameters only, ``MLP()`` raised a raw MemoryError."""
    out = run_python(
        """
        import re, resource
        import fastmlp
        status = open("/proc/self/status").read()
        vm = int(re.search(r"VmSize:\\s+(\\d+)", status).group(1)) * 1024
        room = 64 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (vm + room, vm + room))
        model = fastmlp.MLP([4000, 2500, 10], "relu", "float32")  # 40 MB of parameters
        print(model.params.nbytes)
        try:
            fastmlp.MLP([4000, 5000, 10], "relu", "float32")  # 80 MB
        except ValueError as error:
            print(error)
        """,
        tmp_path,
    )
    built, error = out.splitlines()
    assert int(built) == (4000 * 2500 + 2500 + 2500 * 10 + 10) * 4
    assert re.match(r"sizes: \[4000, 5000, 10\] needs 20055010 parameters .*MemoryError", error)
