"""Crash safety: bad input never reaches a kernel, so it never kills the interpreter.

Numba does no bounds checking: a label of 10 in a 10-class net, a row of the
wrong width or an order index past the data would read or write outside an
array, and a wrong-dtype, read-only or masked array would fail to compile.
Each test runs a batch of such calls in a fresh interpreter (a segfault there
fails the test instead of ending the run): ``child_public_api`` against
``MLP``, ``train``, ``gradients`` and ``MLPClassifier``, ``child_kernel_wrappers``
against the wrappers of ``fastmlp.kernels``, ``child_model_attributes`` against
a model whose arrays, sizes, dtype or activation were changed by hand (or by
a callback during training). The child prints one JSON line
as each case starts and one with its outcome; the parent checks that the
child was not killed by a signal, that every case finished, and that each
raised the expected exception type with a message naming the argument (or,
for input that is only unusual, such as Fortran-ordered, strided or 3-D
image arrays, returned the same result as plain input). A rejected call
must also leave the arrays it was given unchanged.
"""

# Each case() calls its lambda at once, so closing over the loop variables is safe.
# ruff: noqa: B023

import itertools
import json
import re
import warnings
from fractions import Fraction
from pathlib import Path

import helpers
import numpy as np

ANY = "any"  # expected outcome: no crash; a raised error must be a ValueError or TypeError
#: Exceptions that mean a check is missing, never a documented outcome.
UNHELPFUL = (
    "IndexError",
    "KeyError",
    "AttributeError",
    "ZeroDivisionError",
    "OverflowError",
    "TypingError",
    "NumbaTypeError",
    "NumbaValueError",
    "RuntimeWarning",
)


def case(name, expected, call, named=None, unchanged=(), warns=None):
    """Run ``call`` in the child and print how it ended, as a JSON line.

    ``expected`` is an exception type (or tuple), None when ``call`` must
    return True (it checks its own result), or ANY. ``named`` is a regex the
    message must start with; ``unchanged`` arrays must be equal after the
    call; ``warns`` a regex one warning must match (any other warning fails).
    """
    print(json.dumps({"start": name}), flush=True)
    before = [np.array(a, copy=True) for a in unchanged]
    record = {"case": name}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as error:
            record.update(caught=type(error).__name__, message=str(error)[:300])
            if expected is ANY:
                ok = isinstance(error, (ValueError, TypeError))
            else:
                ok = expected is not None and isinstance(error, expected)
                ok = ok and (named is None or re.match(named, str(error)) is not None)
        else:
            record.update(returned=repr(result)[:100])
            ok = expected is ANY or (expected is None and result is True)
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    if warns is not None:
        ok = ok and any(re.search(warns, m) for m in messages)
    elif messages and expected is not ANY:
        ok = False
    changed = [i for i, (a, b) in enumerate(zip(before, unchanged)) if not np.array_equal(a, b)]
    if changed and expected not in (None, ANY):
        ok = False
    record.update(ok=ok, warnings=messages, changed=changed)
    if expected not in (None, ANY):
        types = expected if isinstance(expected, tuple) else (expected,)
        record["expected"] = [t.__name__ for t in types]
    print(json.dumps(record), flush=True)


def run_cases(child, cwd, minimum, env=None):
    """Run ``child()`` in a fresh interpreter; return its case records by name.

    ``child`` is a module-level function of a test module in this folder
    (this one, or another ``test_crash_safety_*`` module that imports ``case``).
    Like ``helpers.run_python``, the child runs from ``cwd`` (the source tree
    is not on sys.path; this folder is, to import the module) with fastmlp's
    and Numba's environment variables cleared but the run's kernel cache, then ``env`` set.
    """
    here = Path(__file__).resolve()
    code = (
        f"import sys; sys.path.insert(0, {str(here.parent)!r}); "
        f"import {child.__module__} as cases; cases.{child.__name__}()"
    )
    result = helpers.run(["-c", code], cwd, check=False, **(env or {}))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    started = [line["start"] for line in lines if "start" in line]
    records = {line["case"]: line for line in lines if "case" in line}
    last = started[-1] if started else None
    assert result.returncode >= 0, (
        f"the interpreter was killed by signal {-result.returncode} during case {last!r}\n"
        f"{result.stderr[-3000:]}"
    )
    assert result.returncode == 0, f"the child failed in case {last!r}:\n{result.stderr[-3000:]}"
    assert started == list(records), f"cases that did not finish: {set(started) - set(records)}"
    assert len(records) >= minimum, f"only {len(records)} cases ran"
    failed = [json.dumps(r) for r in records.values() if not r["ok"]]
    assert not failed, "cases that did not end as expected:\n" + "\n".join(failed)
    for name, record in records.items():
        assert record.get("caught") not in UNHELPFUL, (name, record)
        if "expected" in record:
            assert record["caught"] in record["expected"] or record["caught"].endswith(
                ("Error", "Exception")
            ), (name, record)
    return records


