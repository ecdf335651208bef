"""The kernel decorator: disk cache outside the install, fallback, and float32 kept in float32."""

import json
import shutil
from pathlib import Path

import fastmlp.kernels
import pytest
from helpers import run, run_python
from test_crash_safety_cache import KINDS, damage, full_filesystem

TINY_RUN = """
import numpy as np
import fastmlp
from fastmlp.kernels import per_sample, _jit
model = fastmlp.MLP([2, 3, 2])
X = np.random.default_rng(0).normal(size=(20, 2))
fastmlp.train(model, X, (X[:, 0] > 0).astype(int))  # per-sample SGD, the default
kernel = per_sample._sgd_epoch_per_sample
hits, misses = sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())
print(_jit.is_cached(kernel), int(hits > 0), int(misses > 0))
"""


def kernel_source_dir():
    return Path(fastmlp.kernels.__file__).parent


@pytest.mark.slow  # a cold compile in a child, by design
def test_cache_lives_in_the_cache_dir_and_is_reused(tmp_path):
    cache = tmp_path / "cache"
    assert run_python(TINY_RUN, tmp_path, FASTMLP_CACHE_DIR=str(cache)) == "True 0 1"
    assert list(cache.rglob("per_sample._sgd_epoch_per_sample-*.nbi"))
    assert run_python(TINY_RUN, tmp_path, FASTMLP_CACHE_DIR=str(cache)) == "True 1 0"


def test_the_cache_follows_every_kernel_source(tmp_path):
    """A change to any file the kernels inline from changes the cache's directory."""
    from fastmlp.kernels._jit import SOURCES_DIGEST, source_digest

    files = [tmp_path / "dense.py", tmp_path / "sgd.py"]
    for f in files:
        f.write_text("x = 1\n")
    before = source_digest(files)
    files[0].write_text("x = 2\n")
    assert source_digest(files) != before
    assert len(SOURCES_DIGEST) == 16


@pytest.mark.slow  # a cold compile in a child, by design
def test_cache_is_keyed_by_the_installed_sources(tmp_path):
    from fastmlp.kernels._jit import SOURCES_DIGEST

    cache = tmp_path / "cache"
    run_python(TINY_RUN, tmp_path, FASTMLP_CACHE_DIR=str(cache))
    assert [p.name for p in cache.iterdir()] == [SOURCES_DIGEST]


@pytest.mark.slow  # a cold compile in a child, by design
def test_nothing_is_written_beside_the_kernel_sources(tmp_path):
    run_python(TINY_RUN, tmp_path, FASTMLP_CACHE_DIR=str(tmp_path))
    assert not [p for p in kernel_source_dir().rglob("*") if p.suffix in (".nbi", ".nbc")]


@pytest.mark.slow  # a cold compile in a child, by design
def test_unwritable_cache_dir_falls_back_to_memory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert run_python(TINY_RUN, tmp_path, FASTMLP_CACHE_DIR=str(blocker / "cache")) == "False 0 1"
    assert blocker.read_text() == "not a directory"


@pytest.mark.slow  # a compile without a cache in a child, by design
@pytest.mark.parametrize("env", [{"FASTMLP_NO_CACHE": "1"}, {"FASTMLP_CACHE_DIR": ""}])
def test_cache_can_be_switched_off(env, tmp_path):
    assert run_python(TINY_RUN, tmp_path, **env) == "False 0 1"


# Train with per-sample SGD; report the parameters' digest, the kernel's cache
# use and every warning.
CACHED_TRAIN = """
import hashlib, json, warnings
import numpy as np
import fastmlp
from fastmlp.kernels import per_sample
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = fastmlp.MLP([2, 3, 2])
    X = np.random.default_rng(0).normal(size=(20, 2))
    fastmlp.train(model, X, (X[:, 0] > 0).astype(int))
kernel = per_sample._sgd_epoch_per_sample
print(json.dumps({
    "params": hashlib.sha256(model.params.tobytes()).hexdigest(),
    "hits": sum(kernel.stats.cache_hits.values()),
    "misses": sum(kernel.stats.cache_misses.values()),
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
}))
"""


def cached_train(cache, cwd):
    """Run CACHED_TRAIN in a fresh interpreter (it must not fail nor die by a signal)."""
    return json.loads(run_python(CACHED_TRAIN, cwd, FASTMLP_CACHE_DIR=str(cache)).splitlines()[-1])


