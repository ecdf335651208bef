"""Crash safety of the kernel cache: a damaged cache file is recompiled, never trusted.

The child caches a tiny kernel (``_tiny``, compiled through ``fastmlp.kernels._jit.kernel``
like every fastmlp kernel) in the folder ``FASTMLP_CACHE_DIR`` names, then damages its index
(``.nbi``) or a data file (``.nbc``) in one way per case and calls a fresh dispatcher of the
kernel, as a new process would. Each case must compute the right result, compile instead of
loading, warn at most once, and leave an entry that the next dispatcher loads again (where
the damage can be repaired at all). Before the cache checked its files, a truncated, garbage
or empty file raised out of every call, and a flipped bit in the machine code was run.
"""

# Each case() calls its lambda at once, so closing over the loop variables is safe.
# ruff: noqa: B023

import contextlib
import os
import random
import shutil
import struct
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from test_crash_safety import case, run_cases

#: How a cache file is damaged; "bitflip" flips one bit in the middle of a data
#: file's machine code (of the whole file for the index).
KINDS = ("truncated", "garbage", "empty", "bitflip")


def _tiny(x):
    """The kernel the children cache: small enough to compile in about a second."""
    total = 0.0
    for value in x:
        total += value * value + 1.0
    return total


def machine_code(data):
    """Return ``(start, end)`` of the largest executable section of the first ELF object in
    ``data`` (Numba caches machine code as an ELF object inside the pickled entry)."""
    base = data.index(b"\x7fELF\x02\x01")  # 64-bit, little-endian
    (section_headers,) = struct.unpack_from("<Q", data, base + 0x28)
    entry_size, count = struct.unpack_from("<HH", data, base + 0x3A)
    best = (0, 0)
    for i in range(count):
        header = base + section_headers + i * entry_size
        _, kind, flags, _, offset, size = struct.unpack_from("<IIQQQQ", data, header)
        if kind == 1 and flags & 0x4 and size > best[1] - best[0]:  # PROGBITS, EXECINSTR
            best = (base + offset, base + offset + size)
    assert best[1] > best[0], "no machine code found"
    return best


