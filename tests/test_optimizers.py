"""Optimizers: kernels against their numpy twins, both against the formulas by hand, and state."""

import numpy as np
import pytest
from fastmlp.kernels import sgd_epoch_minibatch
from fastmlp.kernels.sgd import SGD as Runner
from helpers import assert_close, random_network, sparse_inputs

from fastmlp import optimizers, reference
from fastmlp.optimizers import SGD, Adam

SIZES = [12, 9, 6, 4]
N = 250  # ragged last batches: 250 = 31 * 8 + 2 = 2 * 100 + 50

OPTIMIZERS = {
    "plain": SGD(0.1),
    "momentum": SGD(0.1, momentum=0.9),
    "nesterov": SGD(0.1, momentum=0.9, nesterov=True),
    "adam": Adam(0.01),
}


def problem(rng, dtype, n=N, sizes=SIZES):
    weights, biases = random_network(rng, sizes, dtype)
    X = sparse_inputs(rng, n, sizes[0], dtype, density=0.5)
    y = rng.integers(0, sizes[-1], n)
    sw = rng.uniform(0.2, 2.0, n).astype(dtype)
    return weights, biases, X, y, sw, rng.permutation(n)


def copy(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize(
    "options",
    [{}, {"l2": 0.05}, {"sw": True}, {"sw": True, "average": "weights", "l2": 0.05}],
    ids=["none", "l2", "weights-rows", "weights-weights-l2"],
)
@pytest.mark.parametrize("batch_size", [1, 8, 100])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_kernel_trajectory_matches_numpy_twin(rng, dtype, name, batch_size, options):
    weights, biases, X, y, sw, order = problem(rng, dtype)
    opt = OPTIMIZERS[name]
    options = dict(options)
    if options.pop("sw", False):
        options["sample_weight"] = sw
    ref_weights, ref_biases = copy(weights), copy(biases)
    state = opt.new_state(weights, biases)
    step_loss = sgd_epoch_minibatch(
        weights, biases, X, y, order, opt.lr, batch_size, optimizer=opt, state=state, **options
    )
    ref_state = opt.new_state(ref_weights, ref_biases)
    ref_loss, _ = reference.sgd_epoch(
        *(ref_weights, ref_biases, X, y, order, opt.lr, batch_size, "sigmoid"),
        optimizer=opt,
        state=ref_state,
        **options,
    )
    assert step_loss.shape == (-(-N // batch_size),)
    assert_close(step_loss, ref_loss, dtype)
    for got, want in zip([*weights, *biases], [*ref_weights, *ref_biases]):
        assert got.dtype == dtype
        assert_close(got, want, dtype)
    for key, got in state.arrays().items():
        assert_close(got, ref_state.arrays()[key], dtype)
    if name == "adam":  # the step count is state only where the update reads it
        assert state.arrays()["t"][0] == ref_state.arrays()["t"][0] == len(step_loss)


def by_hand(weights, biases, X, y, order, batch_size, update, sw=None, l2=0.0):
    """Run the steps with ``reference.mean_gradients`` and ``update(step, params, grads)``.

    Each step's gradient is ``(summed gradient + l2 * W) / sum(sw)`` (biases
    without ``l2``), its loss ``(summed loss + l2 / 2 * |W|^2) / sum(sw)``.
    """
    losses = []
    for step, start in enumerate(range(0, len(order), batch_size), start=1):
        rows = order[start : start + batch_size]
        w = np.ones(len(rows)) if sw is None else sw[rows]
        mean, dWs, dbs = reference.mean_gradients(weights, biases, X[rows], y[rows], "tanh", w)
        n, total = len(rows), w.sum()
        squares = sum((W**2).sum() for W in weights)
        losses.append((n * mean + 0.5 * l2 * squares) / total)
        grads = [(n * dW + l2 * W) / total for dW, W in zip(dWs, weights)]
        update(step, [*weights, *biases], [*grads, *(n * db / total for db in dbs)])
    return np.array(losses)


def adam_by_hand(opt):
    m, v = {}, {}

    def update(t, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            m[i] = opt.beta1 * m.get(i, 0) + (1 - opt.beta1) * g
            v[i] = opt.beta2 * v.get(i, 0) + (1 - opt.beta2) * g * g
            lr_t = opt.lr * np.sqrt(1 - opt.beta2**t) / (1 - opt.beta1**t)
            p -= lr_t * m[i] / (np.sqrt(v[i]) + opt.eps)

    return update


def nesterov_by_hand(opt):
    velocity = {}

    def update(t, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            velocity[i] = opt.momentum * velocity.get(i, 0) - opt.lr * g
            p += opt.momentum * velocity[i] - opt.lr * g

    return update


def plain_by_hand(opt):
    def update(t, params, grads):
        for p, g in zip(params, grads):
            p -= opt.lr * g

    return update


@pytest.mark.parametrize(
    ("opt", "hand", "options"),
    [
        (Adam(0.05, beta1=0.8, beta2=0.99, eps=1e-6), adam_by_hand, {}),
        (Adam(0.05), adam_by_hand, {"l2": 0.3, "average": "weights"}),
        (SGD(0.2, momentum=0.7, nesterov=True), nesterov_by_hand, {}),
        (SGD(0.2, momentum=0.7, nesterov=True), nesterov_by_hand, {"average": "weights"}),
        (SGD(0.2), plain_by_hand, {"l2": 0.3, "average": "weights"}),
    ],
)
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_three_steps_follow_the_formulas_by_hand(rng, opt, hand, options, backend):
    """Batches of 4, 4 and 2 rows in float64: both implementations against the formulas."""
    weights, biases, X, y, sw, order = problem(rng, "float64", n=10, sizes=[5, 4, 3])
    sw = sw if options.get("average") == "weights" else None
    want_weights, want_biases = copy(weights), copy(biases)
    want = by_hand(want_weights, want_biases, X, y, order, 4, hand(opt), sw, options.get("l2", 0))
    args = (weights, biases, X, y, order, opt.lr, 4)
    if backend == "numba":
        got = sgd_epoch_minibatch(*args, "tanh", optimizer=opt, sample_weight=sw, **options)
    else:
        got, _ = reference.sgd_epoch(*args, "tanh", optimizer=opt, sample_weight=sw, **options)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    for p, q in zip([*weights, *biases], [*want_weights, *want_biases]):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", ["momentum", "adam"])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_saved_and_loaded_state_continues_bit_for_bit(rng, tmp_path, name, batch_size):
    opt = OPTIMIZERS[name]
    weights, biases, X, y, _, order = problem(rng, "float32")
    resumed_weights, resumed_biases = copy(weights), copy(biases)
    state = opt.new_state(weights, biases)
    for _ in range(2):
        sgd_epoch_minibatch(
            weights, biases, X, y, order, opt.lr, batch_size, optimizer=opt, state=state
        )

    first = opt.new_state(resumed_weights, resumed_biases)
    args = (X, y, order, opt.lr, batch_size)
    sgd_epoch_minibatch(resumed_weights, resumed_biases, *args, optimizer=opt, state=first)
    np.savez(tmp_path / "state.npz", **first.arrays())
    with np.load(tmp_path / "state.npz") as saved:
        loaded = opt.load_state(resumed_weights, resumed_biases, dict(saved))
    assert set(loaded.arrays()) == set(state.arrays())
    sgd_epoch_minibatch(resumed_weights, resumed_biases, *args, optimizer=opt, state=loaded)
    for got, want in zip([*resumed_weights, *resumed_biases], [*weights, *biases]):
        np.testing.assert_array_equal(got, want)
    for key, got in loaded.arrays().items():
        np.testing.assert_array_equal(got, state.arrays()[key])


def test_state_arrays_are_named_per_slot_and_layer(rng):
    weights, biases = random_network(rng, [3, 2, 2], "float32")
    assert SGD().new_state(weights, biases).arrays() == {}
    assert sorted(SGD(momentum=0.5).new_state(weights, biases).arrays()) == [
        "velocity_b0",
        "velocity_b1",
        "velocity_w0",
        "velocity_w1",
    ]
    arrays = Adam().new_state(weights, biases).arrays()
    assert sorted(arrays) == ["m_b0", "m_b1", "m_w0", "m_w1", "t", "v_b0", "v_b1", "v_w0", "v_w1"]
    assert arrays["m_w1"].shape == (2, 2) and arrays["v_b0"].dtype == np.float32
    assert arrays["t"].dtype == np.int64 and arrays["t"].shape == (1,)


def adam_run(data, batch_size, parallel, chunks):
    """Return everything an epoch of Adam writes, run by the given build and part count."""
    weights, biases, X, y, sw, order = data
    opt = Adam(0.01)
    net = tuple(copy(weights)), tuple(copy(biases))
    runner = Runner(*net, batch_size, opt, 1e-3, l2=0.01, average="weights")
    runner.parallel, runner.chunks = parallel, chunks
    step_loss = np.empty(-(-N // batch_size))
    step_correct = np.empty_like(step_loss, dtype=np.int64)
    runner.run(X, y, sw, order, 0, 0, opt.lr, step_loss, step_correct)
    return [*net[0], *net[1], step_loss, step_correct, *runner.state.arrays().values()]


@pytest.mark.parametrize("batch_size", [1, 40])
def test_adam_serial_and_threaded_runs_agree(rng, dtype, batch_size):
    """Each build and part count repeats itself bit for bit; all agree to the dtype's tolerance."""
    data = problem(rng, dtype)
    first = adam_run(data, batch_size, False, 1)
    for parallel, chunks in [(True, 1), (True, 2), (True, 3)]:
        result = adam_run(data, batch_size, parallel, chunks)
        for got, again, want in zip(result, adam_run(data, batch_size, parallel, chunks), first):
            np.testing.assert_array_equal(got, again, err_msg=f"{parallel=}, {chunks=}")
            assert_close(got, want, dtype)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threaded"])
def test_runs_repeat_bit_for_bit_wherever_their_arrays_lie(rng, dtype, parallel):
    """A run's result must not depend on its arrays' addresses.

    LLVM guards a loop that writes one array and reads another by a check on
    their addresses, and falls back to a scalar copy of the loop. With the
    fastmath flags ``reassoc`` and ``arcp`` the two copies rounded differently:
    about one run of this file in five failed the test above (see
    ``config.FASTMATH``).
    """
    data = problem(rng, dtype)
    first = adam_run(data, 1, parallel, 1)
    kept = []  # each run's results stay alive, so the next run's arrays lie elsewhere
    for size in np.random.default_rng(0).integers(1, 5000, 25):
        kept.append((np.empty(size, np.uint8), adam_run(data, 1, parallel, 1)))
        for got, want in zip(kept[-1][1], first):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: SGD(lr=0), ValueError, "lr: expected a finite value > 0, found 0"),
        (lambda: SGD(momentum=1.0), ValueError, r"momentum: expected a value in \[0, 1\)"),
        (lambda: SGD(nesterov="yes"), TypeError, "nesterov: expected True or False, found 'yes'"),
        (lambda: Adam(beta1=1.0), ValueError, r"beta1: expected a value in \[0, 1\), found 1.0"),
        (lambda: Adam(beta2=-0.1), ValueError, r"beta2: expected a value in \[0, 1\)"),
        (lambda: Adam(eps=0.0), ValueError, "eps: expected a finite value > 0, found 0.0"),
        (lambda: Adam(lr=float("inf")), ValueError, "lr: expected a finite value > 0"),
        (lambda: optimizers.rule("adam"), TypeError, "optimizer: expected one of fastmlp.SGD"),
    ],
)
def test_hyperparameters_are_validated(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_optimizers_are_frozen():
    with pytest.raises(AttributeError):
        Adam().lr = 0.1


def test_loaded_state_is_checked(rng):
    weights, biases = random_network(rng, [3, 2, 2], "float64")
    good = Adam().new_state(weights, biases).arrays()
    with pytest.raises(ValueError, match=r"state: expected arrays named \['m_b0'.*found \['t'\]"):
        Adam().load_state(weights, biases, {"t": good["t"]})
    cases = [
        (
            "m_w0",
            np.zeros((2, 3)),
            r"m_w0 as a writeable C-contiguous float64 array of shape \(3, 2\)",
        ),
        ("v_b1", np.zeros(2, np.float32), "v_b1 as a writeable C-contiguous float64 array"),
        ("m_w1", np.zeros((4, 2))[::2], "m_w1 as a writeable C-contiguous"),
        ("t", np.zeros(1), "t as a writeable C-contiguous int64 array of shape"),
    ]
    for name, bad, message in cases:
        with pytest.raises(ValueError, match=f"state: expected {message}"):
            Adam().load_state(weights, biases, {**good, name: bad})
    frozen = good["v_w0"].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="state: expected v_w0 as a writeable"):
        Adam().load_state(weights, biases, {**good, "v_w0": frozen})


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"l2": -1.0}, ValueError, "l2: expected a finite value >= 0, found -1.0"),
        ({"l2": "0"}, TypeError, "l2: expected a real number, found '0'"),
        ({"average": "mean"}, ValueError, r"average: expected one of \['rows', 'weights'\]"),
        ({"optimizer": Adam(0.2)}, ValueError, "lr: expected the optimizer's rate 0.2, found 0.1"),
        (
            {"optimizer": Adam(0.1), "momentum": 0.5},
            ValueError,
            "momentum: expected 0 beside an optimizer",
        ),
        ({"optimizer": "adam"}, TypeError, "optimizer: expected one of fastmlp.SGD, fastmlp.Adam"),
        ({"state": {}}, TypeError, "state: expected a fastmlp.optimizers.State"),
        (
            {"sample_weight": np.r_[np.zeros(8), np.ones(N - 8)], "average": "weights"},
            ValueError,
            r"sample_weight: expected a positive weight sum in every step .* found 0 in step 0",
        ),
    ],
)
def test_epoch_options_are_validated(rng, options, error, message):
    weights, biases, X, y, _, order = problem(rng, "float64")
    order = np.arange(N)
    before = copy(weights)
    with pytest.raises(error, match=message):
        sgd_epoch_minibatch(weights, biases, X, y, order, 0.1, 8, **options)
    for got, was in zip(weights, before):
        np.testing.assert_array_equal(got, was)


def test_state_of_another_optimizer_is_refused(rng):
    weights, biases, X, y, _, order = problem(rng, "float64")
    state = SGD(0.1, momentum=0.9).new_state(weights, biases)
    with pytest.raises(ValueError, match=r"state: expected arrays named \['m_b0'"):
        sgd_epoch_minibatch(weights, biases, X, y, order, 0.1, 8, optimizer=Adam(0.1), state=state)
