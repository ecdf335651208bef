import functools
import gzip
import hashlib
import itertools
import shutil
import struct
import time
import zlib

import numpy as np
import pytest
from helpers import FileServer, idx_bytes, run, run_python

from fastmlp.datasets import fetch_mnist, load_mnist, mnist
from fastmlp.errors import DatasetError

# --- a tiny fake MNIST (60 + 20 images of 28x28), with digests pinned for it ---------------

FAKE_RNG = np.random.default_rng(7)
FAKE = {
    "train-images-idx3-ubyte": idx_bytes(FAKE_RNG.integers(0, 256, (60, 28, 28))),
    "train-labels-idx1-ubyte": idx_bytes(np.arange(60) % 10),
    "t10k-images-idx3-ubyte": idx_bytes(FAKE_RNG.integers(0, 256, (20, 28, 28))),
    "t10k-labels-idx1-ubyte": idx_bytes(np.arange(20) % 10),
}


@pytest.fixture
def fake_mnist(monkeypatch, user_cache):
    for name, data in FAKE.items():
        pinned = mnist.MnistFile(
            mnist.FILES[name].magic, hashlib.sha256(data).hexdigest(), len(data)
        )
        monkeypatch.setitem(mnist.FILES, name, pinned)
    monkeypatch.setattr(mnist, "NUM_TRAIN", 50)
    return FAKE


def write_files(directory, files, style="dashed", compress=False):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        stem = name if style == "dashed" else name[::-1].replace("-", ".", 1)[::-1]
        (directory / (stem + (".gz" if compress else ""))).write_bytes(
            gzip.compress(data) if compress else data
        )


@pytest.mark.parametrize("style", ["dashed", "dotted"])
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_loads_every_naming_style_raw_or_gzipped(tmp_path, fake_mnist, style, compress):
    write_files(tmp_path, fake_mnist, style, compress)
    (x, y), (xv, yv), k = load_mnist(data_dir=tmp_path, download=False)
    assert k == 10
    assert x.shape == (50, 784) and xv.shape == (10, 784)
    assert x.dtype == np.float32 and y.dtype == np.int64
    expected = np.frombuffer(fake_mnist["train-images-idx3-ubyte"][16:], np.uint8)
    np.testing.assert_array_equal(x.ravel(), expected[: 50 * 784] / np.float32(255))
    np.testing.assert_array_equal(np.concatenate([y, yv]), np.arange(60) % 10)


def test_final_split_and_shapes(tmp_path, fake_mnist):
    write_files(tmp_path / "mnist", fake_mnist)  # a mnist/ subfolder is found too
    (x, _), (xv, yv), _ = load_mnist(final=True, flatten=False, dtype="float64", data_dir=tmp_path)
    assert x.shape == (60, 28, 28) and xv.shape == (20, 28, 28) and x.dtype == np.float64
    np.testing.assert_array_equal(yv, np.arange(20) % 10)


def test_lookup_order_argument_then_env_then_user_cache(
    tmp_path, fake_mnist, user_cache, monkeypatch
):
    assert mnist.mnist_dir() == user_cache / "mnist"
    monkeypatch.setenv("FASTMLP_DATA_DIR", str(tmp_path / "env"))
    assert mnist.mnist_dir() == tmp_path / "env"
    assert mnist.mnist_dir(tmp_path / "arg") == tmp_path / "arg"
    write_files(tmp_path / "env", fake_mnist)
    load_mnist(download=False)


def test_digest_mismatch_names_file_expected_and_actual(tmp_path, fake_mnist):
    files = dict(fake_mnist)
    files["train-labels-idx1-ubyte"] = idx_bytes(np.zeros(60))
    write_files(tmp_path, files)
    with pytest.raises(DatasetError) as error:
        load_mnist(data_dir=tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / "train-labels-idx1-ubyte") in message
    assert mnist.FILES["train-labels-idx1-ubyte"][1] in message
    assert hashlib.sha256(files["train-labels-idx1-ubyte"]).hexdigest() in message


def test_missing_files_without_download_say_where_to_put_them(tmp_path, fake_mnist):
    with pytest.raises(DatasetError, match=r"not found in .*fastmlp data mnist.*by hand"):
        load_mnist(data_dir=tmp_path, download=False)


