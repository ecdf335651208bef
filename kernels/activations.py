"""Hidden-layer activations and their derivatives, written in terms of the activation's output.

Codes come from ``fastmlp.names``. Each function branches on the code once
and then runs a plain loop, so the loop vectorises. Constants are cast to
the array's dtype: a bare float literal would turn float32 maths into float64.
"""

import numpy as np

from ..names import RELU, SIGMOID, TANH
from ._jit import kernel


@kernel
def _activate(a, code):
    """Apply activation ``code`` to the 1-D array ``a`` in place (IDENTITY leaves it)."""
    one = a.dtype.type(1)
    zero = a.dtype.type(0)
    if code == SIGMOID:
        for j in range(a.size):
            # exp(-z) overflows to inf for z << 0, and 1 / inf = 0: no NaN.
            a[j] = one / (one + np.exp(-a[j]))
    elif code == TANH:
        for j in range(a.size):
            a[j] = np.tanh(a[j])
    elif code == RELU:
        for j in range(a.size):
            a[j] = max(a[j], zero)


@kernel
def _scale_by_derivative(delta, a, code):
    """Multiply ``delta`` in place by the activation's derivative, given its output ``a``.

    sigmoid' = a (1 - a), tanh' = 1 - a^2, relu' = [a > 0]: no need to keep
    the pre-activations around.
    """
    one = a.dtype.type(1)
    zero = a.dtype.type(0)
    if code == SIGMOID:
        for i in range(a.size):
            delta[i] *= a[i] * (one - a[i])
    elif code == TANH:
        for i in range(a.size):
            delta[i] *= one - a[i] * a[i]
    elif code == RELU:
        for i in range(a.size):
            if a[i] <= zero:
                delta[i] = zero
