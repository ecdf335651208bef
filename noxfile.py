"""Developer tasks, each run as ``nox -s NAME``: tests, quick, lint, install, build, bench."""

import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# Run inside a session's environment: fastmlp.kernels must come from the
# package, no top-level "kernels" module may be importable, and the PEP 561
# marker must ship.
CHECK_LAYOUT = """
import importlib.util, pathlib, fastmlp, fastmlp.kernels
assert importlib.util.find_spec("kernels") is None, "a top-level kernels module is installed"
kernels = pathlib.Path(fastmlp.kernels.__file__).parent
assert (kernels / "sgd.py").exists(), kernels
assert (pathlib.Path(fastmlp.__file__).parent / "py.typed").exists(), "no fastmlp/py.typed"
print("fastmlp.kernels from", kernels)
"""

# Run in the fresh environment of ``nox -s build``: the installed wheel, not the source
# tree, must train through the Python API.
SMOKE = """
import numpy as np, fastmlp
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = (X[:, 0] * X[:, 1] > 0).astype(int)
history = fastmlp.train(fastmlp.MLP([2, 3, 2]), X, y, progress=False)
print("fastmlp", fastmlp.__version__, "from", fastmlp.__file__, "loss", history.step_loss[-1])
"""

# What each distribution must hold; the sdist's entries are relative to its root folder.
WHEEL_NEEDS = (
    "fastmlp/__init__.py",
    "fastmlp/kernels/__init__.py",
    "fastmlp/kernels/sgd.py",
    "fastmlp/py.typed",
)
SDIST_NEEDS = ("pyproject.toml", "fastmlp/__init__.py", "kernels/sgd.py", "fastmlp/py.typed")


# Both test sessions: 2 processes, each running whole files (a module's tests may share
# state, such as the property tests' census), the kernels compiled once into the run's cache
# before any test starts, and the slowest tests listed so that CI's log shows where its
# time goes.
PYTEST = ("-n", "2", "--dist", "loadfile", "--warm-kernel-cache", "--durations=20")


def _install_wheel(session):
    """Build this checkout's wheel once, install it with the test extra, and return its path.

    tests/test_packaging.py checks that wheel (FASTMLP_TEST_WHEEL) instead of building its own.
    """
    session.install("build")
    dist = Path(session.create_tmp()).resolve() / "dist"
    shutil.rmtree(dist, ignore_errors=True)  # create_tmp() keeps old wheels between runs
    # From the sdist, as `nox -s build` does: no build/ folder of the tree can slip in.
    session.run("python", "-m", "build", "--outdir", str(dist), silent=True)
    (wheel,) = dist.glob("*.whl")
    session.install(f"{wheel}[test]")
    return wheel


@nox.session(python=PYTHON)
def tests(session):
    """Run the whole test suite against the installed wheel, on 2 processes."""
    wheel = _install_wheel(session)
    session.run("pytest", *PYTEST, *session.posargs, env={"FASTMLP_TEST_WHEEL": str(wheel)})


@nox.session(python=PYTHON)
def quick(session):
    """Run the tests not marked slow, with a tenth of the Hypothesis examples, on 2 processes."""
    wheel = _install_wheel(session)
    args = ("-m", "not slow", "--hypothesis-profile=quick", *PYTEST, *session.posargs)
    session.run("pytest", *args, env={"FASTMLP_TEST_WHEEL": str(wheel)})


@nox.session(python=PYTHON)
def lint(session):
    """Check style and formatting with ruff, and the import layers and function lengths."""
    session.install("ruff>=0.6", "pytest>=8")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")
    # The installed package, where fastmlp.kernels is a real subpackage; the checks read
    # its sources without importing them, so its dependencies are not needed.
    session.install("--no-deps", ".")
    session.run("pytest", "--noconftest", "-p", "no:cacheprovider", "tests/test_structure.py")


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


def _check_distributions(session, wheel, sdist):
    """Fail the session if the wheel or sdist lacks a needed file or has a top-level kernels."""
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
    with tarfile.open(sdist) as archive:
        sdist_names = {name.partition("/")[2] for name in archive.getnames()}
    problems = [f"{wheel.name} has no {name}" for name in WHEEL_NEEDS if name not in wheel_names]
    problems += [f"{sdist.name} has no {name}" for name in SDIST_NEEDS if name not in sdist_names]
    # PyPI's unrelated "kernels" package owns that import name.
    if any(name.split("/")[0] == "kernels" for name in wheel_names):
        problems.append(f"{wheel.name} installs a top-level kernels/ package")
    if problems:
        session.error("; ".join(problems))
    session.log(f"{wheel.name}: {len(wheel_names)} entries; {sdist.name}: {len(sdist_names)}")


@nox.session(python=PYTHON)
def build(session):
    """Build the sdist and wheel, check their files, and smoke-test the wheel in a fresh venv."""
    session.install("build")
    # Absolute: the smoke check runs from another directory.
    tmp = Path(session.create_tmp()).resolve()
    dist, venv, work = tmp / "dist", tmp / "venv", tmp / "smoke"
    # create_tmp() keeps its contents between runs; stale wheels or installs would hide faults.
    for path in (dist, venv, work):
        shutil.rmtree(path, ignore_errors=True)
    # With neither --sdist nor --wheel, build makes the wheel from the unpacked sdist, so a
    # file the sdist leaves out fails here too, and no build/ lands in the source tree.
    session.run("python", "-m", "build", "--outdir", str(dist), *session.posargs)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    _check_distributions(session, wheel, sdist)

    # A venv of its own, not the session's: nothing here may see the source tree.
    session.run("python", "-m", "venv", str(venv))
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python, fastmlp = str(bin_dir / "python"), str(bin_dir / "fastmlp")
    session.run(
        python, "-m", "pip", "install", "--disable-pip-version-check", str(wheel), external=True
    )
    work.mkdir()
    # -I and no PYTHONPATH keep the checkout off sys.path; a fresh kernel cache makes the
    # kernels compile from the installed sources, as on a user's first run.
    env = {"PYTHONPATH": None, "FASTMLP_CACHE_DIR": str(work / "kernel-cache")}
    with session.chdir(work):
        session.run(python, "-I", "-c", CHECK_LAYOUT, env=env, external=True)
        session.run(python, "-I", "-c", SMOKE, env=env, external=True)
        session.run(fastmlp, "--help", env=env, external=True)
        session.run(
            fastmlp, "train", "--epochs", "1", "--num-train", "2000", env=env, external=True
        )
