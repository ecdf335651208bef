"""Datasets: synthetic 2-D sets whose boundary can be drawn, and a verified MNIST loader.

Every loader returns ``((xtrain, ytrain), (xval, yval), num_classes)``.
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

__all__ = [
    "SYNTHETIC",
    "DatasetError",
    "fetch_mnist",
    "load_disc",
    "load_mnist",
    "load_moons",
    "load_rings",
    "load_spirals",
    "load_synth",
    "minmax_scale",
    "mnist_dir",
    "standardize",
]
