import os
from pathlib import Path

import numpy as np
import pytest

import fastmlp

MNIST_HELP = (
    "MNIST files not found: set FASTMLP_DATA_DIR to a folder holding the four IDX files "
    "(raw or .gz), or run `fastmlp data mnist` on a machine with internet access"
)


def find_mnist_dir():
    """Return the MNIST folder: $FASTMLP_DATA_DIR, else ../shared/data/mnist; None if absent."""
    from fastmlp.datasets.mnist import FILES, find_file

    candidates = [os.environ.get("FASTMLP_DATA_DIR")]
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
    for candidate in filter(None, candidates):
        if all(find_file(Path(candidate), name) for name in FILES):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def synth():
    """60,000 training points of ``load_synth`` as float32 rows and int64 labels."""
    (x, y), _, _ = fastmlp.datasets.load_synth(num_train=60_000, num_val=1)
    return np.ascontiguousarray(x, dtype=np.float32), y


@pytest.fixture(scope="session")
def mnist():
    """MNIST as ``(xtrain, ytrain, xtest, ytest)``: 60,000 and 10,000 float32 rows of 784."""
    directory = find_mnist_dir()
    if directory is None:
        pytest.skip(MNIST_HELP)
    (x, y), (xt, yt), _ = fastmlp.datasets.load_mnist(
        final=True, dtype="float32", data_dir=directory, download=False
    )
    return x, y, xt, yt
