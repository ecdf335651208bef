"""The one archive format of model files and checkpoints, read within known bounds.

An archive is an ``.npz`` (a zip of ``.npy`` members, never pickles) plus a
``metadata`` member: JSON text as a 0-d unicode array. ``write`` adds to the
metadata a SHA-256 (key ``sha256``) over the canonical JSON of the metadata
without that key and every array's name, dtype, shape and bytes, so that
changing any of them is detected.

``Reader`` reads nothing it has not bounded first. The metadata member may
hold at most ``METADATA_MAX_BYTES`` (checked from the zip directory before it
is read). An array is read only when the caller names the shape and dtype it
needs: its ``.npy`` header must say exactly that, and the header plus that
much data must fill the member as the zip directory records it, before a
byte of data is read. An archive therefore never costs more memory than the
arrays its reader expects, however large its entries claim to be.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_path

#: Largest metadata member read (numpy stores text as UTF-32: 4 Mi characters).
#: Generous for what metadata holds (sizes, settings, class labels, curves).
METADATA_MAX_BYTES = 16 * 2**20
DIGEST_KEY = "sha256"
_METADATA = "metadata"
_READ_CHUNK = 2**20  # bytes read at a time, so reading never holds a second copy
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
#: What a damaged zip or .npy member raises while it is read.
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError)


def digest(metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """Return the SHA-256 over ``metadata`` (canonical JSON, without its digest) and ``arrays``.

    Parameters
    ----------
    metadata : dict
        JSON-serialisable metadata; a ``sha256`` key in it is left out.
    arrays : dict of str to numpy.ndarray
        The archive's arrays, taken in name order with their dtype and shape.

    Returns
    -------
    str
        The hex digest.
    """
    content = {k: v for k, v in metadata.items() if k != DIGEST_KEY}
    hasher = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(arrays):
        array = arrays[name]
        hasher.update(f"\0{name}\0{array.dtype.str}{array.shape}\0".encode())
        hasher.update(np.ascontiguousarray(array).data)
    return hasher.hexdigest()


def write(path: str | os.PathLike, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and ``metadata`` (with its digest added) atomically; return the path.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.npz``).
    metadata : dict
        JSON-serialisable metadata.
    arrays : dict of str to numpy.ndarray
        The arrays to store (plain dtypes; not named ``metadata``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        The metadata is larger than ``METADATA_MAX_BYTES`` (no reader would accept it).
    """
    path = Path(path)
    text = np.array(json.dumps({**metadata, DIGEST_KEY: digest(metadata, arrays)}))
    if text.nbytes > METADATA_MAX_BYTES:
        raise ValueError(
            f"metadata: expected at most {METADATA_MAX_BYTES} bytes as stored, found "
            f"{text.nbytes} (too many or too long class labels or extra values?)"
        )
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{_METADATA: text}, **arrays)
    return path


