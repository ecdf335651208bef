"""Draw what a small and a larger relu net make of a disc: a polygon, then a circle.

Class 1 is the inside of a disc (``load_disc``). A relu net is piecewise
linear, so its decision boundary is a polygon: with 3 + 3 hidden units it has
few sides, with 32 + 32 it looks round. Both nets are trained with
``fastmlp.train`` (per-sample SGD) and their decision regions are drawn over
the validation points with ``fastmlp.plots.decision_boundary``.

Run it with ``python examples/decision_boundary.py``. The figures go to
``$FASTMLP_EXAMPLES_OUT`` (default ``./examples-output``);
``FASTMLP_EXAMPLES_QUICK=1`` trains on fewer points for fewer epochs.
"""

import os
from pathlib import Path

import fastmlp
from fastmlp import plots
from fastmlp.datasets import load_disc

QUICK = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
OUT = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
OUT.mkdir(parents=True, exist_ok=True)

(X, y), (X_val, y_val), n_classes = load_disc(num_train=2000 if QUICK else 10_000, seed=0)

# (hidden sizes, learning rate, epochs, seed): the small net needs more epochs.
nets = [((3, 3), 0.01, 10 if QUICK else 30, 1), ((32, 32), 0.05, 5 if QUICK else 20, 0)]
for hidden, lr, epochs, seed in nets:
    model = fastmlp.MLP([2, *hidden, n_classes], activation="relu", seed=seed)
    history = fastmlp.train(
        model, X, y, epochs=epochs, lr=lr, seed=seed, validation=(X_val, y_val), progress=False
    )
    accuracy = history.val_accuracy[-1]
    print(f"hidden {list(hidden)}: validation accuracy {accuracy:.3f} after {epochs} epochs")
    title = f"relu, hidden {list(hidden)}: {accuracy:.1%} correct"
    figure = plots.decision_boundary(model, X_val, y_val, proba=False, title=title)
    name = "disc-" + "x".join(map(str, hidden)) + ".png"
    print("wrote", plots.save(figure, OUT / name))
