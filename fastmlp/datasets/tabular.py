"""Your own data: a ``.csv`` table or an ``.npz`` of arrays ``X`` and ``y``, checked as read.

A ``.csv`` file has a header row of column names; one column (the last unless
``label`` names another) holds the class labels, every other column a numeric
feature. An ``.npz`` file holds a 2-D numeric array ``X`` and a 1-D array ``y``
(other entries are ignored); it is read without pickles, and its sizes are
checked against ``MAX_BYTES`` from the headers before any data is read.

Labels may be integers (whole-number floats too) or text; either way they are
mapped to ``0..k-1`` in sorted order and ``Table.classes`` keeps the original
values. Features must be finite numbers: NaN (a missing value) is refused.
Features are used as they are: scale them first (``fastmlp.datasets.standardize``)
if their ranges differ much.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import numpy as np

from .. import _archive
from ..errors import DatasetError

#: The file types ``read_table`` reads, by suffix.
TABLE_SUFFIXES = (".csv", ".npz")
#: Largest ``X`` plus ``y`` an ``.npz`` data file may hold, in bytes (as its headers say).
MAX_BYTES = 2 * 2**30

__all__ = ["MAX_BYTES", "TABLE_SUFFIXES", "Table", "read_table"]


@dataclasses.dataclass(frozen=True)
class Table:
    """A data file's rows: features, labels as class indices, and the original labels.

    Attributes
    ----------
    X : numpy.ndarray of float64, shape (n, d)
        The features, all finite.
    y : numpy.ndarray of int64, shape (n,)
        Each row's class index, in ``[0, len(classes))``.
    classes : numpy.ndarray
        The label of each class index, sorted (integers or strings).
    features : tuple of str
        The feature columns' names (an ``.npz`` file's are ``x0``, ``x1``, ...).
    """

    X: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    features: tuple[str, ...]


def read_table(path: str | os.PathLike, label: str | None = None) -> Table:
    """Read a ``.csv`` or ``.npz`` data file; every problem is a ``DatasetError`` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix says its type.
    label : str, optional
        ``.csv`` only: the name of the label column (default: the last column).

    Returns
    -------
    Table
        The features, the labels mapped to ``0..k-1`` and the original labels.

    Raises
    ------
    DatasetError
        The file is missing, empty, ragged, or has a non-numeric or non-finite
        feature, a missing label column, or labels that are neither integers
        nor text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DatasetError(f"{path}: expected a {' or '.join(TABLE_SUFFIXES)} file")
    if not path.is_file():
        raise DatasetError(f"{path}: expected a data file, found no file there")
    if suffix == ".npz":
        if label is not None:
            raise DatasetError(
                f"label: expected a .csv file to pick a column of, found {path} (its labels are y)"
            )
        return _read_npz(path)
    return _read_csv(path, label)


def _read_csv(path, label):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):  # blank lines carry nothing
                    rows.append([cell.strip() for cell in row])
                    lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path}: not a readable .csv file ({error})") from error
    if not rows:
        raise DatasetError(f"{path}: expected a header row and data rows, found an empty file")
    header, rows, lines = rows[0], rows[1:], lines[1:]
    if not rows:
        raise DatasetError(f"{path}: expected data rows after the header, found none")
    for row, line in zip(rows, lines):
        if len(row) != len(header):
            raise DatasetError(
                f"{path}, line {line}: expected {len(header)} fields as in the header, "
                f"found {len(row)}"
            )
    column = _label_column(path, header, label)
    if len(header) < 2:
        raise DatasetError(f"{path}: expected feature columns besides the label, found none")
    features = [name for i, name in enumerate(header) if i != column]
    cells = [[cell for i, cell in enumerate(row) if i != column] for row in rows]
    X = np.empty((len(cells), len(features)))
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            try:
                X[r, c] = float(cell)
            except ValueError:
                X[r, c] = np.nan  # reported below, with NaN and inf themselves
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        r, c = (int(i) for i in bad[0])
        raise DatasetError(
            f"{path}, line {lines[r]}, column {features[c]!r}: expected a finite number, "
            f"found {cells[r][c]!r}"
        )
    y, classes = _classes(path, [row[column] for row in rows], lines)
    return Table(X, y, classes, tuple(features))


def _label_column(path, header, label):
    if label is None:
        return len(header) - 1
    if header.count(label) != 1:
        found = "it twice" if label in header else repr(label)
        raise DatasetError(
            f"label: expected one of the columns of {path} ({', '.join(header)}), found {found}"
        )
    return header.index(label)


def _classes(path, labels, lines):
    """Return the labels as class indices and the sorted distinct labels (ints, else text)."""
    for label, line in zip(labels, lines):
        if not label:
            raise DatasetError(f"{path}, line {line}: expected a label, found an empty field")
    try:
        numbers = np.array(labels, dtype=np.float64)
    except ValueError:
        classes, y = np.unique(np.array(labels), return_inverse=True)
        return y.astype(np.int64), classes
    return _integer_classes(path, numbers, lambda i: f"line {lines[i]}")


def _integer_classes(path, values, where):
    """Map whole-number ``values`` to class indices; ``where(i)`` names row ``i`` in messages."""
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            first = int(np.argmin(whole))
            raise DatasetError(
                f"{path}, {where(first)}: expected an integer or text class label, "
                f"found {values[first]!r}"
            )
        values = values.astype(np.int64)
    classes, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64), classes


def _read_npz(path):
    with _archive.Reader(path, DatasetError, str(path), ".npz data file", metadata=False) as f:
        (x_shape, x_dtype), (y_shape, y_dtype) = f.header("X"), f.header("y")
        if len(x_shape) != 2 or x_dtype.kind not in "iuf" or 0 in x_shape:
            raise f.fail(f"expected X a non-empty 2-D numeric array, found {x_shape} {x_dtype}")
        if y_shape != x_shape[:1] or y_dtype.kind not in "iufU":
            raise f.fail(
                f"expected y a 1-D array of {x_shape[0]} integer or text labels (one per row "
                f"of X), found {y_shape} {y_dtype}"
            )
        size = x_dtype.itemsize * x_shape[0] * x_shape[1] + y_dtype.itemsize * y_shape[0]
        if size > MAX_BYTES:
            raise f.fail(f"expected X and y of at most {MAX_BYTES} bytes, found {size}")
        X = f.array("X", x_shape, x_dtype).astype(np.float64)
        y = f.array("y", y_shape, y_dtype)
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        r, c = (int(i) for i in bad[0])
        raise DatasetError(f"{path}: expected finite numbers in X, found {X[r, c]} at [{r}, {c}]")
    if y.dtype.kind == "U":
        classes, y = np.unique(y, return_inverse=True)
        y = y.astype(np.int64)
    else:
        y, classes = _integer_classes(path, y, lambda i: f"y[{i}]")
    return Table(X, y, classes, tuple(f"x{i}" for i in range(X.shape[1])))
