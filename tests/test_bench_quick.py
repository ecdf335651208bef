"""The benchmark suite in bench/ runs (quick mode, no timing asserted), and its report script."""

import importlib.util
import os
import re
from pathlib import Path

import pytest
from helpers import run

from fastmlp.datasets.mnist import find_mnist_dir

BENCH = Path(__file__).resolve().parents[1] / "bench"

# Benchmarks that need no optional peer (fastmlp, numpy and scikit-learn, a dependency):
# tiny-per-sample (2), first-call cold/warm (4), sklearn-lbfgs (2); with MNIST also
# mnist-per-sample and mnist-batch-{8,16,128} (8), mnist-inference (2), and
# sklearn-defaults and sklearn-sgd-batch-1 (4).
CORE_BENCHMARKS = 8
CORE_MNIST_BENCHMARKS = 14
QUICK_ARGS = ["--benchmark-disable"]


def mnist_available():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    return find_mnist_dir(os.environ.get("FASTMLP_DATA_DIR"), shared)


def load_report():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.is_dir(), reason="bench/ is not beside the tests")
def test_quick_benchmark_run(tmp_path):
    env = {"FASTMLP_BENCH_QUICK": "1"}
    expected = CORE_BENCHMARKS
    mnist = mnist_available()
    if mnist is not None:
        env["FASTMLP_DATA_DIR"] = str(mnist)
        expected += CORE_MNIST_BENCHMARKS
    args = ["-m", "pytest", str(BENCH), "-q", "-p", "no:cacheprovider", *QUICK_ARGS]
    proc = run(args, tmp_path, timeout=600, check=False, **env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = re.search(r"(\d+) passed", output)
    assert summary, output
    assert int(summary.group(1)) >= expected, output
    assert not re.search(r"\d+ (failed|errors?)\b", output), output


def bench(workload, implementation, us=None, samples=1000, **info):
    """A pytest-benchmark JSON entry: ``us`` per sample over ``samples`` rows."""
    extra = {"workload": workload, "implementation": implementation, "samples": samples}
    extra.update(info)
    stats = {"min": us * samples / 1e6} if us is not None else {}
    return {
        "group": workload,
        "name": f"{workload}[{implementation}]",
        "extra_info": extra,
        "stats": stats,
    }


def test_report_table():
    report = load_report()
    data = {
        "benchmarks": [
            bench("mnist-per-sample", "numpy", us_per_sample=500.0),
            bench("mnist-per-sample", "fastmlp", us_per_sample=25.0),
            bench("mnist-per-sample", "torch", us=1000.0),  # from stats.min / samples
            bench("tiny-per-sample", "fastmlp", us_per_sample=1.5),
            bench("tiny-per-sample", "numpy", us_per_sample=60.0),
            bench("tiny-per-sample", "numpy", us_per_sample=90.0),  # slower repeat: ignored
            bench("first-call", "fastmlp", variant="cold", unit="s/run", s_per_run=8.0),
            bench("first-call", "numpy", variant="cold", unit="s/run", s_per_run=0.8),
            bench("mnist-inference", "sklearn", us_per_sample=12.0),
            {"group": None, "name": "unrelated", "extra_info": {}, "stats": {"min": 1.0}},
        ]
    }
    M = report.MISSING  # an en dash
    lines = report.build_table(data).splitlines()
    assert lines[0] == "| workload | fastmlp | numpy | torch | sklearn |"
    assert lines[1] == "| --- | ---: | ---: | ---: | ---: |"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    rows = {row[0]: row[1:] for row in cells}
    assert list(rows) == [
        "tiny-per-sample",
        "mnist-per-sample",
        "mnist-inference",
        "first-call (cold)",
    ]
    assert rows["tiny-per-sample"] == ["1.50 us (40.0x)", "60.00 us (1.0x)", M, M]
    assert rows["mnist-per-sample"] == [
        "25.00 us (20.0x)",
        "500.00 us (1.0x)",
        "1000.00 us (0.5x)",
        M,
    ]
    # No numpy cell: the time alone.
    assert rows["mnist-inference"] == [M, M, M, "12.00 us"]
    assert rows["first-call (cold)"] == ["8.00 s (0.1x)", "0.80 s (1.0x)", M, M]


def test_report_targets_are_met_or_not_from_the_same_run():
    report = load_report()
    data = {
        "benchmarks": [
            bench("mnist-per-sample", "fastmlp", us_per_sample=10.0),
            bench("mnist-per-sample", "numpy", us_per_sample=500.0),
            bench("mnist-per-sample", "torch-1thread", us_per_sample=300.0),
            bench("first-call", "fastmlp", variant="warm", unit="s/run", s_per_run=2.0),
        ]
    }
    lines = report.build_targets(data).splitlines()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert len(rows) == len(report.TARGETS)
    found = {(row[0], row[1]): row[2:] for row in rows}
    assert found["mnist-per-sample", ">= 40x numpy"] == ["50.00x", "met"]
    assert found["mnist-per-sample", ">= 40x torch-1thread"] == ["30.00x", "not met"]
    assert found["mnist-per-sample", "<= 5 us"] == ["10.00 us", "not met"]
    assert found["first-call (warm)", "<= 1.5 s"] == ["2.00 s", "not met"]
    # Not measured: neither met nor not met.
    assert found["mnist-batch-16", ">= 3x sklearn"] == [report.MISSING, report.MISSING]


def test_report_main_writes_markdown(tmp_path, capsys):
    import json

    report = load_report()
    data = {
        "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}, "python_version": "3.11"},
        "datetime": "2026-01-02T03:04:05",
        "benchmarks": [
            bench("tiny-per-sample", "numpy", us_per_sample=60.0, numpy="2.0", threads=1),
            bench("tiny-per-sample", "python", us_per_sample=30.0, note="float64"),
        ],
    }
    results = tmp_path / "results.json"
    results.write_text(json.dumps(data))
    out = tmp_path / "RESULTS.md"
    assert report.main([str(results), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| tiny-per-sample | 60.00 us (1.0x) | 30.00 us (2.0x) |" in printed
    text = out.read_text()
    assert text.startswith("# fastmlp benchmarks")
    assert "Test CPU, 2 cores" in text
    assert "numpy 2.0" in text
    assert "2026-01-02 03:04:05" in text
    assert printed in text
    assert "- python: float64" in text
