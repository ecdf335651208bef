"""Draw what a small and a larger relu net make of a disc: a polygon, then a circle.

Class 1 is the inside of a disc (``load_disc``). A relu net is piecewise
linear: it is linear between the lines where its units switch on, so its
decision boundary is a polygon. With 3 + 3 hidden units (and seed 9, the
settings of ``fastmlp reproduce``'s section 8) the boundary is a hexagon with a
corner wherever one of the first layer's 3 lines ``w_j . x + b_j = 0`` crosses
it, drawn dashed over the regions; with 32 + 32 units it looks round. Both nets
are trained with ``fastmlp.train`` (per-sample SGD) and drawn over the
validation points with ``fastmlp.plots.decision_boundary``.

Run it with ``python examples/decision_boundary.py``. The figures go to
``$FASTMLP_EXAMPLES_OUT`` (default ``./examples-output``);
``FASTMLP_EXAMPLES_QUICK=1`` trains the large net for fewer epochs (the small
one trains in well under a second and keeps its settings, so that it still
draws the hexagon).
"""

import os
from pathlib import Path

import fastmlp
from fastmlp import plots
from fastmlp.datasets import load_disc

QUICK = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
OUT = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
OUT.mkdir(parents=True, exist_ok=True)

(X, y), (X_val, y_val), n_classes = load_disc(num_train=10_000, seed=0)

# (hidden sizes, learning rate, epochs, seed, draw the first layer's lines). Other seeds of
# the small net may draw fewer corners, or leave a unit that never switches on (~50%).
# The large net's 32 lines would hide its regions, so only the small net's are drawn.
nets = [((3, 3), 0.03, 40, 9, True), ((32, 32), 0.05, 5 if QUICK else 20, 0, False)]
for hidden, lr, epochs, seed, lines in nets:
    model = fastmlp.MLP([2, *hidden, n_classes], activation="relu", seed=seed)
    history = fastmlp.train(
        model, X, y, epochs=epochs, lr=lr, seed=seed, validation=(X_val, y_val), progress=False
    )
    accuracy = history.val_accuracy[-1]
    print(f"hidden {list(hidden)}: validation accuracy {accuracy:.3f} after {epochs} epochs")
    title = f"relu, hidden {list(hidden)} (seed {seed}): {accuracy:.1%} correct"
    figure = plots.decision_boundary(
        model, X_val, y_val, proba=False, title=title, first_layer=lines
    )
    name = "disc-" + "x".join(map(str, hidden)) + ".png"
    print("wrote", plots.save(figure, OUT / name))
