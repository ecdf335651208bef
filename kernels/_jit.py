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

The cache only saves compile time, so it must never stop a kernel from
running: an entry that cannot be read or written is compiled in memory
(see ``_VerifiedCacheFile`` and ``_KernelCache``), with one ``CacheWarning``
per process at most.

Compiling takes seconds where loading from the cache takes milliseconds, so
the first compile of a process (a cold or invalidated cache) is announced on
the ``fastmlp`` logger (see ``_CompileNotice``).
"""

import hashlib
import logging
import os
import pickle
import types
import warnings
from pathlib import Path

import numba
from numba.core import caching, event

from .. import config, names, optimizers
from .._files import atomic_path
from ..config import ERROR_MODEL, FASTMATH, CacheWarning, cache_dir

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
    [
        *Path(__file__).resolve().parent.glob("*.py"),
        config.__file__,
        names.__file__,
        optimizers.__file__,
    ]
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


#: Start of every cache file this module writes, followed by the SHA-256 of the rest.
_MAGIC = b"fastmlp kernel cache 1\n"
_HEADER = len(_MAGIC) + hashlib.sha256().digest_size


class _VerifiedCacheFile(caching.IndexDataCacheFile):
    """Numba's index (``.nbi``) and data (``.nbc``) files, each carrying its own SHA-256.

    Numba trusts what it reads back: a truncated or garbled file raises out
    of every call, and a flipped bit in cached machine code is run. Here
    every file is ``_MAGIC``, the digest of the pickle that follows, then the
    pickle, written whole under a temporary name and renamed into place, so
    readers (other processes sharing the cache) see an old file or a new one,
    never part of one. A file that fails the check is treated as absent and
    the next compile of its kernel overwrites it.

    A data file also holds its index key: two processes updating an index at
    once can give two signatures the same data file name, and only the key
    tells the reader whose machine code it holds.
    """

    def save(self, key, data):
        super().save(key, (key, data))

    def load(self, key):
        entry = super().load(key)
        return entry[1] if entry is not None and entry[0] == key else None

    def _load_index(self):
        index = self._read(self._index_path)
        if index is None or index[:2] != (self._version, self._source_stamp):
            return {}  # absent, damaged, or written for another Numba or source
        return index[2]

    def _save_index(self, overloads):
        self._write(self._index_path, (self._version, self._source_stamp, overloads))

    def _load_data(self, name):
        return self._read(self._data_path(name))

    def _save_data(self, name, data):
        self._write(self._data_path(name), data)

    def _write(self, path, obj):
        body = self._dump(obj)
        with atomic_path(path) as tmp:
            tmp.write_bytes(_MAGIC + hashlib.sha256(body).digest() + body)

    def _read(self, path):
        """Return the object stored in ``path``, or None when it is absent or fails its check."""
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        body = raw[_HEADER:]
        if raw[:_HEADER] != _MAGIC + hashlib.sha256(body).digest():
            _warn_once(
                f"ignored the damaged entry {path}: expected a fastmlp cache file carrying the "
                f"SHA-256 of its data, found {len(raw)} bytes whose header or digest does not match"
            )
            return None
        try:
            return pickle.loads(body)
        except Exception as error:  # a matching digest over data this Numba cannot read
            _warn_once(f"ignored the unreadable entry {path} ({type(error).__name__}: {error})")
            return None


class _KernelCache(caching.FunctionCache):
    """Numba's function cache on ``_VerifiedCacheFile``, never raising out of a load or save."""

    _impl_class = _KernelCacheImpl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._kernel = f"{py_func.__module__}.{py_func.__qualname__}"
        self._cache_file = _VerifiedCacheFile(
            self._cache_path, self._impl.filename_base, self._impl.locator.get_source_stamp()
        )

    def load_overload(self, sig, target_context):
        # Whatever the failure (a file the digest passed that LLVM still
        # rejects, a permission error), compiling instead gives the same kernel.
        try:
            return super().load_overload(sig, target_context)
        except Exception as error:
            _warn_once(f"could not load {self._kernel} from {self._cache_path} ({error!r})")
            return None

    def save_overload(self, sig, data):
        # A full disk or a read-only cache costs the next process a compile, nothing more.
        try:
            super().save_overload(sig, data)
        except Exception as error:
            _warn_once(f"could not save {self._kernel} to {self._cache_path} ({error!r})")


_warned = False


def _warn_once(message):
    """Issue a ``CacheWarning`` for the first cache problem of the process only."""
    # Called under Numba's compiler lock, so no two threads get here at once.
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"fastmlp's kernel cache {message}; the kernel was compiled in memory instead "
            "(later cache problems in this process are not reported)",
            CacheWarning,
            stacklevel=2,
        )


#: The notice's estimate: seconds the default ``fastmlp`` run spends compiling its
#: kernels (per-sample training and serial evaluation, float32) on a cold cache, on
#: 2 idle cores: 12.1 and 13.1 s wall against 1.9 and 2.1 s on a warm cache.
COMPILE_SECONDS = 10

logger = logging.getLogger("fastmlp")


class _CompileNotice(event.Listener):
    """Log once per process, at WARNING, when a fastmlp kernel is compiled rather than loaded.

    Numba raises the ``numba:compile`` event only for a compile, never for a
    load from the disk cache, so a warm cache stays silent. WARNING, as
    matplotlib's font-cache note: Python shows it on stderr unless logging is
    configured otherwise, and a library call never prints to stdout.
    """

    def __init__(self):
        self.done = False

    def on_start(self, ev):
        # Under Numba's compiler lock: no two threads get here at once.
        dispatcher = ev.data["dispatcher"]
        if self.done or not dispatcher.py_func.__module__.startswith(__package__ + "."):
            return
        self.done = True
        if is_cached(dispatcher):
            logger.warning(
                "compiling kernels, once per machine: ~%d s; `fastmlp warmup` does it ahead",
                COMPILE_SECONDS,
            )
        else:
            logger.warning(
                "compiling kernels: ~%d s, in every process (the disk cache is off or not "
                "writable, see fastmlp.config.cache_dir)",
                COMPILE_SECONDS,
            )

    def on_end(self, ev):
        pass


event.register("numba:compile", _CompileNotice())


def kernel(func=None, *, inline=False, parallel=False, nogil=False):
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
    nogil : bool
        Release the GIL while the kernel runs, so that Python threads can
        run parts of one job at once.

    Returns
    -------
    numba.core.registry.CPUDispatcher
        The dispatcher; ``dispatcher.stats.cache_hits`` shows cache use.
    """
    if func is None:
        return lambda f: kernel(f, inline=inline, parallel=parallel, nogil=nogil)
    options = {"fastmath": set(FASTMATH), "error_model": ERROR_MODEL, "nogil": nogil}
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
