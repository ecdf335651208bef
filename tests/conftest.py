import os
from pathlib import Path

import numpy as np
import pytest
from helpers import ACTIVATIONS, DTYPES


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


@pytest.fixture(params=ACTIVATIONS)
def activation(request):
    return request.param


MNIST_HELP = (
    "MNIST files not found: set FASTMLP_DATA_DIR to a folder holding the four IDX files "
    "(raw or .gz), or run `fastmlp data mnist` on a machine with internet access"
)


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of the real MNIST files: $FASTMLP_DATA_DIR, else ../shared/data/mnist."""
    from fastmlp.datasets.mnist import FILES, find_file

    candidates = [os.environ.get("FASTMLP_DATA_DIR")]
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
    for candidate in filter(None, candidates):
        if all(find_file(Path(candidate), name) for name in FILES):
            return Path(candidate)
    pytest.skip(MNIST_HELP)


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """Point fastmlp's user cache (decoded MNIST, default data dir) at a fresh folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("FASTMLP_DATA_DIR", raising=False)
    monkeypatch.delenv("FASTMLP_MNIST_MIRRORS", raising=False)
    return tmp_path / "xdg-cache" / "fastmlp"
