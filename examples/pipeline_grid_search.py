"""Tune ``fastmlp.MLPClassifier`` inside a scikit-learn pipeline with ``GridSearchCV``.

``fastmlp.MLPClassifier`` is a drop-in for scikit-learn's (the same
parameters, defaults and fitted attributes), so it sits behind a
``StandardScaler`` in a pipeline and ``GridSearchCV`` can clone it and set its
parameters. The data are three interleaved spirals (``load_spirals``), which a
net with 8 hidden units separates poorly and one with 32 well. The grid crosses
initial learning rates of the default solver (Adam) with hidden layer sizes,
scored by 3-fold cross-validation.

Run it with
``python examples/pipeline_grid_search.py``; it prints the mean cross-validated
accuracy of each grid point, the best one and its accuracy on held-out data,
and draws the best net's decision regions.
Outputs go to ``$FASTMLP_EXAMPLES_OUT`` (default ``./examples-output``);
``FASTMLP_EXAMPLES_QUICK=1`` uses fewer samples, epochs and grid points.
"""

import os
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLP, MLPClassifier, plots
from fastmlp.datasets import load_spirals

QUICK = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
OUT = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
OUT.mkdir(parents=True, exist_ok=True)


def network_of(estimator):
    """Return a ``fastmlp.MLP`` holding a fitted estimator's ``coefs_`` and ``intercepts_``."""
    sizes = [estimator.n_features_in_, *(W.shape[1] for W in estimator.coefs_)]
    dtype, output = estimator.coefs_[0].dtype, estimator.out_activation_
    model = MLP(sizes, estimator.activation, dtype, seed=None, output=output)
    for target, source in zip(
        model.weights + model.biases, estimator.coefs_ + estimator.intercepts_
    ):
        target[...] = source
    return model


(X, y), (X_test, y_test), _ = load_spirals(num_train=1000 if QUICK else 10_000, seed=0)
pipeline = make_pipeline(
    StandardScaler(),
    MLPClassifier(batch_size=32, max_iter=30 if QUICK else 200, random_state=0),
)
# Pipeline parameters are named "<step>__<parameter>"; make_pipeline names a step
# after its class, in lower case.
grid = {
    "mlpclassifier__learning_rate_init": [0.003, 0.03] if QUICK else [0.003, 0.01, 0.03],
    "mlpclassifier__hidden_layer_sizes": [(8,), (32,)] if QUICK else [(8,), (32,), (32, 32)],
}
search = GridSearchCV(pipeline, grid, cv=3)
# Fits that use all of max_iter warn; the short quick-mode runs always do.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

print("learning rate  hidden    cross-validated accuracy")
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    rate = params["mlpclassifier__learning_rate_init"]
    hidden = params["mlpclassifier__hidden_layer_sizes"]
    print(f"{rate:<13}  {hidden!s:<8}  {score:.3f}")
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
held_out = search.score(X_test, y_test)  # the best parameters, refitted on all of X
print(f"held-out accuracy of the best pipeline: {held_out:.3f}")

# The best pipeline's net, drawn in the standardized coordinates it sees.
scaler, best = search.best_estimator_[0], search.best_estimator_[-1]
title = f"hidden {best.hidden_layer_sizes}, lr {best.learning_rate_init}: accuracy {held_out:.3f}"
figure = plots.decision_boundary(network_of(best), scaler.transform(X_test), y_test, title=title)
print("wrote", plots.save(figure, OUT / "spirals-best.png"))
