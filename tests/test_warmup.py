"""``fastmlp.warmup``: afterwards the public API runs without compiling anything."""

import json
import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import COLD_RECORD, WARM_THEN_USE, run_python

import fastmlp
from fastmlp import _warmup
from fastmlp.config import cache_dir

WARM_AGAIN = """
import json
import fastmlp
report = fastmlp.warmup(hidden_layers=1)
print(json.dumps({"compiled": report.compiled, "loaded": report.loaded, "seconds": report.seconds}))
"""


def warm_then_use(cwd, cache):
    """Run WARM_THEN_USE in a fresh process with the kernel cache ``cache`` (None: no cache)."""
    env = {"FASTMLP_NO_CACHE": "1"} if cache is None else {"FASTMLP_CACHE_DIR": str(cache)}
    return json.loads(run_python(WARM_THEN_USE, cwd, **env).splitlines()[-1])


@pytest.fixture(scope="module")
def shared_cache_run(tmp_path_factory):
    """WARM_THEN_USE on the cache the test session uses: fast once the kernels are cached."""
    return warm_then_use(tmp_path_factory.mktemp("warmup-shared"), cache_dir())


@pytest.fixture(scope="module")
def cold_then_warm(tmp_path_factory):
    """WARM_THEN_USE on an empty cache (everything compiles), then WARM_AGAIN on that cache.

    The session's own cold warm-up when there was one (conftest), else a run here.
    """
    tmp = tmp_path_factory.mktemp("warmup-fresh")
    record = os.environ.get(COLD_RECORD)
    if record:
        cold, cache = json.loads(Path(record).read_text()), cache_dir()
    else:
        cache = tmp / "cache"
        cold = warm_then_use(tmp, cache)
    warm = json.loads(run_python(WARM_AGAIN, tmp, FASTMLP_CACHE_DIR=str(cache)).splitlines()[-1])
    return cold, warm, cache


def check_nothing_compiles_after_warmup(run):
    assert run["compiled_before"] == {}, "the fresh process had compiled kernels before warmup"
    assert any(run["after_warmup"].values()), "warmup compiled no kernel"
    assert run["after_use"] == run["after_warmup"], {
        name: (run["after_warmup"].get(name, 0), n)
        for name, n in run["after_use"].items()
        if n != run["after_warmup"].get(name, 0)
    }


def check_float32_and_float64_versions(run):
    assert run["dtypes"], "no kernel has compiled versions"
    partial = {n: d for n, d in run["dtypes"].items() if d != ["float32", "float64"]}
    assert not partial, partial


def test_after_warmup_the_public_api_compiles_nothing(shared_cache_run):
    check_nothing_compiles_after_warmup(shared_cache_run)
    check_float32_and_float64_versions(shared_cache_run)


# An empty cache compiles every kernel and every kernel they call, so every
# kernel the public API reaches holds versions of its own (a cache hit loads
# the called kernels inside their callers instead). Slow: compiling all of
# them for two dtypes takes from 20 s to well over a minute on 2 cores.


@pytest.mark.slow
def test_after_a_cold_warmup_the_public_api_compiles_nothing(cold_then_warm):
    cold, _, _ = cold_then_warm
    check_nothing_compiles_after_warmup(cold)


@pytest.mark.slow
def test_every_kernel_the_public_api_reaches_has_float32_and_float64_versions(cold_then_warm):
    cold, _, _ = cold_then_warm
    check_float32_and_float64_versions(cold)


@pytest.mark.slow
def test_report_of_a_cold_warmup(cold_then_warm):
    cold, _, cache = cold_then_warm
    report = cold["report"]
    # One worker per dtype compiled; this process loaded their kernels whole, so
    # the kernels those call hold no versions here and the report still lists them.
    assert set(report["kernels"]) >= {n for n, v in cold["after_warmup"].items() if v}
    assert report["compiled"] >= len(report["kernels"]) and report["loaded"] == 0
    assert report["cache_dir"] == str(cache)
    assert list(cache.rglob("*.nbi")), "warmup wrote nothing to the cache"


@pytest.mark.slow
def test_a_second_process_loads_from_the_cache(cold_then_warm):
    cold, warm, _ = cold_then_warm
    assert warm["compiled"] == 0 and warm["loaded"] > 0, warm
    assert warm["seconds"] < cold["report"]["seconds"]


@pytest.mark.parametrize(
    "dtypes",
    ["float16", "int32", ["float32", "float128x"], np.int64, (), [None], 3.5],
)
def test_bad_dtypes_are_rejected(dtypes):
    error = TypeError if dtypes == 3.5 else ValueError
    with pytest.raises(error, match=r"^dtypes: expected "):
        fastmlp.warmup(dtypes=dtypes)


def test_dtype_errors_name_the_argument_the_options_and_the_value():
    expected = "dtypes: expected names from ['float32', 'float64'], found 'float16' in "
    with pytest.raises(ValueError, match=r"^" + re.escape(expected)):
        fastmlp.warmup(dtypes=("float32", "float16"))


@pytest.mark.parametrize("hidden_layers", [-1, [1, -2], 1.5, [True], (), "1"])
def test_bad_hidden_layers_are_rejected(hidden_layers):
    with pytest.raises((TypeError, ValueError), match=r"^hidden_layers: expected "):
        fastmlp.warmup(hidden_layers=hidden_layers)


def test_bad_verbose_is_rejected():
    with pytest.raises(TypeError, match=r"^verbose: expected True or False, found 'yes'"):
        fastmlp.warmup(verbose="yes")


