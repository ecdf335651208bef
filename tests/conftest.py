import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fastmlp.kernels.sgd import _sgd_epoch
from helpers import ACTIVATIONS, COLD_RECORD, DTYPES, WARM_THEN_USE, child_environment
from hypothesis import settings

from fastmlp.config import cache_dir
from fastmlp.datasets.mnist import MISSING_HELP, find_mnist_dir

# `pytest --hypothesis-profile=quick` (nox -s quick) draws a tenth of the examples; the
# property tests scale the counts they ask for by it (test_properties.examples).
settings.register_profile("quick", max_examples=10)

#: The depths `--warm-kernel-cache` compiles before the tests, for both dtypes: those they train.
DEPTHS = (0, 1, 2)
WARM = f"import fastmlp; fastmlp.warmup(('float32', 'float64'), {DEPTHS})"


def pytest_addoption(parser):
    parser.addoption(
        "--warm-kernel-cache",
        action="store_true",
        help="compile the kernels into the run's cache once, before any test (nox does)",
    )


def pytest_configure(config):
    """Share one kernel cache in the run: this process, xdist's workers, their children.

    The cache is the one fastmlp would use here (FASTMLP_CACHE_DIR, else the
    user cache; keyed by the kernels' sources, so it may outlive the run),
    exported so that helpers.run's children, which get fastmlp's other
    variables cleared, load what another process compiled instead of compiling
    it again. Tests of a cold or missing cache set FASTMLP_CACHE_DIR themselves.
    """
    directory = cache_dir()
    os.environ["FASTMLP_CACHE_DIR"] = "" if directory is None else str(directory)
    controller = not hasattr(config, "workerinput")  # xdist's workers inherit the cache
    if controller and directory is not None and config.getoption("--warm-kernel-cache"):
        # In a child: the kernels it loads would not be of use to this process. Before
        # xdist starts its workers, so they and the tests' children load, not compile.
        # From a neutral folder: from the checkout, `-c` would import its fastmlp, not the
        # installed one the tests run.
        warm_kernel_cache()


def warm_kernel_cache():
    """Compile the tests' kernels into the run's cache, in a child.

    On an empty cache the child is test_warmup's cold run (WARM_THEN_USE), which then
    checks its record instead of compiling everything a second time.
    """
    # Cold for these kernels as installed here: the cache keeps the kernels of other sources
    # and of other install folders (other nox sessions) in folders of their own.
    cold = not any(Path(_sgd_epoch._cache._cache_path).glob("*.nbi"))
    args = [sys.executable, "-c", *((WARM_THEN_USE, str(list(DEPTHS))) if cold else (WARM,))]
    child = subprocess.run(
        args,
        cwd=tempfile.gettempdir(),
        env=child_environment(),
        check=True,
        stdout=subprocess.PIPE if cold else None,
        text=True,
    )
    if cold:
        record = Path(tempfile.mkdtemp(prefix="fastmlp-tests-")) / "cold-warmup.json"
        record.write_text(child.stdout.splitlines()[-1])
        os.environ[COLD_RECORD] = str(record)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


@pytest.fixture(params=ACTIVATIONS)
def activation(request):
    return request.param


#: Where the project keeps the real MNIST files, beside the checkout.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of the real MNIST files: $FASTMLP_DATA_DIR, else ../shared/data/mnist."""
    directory = find_mnist_dir(os.environ.get("FASTMLP_DATA_DIR"), SHARED_MNIST)
    if directory is None:
        pytest.skip(MISSING_HELP)
    return directory


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """Point fastmlp's user cache (decoded MNIST, default data dir) at a fresh folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("FASTMLP_DATA_DIR", raising=False)
    monkeypatch.delenv("FASTMLP_MNIST_MIRRORS", raising=False)
    return tmp_path / "xdg-cache" / "fastmlp"
