"""Exceptions fastmlp raises beyond ``ValueError``/``TypeError`` from argument checks."""


class DatasetError(ValueError):
    """A data file is missing, truncated, corrupted or not what it claims to be."""


class ModelFileError(ValueError):
    """A model file is missing, truncated, tampered with, too new, or not a fastmlp model."""


class TrainingDivergedError(FloatingPointError):
    """A training loss (or parameter) turned non-finite: the learning rate is likely too high.

    ``train`` raises it with the model put back to its parameters at the start
    of the failing epoch.

    Attributes
    ----------
    epoch : int
        The failing epoch, counted from 0 (from the start of the run when resumed).
    step : int
        The first step of that epoch whose loss (or update) was not finite.
    history : fastmlp.History
        The completed epochs before it.
    """

    def __init__(self, message: str, epoch: int, step: int, history: object) -> None:
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, history
