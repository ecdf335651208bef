"""``first-call``: wall time of a fresh process that imports fastmlp and trains one tiny epoch.

The [2, 3, 2] net on 1,000 ``load_synth`` points, with ``FASTMLP_CACHE_DIR``
pointing at a new empty folder (``cold``: every kernel is compiled) or at a
folder a previous run filled (``warm``: kernels load from the disk cache).
The ``numpy`` backend runs the same script without kernels: the cost of
starting Python and importing fastmlp (and so numba).
"""

import json
import os
import subprocess
import sys
import time

import pytest
from harness import QUICK, TINY_SIZES, blas_threads, fastmlp_threads, record_time, versions

WORKLOAD = "first-call"
SAMPLES = 64 if QUICK else 1_000
ROUNDS = 1 if QUICK else 3
BACKENDS = {"fastmlp": "numba", "numpy": "numpy"}
CASES = [("fastmlp", "cold"), ("fastmlp", "warm"), ("numpy", "cold"), ("numpy", "warm")]

SCRIPT = f"""
import json, sys, time
start = time.perf_counter()
import fastmlp
imported = time.perf_counter()
(x, y), _, _ = fastmlp.datasets.load_synth(num_train=int(sys.argv[1]), num_val=1)
model = fastmlp.MLP({list(TINY_SIZES)}, "sigmoid", "float32", seed=0)
history = fastmlp.train(model, x, y, epochs=1, lr=0.1, backend=sys.argv[2], progress=False)
print(json.dumps({{
    "import_s": imported - start,
    "compile_s": history.compile_time,
    "epoch_s": history.epoch_time[0],
}}))
"""


def first_call(backend, cache_dir, cwd):
    """Run SCRIPT in a fresh interpreter; return its timings (seconds, as it measured them)."""
    env = dict(os.environ, FASTMLP_CACHE_DIR=str(cache_dir))
    env.pop("FASTMLP_NO_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(SAMPLES), backend],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def filled_caches():
    """implementation -> a cache folder that a completed run has filled."""
    return {}


@pytest.mark.parametrize(("implementation", "cache"), CASES, ids=[f"{i}-{c}" for i, c in CASES])
def test_first_call(benchmark, tmp_path_factory, filled_caches, implementation, cache):
    backend = BACKENDS[implementation]
    cwd = tmp_path_factory.mktemp("first-call-cwd")
    warmup_s, filled_by = 0.0, None
    if cache == "cold":

        def setup():
            return (tmp_path_factory.mktemp(f"jit-cold-{implementation}"),), {}

    else:
        cache_dir, filled_by = filled_caches.get(implementation), "the cold case's last round"
        if cache_dir is None:  # the cold case did not run: fill a cache first
            cache_dir, filled_by = tmp_path_factory.mktemp(f"jit-warm-{implementation}"), "warm-up"
            start = time.perf_counter()
            first_call(backend, cache_dir, cwd)
            warmup_s = time.perf_counter() - start

        def setup():
            return (cache_dir,), {}

    def target(cache_dir):
        timings = first_call(backend, cache_dir, cwd)
        filled_caches[implementation] = cache_dir
        return timings

    benchmark.group = WORKLOAD
    benchmark.extra_info.update(
        workload=WORKLOAD,
        variant=cache,
        implementation=implementation,
        dtype="float32",
        batch_size=1,
        threads=fastmlp_threads("first-call", 1) if implementation == "fastmlp" else blas_threads(),
        samples=SAMPLES,
        sizes=list(TINY_SIZES),
        rounds=ROUNDS,
        unit="s/run",
        warmup_s=warmup_s,
        cache_filled_by=filled_by,
        quick=QUICK,
        loadavg_1m=os.getloadavg()[0],
        **versions(implementation),
    )
    timings = benchmark.pedantic(target, setup=setup, rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update({f"last_round_{k}": v for k, v in timings.items()})
    benchmark.extra_info["loadavg_1m"] = max(benchmark.extra_info["loadavg_1m"], os.getloadavg()[0])
    record_time(benchmark, SAMPLES)
    if benchmark.stats is not None:
        benchmark.extra_info["s_per_run"] = benchmark.stats.stats.min
    if implementation == "fastmlp":
        # The run compiled into (cold) or loaded from (warm) the folder it was given.
        assert any(filled_caches[implementation].rglob("*.nbi")), filled_caches
