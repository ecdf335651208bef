"""Exceptions fastmlp raises beyond ``ValueError``/``TypeError`` from argument checks."""


class DatasetError(ValueError):
    """A data file is missing, truncated, corrupted or not what it claims to be."""


class ModelFileError(ValueError):
    """A model file is missing, truncated, tampered with, too new, or not a fastmlp model."""