@pytest.fixture(scope="module")
def trained_cache(tmp_path_factory):
    """A cache populated by one training run, and what that run reported."""
    root = tmp_path_factory.mktemp("trained")
    report = cached_train(root / "cache", root)
    assert (report["hits"], report["misses"], report["warnings"]) == (0, 1, [])
    return root / "cache", report


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_a_damaged_cache_file_costs_one_compile_and_is_replaced(
    trained_cache, suffix, kind, tmp_path
):
    """Before, truncated, garbage and empty files raised out of every train (UnpicklingError,
    EOFError) and a flipped bit in the machine code was loaded and run."""
    source, clean = trained_cache
    cache = tmp_path / "cache"
    shutil.copytree(source, cache)
    [path] = cache.rglob(f"per_sample._sgd_epoch_per_sample-*{suffix}")
    damage(path, kind)
    damaged = cached_train(cache, tmp_path)
    assert damaged["params"] == clean["params"]
    assert (damaged["hits"], damaged["misses"]) == (0, 1)
    [warning] = damaged["warnings"]
    assert warning.startswith("CacheWarning: fastmlp's kernel cache ignored the damaged entry")
    assert path.name in warning
    assert cached_train(cache, tmp_path) == {**clean, "hits": 1, "misses": 0}


@pytest.mark.slow
def test_training_with_a_full_cache_disk_warns_once(trained_cache, tmp_path):
    """Before, ``OSError: [Errno 28] No space left on device`` came out of train."""
    _, clean = trained_cache
    with full_filesystem(tmp_path / "mnt") as cache:
        report = cached_train(cache, tmp_path)
    assert report["params"] == clean["params"]
    assert (report["hits"], report["misses"]) == (0, 1)
    [warning] = report["warnings"]
    assert "could not save" in warning and "No space left on device" in warning


FLOAT32_AUDIT = """
import json
import re
import numpy as np
from numba import types
from numba.core.registry import CPUDispatcher
import fastmlp
from fastmlp.kernels import activations, dense, network, per_sample, sgd, softmax_xent
from fastmlp import kernels as K
from fastmlp.kernels.sgd import SGD

rng = np.random.default_rng(0)
X = rng.random((30, 5))
y = rng.integers(0, 3, 30)
for activation in ("sigmoid", "tanh", "relu"):
    model = fastmlp.MLP([5, 4, 3], activation, "float32")
    fastmlp.train(model, X, y, batch_size=1)
    fastmlp.train(model, X, y, batch_size=7)
    model.predict_proba(X)
    model.loss(X, y)
    fastmlp.gradients(model, X, y)
# The parallel builds, whatever the thread count of this machine.
X32 = X.astype(np.float32)
runner = SGD(model.weights, model.biases, 16)
runner.parallel, runner.chunks = True, 2
ones, steps = np.ones(30, np.float32), np.arange(30)
runner.run(X32, y, ones, steps, 0, 0, 0.1, np.empty(2), np.empty(2, np.int64))
# The same kernels on CSR input (compiled once more, for the CSR type).
import scipy.sparse as sp
S = sp.csr_matrix(X)
fastmlp.train(model, S, y, batch_size=1)
fastmlp.train(model, S, y, batch_size=7)
model.predict_proba(S)
model.loss(S, y)
fastmlp.gradients(model, S, y)
runner.run(model.check_X(S), y, ones, steps, 0, 0, 0.1, np.empty(2), np.empty(2, np.int64))
W, b = model.weights[0].copy(), model.biases[0].copy()
K.dense_forward(W, b, X.astype(np.float32))
K.dense_forward(W, b, X[0].astype(np.float32))
K.dense_backward(W, X[0].astype(np.float32), b)
K.dense_backward_sgd(W, b, X[0].astype(np.float32), b)
K.softmax_xent_forward(np.zeros((2, 3), np.float32), [0, 1])
K.softmax_xent_backward(np.zeros((2, 3), np.float32), [0, 1])

# float64 is allowed for scalar arguments (lr), a row's loss ("loss", _weighted_loss),
# loss sums ("total", its in-place additions, the float64 loss arrays it reads,
# the (loss_sum, count) tuples kernels return and their unpacking), and for numba's float64 result
# of dividing by a row count. An upcast elsewhere starts from a float64
# constant, call or product: not allowed.
# The SGD step kernels also keep per-step scalars in float64, each computed once per step,
# never per element: the step's divisor and rate (Adam's bias correction 1 - beta**t cancels
# in float32), the L2 penalty's sum of squares (a loss sum), the optimizer's hyperparameters
# as its rule tuple holds them (1 - beta in float64, then cast to the dtype, as the numpy
# twin's Python floats) and the step scalars' namedtuple fields; before any loop over
# elements they are cast to the dtype.
STEP_KERNELS = {"_sgd_epoch", "_sgd_epoch_parallel", "_step_result", "_step_layers", "_step_biases"}
STEP_SCALARS = ("divisor", "_divisor_", "_step_rate_", "lr", "$lr", "squares")
STEP_RULE = ("_beta1", "_beta2", "_eps", "load_attr")
# 1 - beta1 and 1 - beta2 in Adam's step, and SGD's momentum, before their casts.
STEP_RULE_OPS = re.compile(r"_adam_step_v[0-9]+__v(binop_sub|const)[0-9]|_sgd_step_v[0-9]+_mu$")


def allowed_step_scalar(kernel, name):
    if kernel not in STEP_KERNELS:
        return False
    if name.startswith(STEP_SCALARS) or any(part in name for part in STEP_RULE):
        return True
    if STEP_RULE_OPS.search(name):
        return True
    # 1.0 / divisor (the step's scale) and l2 / 2 (the loss's penalty): one constant a step.
    if kernel != "_step_layers" and kernel != "_step_biases" and name.startswith("$const"):
        return True
    # The penalty's squares, each widened to float64 before it is added (a loss sum).
    return kernel == "_step_result" and (name.startswith("$binop_mul") or "call" in name)


def allowed(name, args):
    base = name.split(".")[0]
    return (
        base in args
        or name.startswith(("arg.", "total", "loss", "$total", "$binop_iadd", "$binop_truediv"))
        or "_weighted_loss" in name
        or "binary_subscr" in name
        or "return_value" in name
        or "unpack_sequence" in name
    )

report = {}
for module in (activations, dense, network, per_sample, sgd, softmax_xent):
    for name, kernel in vars(module).items():
        if not isinstance(kernel, CPUDispatcher) or kernel.__module__ != module.__name__:
            continue
        if kernel.targetoptions.get("inline") == "always":
            continue  # compiled inside its callers, whose type maps include its variables
        signatures = [s for s in kernel.signatures if "float32" in str(s)]
        args = kernel.py_func.__code__.co_varnames[: kernel.py_func.__code__.co_argcount]
        offenders = sorted(
            {
                var
                for sig in signatures
                for var, ty in kernel.overloads[sig].type_annotation.typemap.items()
                if ty == types.float64
                and not allowed(var, args)
                and not allowed_step_scalar(name, var)
            }
        )
        report[f"{module.__name__}.{name}"] = {"compiled": len(signatures), "float64": offenders}
print(json.dumps(report))
"""


