"""Numeric policy in one place: dtypes, fastmath flags, tolerances and the JIT cache.

Every kernel is compiled with the flags below and every equivalence test
uses the tolerances below, so a change of policy is a change of one line.
"""

import os
from pathlib import Path

import numpy as np

#: The dtypes a model may have. float32 is the default: it halves memory
#: traffic and the reference tests bound its error against float64.
DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
DEFAULT_DTYPE = "float32"

#: LLVM fast-math flags for the kernels. Only flags that keep NaN and inf
#: semantics (no ``nnan``/``ninf``: a diverging run must show as non-finite;
#: no ``afn``: approximate exp/log would loosen the float64 twin tests), and
#: only flags that leave every result to the source's order of operations:
#: ``nsz`` (the sign of a zero) and ``contract`` (FMA, formed alike in vector
#: and scalar code). Not ``reassoc`` nor ``arcp``: LLVM guards a loop that
#: stores through one array and reads another with a runtime overlap check
#: and falls back to a scalar copy of the loop, so a reduction reassociated
#: across vector lanes (or a division turned into a reciprocal estimate) in
#: the vector copy made results depend on where the arrays happened to lie:
#: 1 run in 200 of an Adam epoch differed in its last bits.
FASTMATH = frozenset({"nsz", "contract"})
#: The flags of a sum in a loop that stores nothing (``kernels.dense._dot``),
#: compiled as a function of its own: such a loop needs no overlap check, so
#: its vector copy always runs and summing across lanes repeats itself bit
#: for bit. A dot product along a row of 300 is 4x faster so.
FASTMATH_READ_ONLY_SUMS = FASTMATH | {"reassoc"}
#: Division by zero yields inf/nan like numpy instead of raising: no checks
#: in inner loops, and non-finite values surface in the loss.
ERROR_MODEL = "numpy"

#: Batches of at least this many rows run the parallel build of the SGD
#: kernel when Numba has more than one thread. Measured on 2 cores with
#: MNIST 784-300-10: smaller batches lose more to starting threads than
#: they gain.
PARALLEL_MIN_BATCH = 16
#: Rows from which inference (predict_proba, evaluate) runs on threads ...
PARALLEL_MIN_ROWS = 512
#: ... if it also takes this many multiply-adds (rows x weights) at least. Below
#: that a serial call takes about a millisecond (the default 2-3-2 net on its
#: 10,000 validation rows: 1.2e5, 1.3 ms), so threads could save half a
#: millisecond, about what handing the parts to threads costs.
PARALLEL_MIN_WORK = 1_000_000
#: Bytes of a cache line: threads write to buffers at least this far apart.
CACHE_LINE = 64

#: Relative tolerances for comparing a kernel with its numpy twin.
RTOL = {"float64": 1e-10, "float32": 1e-4}
#: Absolute floor for the same comparisons, for values that cross zero.
ATOL = {"float64": 1e-12, "float32": 1e-6}
#: Central-difference step (near the float64 optimum, cbrt of machine epsilon),
#: the largest relative error gradcheck accepts, and the floor of its
#: denominator: the difference quotient carries ~1e-11 of rounding noise, so
#: entries below the floor are held to an absolute error of 1e-10 instead.
GRADCHECK_EPS = 1e-5
GRADCHECK_RTOL = 1e-6
GRADCHECK_FLOOR = 1e-4


class CacheWarning(UserWarning):
    """The kernel cache could not be read or written; kernels were compiled in memory instead.

    Issued at most once per process: the cache only saves compile time, so
    nothing else changes (a damaged entry is rewritten by the next compile).
    """


def cache_dir() -> Path | None:
    """Return the directory for compiled kernels, or None when caching is off.

    ``FASTMLP_CACHE_DIR`` wins, then ``NUMBA_CACHE_DIR``, then
    ``$XDG_CACHE_HOME/fastmlp/numba`` (default ``~/.cache/fastmlp/numba``).
    Setting ``FASTMLP_CACHE_DIR`` to an empty string (or ``FASTMLP_NO_CACHE=1``)
    turns caching off. The install directory is never used: it may be
    read-only, and site-packages is not ours to write into.
    """
    if os.environ.get("FASTMLP_NO_CACHE", "") not in ("", "0"):
        return None
    for var in ("FASTMLP_CACHE_DIR", "NUMBA_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var]) if os.environ[var] else None
    return user_cache_dir() / "numba"


def user_cache_dir() -> Path:
    """Return fastmlp's user cache: ``$XDG_CACHE_HOME/fastmlp``, default ``~/.cache/fastmlp``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fastmlp"
