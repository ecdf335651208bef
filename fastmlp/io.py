"""Model files: ``.npz`` archives of the parameters plus a JSON metadata entry, never pickles.

An archive holds ``params`` (the model's one parameter buffer) and
``metadata`` (a JSON string as a 0-d unicode array: format name and version,
sizes, activation, dtype, classes and their dtype, the SHA-256 of the
parameter bytes, fastmlp version). ``load`` reads it with
``allow_pickle=False`` and checks everything before building a model. A file
written by ``MLPClassifier.save`` also carries the estimator's parameters,
and ``load`` returns the estimator.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._files import atomic_path
from ._version import __version__
from .errors import ModelFileError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .estimator import MLPClassifier
    from .model import MLP

FORMAT = "fastmlp-model"
FORMAT_VERSION = 1


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
    """
    path = Path(path)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": __version__,
        "sizes": list(model.sizes),
        "activation": model.activation,
        "dtype": model.dtype.name,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "classes_dtype": None if classes is None else np.asarray(classes).dtype.str,
        "params_sha256": _digest(model.params),
        "extra": extra or {},
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, params=model.params, metadata=np.array(json.dumps(metadata)))
    return path


def _digest(params):
    return hashlib.sha256(np.ascontiguousarray(params).tobytes()).hexdigest()


def classes_array(metadata: dict[str, Any]) -> np.ndarray:
    """Return the class labels stored in ``metadata`` as an array of their saved dtype."""
    classes, dtype = metadata.get("classes"), metadata.get("classes_dtype")
    try:
        return np.asarray(classes, dtype=None if dtype is None else np.dtype(dtype))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"invalid classes in the model metadata ({error})") from error


def load(
    path: str | os.PathLike, return_metadata: bool = False
) -> MLP | MLPClassifier | tuple[MLP | MLPClassifier, dict[str, Any]]:
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
        An ``MLPClassifier`` when the file was written by one, else an ``MLP``.

    Raises
    ------
    ModelFileError
        The file is missing, truncated, tampered with, from a newer format
        version, or not a fastmlp model.
    """
    from .model import MLP, _as_sizes, parameter_count

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, found {path!r}")
    path = Path(path)
    try:
        # Open the file ourselves: np.load leaks its handle when the zip is broken.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            entries = sorted(archive.files)
            if entries != ["metadata", "params"]:
                raise ModelFileError(
                    f"{path}: expected the entries params and metadata, found {entries}"
                )
            metadata = json.loads(str(archive["metadata"]))
            params = archive["params"]
    except ModelFileError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        KeyError,
        TypeError,  # a .npy file: np.load gives an array, not an archive
        AttributeError,
        RecursionError,  # JSON nested too deep to parse
    ) as error:
        raise ModelFileError(
            f"{path}: not a readable fastmlp model file ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a fastmlp model file (no {FORMAT!r} metadata)")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version!r} is newer than this fastmlp reads "
            f"({FORMAT_VERSION}); upgrade fastmlp"
        )
    try:
        sizes = _as_sizes(metadata["sizes"])
        # Check the stored parameters' count before building a model of that size:
        # a few tampered bytes of metadata must not make load allocate gigabytes.
        expected = parameter_count(sizes)
        if params.shape != (expected,):
            raise ModelFileError(
                f"{path}: expected params of shape ({expected},) for sizes {list(sizes)}, "
                f"found {params.shape} {params.dtype}"
            )
        model = MLP(sizes, metadata["activation"], metadata["dtype"], seed=None)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid model metadata ({error})") from error
    if params.dtype != model.dtype or params.shape != model.params.shape:
        raise ModelFileError(
            f"{path}: expected params of shape {model.params.shape} and dtype {model.dtype}, "
            f"found {params.shape} {params.dtype}"
        )
    if not np.isfinite(params).all():
        raise ModelFileError(f"{path}: parameters contain non-finite values")
    digest = metadata.get("params_sha256")
    if digest is not None and digest != _digest(params):
        raise ModelFileError(
            f"{path}: the parameters do not match the digest stored with them "
            "(the file was changed after it was written)"
        )
    model.params[...] = params
    result = model
    extra = metadata.get("extra")
    if isinstance(extra, dict) and extra.get("estimator") == "MLPClassifier":
        from .estimator import MLPClassifier

        try:
            result = MLPClassifier._from_file(model, metadata)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: invalid estimator metadata ({error})") from error
        if result.classes_.shape != (model.n_classes,):
            raise ModelFileError(
                f"{path}: expected {model.n_classes} classes for the network's outputs, "
                f"found {result.classes_.tolist()}"
            )
    return (result, metadata) if return_metadata else result
