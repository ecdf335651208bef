import os
from pathlib import Path

import numpy as np
import pytest

import fastmlp
from fastmlp.datasets.mnist import MISSING_HELP, find_mnist_dir


def find_shared_mnist():
    """Return the MNIST folder: $FASTMLP_DATA_DIR, else ../shared/data/mnist; None if absent."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    return find_mnist_dir(os.environ.get("FASTMLP_DATA_DIR"), shared)


@pytest.fixture(scope="session")
def synth():
    """60,000 training points of ``load_synth`` as float32 rows and int64 labels."""
    (x, y), _, _ = fastmlp.datasets.load_synth(num_train=60_000, num_val=1)
    return np.ascontiguousarray(x, dtype=np.float32), y


@pytest.fixture(scope="session")
def mnist():
    """MNIST as ``(xtrain, ytrain, xtest, ytest)``: 60,000 and 10,000 float32 rows of 784."""
    directory = find_shared_mnist()
    if directory is None:
        pytest.skip(MISSING_HELP)
    (x, y), (xt, yt), _ = fastmlp.datasets.load_mnist(
        final=True, dtype="float32", data_dir=directory, download=False
    )
    return x, y, xt, yt