def test_public_api_rejects_labels_and_rows_that_would_index_outside(tmp_path):
    records = run_cases(child_public_api, tmp_path, minimum=190)
    assert sum("expected" in r for r in records.values()) >= 160


def test_kernel_wrappers_reject_what_the_kernels_cannot_take(tmp_path):
    records = run_cases(child_kernel_wrappers, tmp_path, minimum=300)
    assert sum("expected" in r for r in records.values()) >= 290


def test_model_attributes_that_do_not_fit_never_reach_a_kernel(tmp_path):
    records = run_cases(child_model_attributes, tmp_path, minimum=580)
    assert sum("expected" in r for r in records.values()) >= 560


def test_a_crash_in_the_child_is_reported(tmp_path):
    """The harness itself: a child killed by a signal fails with the case it was in."""
    try:
        run_cases(child_that_crashes, tmp_path, minimum=1)
    except AssertionError as error:
        assert "killed by signal" in str(error) and "'segfault'" in str(error)
    else:
        raise AssertionError("a crashing child was not reported")


def child_that_crashes():
    import ctypes

    case("fine", None, lambda: True)
    case("segfault", ANY, lambda: ctypes.string_at(0))


def child_public_api():
    """Labels, rows, lengths, NaN rows, batch sizes and layouts through the public API."""
    from fastmlp import MLP, MLPClassifier, gradients, train

    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        model = MLP([784, 30, 10], "relu", dtype, seed=0)
        X = rng.random((40, 784))
        y = np.arange(40) % 10
        params = model.params

        def entries(X, y, **options):
            return {
                "train": lambda: train(model, X, y, batch_size=8, **options),
                "train-1": lambda: train(model, X, y, **options),
                "evaluate": lambda: model.evaluate(X, y),
                "gradients": lambda: gradients(model, X, y),
            }

        for label in (10, -1, 2**40, 2**62, 10.0, 1e20, 0.5, np.nan):
            bad = y.astype(type(label)) if isinstance(label, float) else y.copy()
            bad[17] = label
            for entry, call in entries(X, bad).items():
                case(f"{dtype}-label-{label}-{entry}", ValueError, call, "y: ", [params])
        big = y.astype(np.uint64)
        big[3] = 2**63
        case(f"{dtype}-label-uint64", ValueError, lambda: model.loss(X, big), "y: ", [params])
        case(
            f"{dtype}-validation-label-10",
            ValueError,
            lambda: train(model, X, y, validation=(X, np.full(40, 10))),
            "y: ",
            [params],
        )
        for width in (783, 785, 1):
            wrong = rng.random((40, width))
            for entry, call in entries(wrong, y).items():
                case(f"{dtype}-width-{width}-{entry}", ValueError, call, "X: ", [params])
            case(f"{dtype}-width-{width}-predict", ValueError, lambda: model.predict(wrong), "X: ")
        case(
            f"{dtype}-images-28x27", ValueError, lambda: model.predict(np.zeros((4, 28, 27))), "X: "
        )
        case(f"{dtype}-1-D-row", ValueError, lambda: model.predict(np.zeros(784)), "X: ")
        for n in (39, 41, 0):
            for entry, call in entries(X, y[:n] if n < 40 else np.resize(y, n)).items():
                case(f"{dtype}-y-length-{n}-{entry}", ValueError, call, "y: ", [params])
        for value in (np.nan, np.inf, -np.inf):
            bad = X.copy()
            bad[7, 300] = value
            for entry, call in entries(bad, y).items():
                case(f"{dtype}-X-{value}-{entry}", ValueError, call, "X: ", [params])
        case(
            f"{dtype}-sample-weight-length",
            ValueError,
            lambda: train(model, X, y, sample_weight=np.ones(39)),
            "sample_weight: ",
            [params],
        )
        for batch in (2**63, 2**70, 0, -1):
            case(
                f"{dtype}-batch-{batch}",
                ValueError,
                lambda: train(model, X, y, batch_size=batch),
                "batch_size: ",
                [params],
            )

        def same_training(Xa, reference, options_a, options_b):
            a, b = model.copy(), model.copy()
            train(a, Xa, y, epochs=2, shuffle=False, **options_a)
            train(b, reference, y, epochs=2, shuffle=False, **options_b)
            return bool(np.array_equal(a.params, b.params))

        for batch in (2**40, 2**63 - 1, 41):
            case(
                f"{dtype}-batch-{batch}-warns",
                None,
                lambda: same_training(X, X, {"batch_size": batch}, {"batch_size": 40}),
                warns="batch_size: .* is larger than the 40 rows of X",
            )
        strided = np.zeros((40, 784 * 2))
        strided[:, ::2] = X
        layouts = {
            "fortran": np.asfortranarray(X),
            "strided": strided[:, ::2],
            "reversed": X[::-1],
            "list": X.tolist(),
            "int": (X * 10).astype(np.int64),
            "images": X.reshape(40, 28, 28),
            "fortran-images": np.asfortranarray(X.reshape(40, 28, 28)),
        }
        for name, Xa in layouts.items():
            reference = np.array(Xa, dtype=np.float64, order="C").reshape(40, 784)
            case(
                f"{dtype}-{name}-predict",
                None,
                lambda: bool(
                    np.array_equal(model.predict_proba(Xa), model.predict_proba(reference))
                ),
            )
            case(
                f"{dtype}-{name}-train",
                None,
                lambda: same_training(Xa, reference, {"batch_size": 8}, {"batch_size": 8}),
            )
        many = rng.random((1000, 784))
        case(
            f"{dtype}-parallel-inference-nan-row",
            ValueError,
            lambda: model.predict(np.where(np.arange(1000)[:, None] == 999, np.nan, many)),
            "X: ",
        )
        case(
            f"{dtype}-parallel-inference-labels",
            ValueError,
            lambda: model.evaluate(many, np.full(1000, 10)),
            "y: ",
        )

    clf = MLPClassifier((8,), max_iter=1, batch_size=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(rng.random((20, 6)), np.arange(20) % 3)
    # scikit-learn's messages: the estimator is its drop-in.
    case("estimator-width", ValueError, lambda: clf.predict(np.zeros((3, 5))), "X has 5 features")
    case("estimator-nan", ValueError, lambda: clf.predict(np.full((3, 6), np.nan)), "Input X ")
    case(
        "estimator-unknown-label",
        ValueError,
        lambda: clf.partial_fit(np.zeros((3, 6)), [0, 1, 5]),
        "`y` has classes not in `self.classes_`",
    )
    # coefs_ and intercepts_ are plain lists users may assign: checked before any kernel.
    coefs, intercepts = clf.coefs_, clf.intercepts_
    clf.coefs_ = [coefs[0][:5], coefs[1]]
    case(
        "estimator-coefs-rows", ValueError, lambda: clf.predict(np.zeros((3, 6))), r"coefs_\[0\]: "
    )
    clf.coefs_, clf.intercepts_ = [coefs[0], coefs[1][:, :2]], [intercepts[0], intercepts[1][:2]]
    case(
        "estimator-coefs-columns",
        ValueError,
        lambda: clf.predict_proba(np.zeros((3, 6))),
        r"coefs_\[1\]: expected 3 columns",
    )
    clf.coefs_, clf.intercepts_ = coefs, [intercepts[0][:4], intercepts[1]]
    case(
        "estimator-intercepts",
        ValueError,
        lambda: clf.partial_fit(np.zeros((3, 6)), [0, 1, 2]),
        r"intercepts_\[0\]: ",
    )


def model_tamperings(model):
    """Changes of ``model``'s private state that must not reach a kernel.

    Returns a dict: name -> (private attribute, value, regex of the error message).
    """
    W, b = model.weights, model.biases
    other = np.float64 if model.dtype == np.float32 else np.float32
    return {
        "wider": ("_weights", (W[0], np.ones((3, 100000), W[0].dtype)), r"model\.biases\[1\]: "),
        "wider-bias": ("_biases", (b[0], np.zeros(100000, b[0].dtype)), r"model\.biases\[1\]: "),
        "narrower": ("_weights", (W[0], W[1][:, :1].copy()), r"model\.biases\[1\]: "),
        "copied": ("_weights", (W[0].copy(), W[1]), r"model\.weights\[0\]: "),
        "dtype": ("_weights", (W[0], W[1].astype(other)), r"model\.weights\[1\]: "),
        "model-dtype": ("_dtype", np.dtype(other), r"model\.dtype: "),
        "strided": ("_weights", (W[0], np.repeat(W[1], 2, 1)[:, ::2]), r"model\.weights\[1\]: "),
        "fortran": ("_weights", (np.asfortranarray(W[0]), W[1]), r"model\.weights\[0\]: "),
        "transposed": ("_weights", (W[0], W[1].T), r"model\.weights\[1\]: "),
        "sizes": ("_sizes", (2, 3, 3), r"model\.params: "),
        "sizes-same-count": ("_sizes", (16, 1), r"model\.weights: "),
        "sizes-count": ("_sizes", (2, 3, 2, 2), r"model\.params: "),
        "sizes-invalid": ("_sizes", (2, 0, 2), r"model\.sizes: "),
        "params": ("_params", np.zeros_like(model.params), r"model\.weights\[0\]: "),
        "params-short": ("_params", model.params[:5], r"model\.params: "),
        "read-only": (
            "_params",
            np.frombuffer(model.params.tobytes(), W[0].dtype),
            r"model\.params: ",
        ),
        "activation": ("_activation", "relu", r"model\.activation: "),
        "code": ("_code", 99, r"model\.activation: "),
        "layers": ("_weights", W[:1], r"model\.weights, biases: "),
    }


def child_model_attributes():
    """Every entry that reaches a kernel, after a change of the model that does not fit it."""
    import pickle

    from fastmlp import MLP, gradients, train
    from fastmlp.names import activation_code

    X, y = np.ones((6, 2)), np.arange(6) % 2
    many = np.ones((2000, 2))  # the parallel inference path too
    entries = {
        "predict_proba": lambda m: m.predict_proba(many),
        "predict": lambda m: m.predict(X),
        "evaluate": lambda m: m.evaluate(many, np.arange(2000) % 2),
        "loss": lambda m: m.loss(X, y),
        "accuracy": lambda m: m.accuracy(X, y),
        "train-numba": lambda m: train(m, X, y, batch_size=2, momentum=0.5),
        "train-numba-1": lambda m: train(m, X, y),
        "train-numpy": lambda m: train(m, X, y, batch_size=2, backend="numpy"),
        "gradients-numba": lambda m: gradients(m, many, np.arange(2000) % 2),
        "gradients-numpy": lambda m: gradients(m, X, y, backend="numpy"),
        "copy": lambda m: m.copy(),
        "pickle": lambda m: pickle.dumps(m),
        "initialize": lambda m: m.initialize(1),
    }
    for dtype in ("float32", "float64"):
        names = sorted(model_tamperings(MLP([2, 3, 2], dtype=dtype)))
        for name, (entry, call) in itertools.product(names, entries.items()):
            model = MLP([2, 3, 2], "tanh", dtype, seed=0)
            attribute, value, named = model_tamperings(model)[name]
            buffer = model.params
            object.__setattr__(model, attribute, value)
            case(
                f"{dtype}-{name}-{entry}",
                (TypeError, ValueError),
                lambda: call(model),
                named,
                [buffer],
            )
        for name, backend in itertools.product([*names, "reinit", "relu"], ("numba", "numpy")):
            model = MLP([2, 3, 2], "tanh", dtype, seed=0)
            tampering = model_tamperings(model).get(name)

            def tamper(epoch, history, m):
                if name == "reinit":
                    m.__init__([2, 3, 2], "tanh", dtype)
                elif name == "relu":
                    object.__setattr__(m, "_activation", "relu")
                    object.__setattr__(m, "_code", activation_code("relu"))
                else:
                    object.__setattr__(m, *tampering[:2])

            named = rf"callbacks: .* ({'replaced' if tampering is None else tampering[2]})"
            case(
                f"{dtype}-callback-{name}-{backend}",
                (TypeError, ValueError),
                lambda: train(model, X, y, epochs=3, backend=backend, callbacks=[tamper]),
                named,
            )
        for name in ("weights", "biases", "params", "sizes", "dtype", "activation"):
            model = MLP([2, 3, 2], dtype=dtype)

            def assign():
                value = getattr(model, name)
                try:
                    setattr(model, name, value)
                except AttributeError:
                    return model.predict_proba(many).shape == (2000, 2)
                return False

            case(f"{dtype}-public-{name}", None, assign)


def child_kernel_wrappers():
    """Networks, labels, orders, rows, velocities and layer arrays through ``fastmlp.kernels``."""
    from fastmlp import MLP
    from fastmlp import kernels as K

    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        m = MLP([4, 5, 3], "tanh", dtype, seed=1)
        W = [w.copy() for w in m.weights]
        b = [v.copy() for v in m.biases]
        X = rng.random((6, 4))
        y = np.arange(6) % 3
        order = np.arange(6)
        guard = [*W, *b]
        sgd = {
            "per-sample": lambda W, b, X, y, order, lr=0.1, **o: K.sgd_epoch_per_sample(
                W, b, X, y, order, lr, **o
            ),
            "minibatch": lambda W, b, X, y, order, lr=0.1, **o: K.sgd_epoch_minibatch(
                W, b, X, y, order, lr, 4, **o
            ),
            "momentum": lambda W, b, X, y, order, lr=0.1, **o: K.sgd_epoch_minibatch(
                W, b, X, y, order, lr, 2, momentum=0.9, **o
            ),
        }
        other = "float16" if dtype == "float32" else "float32"
        bad_networks = {
            "float16": ([w.astype(np.float16) for w in W], b, TypeError, r"weights\[0\]: "),
            "int64": ([w.astype(np.int64) for w in W], b, TypeError, r"weights\[0\]: "),
            "mixed": ([W[0], W[1].astype(other)], b, TypeError, r"weights\[1\]: "),
            "lists": ([w.tolist() for w in W], b, TypeError, r"weights\[0\]: "),
            "fortran": ([np.asfortranarray(W[0]), W[1]], b, ValueError, r"weights\[0\]: "),
            "strided": (
                [np.repeat(W[0], 2, axis=1)[:, ::2], W[1]],
                b,
                ValueError,
                r"weights\[0\]: ",
            ),
            "read-only": (
                [np.frombuffer(W[0].tobytes(), W[0].dtype).reshape(W[0].shape), W[1]],
                b,
                ValueError,
                r"weights\[0\]: ",
            ),
            "masked": ([np.ma.masked_array(W[0]), W[1]], b, TypeError, r"weights\[0\]: "),
            "unchained": ([W[0], W[1][:4]], b, ValueError, r"weights\[1\]: "),
            "bias-shape": (W, [b[0][:4], b[1]], ValueError, r"biases\[0\]: "),
            "bias-dtype": (W, [b[0].astype(other), b[1]], TypeError, r"biases\[0\]: "),
            "too-few-biases": (W, b[:1], ValueError, r"weights, biases: "),
            "none": (None, None, TypeError, r"weights: "),
            "one-array": (W[0], b[0], TypeError, r"weights: "),
            "3-D": ([W[0][None], W[1]], b, TypeError, r"weights\[0\]: "),
        }
        for kind, run in sgd.items():
            for name, (Wb, bb, error, named) in bad_networks.items():
                case(
                    f"{dtype}-{kind}-network-{name}",
                    error,
                    lambda: run(Wb, bb, X, y, order),
                    named,
                    guard,
                )
            for label in (3, -1, 2**40, 2**63 - 1):
                bad = y.copy()
                bad[2] = label
                case(
                    f"{dtype}-{kind}-label-{label}",
                    ValueError,
                    lambda: run(W, b, X, bad, order),
                    "y: ",
                    guard,
                )
            for rows in ([6], [-1], [2**40], [0, 1, 7]):
                case(
                    f"{dtype}-{kind}-order-{rows}",
                    ValueError,
                    lambda: run(W, b, X, y, np.array(rows)),
                    "order: ",
                    guard,
                )
            case(
                f"{dtype}-{kind}-order-uint64",
                ValueError,
                lambda: run(W, b, X, y, np.array([2**64 - 1], np.uint64)),
                "order: ",
                guard,
            )
            for rows in (np.array([0.0, 1.0]), np.zeros((2, 2), int), np.array([True]), 3):
                case(
                    f"{dtype}-{kind}-order-{np.asarray(rows).dtype}-{np.ndim(rows)}-D",
                    TypeError,
                    lambda: run(W, b, X, y, rows),
                    "order: ",
                    guard,
                )
            case(
                f"{dtype}-{kind}-order-empty",
                ValueError,
                lambda: run(W, b, X, y, np.array([], int)),
                "order: ",
                guard,
            )
            for width in (3, 5):
                case(
                    f"{dtype}-{kind}-width-{width}",
                    ValueError,
                    lambda: run(W, b, rng.random((6, width)), y, order),
                    "X: ",
                    guard,
                )
            nan = X.copy()
            nan[4] = np.nan
            case(
                f"{dtype}-{kind}-nan-row",
                ValueError,
                lambda: run(W, b, nan, y, order),
                "X: ",
                guard,
            )
            case(
                f"{dtype}-{kind}-y-length",
                ValueError,
                lambda: run(W, b, X, y[:5], order),
                "y: ",
                guard,
            )
            case(
                f"{dtype}-{kind}-lr-nan",
                ValueError,
                lambda: run(W, b, X, y, order, lr=np.nan),
                "lr: ",
                guard,
            )
            case(
                f"{dtype}-{kind}-activation",
                ValueError,
                lambda: run(W, b, X, y, order, activation="softplus"),
                "activation: ",
                guard,
            )
            case(
                f"{dtype}-{kind}-sample-weight",
                ValueError,
                lambda: run(W, b, X, y, order, sample_weight=-np.ones(6)),
                "sample_weight: ",
                guard,
            )
            short = ([np.zeros_like(W[0])], [np.zeros_like(b[0])])
            wrong = (
                [np.zeros_like(W[0]), np.zeros((5, 2), W[1].dtype)],
                [np.zeros_like(v) for v in b],
            )
            for name, velocities in {
                "short": short,
                "shape": wrong,
                "int": 5,
                "triple": (W, b, b),
            }.items():
                case(
                    f"{dtype}-{kind}-velocities-{name}",
                    (TypeError, ValueError),
                    lambda: run(W, b, X, y, order, velocities=velocities),
                    "velocities",
                    guard,
                )
            case(
                f"{dtype}-{kind}-lr-fraction",
                None,
                lambda: bool(
                    np.isfinite(
                        run(
                            [w.copy() for w in W],
                            [v.copy() for v in b],
                            X,
                            y,
                            order,
                            lr=Fraction(1, 10),
                        )
                    ).all()
                ),
            )
        for batch in (0, 2**70, 2.0, True):
            case(
                f"{dtype}-batch-{batch}",
                (TypeError, ValueError),
                lambda: K.sgd_epoch_minibatch(W, b, X, y, order, 0.1, batch),
                "batch_size: ",
                guard,
            )
        case(
            f"{dtype}-batch-2**40",
            None,
            lambda: (
                K.sgd_epoch_minibatch(
                    [w.copy() for w in W],
                    [v.copy() for v in b],
                    X,
                    y,
                    np.tile(order, 3),
                    0.1,
                    2**40,
                ).shape
                == (1,)
            ),
        )
        case(
            f"{dtype}-empty-hidden-layer",
            ANY,
            lambda: K.sgd_epoch_minibatch(
                [np.zeros((4, 0), dtype), np.zeros((0, 3), dtype)],
                [np.zeros(0, dtype), np.zeros(3, dtype)],
                X,
                y,
                order,
                0.1,
                2,
            ),
        )

        W0, b0 = W[0].copy(), b[0].copy()
        dense = [W0, b0]
        case(
            f"{dtype}-dense-forward-width",
            ValueError,
            lambda: K.dense_forward(W0, b0, np.ones(5)),
            "x: ",
        )
        case(
            f"{dtype}-dense-forward-batch-width",
            ValueError,
            lambda: K.dense_forward(W0, b0, np.ones((3, 3))),
            "x: ",
        )
        case(
            f"{dtype}-dense-forward-3-D",
            ValueError,
            lambda: K.dense_forward(W0, b0, np.ones((2, 3, 4))),
            "x: ",
        )
        case(
            f"{dtype}-dense-forward-bias",
            ValueError,
            lambda: K.dense_forward(W0, b0[:4], np.ones(4)),
            "b: ",
        )
        case(
            f"{dtype}-dense-forward-bool-W",
            TypeError,
            lambda: K.dense_forward(W0 > 0, b0, np.ones(4)),
            "W: ",
        )
        case(
            f"{dtype}-dense-forward-nan",
            ValueError,
            lambda: K.dense_forward(W0, b0, np.array([1, np.nan, 0, 0])),
            "x: ",
        )
        case(
            f"{dtype}-dense-forward-fortran",
            None,
            lambda: np.array_equal(
                K.dense_forward(np.asfortranarray(W0), b0, X), K.dense_forward(W0, b0, X)
            ),
        )
        case(
            f"{dtype}-dense-backward-a-in",
            ValueError,
            lambda: K.dense_backward(W0, np.ones(5), np.ones(5)),
            "a_in: ",
        )
        case(
            f"{dtype}-dense-backward-delta",
            ValueError,
            lambda: K.dense_backward(W0, np.ones(4), np.ones(4)),
            "delta: ",
        )
        case(
            f"{dtype}-dense-backward-1-D-W",
            ValueError,
            lambda: K.dense_backward(W0[0], np.ones(4), np.ones(5)),
            "W: ",
        )
        frozen = W0.copy()
        frozen.setflags(write=False)
        sgd_cases = {
            "read-only": ((frozen, b0), ValueError, "W: "),
            "fortran": ((np.asfortranarray(W0), b0), TypeError, "W: "),
            "list": ((W0.tolist(), b0), TypeError, "W: "),
            "matrix": ((np.asmatrix(W0), b0), TypeError, "W: "),
            "float16": ((W0.astype(np.float16), b0.astype(np.float16)), TypeError, "W, b: "),
            "mixed": ((W0, b0.astype(other)), TypeError, "W, b: "),
            "bias-shape": ((W0, b0[:4]), ValueError, "b: "),
        }
        for name, ((Wx, bx), error, named) in sgd_cases.items():
            case(
                f"{dtype}-dense-backward-sgd-{name}",
                error,
                lambda: K.dense_backward_sgd(Wx, bx, np.ones(4), np.ones(5)),
                named,
                dense,
            )
        case(
            f"{dtype}-dense-backward-sgd-a-in",
            ValueError,
            lambda: K.dense_backward_sgd(W0, b0, np.ones(3), np.ones(5)),
            "a_in: ",
            dense,
        )
        case(
            f"{dtype}-dense-backward-sgd-lr",
            ValueError,
            lambda: K.dense_backward_sgd(W0, b0, np.ones(4), np.ones(5), lr=0),
            "lr: ",
            dense,
        )

        z = rng.random((4, 3)).astype(dtype)
        for t in (3, -1, 2**40, [0, 1, 2, 3], [0.5, 0, 0, 0]):
            labels = np.broadcast_to(np.asarray(t), (4,)) if np.ndim(t) == 0 else np.asarray(t)
            for fn in ("softmax_xent_forward", "softmax_xent_backward"):
                case(f"{dtype}-{fn}-t-{t}", ValueError, lambda: getattr(K, fn)(z, labels), "t: ")
        case(
            f"{dtype}-softmax-single-t", ValueError, lambda: K.softmax_xent_forward(z[0], 3), "t: "
        )
        case(
            f"{dtype}-softmax-t-length",
            ValueError,
            lambda: K.softmax_xent_forward(z, [0, 1]),
            "t: ",
        )
        case(
            f"{dtype}-softmax-z-empty",
            ValueError,
            lambda: K.softmax_xent_forward(np.zeros((2, 0)), [0, 0]),
            "z: ",
        )
        case(
            f"{dtype}-softmax-z-3-D",
            ValueError,
            lambda: K.softmax_xent_backward(np.zeros((2, 3, 1)), [0, 1]),
            "z: ",
        )
        case(
            f"{dtype}-softmax-z-nan",
            ValueError,
            lambda: K.softmax_xent_forward([np.nan, 0.0], 0),
            "z: ",
        )