class Reader:
    """An archive open for bounded reading: its metadata is read on opening, arrays on request.

    Parameters
    ----------
    path : str or os.PathLike
        The archive.
    error : type of Exception
        Raised (with ``label`` first in its message) for anything wrong with the file.
    label, what : str
        How messages name the file (its path) and the kind of file it must be.
    metadata : bool
        The archive must hold a metadata entry. Without it (a plain ``.npz`` of
        arrays, such as a data file), ``self.metadata`` is empty.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        error: type[Exception],
        label: str,
        what: str,
        metadata: bool = True,
    ):
        self.error, self.label, self.what = error, label, what
        self.arrays: dict[str, np.ndarray] = {}
        with self._reading():
            self._file = open(path, "rb")
        try:
            with self._reading():
                self._zip = zipfile.ZipFile(self._file)
            self._members = self._check_directory(metadata)
            self.names = set(self._members) - {_METADATA}
            self._headers = self._scan_headers()
            self.metadata = self._read_metadata() if metadata else {}
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()
        self._file.close()

    def fail(self, message: str) -> Exception:
        """Return the error to raise for ``message`` about this file."""
        return self.error(f"{self.label}: {message}")

    @contextlib.contextmanager
    def _reading(self):
        """Turn what a damaged file raises while being read into ``self.error``."""
        try:
            yield
        except _UNREADABLE as error:
            if isinstance(error, self.error):
                raise
            raise self.fail(
                f"not a readable {self.what} ({type(error).__name__}: {error})"
            ) from error

    def _check_directory(self, metadata: bool) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        members = {info.filename.removesuffix(".npy"): info for info in infos}
        names = sorted(info.filename for info in infos)
        if len(members) != len(infos) or not all(name.endswith(".npy") for name in names):
            raise self.fail(f"expected distinct .npy entries, found {names[:10]}")
        if metadata and _METADATA not in members:
            raise self.fail(f"not a {self.what}: expected a metadata entry, found {names[:10]}")
        for info in infos:
            if info.flag_bits & 0x1 or info.compress_type not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
            ):
                raise self.fail(
                    f"expected entries stored or deflated, not encrypted; found {info.filename} "
                    f"with compression {info.compress_type} and flags {info.flag_bits:#x}"
                )
        size = members[_METADATA].file_size if _METADATA in members else 0
        if size > METADATA_MAX_BYTES:
            raise self.fail(
                f"expected a metadata entry of at most {METADATA_MAX_BYTES} bytes, found {size}"
            )
        return members

    def _scan_headers(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Read every member's ``.npy`` header (no data): refuse pickles and sizes that disagree."""
        headers = {}
        for name in self._members:
            with self._member(name) as (_, shape, _, dtype):
                headers[name] = shape, dtype
        return headers

    @contextlib.contextmanager
    def _member(self, name):
        """Open member ``name`` past its header; yield it with the shape and dtype it holds."""
        info = self._members[name]
        with self._reading(), self._zip.open(info) as member:
            read_header = _HEADER_READERS.get(np.lib.format.read_magic(member))
            if read_header is None:
                raise ValueError(f"entry {info.filename} has an unknown .npy version")
            shape, fortran, dtype = read_header(member)
            if dtype.hasobject:
                raise ValueError(f"entry {info.filename} holds Python objects (never unpickled)")
            size = math.prod(shape) * dtype.itemsize
            if member.tell() + size != info.file_size:
                raise ValueError(
                    f"entry {info.filename} holds {info.file_size} bytes, its header says "
                    f"{member.tell()} + {size}"
                )
            yield member, shape, fortran, dtype

    def _read_metadata(self) -> dict[str, Any]:
        shape, dtype = self._headers[_METADATA]
        if shape != () or dtype.kind != "U":
            raise self.fail(f"not a {self.what}: metadata is {shape} {dtype}, not text")
        text = str(self._read(_METADATA))
        try:
            metadata = json.loads(text)
        except (ValueError, RecursionError) as error:
            message = f"not a readable {self.what} (metadata is not JSON: {error})"
            raise self.fail(message) from error
        if not isinstance(metadata, dict):
            raise self.fail(f"not a {self.what} (metadata is not a JSON object)")
        return metadata

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """Return the shape and dtype the entry ``name`` holds, as its ``.npy`` header says.

        Parameters
        ----------
        name : str
            The entry.

        Returns
        -------
        shape : tuple of int
        dtype : numpy.dtype
            Checked against the entry's size in the zip directory; no data is read.
        """
        if name not in self.names:
            raise self.fail(f"expected an entry {name}, found {sorted(self.names)}")
        return self._headers[name]

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Read the array ``name``, refused before its data unless it has ``shape`` and ``dtype``.

        Parameters
        ----------
        name : str
            The entry.
        shape : tuple of int
            The shape the caller needs.
        dtype : numpy.dtype
            The dtype the caller needs.

        Returns
        -------
        numpy.ndarray
            A new writable array.
        """
        found = self.header(name)
        if found != (tuple(shape), np.dtype(dtype)):
            raise self.fail(
                f"expected {name} of shape {tuple(shape)} and dtype {np.dtype(dtype)}, "
                f"found {found[0]} {found[1]}"
            )
        self.arrays[name] = self._read(name)
        return self.arrays[name]

    def _read(self, name):
        """Read member ``name`` (its header already checked), in chunks: no second copy."""
        with self._member(name) as (member, shape, fortran, dtype):
            size = math.prod(shape) * dtype.itemsize
            data = np.empty(size, np.uint8)
            for start in range(0, size, _READ_CHUNK):
                chunk = member.read(min(_READ_CHUNK, size - start))
                if not chunk:
                    raise EOFError(f"entry {name} ends after {start} of {size} bytes")
                data[start : start + len(chunk)] = np.frombuffer(chunk, np.uint8)
            return data.view(dtype).reshape(shape, order="F" if fortran else "C")

    def verify(self) -> None:
        """Check that every array was read and the stored digest covers exactly what was read."""
        unread = sorted(self.names - set(self.arrays))
        if unread:
            raise self.fail(f"unexpected entries {unread}")
        if self.metadata.get(DIGEST_KEY) != digest(self.metadata, self.arrays):
            raise self.fail(
                "the contents do not match the digest stored with them "
                "(the file was changed after it was written)"
            )