def damage(path, kind):
    """Damage the cache file ``path`` in the way ``kind`` names (one of KINDS)."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        data = data[: len(data) // 2]
    elif kind == "garbage":
        data = random.Random(0).randbytes(len(data))
    elif kind == "empty":
        data = b""
    elif kind == "bitflip":
        start, end = machine_code(data) if path.suffix == ".nbc" else (0, len(data))
        data[(start + end) // 2] ^= 0x10
    else:
        raise ValueError(kind)
    path.write_bytes(bytes(data))


def cache_files(root, pattern):
    """Return the index and data files under ``root`` whose names match ``pattern``, by name."""
    return {p.name: p for p in Path(root).rglob(pattern) if p.suffix in (".nbi", ".nbc")}


@contextlib.contextmanager
def full_filesystem(mountpoint):
    """Mount a 1 MiB tmpfs at ``mountpoint``, make ``cache`` in it, fill it up; yield ``cache``.

    Skips unless running as root and the mount succeeds.
    """
    if os.geteuid() != 0:
        pytest.skip("filling a filesystem needs a tmpfs, and mounting one needs root")
    mountpoint.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)]
    result = subprocess.run(mount, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        cache = mountpoint / "cache"
        cache.mkdir()
        with contextlib.suppress(OSError), open(mountpoint / "filler", "wb") as f:
            while True:
                f.write(bytes(4096))
                f.flush()
        yield cache
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_damaged_cache_files_are_recompiled_and_replaced(tmp_path):
    env = {"FASTMLP_CACHE_DIR": str(tmp_path / "cache")}
    records = run_cases(child_damaged_cache_quick, tmp_path, minimum=3, env=env)
    assert {"data-bitflip", "index-truncated", "one-warning-per-process"} <= set(records)


@pytest.mark.slow
def test_every_kind_of_damage_to_every_cache_file(tmp_path):
    env = {"FASTMLP_CACHE_DIR": str(tmp_path / "cache")}
    records = run_cases(child_damaged_cache_files, tmp_path, minimum=12, env=env)
    assert {f"{f}-{k}" for f in ("index", "data") for k in KINDS} <= set(records)


def test_a_full_filesystem_costs_a_compile_and_one_warning(tmp_path):
    with full_filesystem(tmp_path / "mnt") as cache:
        run_cases(child_full_filesystem, tmp_path, minimum=3, env={"FASTMLP_CACHE_DIR": str(cache)})


@pytest.mark.slow
def test_processes_sharing_a_cache_never_load_a_wrong_or_partial_entry(tmp_path):
    """Workers compiling four signatures of one kernel at once, in different orders, each
    update the same index and data files; every call must still compute the right result
    and no worker may see a damaged file."""
    cache = str(tmp_path / "cache")

    def worker(i):
        env = {"FASTMLP_CACHE_DIR": cache, "CACHE_WORKER": str(i)}
        return run_cases(child_shared_cache_worker, tmp_path, minimum=4 * ROUNDS, env=env)

    with ThreadPoolExecutor(WORKERS) as pool:
        for records in pool.map(worker, range(WORKERS)):
            assert len(records) == 4 * ROUNDS


WORKERS, ROUNDS = 4, 4


def child_shared_cache_worker():
    dtypes = ["float64", "float32", "int64", "int32"]
    turn = int(os.environ["CACHE_WORKER"])
    x = _input()
    for r in range(ROUNDS):
        for dtype in dtypes[turn:] + dtypes[:turn]:
            case(f"{r}-{dtype}", None, lambda: _right_and_quiet(x.astype(dtype)))


def _right_and_quiet(x):
    result, _, _, messages = _call(x)
    assert result == _tiny(x) and not messages, (result, messages)
    return True


def child_damaged_cache_quick():
    """A data file's machine code with one bit flipped, a truncated index, and two damaged
    entries in one process."""
    _damage_cases([("data", "bitflip"), ("index", "truncated")])
    _one_warning_per_process()


def child_damaged_cache_files():
    """Every kind of damage to the index and a data file, and the other ways an entry fails."""
    _damage_cases([(f, k) for f in ("index", "data") for k in KINDS])
    _one_warning_per_process()
    x = _input()
    data = _by_kind(_populate(x))["data"]
    data.unlink()
    case("data-missing", None, lambda: _recompiled(x, warned=False))
    data.unlink()
    data.mkdir()  # can be neither read nor replaced: the kernel still runs
    case("data-is-a-directory", None, lambda: _recompiled(x, replaced=False))
    _populate(x)
    files = _populate(x.astype(np.int64), clear=False)
    first, second = sorted(p for p in files.values() if p.suffix == ".nbc")
    one, two = first.read_bytes(), second.read_bytes()
    # What two processes racing to update one index can leave: each data file
    # intact, but holding the other signature's machine code.
    first.write_bytes(two)
    second.write_bytes(one)
    case("swapped-entries", None, lambda: _recompiled(x, warned=False))


def child_full_filesystem():
    """Nothing can be saved; once there is room again, the cache works as usual."""
    x = _input()
    case("full-disk", None, lambda: _recompiled(x, replaced=False))
    case("full-disk-two-signatures", None, lambda: _two_signatures_one_warning(x))
    (Path(os.environ["FASTMLP_CACHE_DIR"]).parent / "filler").unlink()
    case("room-again", None, lambda: _recompiled(x, warned=False))


def _damage_cases(plan):
    x = _input()
    files = _by_kind(_populate(x))
    pristine = {kind: path.read_bytes() for kind, path in files.items()}
    for which, kind in plan:
        for name, content in pristine.items():
            files[name].write_bytes(content)
        damage(files[which], kind)
        case(f"{which}-{kind}", None, lambda: _recompiled(x))


def _one_warning_per_process():
    x = _input()
    _populate(x)
    for path in _populate(x.astype(np.int64), clear=False).values():
        if path.suffix == ".nbc":
            damage(path, "truncated")
    case("one-warning-per-process", None, lambda: _two_signatures_one_warning(x))


def _two_signatures_one_warning(x):
    """One dispatcher compiles two signatures, each failing the cache: one warning in all."""
    import fastmlp.kernels._jit as jit

    jit._warned = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dispatcher = jit.kernel(_tiny)
        results = dispatcher(x), dispatcher(x.astype(np.int64))
    misses = sum(dispatcher.stats.cache_misses.values())
    assert results == (_tiny(x), _tiny(x.astype(np.int64))) and misses == 2, (results, misses)
    assert len(caught) == 1, [str(w.message) for w in caught]
    return True


def _input():
    return np.arange(7.0)


def _populate(x, clear=True):
    """Compile ``_tiny`` for ``x`` into an empty (or, unless ``clear``, the current) cache;
    return the cache files of ``_tiny`` by name."""
    import fastmlp.kernels._jit as jit

    root = Path(os.environ["FASTMLP_CACHE_DIR"])
    if clear:
        for path in cache_files(root, "*_tiny*").values():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert _call(x)[1:] == (0, 1, []), "the cache was not empty"
    assert jit.is_cached(jit.kernel(_tiny))
    return cache_files(root, "*_tiny*")


def _by_kind(files):
    """Return the index and the only data file of ``files`` as {"index": ..., "data": ...}."""
    assert len(files) == 2, sorted(files)
    return {("index" if p.suffix == ".nbi" else "data"): p for p in files.values()}


def _call(x):
    """Call a fresh dispatcher of ``_tiny``; return (result, cache hits, misses, warnings)."""
    import fastmlp.kernels._jit as jit

    jit._warned = False  # each call stands for a new process
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dispatcher = jit.kernel(_tiny)
        result = dispatcher(x)
    stats = dispatcher.stats
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), messages


def _recompiled(x, warned=True, replaced=True):
    """A fresh dispatcher compiles the right kernel (with one CacheWarning if ``warned``,
    none otherwise); then, if ``replaced``, the next one loads it from the cache."""
    result, hits, misses, messages = _call(x)
    assert (result, hits, misses) == (_tiny(x), 0, 1), (result, hits, misses, messages)
    assert len(messages) == int(warned), messages
    assert all(m.startswith("CacheWarning: fastmlp's kernel cache ") for m in messages), messages
    return _loaded(x) if replaced else True


def _loaded(x):
    result, hits, misses, messages = _call(x)
    assert (result, hits, misses, messages) == (_tiny(x), 1, 0, []), (result, hits, misses)
    return True
