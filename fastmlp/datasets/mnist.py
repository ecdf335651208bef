"""MNIST: find, download, verify and decode the four IDX files, offline when they are present.

Files are looked up in ``data_dir``, else ``$FASTMLP_DATA_DIR``, else the user
cache (``$XDG_CACHE_HOME/fastmlp/mnist``, default ``~/.cache/fastmlp/mnist``),
in that folder or its ``mnist/`` subfolder, raw or gzip-compressed, named
``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``. Every file is
checked against the SHA-256 of its decompressed bytes.

Nothing a file or a mirror holds can cost more than the dataset itself:
files are decompressed as a stream and never beyond the known size of the
MNIST file they stand for, and a download is bounded in bytes
(``DOWNLOAD_FACTOR``) and in time (``deadline``).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from .._checks import as_dtype, as_positive, reject
from .._files import atomic_path
from ..config import user_cache_dir
from ..errors import DatasetError
from .download import DEADLINE, TIMEOUT
from .download import download as download_file
from .idx import IMAGES_MAGIC, LABELS_MAGIC, idx_header, iter_bytes, parse_idx, read_bytes


class MnistFile(NamedTuple):
    """What an MNIST file must be once decompressed."""

    magic: int  # IDX magic number
    sha256: str  # hex digest
    size: int  # bytes


#: name -> MnistFile, the canonical MNIST files.
FILES = {
    "train-images-idx3-ubyte": MnistFile(
        IMAGES_MAGIC,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
    ),
    "train-labels-idx1-ubyte": MnistFile(
        LABELS_MAGIC,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
    ),
    "t10k-images-idx3-ubyte": MnistFile(
        IMAGES_MAGIC,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
    ),
    "t10k-labels-idx1-ubyte": MnistFile(
        LABELS_MAGIC,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
    ),
}

#: Public mirrors of the gzip files (yann.lecun.com refuses scripts with 403).
#: Override with ``mirrors=`` or ``$FASTMLP_MNIST_MIRRORS`` (comma-separated).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: A download may be this many times the decompressed size, plus ``DOWNLOAD_SLACK`` bytes:
#: mirrors compress differently (or not at all), and deflate never grows data by more than
#: a few bytes per block, so this bounds any honest file generously and stops a mirror
#: that streams forever.
DOWNLOAD_FACTOR = 2
DOWNLOAD_SLACK = 1 << 20

NUM_TRAIN = 55_000  # the first 55,000 training images; the last 5,000 validate


def mnist_dir(path: os.PathLike | str | None = None) -> Path:
    """Return the folder MNIST is read from and downloaded to (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The folder, when given; else ``$FASTMLP_DATA_DIR``, else the user cache.

    Returns
    -------
    pathlib.Path
        The folder (it may not exist yet).
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise reject("folder-type", "data_dir", type=type(path).__name__)
        return Path(path)
    if os.environ.get("FASTMLP_DATA_DIR"):
        return Path(os.environ["FASTMLP_DATA_DIR"])
    return user_cache_dir() / "mnist"


def mirrors_to_try(mirrors: Sequence[str] | None = None) -> tuple[str, ...]:
    """Return mirror base URLs: ``mirrors``, else ``$FASTMLP_MNIST_MIRRORS``, else ``MIRRORS``.

    Parameters
    ----------
    mirrors : sequence of str, optional
        Base URLs, in the order to try them.

    Returns
    -------
    tuple of str
        The base URLs, each ending in ``/``.

    Raises
    ------
    ValueError
        When ``mirrors`` is a single string or empty.
    """
    if mirrors is None and os.environ.get("FASTMLP_MNIST_MIRRORS"):
        mirrors = os.environ["FASTMLP_MNIST_MIRRORS"].replace(",", " ").split()
    if mirrors is None:
        mirrors = MIRRORS
    if isinstance(mirrors, str) or not mirrors:
        raise reject("mirrors", "mirrors", value=mirrors)
    return tuple(m if m.endswith("/") else m + "/" for m in mirrors)


def find_file(directory: Path, name: str) -> Path | None:
    """Return the first existing file for ``name`` in ``directory`` (or its ``mnist/``), or None.

    Parameters
    ----------
    directory : pathlib.Path
        The folder to look in.
    name : str
        A key of ``FILES``; also found with its last ``-`` as a ``.``
        (``train-images.idx3-ubyte``), and either name with ``.gz``.

    Returns
    -------
    pathlib.Path or None
        The first existing file, or None.
    """
    dotted = name[::-1].replace("-", ".", 1)[
        ::-1
    ]  # train-images-idx3-ubyte -> ...images.idx3-ubyte
    for folder in (directory, directory / "mnist"):
        for stem in (name, dotted):
            for suffix in ("", ".gz"):
                path = folder / (stem + suffix)
                if path.is_file():
                    return path
    return None


def find_mnist_dir(*candidates: os.PathLike | str | None) -> Path | None:
    """Return the first folder of ``candidates`` that holds all four files (None entries skipped).

    Returns None when none does. Useful to prefer, say, ``$FASTMLP_DATA_DIR``
    and then a shared folder, before falling back to downloading.

    Parameters
    ----------
    *candidates : str, os.PathLike or None
        Folders to try, in order; None and empty entries are skipped.

    Returns
    -------
    pathlib.Path or None
        The first folder holding the four files (not verified), or None.
    """
    for candidate in candidates:
        if candidate and all(find_file(Path(candidate), name) for name in FILES):
            return Path(candidate)
    return None


#: What to do when the files are not there (used by test and benchmark skips).
MISSING_HELP = (
    "MNIST files not found: set FASTMLP_DATA_DIR to a folder holding the four IDX files "
    "(raw or .gz), or run `fastmlp data mnist` on a machine with internet access"
)


def _check_digest(name, path, chunks: Iterable):
    """Raise DatasetError unless the bytes in ``chunks`` hash to the pinned digest of ``name``."""
    expected = FILES[name].sha256
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)  # any buffer, numpy arrays included: no copy
    actual = digest.hexdigest()
    if actual != expected:
        raise DatasetError(
            f"{path}: SHA-256 of the decompressed {name} is {actual}, expected {expected}: "
            "the file is corrupted or not the canonical MNIST file; delete it and fetch it again"
        )


