"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s install``, ``nox -s bench``."""

import sys
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# Run inside a session's environment: fastmlp.kernels must come from the
# package, and no top-level "kernels" module may be importable.
CHECK_LAYOUT = """
import importlib.util, pathlib, fastmlp, fastmlp.kernels
assert importlib.util.find_spec("kernels") is None, "a top-level kernels module is installed"
kernels = pathlib.Path(fastmlp.kernels.__file__).parent
assert (kernels / "sgd.py").exists(), kernels
print("fastmlp.kernels from", kernels)
"""


@nox.session(python=PYTHON)
def tests(session):
    """Run the test suite against an installed (non-editable) fastmlp."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session):
    """Check style and formatting with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def bench(session):
    """Run the benchmarks in bench/ (pytest-benchmark) and write bench/RESULTS.md."""
    session.install(".[test,peers]")
    results = Path(session.create_tmp()) / "bench.json"
    session.run(
        "pytest",
        "bench",
        "--benchmark-columns=min,mean,rounds",
        f"--benchmark-json={results}",
        *session.posargs,
    )
    session.run("python", "bench/report.py", str(results), "-o", "bench/RESULTS.md")


@nox.session(python=PYTHON)
@nox.parametrize("editable", [False, True], ids=["regular", "editable"])
def install(session, editable):
    """Install with pip (regular and editable) and check kernels land only in fastmlp.kernels."""
    session.install(*(["-e", "."] if editable else ["."]), *session.posargs)
    # Run from a neutral directory so the source tree is not on sys.path.
    with session.chdir(session.create_tmp()):
        session.run("python", "-c", CHECK_LAYOUT)
        session.run("fastmlp", "train", "--epochs", "1", "--num-train", "2000")
