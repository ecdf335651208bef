import os
from pathlib import Path

import numpy as np
import pytest
from helpers import ACTIVATIONS, DTYPES

from fastmlp.datasets.mnist import MISSING_HELP, find_mnist_dir


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