@pytest.mark.slow  # compiles every kernel, uncached: their LLVM IR is what it reads
def test_float32_kernels_do_no_float64_arithmetic(tmp_path):
    output = run_python(FLOAT32_AUDIT, tmp_path, FASTMLP_NO_CACHE="1")
    report = json.loads(output.splitlines()[-1])
    # The top-level kernels; inline helpers are audited inside them.
    assert len(report) >= 10, sorted(report)
    not_compiled = [name for name, r in report.items() if not r["compiled"]]
    assert not not_compiled, f"the audit did not reach {not_compiled}"
    upcasts = {name: r["float64"] for name, r in report.items() if r["float64"]}
    assert not upcasts, f"float64 values in float32 kernels: {upcasts}"


# The first compile of a process is announced on the "fastmlp" logger, a load
# from the cache is not. Before, a cold first run sat silent for ~12 s.
NOTICE = "compiling kernels, once per machine: ~"

LOGGED_TRAIN = """
import logging, sys
import numpy as np
import fastmlp
logging.basicConfig(stream=sys.stderr, format="%(name)s|%(levelname)s|%(message)s")
model = fastmlp.MLP([2, 3, 2])
X = np.random.default_rng(0).normal(size=(20, 2))
fastmlp.train(model, X, (X[:, 0] > 0).astype(int), progress=False)
"""


def run_child(args, cwd, cache):
    """Run ``python args`` from ``cwd`` with the kernel cache ``cache``; return the process."""
    return run(args, cwd, FASTMLP_CACHE_DIR=str(cache))


@pytest.mark.slow
def test_a_library_call_logs_the_first_compile_and_prints_nothing(tmp_path):
    cache = tmp_path / "cache"
    cold = run_child(["-c", LOGGED_TRAIN], tmp_path, cache)
    assert cold.stdout == ""
    [line] = [line for line in cold.stderr.splitlines() if NOTICE in line]
    assert line.startswith("fastmlp|WARNING|compiling kernels, once per machine: ~")
    assert line.endswith(" s; `fastmlp warmup` does it ahead")
    warm = run_child(["-c", LOGGED_TRAIN], tmp_path, cache)
    assert (warm.stdout, warm.stderr) == ("", "")


@pytest.mark.slow
def test_the_cli_says_when_it_compiles_on_stderr_only(tmp_path):
    command = ["-m", "fastmlp", "train", "--epochs", "1", "--num-train", "200"]
    cold = run_child(command, tmp_path, tmp_path / "cache")
    assert cold.stderr.count(NOTICE) == 1, cold.stderr
    assert NOTICE not in cold.stdout and "epoch" in cold.stdout
    warm = run_child(command, tmp_path, tmp_path / "cache")
    assert NOTICE not in warm.stderr, warm.stderr
