"""Model files: ``.npz`` archives of the parameters plus a JSON metadata entry, never pickles.

An archive holds ``params`` (the model's one parameter buffer) and
``metadata`` (a JSON string as a 0-d unicode array: format name and version,
sizes, activation, dtype, classes, fastmlp version). ``load`` reads it with
``allow_pickle=False`` and checks everything before building a model.
"""

import json
import zipfile
from pathlib import Path

import numpy as np

from ._files import atomic_path
from ._version import __version__
from .errors import ModelFileError

FORMAT = "fastmlp-model"
FORMAT_VERSION = 1


def save(model, path, classes=None, extra=None):
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
        "extra": extra or {},
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, params=model.params, metadata=np.array(json.dumps(metadata)))
    return path


def load(path, return_metadata=False):
    """Read a model written by ``save``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    return_metadata : bool
        Also return the metadata dict.

    Returns
    -------
    MLP or (MLP, dict)

    Raises
    ------
    ModelFileError
        The file is missing, truncated, tampered with, from a newer format
        version, or not a fastmlp model.
    """
    from .model import MLP

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
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(f"{path}: not a readable fastmlp model file ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a fastmlp model file (no {FORMAT!r} metadata)")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version!r} is newer than this fastmlp reads "
            f"({FORMAT_VERSION}); upgrade fastmlp"
        )
    try:
        model = MLP(metadata["sizes"], metadata["activation"], metadata["dtype"], seed=None)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid model metadata ({error})") from error
    if params.dtype != model.dtype or params.shape != model.params.shape:
        raise ModelFileError(
            f"{path}: expected params of shape {model.params.shape} and dtype {model.dtype}, "
            f"found {params.shape} {params.dtype}"
        )
    if not np.isfinite(params).all():
        raise ModelFileError(f"{path}: parameters contain non-finite values")
    model.params[...] = params
    return (model, metadata) if return_metadata else model
