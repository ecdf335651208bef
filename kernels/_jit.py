"""The ``kernel`` decorator: Numba ``njit`` with fastmlp's numeric policy and a safe disk cache.

Numba's own ``cache=True`` writes next to the source file, which for an
installed wheel means site-packages. fastmlp's kernels instead cache into
``fastmlp.config.cache_dir()``; when that directory cannot be created or
written, the kernel still works and is compiled in memory each process.

Numba checks a cached kernel only against its own source file, not against
the helpers it inlines from other files, so a change to ``dense.py`` would
leave stale machine code for ``sgd.py``'s kernels. The cache therefore
lives in a subdirectory named by a digest of every source the kernels
depend on: change any of them and the kernels compile afresh.
"""

import hashlib
import os
import types
from pathlib import Path

import numba
from numba.core import caching

from .. import config, names
from ..config import ERROR_MODEL, FASTMATH, cache_dir

# Numba renamed its cache classes in 0.66 (dropped the leading underscore).
_UserProvidedLocator = (
    getattr(caching, "UserProvidedCacheLocator", None) or caching._UserProvidedCacheLocator
)
_CacheImplBase = caching.CompileResultCacheImpl


def source_digest(paths):
    """Return a short hex digest of the names and contents of the files ``paths``."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


#: The kernels' sources and the modules whose constants they compile in.
SOURCES_DIGEST = source_digest(
    [*Path(__file__).resolve().parent.glob("*.py"), config.__file__, names.__file__]
)


class _KernelCacheLocator(_UserProvidedLocator):
    """Locate a kernel's cache under fastmlp's cache directory, never beside its source."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(
            str(cache_dir()), SOURCES_DIGEST, self.get_suitable_cache_subpath(py_file)
        )

    @classmethod
    def from_function(cls, py_func, py_file):
        if cache_dir() is None:
            return None
        # Skip UserProvidedCacheLocator's check of numba.config.CACHE_DIR.
        return super(_UserProvidedLocator, cls).from_function(py_func, py_file)


class _KernelCacheImpl(_CacheImplBase):
    _locator_classes = (_KernelCacheLocator,)


class _KernelCache(caching.FunctionCache):
    _impl_class = _KernelCacheImpl


def kernel(func=None, *, inline=False, parallel=False):
    """Compile ``func`` with Numba in nopython mode, cached on disk where possible.

    Parameters
    ----------
    func : callable
        A function Numba can compile in nopython mode.
    inline : bool
        Inline the function into its callers at Numba IR level. For helpers
        called once per row: a call between compiled functions passes every
        array as a struct and updates its reference count, which costs more
        than a short row loop (10x for a 784x300 weight update).
    parallel : bool
        Compile with ``parallel=True`` (``numba.prange`` loops run on threads)
        a twin of ``func`` named ``<name>_parallel``, so that it and a serial
        build of the same function keep separate cache files.

    Returns
    -------
    numba.core.registry.CPUDispatcher
        The dispatcher; ``dispatcher.stats.cache_hits`` shows cache use.
    """
    if func is None:
        return lambda f: kernel(f, inline=inline, parallel=parallel)
    options = {"fastmath": set(FASTMATH), "error_model": ERROR_MODEL}
    if inline:
        options["inline"] = "always"
    if parallel:
        options["parallel"] = True
        func = _renamed(func, func.__name__ + "_parallel")
    dispatcher = numba.njit(**options)(func)
    try:
        dispatcher._cache = _KernelCache(func)
    except RuntimeError:
        pass  # no writable cache directory: compile in memory, as cache=False would
    return dispatcher


def _renamed(func, name):
    twin = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__)
    twin.__qualname__ = name  # kernels are module-level functions
    twin.__module__, twin.__doc__ = func.__module__, func.__doc__
    return twin


def is_cached(dispatcher):
    """Return True when ``dispatcher`` reads and writes an on-disk cache."""
    return isinstance(dispatcher._cache, _KernelCache)
