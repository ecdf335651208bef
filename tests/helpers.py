"""Shared test helpers: tolerances and random inputs. The numerical twins themselves are
``fastmlp.reference`` (numpy) and ``fastmlp.scalar`` (pure Python)."""

import itertools

import numpy as np

from fastmlp.config import ATOL, RTOL

DTYPES = ("float32", "float64")
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def assert_close(actual, expected, dtype):
    """Compare with the project's kernel-vs-twin tolerance for ``dtype``."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype])


def random_network(rng, sizes, dtype):
    """Random weights and biases as lists of C-contiguous arrays."""
    weights = [rng.normal(0, 0.5, (a, b)).astype(dtype) for a, b in itertools.pairwise(sizes)]
    biases = [rng.normal(0, 0.1, b).astype(dtype) for b in sizes[1:]]
    return weights, biases


def sparse_inputs(rng, n, d, dtype, density=0.3):
    """Rows with mostly zero entries, like MNIST pixels."""
    return ((rng.random((n, d)) < density) * rng.random((n, d))).astype(dtype)
