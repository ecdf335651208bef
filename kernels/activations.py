"""Hidden-layer activations and their derivatives, written in terms of the activation's output.

Codes come from ``fastmlp.names``. Each function branches on the code once
and then runs a plain loop, so the loop vectorises. Constants are cast to
the array's dtype: a bare float literal would turn float32 maths into float64.

The sigmoid of float32 arrays uses ``_exp32``, an exp written in arithmetic
LLVM can vectorise: ``np.exp`` is a libm call per element, which cost 2 us
of the 18 us of an MNIST 784-300-10 training step. float64 keeps ``np.exp``.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ..config import ERROR_MODEL, FASTMATH
from ..names import RELU, SIGMOID, TANH
from ._jit import kernel

_LOG2E = np.float32(1.4426950408889634)
# ln 2 split in two (Cody-Waite): k * _LN2_HI is exact for |k| < 2**9.
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
# e**x is computed on [-87, 88], where 2**k stays a normal float32; above it
# is inf and below 0 (float32 itself overflows at 88.72 and leaves normal
# numbers at -87.34).
_EXP32_MAX = np.float32(88.0)
_EXP32_MIN = np.float32(-87.0)
# Taylor coefficients 1/n! for n = 2..7: on |r| <= ln(2)/2 the remainder is
# below 6e-9, a tenth of float32's epsilon.
_C2, _C3, _C4 = np.float32(1 / 2), np.float32(1 / 6), np.float32(1 / 24)
_C5, _C6, _C7 = np.float32(1 / 120), np.float32(1 / 720), np.float32(1 / 5040)


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret an int32 as the float32 with the same bits."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


def _exp32(x):
    """Return ``e**x`` for a float32 ``x``, within 2 ulp of ``np.exp``; NaN stays NaN.

    ``x = k ln 2 + r`` with integer ``k`` and ``|r| <= ln(2) / 2``; then
    ``e**x = 2**k * e**r``, with ``2**k`` built from its exponent bits.
    """
    xc = min(max(x, _EXP32_MIN), _EXP32_MAX)
    k = np.floor(xc * _LOG2E + np.float32(0.5))
    if k != k:  # NaN: any finite k will do, r stays NaN
        k = np.float32(0)
    r = xc - k * _LN2_HI - k * _LN2_LO
    p = r * _C7 + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + np.float32(1)
    p = p * r + np.float32(1)
    # Numba widens int32 arithmetic to int64; the exponent field fits int32.
    e = p * _float32_from_bits(np.int32((np.int64(k) + 127) << 23))
    if x > _EXP32_MAX:
        e = np.float32(np.inf)
    elif x < _EXP32_MIN:
        e = np.float32(0)
    return e


def _exp(x):
    """``np.exp``, vectorisable for float32 (``_exp32``); the kernels call it for the sigmoid."""
    return np.exp(x)


# The kernels' flags: an overload compiles with Numba's defaults otherwise.
@overload(_exp, jit_options={"fastmath": set(FASTMATH), "error_model": ERROR_MODEL})
def _exp_overload(x):
    if x == types.float32:
        return _exp32
    return lambda x: np.exp(x)


@kernel(inline=True)
def _activate(a, code):
    """Apply activation ``code`` to the 1-D array ``a`` in place (IDENTITY leaves it)."""
    one = a.dtype.type(1)
    zero = a.dtype.type(0)
    if code == SIGMOID:
        for j in range(a.size):
            # exp(-z) overflows to inf for z << 0, and 1 / inf = 0: no NaN.
            a[j] = one / (one + _exp(-a[j]))
    elif code == TANH:
        for j in range(a.size):
            a[j] = np.tanh(a[j])
    elif code == RELU:
        for j in range(a.size):
            a[j] = max(a[j], zero)


@kernel(inline=True)
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
