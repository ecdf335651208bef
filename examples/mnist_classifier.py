"""Classify MNIST digits with ``fastmlp.MLPClassifier``, save the model and load it back.

A 784-300-10 logistic (sigmoid) net learns from the 60,000 training images by
per-sample SGD without momentum (``solver="sgd"``, ``batch_size=1``,
``momentum=0.0``: scikit-learn's names and defaults otherwise) for two epochs
(seconds each) and is tested on the 10,000 test images.
The script writes a grid of test digits, mistakes first, and the model file,
then loads the model back and checks that it predicts the same.

Run it with ``python examples/mnist_classifier.py``. MNIST is read from
``$FASTMLP_DATA_DIR`` or ``~/.cache/fastmlp/mnist`` and downloaded there (about
11 MB) when absent. Outputs go to ``$FASTMLP_EXAMPLES_OUT`` (default
``./examples-output``); ``FASTMLP_EXAMPLES_QUICK=1`` uses 3,000 training images.
"""

import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp import plots
from fastmlp.datasets import load_mnist

QUICK = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
OUT = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
OUT.mkdir(parents=True, exist_ok=True)

# final=True: all 60,000 training images, tested on the 10,000 test images.
(X, y), (X_test, y_test), _ = load_mnist(final=True)
if QUICK:
    X, y = X[:3000], y[:3000]

clf = fastmlp.MLPClassifier(
    hidden_layer_sizes=(300,),
    activation="logistic",
    solver="sgd",
    learning_rate_init=0.01,
    batch_size=1,
    momentum=0.0,
    max_iter=2,
    random_state=0,
)
# Two epochs is a deliberate budget: fit warns that the loss was still falling.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(X, y)
predicted = clf.predict(X_test)
losses = ", ".join(f"{loss:.3f}" for loss in clf.loss_curve_)
print(f"trained on {len(y)} images for {clf.n_iter_} epochs (training loss {losses})")
print(f"test accuracy: {np.mean(predicted == y_test):.4f}")

# The first 100 test digits, the mistakes among them first (in red).
grid = plots.digits_grid(
    X_test[:100],
    y_test[:100],
    predicted[:100],
    n=36,
    mistakes_first=True,
    title="first 100 test digits, mistakes first",
)
print("wrote", plots.save(grid, OUT / "mnist-digits.png"))

# A model file is an .npz archive (no pickle); fastmlp.load returns the estimator.
path = clf.save(OUT / "mnist-classifier.npz")
reloaded = fastmlp.load(path)
assert np.array_equal(reloaded.predict(X_test), predicted)
print("wrote", path, "and reloaded it: same predictions on all", len(y_test), "test images")
