"""Training checkpoints: everything ``train`` needs to go on exactly where it stopped.

A checkpoint is one archive (``fastmlp._archive``, shared with model files;
never a pickle): the parameters, the optimizer state, the best parameters
of early stopping, the step losses and the per-epoch records so far as
arrays, and JSON metadata with the completed epochs, the state of the random
generator that draws the sample orders, the early-stopping counters and the
run's settings, all covered by one SHA-256. ``train`` writes it atomically
after every ``checkpoint_every`` epochs and at the end, and with
``resume=True`` continues from it: the result is the same, bit for bit, as a
run that was never stopped.

A checkpoint is not trusted: ``restore`` reads only arrays of the shapes and
dtypes the resumed run needs, checks every value against that run (the
settings of its fingerprint, ``fastmlp.settings.fingerprint()``, including
the digests of the training and validation data, and the learning rates the
run's schedule gives the completed epochs) and the digest, and only then
writes into the run's buffers.

Callbacks with state (``fastmlp.callbacks.Callback.state_dict``, such as
early stopping's) are saved generically: their JSON values beside the
other metadata, their parameter-shaped arrays beside the parameters.
"""

from __future__ import annotations

import hashlib
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _archive
from .history import History

FORMAT = "fastmlp-checkpoint"
FORMAT_VERSION = 2
#: The per-epoch records of ``History``, stored as float64 arrays of one value per epoch.
PER_EPOCH = (
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "epoch_time",
    "samples_per_second",
)


class CheckpointError(ValueError):
    """A checkpoint is unreadable, altered, or was written by a different run."""


#: Metadata keys and arrays of the checkpoint itself, which no callback state may take.
RESERVED = frozenset(
    {"format", "format_version", "epochs_done", "rng", "velocities", "history", "sha256"}
    | {"params", "step_loss", *PER_EPOCH}
)


@dataclass
class RunState:
    """The state of a run between epochs, besides the model's parameters and velocities.

    Attributes
    ----------
    rng : numpy.random.Generator
        The generator that draws the sample orders.
    callbacks : sequence
        The run's callbacks with state (``state_dict``/``load_state_dict``).
    """

    rng: np.random.Generator
    callbacks: Sequence[object] = field(default_factory=tuple)


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
    velocities: Sequence[np.ndarray] | None,
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
    velocities : sequence of numpy.ndarray, or None
        The optimizer's state arrays (``fastmlp.optimizers.State.flat``:
        momentum's velocities, or Adam's moments and step count), or None.
    history : History
        The run's history: its completed epochs are written.
    state : RunState
        Random generator and the callbacks' state.

    Returns
    -------
    pathlib.Path
    """
    done = history.epochs
    arrays = {"params": params, "step_loss": history.step_loss[: done * history.steps_per_epoch]}
    flat = _flat(velocities)
    arrays.update({f"velocity_{i}": v for i, v in enumerate(flat)})
    arrays.update({key: np.asarray(getattr(history, key), np.float64) for key in PER_EPOCH})
    metadata = {}
    for callback in state.callbacks:
        for key, value in callback.state_dict().items():
            if key in RESERVED or key in metadata or key in arrays:
                raise ValueError(f"callbacks: {callback!r} has a state entry {key!r} taken already")
            if key not in callback.state_arrays:
                metadata[key] = value
            elif value is not None:
                arrays[key] = value
    metadata |= {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "epochs_done": done,
        "rng": state.rng.bit_generator.state,
        "velocities": len(flat),
        "history": {
            key: getattr(history, key)
            for key in ("steps_per_epoch", "best_epoch", "stopped_early", "interrupted", "config")
        },
    }
    return _archive.write(path, metadata, arrays)


def _flat(state_arrays):
    return [] if state_arrays is None else list(state_arrays)


def restore(
    path: str | os.PathLike,
    params: np.ndarray,
    velocities: Sequence[np.ndarray] | None,
    history: History,
    state: RunState,
    lr_of: Callable[[int], float] | None = None,
    must_match: Sequence[str] = (),
) -> History:
    """Load a checkpoint into ``params``, ``velocities`` and ``state``; return its history.

    Nothing is written before the whole checkpoint is checked against the run.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``save``.
    params, velocities
        The run's parameters and optimizer state arrays (as for ``save``), overwritten.
    history : History
        The resumed run's new history: its ``config`` (``epochs`` bounds the
        completed epochs) and ``steps_per_epoch``.
    state : RunState
        Its generator's state is set; its callbacks get their state back.
    lr_of : callable, optional
        The rate the run gives an epoch (0-based), asked once the callbacks'
        state is back: the recorded rates must equal it (the fingerprint of a
        callable schedule, whose ``repr`` says nothing about what it computes).
    must_match : sequence of str
        The ``config`` keys the checkpoint must share (``settings.fingerprint()``).

    Returns
    -------
    History
        The completed epochs' history, with the run's ``config``.

    Raises
    ------
    CheckpointError
        Unreadable, not a checkpoint, another version, altered, or another run's.
    """
    label = f"checkpoint {path}"
    with _archive.Reader(path, CheckpointError, label, "checkpoint") as archive:
        _check_format(archive)
        try:
            restored, arrays, rng = _contents(
                archive, params, velocities, history, state, must_match
            )
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise archive.fail(f"invalid contents ({error!r})") from error
        archive.verify()
        _load_callbacks(archive, state.callbacks, arrays, restored)
        _check_rates(archive, arrays["lr"].tolist(), lr_of)
    params[...] = arrays["params"]
    for i, v in enumerate(_flat(velocities)):
        v[...] = arrays[f"velocity_{i}"]
    state.rng.bit_generator.state = rng
    return restored


def _contents(archive, params, velocities, history, state, must_match):
    """Return the checked ``(history, arrays, generator state)`` of a checkpoint."""
    record, rng = _check_metadata(archive, history, velocities, state, must_match)
    arrays = _read_arrays(archive, params, _flat(velocities), record, state.callbacks)
    per_epoch = {key: arrays[key].tolist() for key in PER_EPOCH}
    return History(step_loss=arrays["step_loss"], **record, **per_epoch), arrays, rng


def _check_format(archive):
    metadata = archive.metadata
    if metadata.get("format") != FORMAT:
        raise archive.fail("not a fastmlp checkpoint")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise archive.fail(
            f"expected format version {FORMAT_VERSION}, found "
            f"{metadata.get('format_version')!r} (written by another fastmlp version: "
            "start the run again)"
        )


def _check_rates(archive, recorded, lr_of):
    """Refuse the checkpoint if its epochs ran with other rates than this run's schedule gives."""
    for epoch in range(len(recorded) if lr_of is not None else 0):
        if float(lr_of(epoch)) != recorded[epoch]:
            raise archive.fail(
                f"epoch {epoch} ran with lr={recorded[epoch]!r}, this run's lr_schedule "
                f"gives lr={lr_of(epoch)!r} (another schedule, or another number of "
                "epochs for a schedule that depends on it)"
            )


