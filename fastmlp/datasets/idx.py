"""The IDX file format of MNIST: parse and check, raw or gzip-compressed.

An IDX file is a 4-byte big-endian magic number (0x0000, a type code, the
number of dimensions), one big-endian uint32 per dimension, then the data.
MNIST images have magic 2051 (uint8, 3 dimensions), labels 2049 (uint8, 1).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_MAGIC = b"\x1f\x8b"
_UINT8 = 0x08
_CHUNK = 1 << 20


def iter_bytes(path: os.PathLike | str, limit: int) -> Iterator[bytes]:
    """Yield a file's bytes in chunks, decompressed when it starts with the gzip magic.

    Nothing beyond one chunk (1 MiB) is held, and reading stops as soon as
    more than ``limit`` bytes come out, so a gzip bomb or a huge file costs
    neither memory nor time.

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip-compressed or not by its content, not by its name.
    limit : int
        The most (decompressed) bytes the file may hold.

    Yields
    ------
    bytes
        Consecutive pieces of the (decompressed) contents.

    Raises
    ------
    DatasetError
        For a file that cannot be read, a gzip file that cannot be
        decompressed (truncated or corrupted), or one holding more than
        ``limit`` bytes.
    """
    path, total = Path(path), 0
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            # Reading limit + 1 bytes at most tells "exactly limit" from "more".
            while chunk := stream.read(min(_CHUNK, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    what = "once decompressed" if compressed else "in the file"
                    raise DatasetError(f"{path}: expected at most {limit} bytes {what}, found more")
                yield chunk
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DatasetError(f"{path}: not a readable gzip file ({error})") from error
    except OSError as error:  # unreadable (permissions, a folder, an I/O error)
        raise DatasetError(f"{path}: cannot read the file ({error})") from error


def read_bytes(path: os.PathLike | str, limit: int) -> bytearray:
    """Return a file's bytes, decompressed when gzip-compressed, if there are at most ``limit``.

    Parameters
    ----------
    path : str or os.PathLike
        The file (see ``iter_bytes``).
    limit : int
        The most (decompressed) bytes the file may hold.

    Returns
    -------
    bytearray
        Its contents, decompressed if gzip-compressed.

    Raises
    ------
    DatasetError
        As ``iter_bytes``.
    """
    # Grown in place, unlike joining the chunks, which briefly holds the file twice.
    data = bytearray()
    for chunk in iter_bytes(path, limit):
        data += chunk
    return data


def parse_idx(data: bytes | bytearray, name: str, magic: int) -> np.ndarray:
    """Return the uint8 array stored in the IDX bytes ``data``, checking every header field.

    Parameters
    ----------
    data : bytes or bytearray
        The whole (decompressed) file.
    name : str
        What to call the file in errors.
    magic : int
        The magic number the file must have (2051 images, 2049 labels).

    Returns
    -------
    numpy.ndarray of uint8
        Shaped by the header's dimensions; a read-only view of ``data``.

    Raises
    ------
    DatasetError
        For an empty or truncated file, a wrong magic number, or a length
        that does not match the header's dimensions.
    """
    if len(data) < 4:
        raise DatasetError(f"{name}: expected an IDX file, found {len(data)} bytes")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DatasetError(f"{name}: expected IDX magic number {magic}, found {found}")
    if (magic >> 8) & 0xFF != _UINT8:
        raise DatasetError(f"{name}: expected uint8 IDX data, found type code {magic >> 8:#x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(
            f"{name}: expected a {header}-byte header for {ndim} dimensions, "
            f"found {len(data)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "trailing bytes"
        raise DatasetError(
            f"{name}: expected {expected} bytes for shape {shape}, found {len(data)} ({problem})"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    array.flags.writeable = False  # a bytearray's view would be writable
    return array


def idx_header(magic: int, shape: Sequence[int]) -> bytes:
    """Return the IDX header bytes for ``magic`` and ``shape`` (the inverse of the parse).

    Parameters
    ----------
    magic : int
        The magic number (2051 images, 2049 labels).
    shape : sequence of int
        The size of each dimension.

    Returns
    -------
    bytes
        The magic number and the dimensions, each a big-endian uint32.
    """
    return struct.pack(f">I{len(shape)}I", magic, *shape)
