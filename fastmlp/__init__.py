"""fastmlp: train small multilayer perceptrons by SGD in seconds.

Whole epochs run in Numba-compiled kernels (``fastmlp.kernels``); a plain
numpy twin (``fastmlp.reference``) checks them, and ``backend="numpy"``
runs it wherever the kernels run.
"""

# First: from the source tree, fastmlp.kernels must be registered before anything imports it.
from . import _source_tree  # noqa: F401  # isort: skip
from . import datasets, io
from ._version import __version__
from ._warmup import warmup
from .callbacks import Callback, EarlyStopping
from .gradient_check import gradcheck, softmax_xent_gradcheck
from .history import History
from .io import load
from .model import MLP
from .objective import gradients, loss_and_gradient
from .optimizers import SGD, Adam
from .schedules import Constant, InverseScaling, LowerAtEnd, Piecewise, StepDecay
from .settings import TrainSettings
from .trainer import Trainer
from .training import train

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "Callback",
    "Constant",
    "EarlyStopping",
    "History",
    "InverseScaling",
    "LowerAtEnd",
    "MLPClassifier",
    "MLPRegressor",
    "Piecewise",
    "StepDecay",
    "TrainSettings",
    "Trainer",
    "__version__",
    "datasets",
    "gradcheck",
    "gradients",
    "load",
    "loss_and_gradient",
    "softmax_xent_gradcheck",
    "train",
    "warmup",
]


#: The estimators, imported on first use (see ``__getattr__``).
_ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def _estimator(name):
    from . import estimator

    return getattr(estimator, name)


def _reader(name):
    def read(model, metadata):
        """Return the estimator a file holds; scikit-learn loads only for such a file."""
        return _estimator(name)._from_file(model, metadata)

    return read


# Registered here, at the top, not by fastmlp.estimator: a fresh process that only ran
# ``import fastmlp`` must load an estimator file without importing scikit-learn beforehand.
for _name in _ESTIMATORS:
    io.register_reader(_name, _reader(_name))


def __getattr__(name):
    # The estimators pull in scikit-learn, whose import takes about 2 s: more
    # than the whole default run on a warm cache. Only their users pay for it.
    if name in _ESTIMATORS:
        return _estimator(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
