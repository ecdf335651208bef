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
