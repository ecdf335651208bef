"""Model files: ``.npz`` archives of the parameters plus a JSON metadata entry, never pickles.

An archive (``fastmlp._archive``, shared with checkpoints) holds ``params``
(the model's one parameter buffer) and ``metadata`` (JSON: format name and
version, sizes, activation, output (absent from older files: softmax), dtype,
classes and their dtype, fastmlp version, extra values). ``load`` reads it
within bounds (the metadata at most ``_archive.METADATA_MAX_BYTES``, the
parameters only once their header matches the count and dtype the metadata
implies, so loading never needs more than about twice the model's size) and
checks everything before building a model. A file written by
``MLPClassifier.save`` also carries the estimator's parameters, and ``load``
returns the estimator: the layers above this one register a reader for each
kind of object a file can hold (``register_reader``; ``import fastmlp``
registers the estimator's), so this module imports none of them.

Format version 2 stores a SHA-256 over the metadata and the parameters
(``sha256``); a version 2 file without a valid one is refused. Version 1
files (fastmlp before version 2 of the format) keep loading: their digest
(``params_sha256``, optional) covers the parameters only, so ``load`` warns
that their metadata is not protected.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _archive
from ._checks import as_dtype, as_sizes
from ._version import __version__
from .errors import ModelFileError
from .model import MLP, parameter_count, register_writer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

FORMAT = "fastmlp-model"
FORMAT_VERSION = 2

#: The reader of each kind of object a file can hold besides a bare MLP, by the name the
#: writer stored in ``metadata["extra"]["estimator"]``.
_READERS: dict[str, Callable[[MLP, dict[str, Any]], Any]] = {}


def register_reader(kind: str, reader: Callable[[MLP, dict[str, Any]], Any]) -> None:
    """Make ``load`` return ``reader(model, metadata)`` for the files of ``kind``.

    Parameters
    ----------
    kind : str
        The name a writer stores as ``extra={"estimator": kind}`` in ``save``.
    reader : callable
        Takes the file's MLP and metadata, returns the object; a KeyError,
        TypeError or ValueError it raises becomes a ``ModelFileError``.
    """
    _READERS[kind] = reader


def save(
    model: MLP,
    path: str | os.PathLike,
    classes: Sequence[Any] | np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``path`` (``.npz``) atomically; return the path.

    Parameters
    ----------
    model : MLP
        The model to save.
    path : str or os.PathLike
        Destination; written to a temporary file first, then renamed, so an
        interrupted save leaves the previous file intact.
    classes : sequence, optional
        Class labels to store (the estimator's ``classes_``); JSON-serialisable.
    extra : dict, optional
        More JSON-serialisable metadata.

    Returns
    -------
    pathlib.Path
    """
    model.check_network()  # a tampered model must not be written as if it were whole
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": __version__,
        "sizes": list(model.sizes),
        "activation": model.activation,
        "output": model.output,
        "dtype": model.dtype.name,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "classes_dtype": None if classes is None else np.asarray(classes).dtype.str,
        "extra": extra or {},
    }
    return _archive.write(path, metadata, {"params": model.params})


def classes_array(metadata: dict[str, Any]) -> np.ndarray:
    """Return the class labels stored in ``metadata`` as an array of their saved dtype."""
    classes, dtype = metadata.get("classes"), metadata.get("classes_dtype")
    try:
        return np.asarray(classes, dtype=None if dtype is None else np.dtype(dtype))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"invalid classes in the model metadata ({error})") from error


