"""Datasets: synthetic 2-D sets whose boundary can be drawn, a verified MNIST loader, files.

Every loader returns ``((xtrain, ytrain), (xval, yval), num_classes)``;
``read_table`` reads a ``.csv`` or ``.npz`` file whole (``fastmlp.experiments``
splits it).
"""

from ..errors import DatasetError
from .mnist import fetch_mnist, load_mnist, mnist_dir
from .preprocessing import minmax_scale, standardize
from .synthetic import (
    SYNTHETIC,
    load_disc,
    load_moons,
    load_rings,
    load_spirals,
    load_synth,
)
from .tabular import TABLE_SUFFIXES, Table, read_table

__all__ = [
    "SYNTHETIC",
    "TABLE_SUFFIXES",
    "DatasetError",
    "Table",
    "fetch_mnist",
    "load_disc",
    "load_mnist",
    "load_moons",
    "load_rings",
    "load_spirals",
    "load_synth",
    "minmax_scale",
    "mnist_dir",
    "read_table",
    "standardize",
]