def _load_callbacks(archive, callbacks, arrays, history):
    """Give each callback its state back; a state it refuses refuses the checkpoint."""
    metadata = archive.metadata
    for callback in callbacks:
        keys = callback.state_dict()
        state = {
            key: arrays.get(key) if key in callback.state_arrays else metadata.get(key)
            for key in keys
        }
        try:
            callback.load_state_dict(state, history)
        except (KeyError, TypeError, ValueError) as error:
            raise archive.fail(str(error)) from error


def _check_metadata(archive, history, velocities, state, must_match):
    """Check the checkpoint's values against the run; return History's fields and the rng state."""
    metadata, config = archive.metadata, history.config
    saved = metadata["history"]
    for key in must_match:
        if saved["config"].get(key) != config.get(key):
            raise archive.fail(
                f"written for {key}={saved['config'].get(key)!r}, this run has "
                f"{key}={config.get(key)!r}"
            )
    done = _check_count(archive, "epochs_done", metadata["epochs_done"], config["epochs"])
    for name, found, expected in (
        ("velocities", metadata["velocities"], len(_flat(velocities))),
        ("steps_per_epoch", saved["steps_per_epoch"], history.steps_per_epoch),
    ):
        if found != expected:
            raise archive.fail(f"expected {name}={expected} for this run, found {found!r}")
    for name in ("stopped_early", "interrupted"):
        if not isinstance(saved[name], bool):
            raise archive.fail(f"expected {name} to be true or false, found {saved[name]!r}")
    if saved["best_epoch"] is not None:
        _check_count(archive, "best_epoch", saved["best_epoch"], done - 1)
    record = {
        "steps_per_epoch": history.steps_per_epoch,
        "best_epoch": saved["best_epoch"],
        "stopped_early": saved["stopped_early"],
        "interrupted": saved["interrupted"],
        "config": config,
    }
    return record, _check_rng(archive, metadata["rng"], state.rng)


def _check_rng(archive, saved, rng):
    """Return the generator state ``saved`` after trying it on a new generator like ``rng``."""
    probe = type(rng.bit_generator)()
    try:
        probe.state = saved
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise archive.fail(f"invalid random generator state ({error!r})") from error
    if probe.state != saved:  # numpy truncates some values (a float) silently
        raise archive.fail(f"invalid random generator state {saved!r}")
    return probe.state


def _check_count(archive, name, value, most):
    """Return ``value`` if it is an integer from 0 to ``most``, else refuse the checkpoint."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= most:
        raise archive.fail(f"expected {name} to be an integer from 0 to {most}, found {value!r}")
    return value


def _read_arrays(archive, params, flat, record, callbacks):
    """Read the arrays the run needs, each of the shape and dtype it needs, and check them.

    The callbacks' arrays are shaped like the parameters and may be absent.
    """
    done = archive.metadata["epochs_done"]
    validated = done if record["config"].get("validation_sha256") is not None else 0
    f64 = np.dtype(np.float64)
    needed = {
        "params": (params.shape, params.dtype),
        "step_loss": ((done * record["steps_per_epoch"],), f64),
        **{f"velocity_{i}": (v.shape, v.dtype) for i, v in enumerate(flat)},
        **{key: ((validated if key.startswith("val_") else done,), f64) for key in PER_EPOCH},
    }
    for callback in callbacks:
        for key in callback.state_arrays:
            if key in archive.names:
                needed[key] = (params.shape, params.dtype)
    if archive.names != set(needed):
        raise archive.fail(f"expected the entries {sorted(needed)}, found {sorted(archive.names)}")
    arrays = {name: archive.array(name, *spec) for name, spec in needed.items()}
    for name, array in arrays.items():
        # An epoch too fast to time has an infinite rate: the one value that may be infinite.
        bad = np.isnan(array) | (array < 0) if name == "samples_per_second" else ~np.isfinite(array)
        if bad.any():
            raise archive.fail(f"expected finite {name}, found {int(bad.sum())} invalid values")
    return arrays