def read_verified(path: os.PathLike | str, name: str) -> np.ndarray:
    """Return the array in MNIST file ``name`` at ``path``, after checking its SHA-256.

    Parameters
    ----------
    path : str or os.PathLike
        The file, raw or gzip-compressed.
    name : str
        Which MNIST file it should be: a key of ``FILES``.

    Returns
    -------
    numpy.ndarray of uint8
        The images ``(n, 28, 28)`` or the labels ``(n,)``, read-only.

    Raises
    ------
    DatasetError
        When the file is unreadable, malformed, larger than the MNIST file
        (once decompressed) or does not verify.
    """
    data = read_bytes(path, FILES[name].size)
    _check_digest(name, path, [data])
    return parse_idx(data, str(path), FILES[name].magic)


def fetch_mnist(
    data_dir: os.PathLike | str | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
) -> dict[str, Path]:
    """Find (or download) and verify the four MNIST files; return ``{name: path}``.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder to look in and download to (see ``mnist_dir``).
    download : bool
        Download missing files from the mirrors; otherwise a missing file is
        an error.
    mirrors : sequence of str, optional
        Base URLs to try in order (see ``mirrors_to_try``).
    timeout : float
        Seconds for each connection and read.
    deadline : float
        Seconds one attempt at downloading a file may take in all, connection
        included (see ``fastmlp.datasets.download.download``).

    Returns
    -------
    dict
        The path of each file, every one verified by its SHA-256.

    Raises
    ------
    DatasetError
        A file is missing (and not downloaded) or does not verify, or a
        download failed (the message names each URL and why).
    TypeError, ValueError
        ``timeout`` or ``deadline`` is not a finite number > 0.
    """
    paths = _locate(mnist_dir(data_dir), download, mirrors, timeout, deadline)
    for name, path in paths.items():
        read_verified(path, name)
    return paths


def _locate(directory, download, mirrors, timeout, deadline):
    """Return ``{name: path}``, downloading (and so verifying) the files not found."""
    as_positive("timeout", timeout)  # checked even when nothing is downloaded
    as_positive("deadline", deadline)
    if directory.exists() and not directory.is_dir():
        raise DatasetError(
            f"data_dir: expected a folder of MNIST files, found a file that is not one: {directory}"
        )
    paths = {name: find_file(directory, name) for name in FILES}
    for name, path in paths.items():
        if path is None:
            if not download:
                raise DatasetError(_missing_message(directory, name))
            paths[name] = _download(directory, name, mirrors_to_try(mirrors), timeout, deadline)
    return paths


