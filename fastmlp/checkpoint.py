"""Training checkpoints: everything ``train`` needs to go on exactly where it stopped.

A checkpoint is one ``.npz`` archive, never a pickle: the parameters, the
momentum velocities, the best parameters of early stopping, the step losses
so far, and a JSON ``metadata`` entry with the completed epochs, the state
of the random generator that draws the sample orders, the early-stopping
counters, the rest of the ``History`` and the run's settings. ``train``
writes it atomically after every ``checkpoint_every`` epochs and at the end,
and with ``resume=True`` continues from it: the result is the same, bit for
bit, as a run that was never stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_path
from .history import History

FORMAT = "fastmlp-checkpoint"
FORMAT_VERSION = 1
#: Settings that must match for a checkpoint to continue a run (``epochs`` may grow).
MUST_MATCH = (
    "sizes",
    "activation",
    "dtype",
    "n_samples",
    "data_sha256",
    "batch_size",
    "shuffle",
    "seed",
    "backend",
    "momentum",
    "weight_decay",
    "lr",
    "lr_schedule",
    "early_stopping",
    "initial_epoch",
)


class CheckpointError(ValueError):
    """A checkpoint is unreadable, altered, or was written by a different run."""


@dataclass
class RunState:
    """The state of a run between epochs, besides the model's parameters and velocities."""

    rng: np.random.Generator
    best_loss: float = float("inf")
    best_params: np.ndarray | None = None
    waited: int = 0


def data_digest(*arrays: np.ndarray) -> str:
    """Return the SHA-256 of the arrays' bytes, shapes and dtypes (a run's data fingerprint)."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).data)
    return digest.hexdigest()


def save(
    path: str | os.PathLike,
    params: np.ndarray,
    velocities: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None,
    history: History,
    state: RunState,
) -> Path:
    """Write a checkpoint atomically; return its path.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.npz``).
    params : numpy.ndarray
        The model's parameter buffer.
    velocities : (tuple, tuple) or None
        Momentum velocities ``(VWs, vbs)``, or None without momentum.
    history : History
        The run's history: its completed epochs are written.
    state : RunState
        Random generator and early-stopping state.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    done = history.epochs * history.steps_per_epoch
    arrays = {"params": params, "step_loss": history.step_loss[:done]}
    flat = [] if velocities is None else [*velocities[0], *velocities[1]]
    arrays.update({f"velocity_{i}": v for i, v in enumerate(flat)})
    if state.best_params is not None:
        arrays["best_params"] = state.best_params
    record = {k: v for k, v in vars(history).items() if k != "step_loss"}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "epochs_done": history.epochs,
        "rng": state.rng.bit_generator.state,
        "best_loss": state.best_loss if np.isfinite(state.best_loss) else None,
        "waited": state.waited,
        "velocities": len(flat),
        "history": record,
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, metadata=np.array(json.dumps(metadata)), **arrays)
    return path


def restore(
    path: str | os.PathLike,
    params: np.ndarray,
    velocities: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None,
    config: dict[str, Any],
    state: RunState,
) -> History:
    """Load a checkpoint into ``params``, ``velocities`` and ``state``; return its history.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``save``.
    params, velocities
        Buffers of the run being resumed, overwritten in place.
    config : dict
        The resumed run's settings (``History.config``); those in
        ``MUST_MATCH`` must equal the checkpoint's.
    state : RunState
        Overwritten in place (its generator's state is set).

    Returns
    -------
    History
        The completed epochs' history, with ``config`` replaced by ``config``.

    Raises
    ------
    CheckpointError
        The file is unreadable, not a checkpoint, too new, altered, or from
        a run with other settings or data.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            metadata = json.loads(str(archive["metadata"]))
            arrays = {name: archive[name] for name in archive.files if name != "metadata"}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path}: not a readable checkpoint ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a fastmlp checkpoint")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path}: expected format version {FORMAT_VERSION}, "
            f"found {metadata.get('format_version')!r}"
        )
    try:
        saved = metadata["history"]["config"]
        for key in MUST_MATCH:
            if saved.get(key) != config.get(key):
                raise CheckpointError(
                    f"checkpoint {path}: written for {key}={saved.get(key)!r}, "
                    f"this run has {key}={config.get(key)!r}"
                )
        flat = [] if velocities is None else [*velocities[0], *velocities[1]]
        if metadata["velocities"] != len(flat):
            raise CheckpointError(f"checkpoint {path}: the momentum velocities do not match")
        targets = [("params", params), *((f"velocity_{i}", v) for i, v in enumerate(flat))]
        for name, target in targets:
            found = arrays[name]
            if found.shape != target.shape or found.dtype != target.dtype:
                raise CheckpointError(
                    f"checkpoint {path}: expected {name} of shape {target.shape} and dtype "
                    f"{target.dtype}, found {found.shape} {found.dtype}"
                )
        record = dict(metadata["history"], step_loss=arrays["step_loss"], config=config)
        history = History.from_dict(record)
        state.rng.bit_generator.state = metadata["rng"]
        best_loss = metadata["best_loss"]
        state.best_loss = float("inf") if best_loss is None else float(best_loss)
        state.best_params = arrays.get("best_params")
        state.waited = int(metadata["waited"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path}: invalid contents ({error!r})") from error
    params[...] = arrays["params"]
    for i, v in enumerate(flat):
        v[...] = arrays[f"velocity_{i}"]
    return history