def test_decoded_cache_is_used_and_verified(tmp_path, fake_mnist, user_cache):
    write_files(tmp_path, fake_mnist)
    first = load_mnist(data_dir=tmp_path)
    cached = sorted((user_cache / "mnist-decoded").glob("*.npy"))
    assert len(cached) == 4
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")  # the cache, not the file, is read
    np.testing.assert_array_equal(load_mnist(data_dir=tmp_path)[0][0], first[0][0])
    # A tampered cache is not trusted: the (now broken) file is read and rejected.
    (images_cache,) = (user_cache / "mnist-decoded").glob("train-images*.npy")
    images = np.load(images_cache)
    images[0, 0, 0] ^= 1
    np.save(images_cache, images)
    empty_digest = hashlib.sha256(b"").hexdigest()
    with pytest.raises(DatasetError, match=f"train-images-idx3-ubyte is {empty_digest}"):
        load_mnist(data_dir=tmp_path)


def test_cache_can_be_off(tmp_path, fake_mnist, user_cache):
    write_files(tmp_path, fake_mnist)
    load_mnist(data_dir=tmp_path, cache=False)
    assert not (user_cache / "mnist-decoded").exists()


def test_downloads_missing_files_from_a_mirror(tmp_path, fake_mnist):
    served = {f"{name}.gz": gzip.compress(data) for name, data in fake_mnist.items()}
    with FileServer(served) as server:
        (x, _), _, _ = load_mnist(data_dir=tmp_path / "new", mirrors=[server.url.rstrip("/")])
    assert x.shape == (50, 784)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted(served)


def test_download_failure_lists_mirrors_and_leaves_nothing(tmp_path, fake_mnist, monkeypatch):
    bad = {f"{name}.gz": gzip.compress(data[:-1]) for name, data in fake_mnist.items()}
    with FileServer(bad) as corrupt, FileServer({}) as empty:
        monkeypatch.setenv("FASTMLP_MNIST_MIRRORS", f"{empty.url},{corrupt.url}")
        with pytest.raises(DatasetError) as error:
            load_mnist(data_dir=tmp_path)
    message = str(error.value)
    assert f"{empty.url}train-images-idx3-ubyte.gz: HTTPError" in message
    assert f"{corrupt.url}train-images-idx3-ubyte.gz: DatasetError" in message
    assert "by hand" in message
    assert list(tmp_path.iterdir()) == []


def test_bad_mirrors_argument():
    with pytest.raises(ValueError, match="mirrors: expected a non-empty list of base URLs"):
        mnist.mirrors_to_try("http://127.0.0.1/")


def test_default_mirrors_avoid_the_403_host():
    assert not [m for m in mnist.MIRRORS if "lecun.com" in m]
    assert all(m.startswith("https://") for m in mnist.MIRRORS)


# --- the real MNIST files ---------------------------------------------------------------