@pytest.fixture
def planned(monkeypatch):
    """Record which cases ``warmup`` runs where, compiling nothing."""
    calls = []
    monkeypatch.setattr(_warmup, "_exercise", lambda *case: calls.append(("here", case)))

    def in_workers(cases, workers, verbose):
        calls.append(("workers", tuple(cases), workers))
        return {}

    monkeypatch.setattr(_warmup, "_exercise_in_workers", in_workers)
    return calls


def test_by_default_warmup_prepares_the_default_dtype_in_a_worker_per_cpu(planned, monkeypatch):
    monkeypatch.setattr(_warmup.os, "cpu_count", lambda: 8)
    monkeypatch.setenv("FASTMLP_CACHE_DIR", "/nonexistent/cache")
    report = fastmlp.warmup()
    cases = (("float32", 1), ("float32", 2))
    assert report.dtypes == ("float32",) and report.hidden_layers == (1, 2)
    assert planned == [("workers", cases, 2), *(("here", case) for case in cases)]


def test_without_a_disk_cache_or_with_one_job_warmup_compiles_here(planned, monkeypatch):
    monkeypatch.setenv("FASTMLP_NO_CACHE", "1")
    fastmlp.warmup(("float32", "float64"), 1)
    monkeypatch.delenv("FASTMLP_NO_CACHE")
    fastmlp.warmup("float64", (1, 2), jobs=1)
    assert [call[0] for call in planned] == ["here"] * 4


def test_workers_are_quiet_and_their_threads_sleep_while_waiting(monkeypatch):
    logger = logging.getLogger("fastmlp")
    level = logger.level
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    try:
        _warmup._start_worker()
        assert not logger.isEnabledFor(logging.WARNING)  # no compile notice per worker
        assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
        monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
        _warmup._start_worker()
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's choice stands
    finally:
        logger.setLevel(level)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_bad_jobs_are_rejected(jobs):
    with pytest.raises(ValueError, match=r"^jobs: expected an integer >= 1 or None, found "):
        fastmlp.warmup(jobs=jobs)


def test_warmup_is_exported():
    assert "warmup" in fastmlp.__all__ and callable(fastmlp.warmup)


# Before, ``warmup(hidden_layers=10**9)`` built a list of 10**9 layer sizes
# (gigabytes, minutes) before MLP could refuse it. The child caps its address
# space a little above what it uses, so that old behaviour fails fast with a
# MemoryError instead of taking the machine's memory.
TOO_DEEP = """
import contextlib, io, json, resource
import fastmlp
from fastmlp import _warmup
from fastmlp.cli import main

in_use = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (in_use + 2**31, resource.RLIM_INFINITY))
try:
    fastmlp.warmup(hidden_layers=[1, 10**9])
except Exception as error:
    api = f"{type(error).__name__}: {error}"
stderr = io.StringIO()
with contextlib.redirect_stderr(stderr):
    status = main(["warmup", "--hidden-layers", "1000000000", "--quiet"])
compiled = sum(len(d.signatures) for d in _warmup._kernels().values())
print(json.dumps({"api": api, "cli": [status, stderr.getvalue()], "compiled": compiled}))
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc/self/statm")
def test_a_depth_too_large_to_allocate_is_refused_before_anything_is_built(tmp_path):
    from fastmlp._warmup import _parameter_count

    report = json.loads(run_python(TOO_DEEP, tmp_path, timeout=300).splitlines()[-1])
    needs = f"hidden_layers: 1000000000 hidden layers of 3 units need {_parameter_count(10**9)} "
    assert report["api"].startswith(f"ValueError: {needs}parameters (44.7 GiB in float32)")
    assert "GiB of memory this process can have" in report["api"]
    assert report["cli"][0] == 1 and report["cli"][1].startswith(f"fastmlp warmup: {needs}")
    assert report["compiled"] == 0, "depth 1 was warmed up before depth 10**9 was refused"


def test_the_bound_counts_the_parameters_of_the_warmup_networks(monkeypatch):
    from fastmlp import _warmup
    from fastmlp.model import parameter_count

    for depth in range(6):
        assert _warmup._parameter_count(depth) == parameter_count([2, *[3] * depth, 2])
    fits = _warmup._parameter_count(7) * 8  # bytes in float64
    monkeypatch.setattr(_warmup, "_memory_limit", lambda: fits)
    _warmup._check_fits(("float32", "float64"), (1, 7))
    with pytest.raises(ValueError, match=r"^hidden_layers: 8 hidden layers of 3 units need 101 "):
        _warmup._check_fits(("float64",), (8,))
    _warmup._check_fits(("float32",), (8, 14))  # float32 takes half the bytes
    monkeypatch.setattr(_warmup, "_memory_limit", lambda: None)
    _warmup._check_fits(("float64",), (10**12,))  # unknown limit: nothing to check against


# What the default ``fastmlp`` run compiles on a cold cache: before, also the
# threaded build of evaluate (for the 10,000 validation rows of a 2-3-2 net,
# 1.3 ms of work) and, through the warm-up probe's single row, its serial twin.
DEFAULT_RUN = """
import json
from fastmlp import _warmup
from fastmlp.experiments import Config, run
run(Config(epochs=1, num_train=200))
print(json.dumps(sorted(name for name, d in _warmup._kernels().items() if d.signatures)))
"""


def test_the_default_run_compiles_only_the_kernels_it_runs(tmp_path):
    output = run_python(DEFAULT_RUN, tmp_path, NUMBA_NUM_THREADS="2")
    kernels = json.loads(output.splitlines()[-1])
    # _evaluate_rows calls the kernel _forward: compiled, and listed, on a cold cache;
    # on a warm one it comes inside _evaluate_rows' cached code and is not listed.
    kernels = [name for name in kernels if name != "network._forward"]
    assert kernels == ["network._evaluate_rows", "per_sample._sgd_epoch_per_sample"]