def load(path: str | os.PathLike, return_metadata: bool = False) -> Any:
    """Read a model written by ``save``, or an estimator written by ``MLPClassifier.save``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    return_metadata : bool
        Also return the metadata dict.

    Returns
    -------
    MLP, MLPClassifier, or either with the metadata dict
        An ``MLPClassifier`` when the file was written by one (the object of
        the reader registered for the file's kind), else an ``MLP``.

    Raises
    ------
    ModelFileError
        The file is missing, truncated, too large for what it claims to
        hold, tampered with, from a newer format version, or not a fastmlp
        model.

    Warns
    -----
    UserWarning
        Once for a format version 1 file: its metadata is not protected by its digest.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, found {path!r}")
    path = Path(path)
    with _archive.Reader(path, ModelFileError, str(path), "fastmlp model file") as archive:
        metadata = archive.metadata
        version = _check_format(path, metadata, archive.names)
        model = _read_model(path, archive)
        if version >= 2:
            archive.verify()
    if version == 1:
        _check_version_1(path, metadata, model.params)
    result = _read_registered(path, model, metadata)
    return (result, metadata) if return_metadata else result


def _read_registered(path, model, metadata):
    """Return the object the registered reader of the file's kind builds, else ``model``."""
    extra = metadata.get("extra")
    reader = _READERS.get(extra.get("estimator")) if isinstance(extra, dict) else None
    if reader is None:
        return model
    try:
        result = reader(model, metadata)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid estimator metadata ({error})") from error
    # Only after the reader: it reports unreadable classes in its own words.
    if metadata.get("classes") is None:
        return result  # a regressor's file: no classes to match
    classes = classes_array(metadata)
    counts = _class_counts(model)
    if classes.ndim != 1 or len(classes) not in counts:
        expected = " or ".join(map(str, counts))
        raise ModelFileError(
            f"{path}: expected {expected} classes for the network's outputs, "
            f"found {classes.tolist()}"
        )
    return result


def _class_counts(model):
    """Return the numbers of classes ``model``'s outputs can stand for.

    A softmax unit per class; one logistic unit for one class or two (binary),
    else a logistic unit per label (multilabel); other outputs hold no classes.
    """
    if model.output == "softmax":
        return (model.sizes[-1],)
    if model.output == "logistic":
        return (1, 2) if model.sizes[-1] == 1 else (model.sizes[-1],)
    return ()


def _check_format(path, metadata, names):
    """Return the file's format version after checking it is a model file this version reads."""
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a fastmlp model file (no {FORMAT!r} metadata)")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: expected a format version >= 1, found {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version!r} is newer than this fastmlp reads "
            f"({FORMAT_VERSION}); upgrade fastmlp"
        )
    if names != {"params"}:
        raise ModelFileError(
            f"{path}: expected the entries params and metadata, found {sorted(names)} and metadata"
        )
    return version


def _read_model(path, archive):
    """Build the model the metadata describes from the parameters, read only if they fit it."""
    metadata = archive.metadata
    try:
        sizes = as_sizes(metadata["sizes"])
        dtype = as_dtype(metadata["dtype"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid model metadata ({error})") from error
    # The count and dtype are checked against the header before a byte of the
    # parameters is read, and the model is built only after: a few tampered
    # bytes must not make load allocate gigabytes.
    params = archive.array("params", (parameter_count(sizes),), dtype)
    try:
        # Files written before models had outputs were softmax.
        output = metadata.get("output", "softmax")
        model = MLP(sizes, metadata["activation"], dtype, seed=None, output=output)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid model metadata ({error})") from error
    if not np.isfinite(params).all():
        raise ModelFileError(f"{path}: parameters contain non-finite values")
    model.params[...] = params
    return model


def _check_version_1(path, metadata, params):
    """Check a version 1 file's optional digest of the parameters, and warn about the rest."""
    digest = metadata.get("params_sha256")
    if digest is not None and digest != hashlib.sha256(params.data).hexdigest():
        raise ModelFileError(
            f"{path}: the parameters do not match the digest stored with them "
            "(the file was changed after it was written)"
        )
    warnings.warn(
        f"{path}: a format version 1 model file, whose digest does not cover its metadata "
        "(sizes, activation, classes): a change to them would go unnoticed; save the model "
        "again to write format version 2",
        UserWarning,
        stacklevel=3,
    )


register_writer(save)
