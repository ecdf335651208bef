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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_MAGIC = b"\x1f\x8b"
_UINT8 = 0x08


def read_bytes(path: os.PathLike | str) -> bytes:
    """Return a file's bytes, decompressed when it starts with the gzip magic (not by its name).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bytes
        Its contents, decompressed if gzip-compressed.

    Raises
    ------
    DatasetError
        For a file that cannot be read, or a gzip file that cannot be
        decompressed (truncated or corrupted).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if data[:2] == GZIP_MAGIC else data
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DatasetError(f"{path}: not a readable gzip file ({error})") from error
    except OSError as error:  # unreadable (permissions, a folder, an I/O error)
        raise DatasetError(f"{path}: cannot read the file ({error})") from error


def parse_idx(data: bytes, name: str, magic: int) -> np.ndarray:
    """Return the uint8 array stored in the IDX bytes ``data``, checking every header field.

    Parameters
    ----------
    data : bytes
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
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


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
