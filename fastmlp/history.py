"""``History``: what a training run recorded, per step and per epoch, as plain data."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._files import atomic_path


@dataclass
class History:
    """What ``train`` recorded. Plots and experiments read it directly.

    Attributes
    ----------
    step_loss : numpy.ndarray of float64
        Every step's loss (the mean over the step's rows, before its update),
        all epochs concatenated.
    steps_per_epoch : int
        Steps in each epoch.
    train_loss, train_accuracy : list of float
        Per epoch, the mean loss and the accuracy over the epoch's samples as
        they were seen (each before its own update).
    val_loss, val_accuracy : list of float
        Per epoch, on the validation set after the epoch (empty without one).
    lr : list of float
        The learning rate of each epoch.
    epoch_time : list of float
        Wall time of each epoch's training in seconds (validation excluded).
    samples_per_second : list of float
        Training samples per second in each epoch.
    compile_time : float
        One-off time to compile (or load from cache) the kernels, measured
        before the first epoch and not part of ``epoch_time``; 0 when this
        process had prepared the kernels of the run's signature already.
    best_epoch : int or None
        With early stopping: the best epoch (0-based), whose parameters are
        kept with ``restore_best``.
    stopped_early : bool
        Training ended before ``epochs`` (early stopping or a callback).
    interrupted : bool
        Training was interrupted (KeyboardInterrupt) after the last recorded epoch.
    config : dict
        The training settings (``TrainSettings.record()``: epochs, lr, batch
        size, ...) and the model's sizes, activation, dtype and the number of
        training rows, for labels, records and a checkpoint's fingerprint.
    """

    step_loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    steps_per_epoch: int = 0
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    samples_per_second: list[float] = field(default_factory=list)
    compile_time: float = 0.0
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        """Return the history as JSON-ready plain Python (lists, numbers, strings).

        Returns
        -------
        dict
            One entry per attribute; ``step_loss`` becomes a list of float.
        """
        data = asdict(self)
        data["step_loss"] = self.step_loss.tolist()
        return data

    def to_json(self, path: os.PathLike | str | None = None) -> str:
        """Return the history as a JSON string; with ``path``, also write it there atomically.

        Parameters
        ----------
        path : str or os.PathLike, optional
            File to write the JSON to.

        Returns
        -------
        str
            The JSON text of ``to_dict()``.
        """
        text = json.dumps(self.to_dict())
        if path is not None:
            with atomic_path(path) as tmp:
                tmp.write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a ``History`` from ``to_dict`` output.

        Parameters
        ----------
        data : mapping
            Attribute name to value, as ``to_dict`` returns; ``step_loss``
            may be any sequence of numbers (missing: empty).

        Returns
        -------
        History
            A new history; ``data`` is not modified.
        """
        data = dict(data)
        data["step_loss"] = np.asarray(data.get("step_loss", []), dtype=np.float64)
        return cls(**data)

    @classmethod
    def from_json(cls, text_or_path: os.PathLike | str) -> History:
        """Rebuild a ``History`` from a JSON string or a file written by ``to_json``.

        Parameters
        ----------
        text_or_path : str or os.PathLike
            JSON text (recognised by its leading ``{``), or the path of a file
            holding it.

        Returns
        -------
        History
            The history the JSON describes.
        """
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            with open(text_or_path) as f:
                text = f.read()
        return cls.from_dict(json.loads(text))
