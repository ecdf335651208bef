"""fastmlp: train small multilayer perceptrons by SGD in seconds.

Whole epochs run in Numba-compiled kernels (``fastmlp.kernels``); a plain
numpy twin (``fastmlp.reference``) checks them, and ``backend="numpy"``
runs it wherever the kernels run.
"""

# First: from the source tree, fastmlp.kernels must be registered before anything imports it.
from . import _source_tree  # noqa: F401  # isort: skip
from . import datasets
from ._version import __version__
from ._warmup import warmup
from .estimator import MLPClassifier
from .gradient_check import gradcheck
from .history import History
from .io import load
from .model import MLP
from .schedules import Constant, InverseScaling, LowerAtEnd, Piecewise, StepDecay
from .training import EarlyStopping, gradients, train

__all__ = [
    "MLP",
    "Constant",
    "EarlyStopping",
    "History",
    "InverseScaling",
    "LowerAtEnd",
    "MLPClassifier",
    "Piecewise",
    "StepDecay",
    "__version__",
    "datasets",
    "gradcheck",
    "gradients",
    "load",
    "train",
    "warmup",
]