def test_real_mnist_validation_split(mnist_dir, user_cache):
    (x, y), (xv, yv), k = load_mnist(data_dir=mnist_dir)
    assert k == 10
    assert x.shape == (55_000, 784) and xv.shape == (5_000, 784)
    assert x.dtype == xv.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 1 and xv.max() == 1
    counts = np.bincount(np.concatenate([y, yv]), minlength=10)
    assert counts.sum() == 60_000 and counts[1] == 6_742
    assert list(y[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_real_mnist_final_split(mnist_dir, user_cache):
    (x, y), (xv, yv), _ = load_mnist(final=True, flatten=False, data_dir=mnist_dir)
    assert x.shape == (60_000, 28, 28) and xv.shape == (10_000, 28, 28)
    assert np.bincount(yv, minlength=10).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert np.bincount(y, minlength=10)[1] == 6_742
    assert (x > 0).mean() == pytest.approx(0.19, abs=0.01)  # MNIST is ~80% zeros


def test_real_mnist_decoded_cache_matches_and_is_faster(mnist_dir, user_cache):
    start = time.perf_counter()
    cold = load_mnist(final=True, data_dir=mnist_dir)
    cold_time = time.perf_counter() - start
    start = time.perf_counter()
    warm = load_mnist(final=True, data_dir=mnist_dir)
    warm_time = time.perf_counter() - start
    for a, b in zip((*cold[0], *cold[1]), (*warm[0], *warm[1])):
        np.testing.assert_array_equal(a, b)
    print(f"load_mnist(final=True): cold {cold_time:.3f} s, cached {warm_time:.3f} s")


def test_real_mnist_downloads_from_a_local_mirror(mnist_dir, tmp_path):
    files = {p.name: p.read_bytes() for p in mnist_dir.glob("*.gz")}
    with FileServer(files) as server:
        paths = fetch_mnist(tmp_path, mirrors=[server.url])
    assert sorted(p.name for p in paths.values()) == sorted(files)
    assert sorted(server.requests) == sorted(f"/{name}" for name in files)


def test_cli_data_command_finds_and_verifies(mnist_dir, tmp_path):
    result = run(
        ["-m", "fastmlp", "data", "mnist", "--dir", str(mnist_dir), "--no-download"], tmp_path
    )
    assert result.stdout.count("SHA-256 verified") == 4
    assert str(mnist_dir) in result.stdout


def test_cli_data_command_reports_missing_files(tmp_path):
    empty = tmp_path / "empty"
    args = ["-m", "fastmlp", "data", "mnist", "--dir", str(empty), "--no-download"]
    result = run(args, tmp_path, check=False)
    assert result.returncode == 1
    assert "not found in" in result.stderr and "by hand" in result.stderr


def test_real_files_copied_raw_also_verify(mnist_dir, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in mnist_dir.glob("*labels*.gz"):
        (raw / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    for path in mnist_dir.glob("*images*.gz"):
        shutil.copy(path, raw / path.name)
    assert len(fetch_mnist(raw, download=False)) == 4


def test_find_mnist_dir_takes_the_first_complete_folder(tmp_path, fake_mnist):
    partial, complete = tmp_path / "partial", tmp_path / "complete"
    write_files(partial, dict(list(fake_mnist.items())[:2]))
    write_files(complete, fake_mnist)
    assert mnist.find_mnist_dir(None, partial, complete) == complete
    assert mnist.find_mnist_dir(partial, tmp_path / "missing") is None


# --- hostile files and mirrors: bounded in memory, disk and time -----------------------------


@functools.cache
def gzip_bomb(blocks=64):
    """A valid one-member gzip file of ``blocks`` times 16 MiB of zeros, 1 KB per MB of it.

    Deflate forgets its history at a full flush, so every 16 MiB block of zeros after the
    first compresses to the same bytes: compress two, repeat the second, and end the
    stream with the trailer (CRC-32 and size) of the whole.
    """
    block = bytes(16 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()[:-8]  # the final empty block, without its trailer
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, blocks * len(block) & 0xFFFFFFFF)
    return first + again * (blocks - 1) + end + trailer


def test_gzip_bomb_is_a_valid_gzip_file():
    assert gzip.decompress(gzip_bomb(3)) == bytes(48 << 20)


#: Runs ``{call}`` in a fresh interpreter that may write at most 128 MiB per file (a download
#: that does not stop fails there, rather than filling the disk), under ``run_python``'s
#: timeout (a hang fails the test). Prints the error, the seconds and the peak RSS in MiB:
#: VmHWM, as Linux's ru_maxrss starts from the parent's (this test process's) at the fork.
CHILD = """
import re, resource, time
resource.setrlimit(resource.RLIMIT_FSIZE, (128 << 20, 128 << 20))
from fastmlp.datasets import fetch_mnist, load_mnist
from fastmlp.errors import DatasetError
start = time.monotonic()
try:
    {call}
except DatasetError as error:
    print(str(error).replace(chr(10), " "))
else:
    print("no error")
print(time.monotonic() - start)
with open("/proc/self/status") as status:
    print(int(re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1)) / 1024)
"""


def in_child(tmp_path, call):
    """Return the DatasetError message, the seconds and the peak RSS (MiB) of ``call``."""
    out = run_python(CHILD.format(call=call), tmp_path, XDG_CACHE_HOME=str(tmp_path / "cache"))
    *_, message, seconds, peak = out.splitlines()
    return message, float(seconds), float(peak)


@pytest.mark.slow
def test_a_gzip_bomb_from_a_mirror_fails_fast_in_bounded_memory(tmp_path):
    data = tmp_path / "data"
    with FileServer({f"{name}.gz": gzip_bomb() for name in mnist.FILES}) as server:
        message, seconds, peak = in_child(
            tmp_path, f"fetch_mnist({str(data)!r}, mirrors=[{server.url!r}])"
        )
    assert f"{server.url}train-images-idx3-ubyte.gz: DatasetError: " in message
    assert "expected at most 47040016 bytes once decompressed, found more" in message
    assert peak < 300, f"peak RSS {peak:.0f} MiB"
    assert seconds < 60
    assert list(data.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gzip-bomb", "sparse-raw"])
def test_a_huge_file_in_the_data_folder_fails_fast_in_bounded_memory(tmp_path, kind):
    data = tmp_path / "data"
    data.mkdir()
    for name in mnist.FILES:
        if kind == "gzip-bomb":
            (data / f"{name}.gz").write_bytes(gzip_bomb())
        else:
            with open(data / name, "wb") as f:
                f.truncate(2 << 30)  # 2 GiB of zeros that take no disk space
    message, _, peak = in_child(tmp_path, f"load_mnist(data_dir={str(data)!r}, download=False)")
    what = "once decompressed" if kind == "gzip-bomb" else "in the file"
    assert f"train-images-idx3-ubyte{'.gz' if kind == 'gzip-bomb' else ''}: " in message
    assert f"expected at most 47040016 bytes {what}, found more" in message
    assert peak < 300, f"peak RSS {peak:.0f} MiB"


def endless():
    return itertools.repeat(bytes(1 << 16))


@pytest.mark.slow
def test_an_endless_mirror_stops_at_the_cap(tmp_path):
    data = tmp_path / "data"
    with FileServer({f"{name}.gz": endless for name in mnist.FILES}) as server:
        message, _, _ = in_child(tmp_path, f"fetch_mnist({str(data)!r}, mirrors=[{server.url!r}])")
    # The cap of train-images: twice its 47,040,016 bytes, plus 1 MiB.
    assert "train-images-idx3-ubyte.gz: DatasetError: expected at most 95128608 bytes" in message
    assert list(data.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["drip", "drip-headers"])
def test_a_dripping_mirror_meets_the_deadline(tmp_path, mode):
    data = tmp_path / "data"
    with FileServer({f"{name}.gz": bytes(1000) for name in mnist.FILES}, delay=0.1) as server:
        mirror = f"{server.url}{mode}/"
        call = f"fetch_mnist({str(data)!r}, mirrors=[{mirror!r}], deadline=1.5)"
        message, seconds, _ = in_child(tmp_path, call)
    assert f"{mirror}train-images-idx3-ubyte.gz: DatasetError: " in message
    assert "expected the download to end within the deadline of 1.5 s" in message
    assert 1.5 <= seconds < 10
    assert list(data.iterdir()) == []


def test_bad_download_limits_are_named_even_with_the_files_present(tmp_path, fake_mnist):
    write_files(tmp_path, fake_mnist)
    with pytest.raises(ValueError, match="deadline: expected a finite value > 0, found 0"):
        load_mnist(data_dir=tmp_path, deadline=0)
    with pytest.raises(TypeError, match="timeout: expected a real number, found '5'"):
        fetch_mnist(tmp_path, timeout="5")


def test_a_decoded_cache_claiming_a_huge_array_is_decoded_again(tmp_path, fake_mnist):
    write_files(tmp_path, fake_mnist)
    cached = mnist._decoded_path("train-images-idx3-ubyte")
    cached.parent.mkdir(parents=True)
    with open(cached, "wb") as f:  # a header for 10^12 values, and no data
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|u1", "fortran_order": False, "shape": (10**12,)}
        )
    (x, _), _, _ = load_mnist(final=True, flatten=False, data_dir=tmp_path)
    expected = np.frombuffer(fake_mnist["train-images-idx3-ubyte"][16:], np.uint8)
    np.testing.assert_array_equal(x.ravel() * 255, expected)
    assert np.load(cached).shape == (60, 28, 28)  # and the cache is rewritten


def test_a_file_larger_than_the_pinned_size_is_refused(tmp_path, fake_mnist):
    files = dict(fake_mnist)
    files["t10k-labels-idx1-ubyte"] += b"\x00"
    write_files(tmp_path, files, compress=True)
    size = len(fake_mnist["t10k-labels-idx1-ubyte"])
    with pytest.raises(DatasetError, match=f"expected at most {size} bytes once decompressed"):
        fetch_mnist(tmp_path, download=False)
