"""Turn pytest-benchmark JSON from bench/ into a markdown report.

Usage: ``python bench/report.py results.json [-o bench/RESULTS.md]``

One row per workload, one column per implementation; each cell is the time
per sample of the fastest round and, in brackets, the speed-up over the numpy
reference on the same workload. ``first-call`` rows are seconds per process.
The table is printed; with ``-o`` the whole report (machine header, table,
notes) is written to a file.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timedelta

WORKLOADS = (
    "tiny-per-sample",
    "mnist-per-sample",
    "mnist-batch-8",
    "mnist-batch-16",
    "mnist-batch-128",
    "mnist-inference",
    "sklearn-defaults",
    "sklearn-sgd-batch-1",
    "sklearn-lbfgs",
    "first-call (cold)",
    "first-call (warm)",
)
IMPLEMENTATIONS = ("fastmlp", "numpy", "python", "torch-1thread", "torch", "sklearn")
BASELINE = "numpy"
MISSING = "\u2013"  # en dash
LIBRARIES = (
    ("numpy", "numpy"),
    ("numba", "numba"),
    ("torch", "torch"),
    ("sklearn", "scikit-learn"),
    ("fastmlp", "fastmlp"),
)


def row_name(info):
    """Return the table row of a benchmark: its workload, with its variant if it has one."""
    variant = info.get("variant")
    return f"{info['workload']} ({variant})" if variant else info["workload"]


def measurement(bench):
    """Return ``(value, unit)`` of one benchmark: ``us`` per sample, or ``s`` per run."""
    info, stats = bench["extra_info"], bench.get("stats") or {}
    if info.get("unit") == "s/run":
        return info.get("s_per_run", stats.get("min")), "s"
    if "us_per_sample" in info:
        return info["us_per_sample"], "us"
    return stats["min"] / info["samples"] * 1e6, "us"


def collect(data):
    """Return ``{(row, implementation): (value, unit)}``, the fastest when a cell repeats."""
    cells = {}
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "workload" not in info or "implementation" not in info:
            continue
        value, unit = measurement(bench)
        if value is None:
            continue
        key = (row_name(info), info["implementation"])
        if key not in cells or value < cells[key][0]:
            cells[key] = (value, unit)
    return cells


def _ordered(found, known):
    return [k for k in known if k in found] + sorted(set(found) - set(known))


def format_speedup(speedup):
    """Return ``12.3x``; below 1, two significant digits (``0.042x``)."""
    return f"{speedup:.1f}x" if speedup >= 0.95 else f"{speedup:.2g}x"


def format_cell(value, unit, baseline):
    """Return ``"X.XX us (Y.Yx)"``; without a baseline, just the time."""
    text = f"{value:.2f} {unit}"
    if baseline is not None and value > 0:
        text += f" ({format_speedup(baseline / value)})"
    return text


def build_table(data):
    """Return the markdown table of pytest-benchmark JSON ``data`` (a dict)."""
    cells = collect(data)
    rows = _ordered({row for row, _ in cells}, WORKLOADS)
    columns = _ordered({impl for _, impl in cells}, IMPLEMENTATIONS)
    lines = [
        "| workload | " + " | ".join(columns) + " |",
        "| --- | " + " | ".join("---:" for _ in columns) + " |",
    ]
    for row in rows:
        base = cells.get((row, BASELINE))
        texts = []
        for column in columns:
            cell = cells.get((row, column))
            if cell is None:
                texts.append(MISSING)
            else:
                texts.append(format_cell(*cell, base[0] if base else None))
        lines.append(f"| {row} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"


def cpu_model(data):
    """Return the CPU model: from the JSON's machine_info, else lscpu, else platform."""
    machine = data.get("machine_info", {})
    brand = (machine.get("cpu") or {}).get("brand_raw")
    if brand:
        return brand
    if machine.get("processor"):
        return machine["processor"]
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def format_date(text):
    """Return an ISO date as ``YYYY-MM-DD HH:MM:SS``, with `` UTC`` when it is in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    suffix = " UTC" if moment.utcoffset() == timedelta(0) else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


def header(data):
    """Return the markdown header: machine, versions, date, load."""
    machine = data.get("machine_info", {})
    infos = [b.get("extra_info", {}) for b in data["benchmarks"]]
    cores = (machine.get("cpu") or {}).get("count") or os.cpu_count()
    system = " ".join(filter(None, [machine.get("system"), machine.get("release")]))
    python = machine.get("python_version") or platform.python_version()
    versions = []
    for key, name in LIBRARIES:
        found = next((info[key] for info in infos if info.get(key)), None)
        versions.append(f"{name} {found or MISSING}")
    date = data.get("datetime") or datetime.now().isoformat()
    loads = [info["loadavg_1m"] for info in infos if "loadavg_1m" in info]
    lines = [
        "# fastmlp benchmarks",
        "",
        f"- Machine: {cpu_model(data)}, {cores} cores ({system or platform.system()})",
        f"- Python {python}; " + ", ".join(versions),
        f"- Date: {format_date(date)}",
    ]
    if loads:
        lines.append(f"- 1-minute load average during the run: up to {max(loads):.2f}")
    if any(info.get("quick") for info in infos):
        lines.append("- **Quick mode (FASTMLP_BENCH_QUICK=1): tiny sample counts, not timings.**")
    lines += [
        "",
        "Microseconds per sample (one SGD step per sample, or per predicted row), fastest",
        "round; in brackets the speed-up over the numpy reference (`fastmlp.reference`) on",
        "the same workload. `first-call` rows: seconds of wall time of a fresh process that",
        "imports fastmlp and trains one tiny epoch, with an empty (cold) or filled (warm)",
        "JIT cache. Other runs: sigmoid, float32, plain SGD (momentum 0), learning rate 0.1;",
        "except the `sklearn-*` rows: fastmlp's drop-in `MLPClassifier` against scikit-learn's,",
        "the same parameters and fitted weights (see bench/test_sklearn_dropin.py), one epoch",
        "of MNIST at scikit-learn's defaults (Adam, relu 100, batches of 200) or with",
        "`solver='sgd', batch_size=1`, and 50 L-BFGS iterations on the digits (s per fit).",
        "",
    ]
    return "\n".join(lines) + "\n"


def notes(data):
    """Return markdown notes: threads, dtype and rows per implementation, and special cases."""
    by_impl, special = {}, []
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "implementation" not in info:
            continue
        entry = by_impl.setdefault(info["implementation"], {"threads": set(), "dtype": set()})
        entry["threads"].add(str(info.get("threads") or "BLAS default"))
        entry["dtype"].add(str(info.get("dtype")))
        note = info.get("note")
        if note and f"{info['implementation']}: {note}" not in special:
            special.append(f"{info['implementation']}: {note}")
    lines = ["", "Notes:", ""]
    for impl in _ordered(by_impl, IMPLEMENTATIONS):
        entry = by_impl[impl]
        lines.append(
            f"- {impl}: threads {', '.join(sorted(entry['threads']))}; "
            f"dtype {', '.join(sorted(entry['dtype']))}"
        )
    lines += [f"- {note}" for note in special]
    lines.append(
        "- Rows per round, rounds and warm-up time of every cell are in the JSON's `extra_info`."
    )
    return "\n".join(lines) + "\n"


#: The speed targets of fastmlp (float32, a 2-core machine): ``(row, rule)``
#: where a rule is ``("vs", implementation, factor)``, fastmlp at least
#: ``factor`` times as fast as ``implementation`` in the same run, or
#: ``("at most", limit)`` in the row's unit.
TARGETS = (
    ("tiny-per-sample", ("vs", "numpy", 300)),
    ("tiny-per-sample", ("vs", "python", 150)),
    ("tiny-per-sample", ("at most", 0.1)),
    ("mnist-per-sample", ("vs", "numpy", 40)),
    ("mnist-per-sample", ("vs", "torch-1thread", 40)),
    ("mnist-per-sample", ("at most", 5.0)),
    ("mnist-batch-16", ("vs", "numpy", 3)),
    ("mnist-batch-16", ("vs", "torch-1thread", 4)),
    ("mnist-batch-16", ("vs", "torch", 4)),
    ("mnist-batch-16", ("vs", "sklearn", 3)),
    ("mnist-batch-128", ("vs", "numpy", 1.5)),
    ("mnist-batch-128", ("vs", "torch-1thread", 2)),
    ("mnist-batch-128", ("vs", "torch", 2)),
    ("mnist-batch-128", ("vs", "sklearn", 2)),
    ("mnist-inference", ("vs", "numpy", 1)),
    # The drop-in MLPClassifier, same weights as scikit-learn's (issue 15).
    ("sklearn-defaults", ("vs", "sklearn", 4)),
    ("sklearn-sgd-batch-1", ("vs", "sklearn", 20)),
    ("sklearn-lbfgs", ("vs", "sklearn", 1)),
    ("first-call (warm)", ("at most", 1.5)),
)


def check_target(cells, row, rule):
    """Return ``(target, measured, met)`` texts for one target; ``met`` is None if not measured."""
    ours = cells.get((row, "fastmlp"))
    if rule[0] == "vs":
        _, other, factor = rule
        theirs = cells.get((row, other))
        target = f">= {factor:g}x {other}"
        if ours is None or theirs is None or ours[0] <= 0:
            return target, MISSING, None
        ratio = theirs[0] / ours[0]
        return target, f"{ratio:.2f}x", ratio >= factor
    _, limit = rule
    unit = ours[1] if ours else ""
    target = f"<= {limit:g} {unit}".rstrip()
    if ours is None:
        return target, MISSING, None
    return target, f"{ours[0]:.2f} {unit}", ours[0] <= limit


def build_targets(data):
    """Return a markdown table of ``TARGETS``: each with its measured value and met or not met."""
    cells = collect(data)
    lines = ["| workload | target | measured | met |", "| --- | --- | ---: | --- |"]
    for row, rule in TARGETS:
        target, measured, met = check_target(cells, row, rule)
        verdict = MISSING if met is None else ("met" if met else "not met")
        lines.append(f"| {row} | {target} | {measured} | {verdict} |")
    return "\n".join(lines) + "\n"


def render(data):
    """Return the whole markdown report."""
    targets = "\nSpeed targets, from the same run:\n\n" + build_targets(data)
    return header(data) + build_table(data) + targets + notes(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("-o", "--output", help="write the markdown report here")
    args = parser.parse_args(argv)
    with open(args.results, encoding="utf-8") as f:
        data = json.load(f)
    print(build_table(data), end="")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(render(data))
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