def _missing_message(directory, name):
    return (
        f"{name}: not found in {directory} (raw or .gz); run `fastmlp data mnist --dir "
        f"{directory}` on a machine with internet access, or put the four MNIST files "
        f"({', '.join(FILES)}, optionally .gz) there by hand"
    )


def _download(directory, name, mirrors, timeout, deadline):
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"{directory}: cannot create the MNIST folder ({error})") from error
    dest = directory / f"{name}.gz"
    urls = [mirror + f"{name}.gz" for mirror in mirrors]
    size = FILES[name].size
    try:
        download_file(
            urls,
            dest,
            lambda path: _check_digest(name, path, iter_bytes(path, size)),
            max_bytes=DOWNLOAD_FACTOR * size + DOWNLOAD_SLACK,
            timeout=timeout,
            deadline=deadline,
        )
    except DatasetError as error:
        raise DatasetError(f"{error}\n{_missing_message(directory, name)}") from None
    return dest


def _decoded_path(name):
    return user_cache_dir() / "mnist-decoded" / f"{name}-{FILES[name].sha256[:16]}.npy"


def _read_cache(cached, name):
    """Return the array in the decoded cache file ``cached`` if it verifies, else None."""
    magic, _, size = FILES[name]
    try:
        # Mapped, not read: a header claiming a huge shape costs nothing until checked.
        mapped = np.load(cached, mmap_mode="r", allow_pickle=False)
        header = idx_header(magic, mapped.shape)
        if mapped.dtype == np.uint8 and len(header) + mapped.size <= size:
            _check_digest(name, cached, [header, mapped])
            return np.array(mapped)
    except (OSError, ValueError, BufferError, struct.error):
        pass  # unreadable or stale cache: decode the file again and rewrite it
    return None


def _load_array(path, name, cache):
    """Return the array of MNIST file ``name``, from the verified ``.npy`` cache when it holds one.

    The decoded array plus its IDX header is exactly the original file, so
    the cache is checked against the same pinned SHA-256.
    """
    cached = _decoded_path(name)
    array = _read_cache(cached, name) if cache and cached.is_file() else None
    if array is not None:
        return array
    array = read_verified(path, name)
    if cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as tmp, open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
        except OSError:
            pass  # the cache is an optimisation; an unwritable cache dir is not an error
    return array


def load_mnist(
    final: bool = False,
    flatten: bool = True,
    dtype: DTypeLike = "float32",
    data_dir: os.PathLike | str | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    cache: bool = True,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return MNIST as ``((xtrain, ytrain), (xval, yval), 10)``, pixels scaled to [0, 1].

    Parameters
    ----------
    final : bool
        False: train on the first 55,000 training images and validate on the
        last 5,000. True: train on all 60,000 and validate on the 10,000 test
        images.
    flatten : bool
        Rows of 784 pixels; False keeps images as ``(n, 28, 28)``.
    dtype : {"float32", "float64"}
        Dtype of the pixels. Labels are int64.
    data_dir : str or os.PathLike, optional
        Folder of the files (see the module docstring for the default).
    download : bool
        Download missing files from the mirrors.
    mirrors : sequence of str, optional
        Mirror base URLs to download from.
    cache : bool
        Keep a decoded ``.npy`` copy in the user cache, which makes later loads
        several times faster; it is verified by the same SHA-256 on every load.
    timeout : float
        Seconds for each connection and read when downloading.
    deadline : float
        Seconds one attempt at downloading a file may take in all.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), 10)``.
    """
    dtype = as_dtype(dtype)
    paths = _locate(mnist_dir(data_dir), download, mirrors, timeout, deadline)
    train_x, train_y, test_x, test_y = (_load_array(paths[n], n, cache) for n in FILES)

    def prepare(images, labels):
        x = images.reshape(len(images), -1) if flatten else images
        x = x.astype(dtype)
        x /= dtype.type(255)
        return x, labels.astype(np.int64)

    if final:
        return prepare(train_x, train_y), prepare(test_x, test_y), 10
    return (
        prepare(train_x[:NUM_TRAIN], train_y[:NUM_TRAIN]),
        prepare(train_x[NUM_TRAIN:], train_y[NUM_TRAIN:]),
        10,
    )
