"""Compare learning rates over repeated runs with ``fastmlp.experiments.sweep``.

A 2-3-2 sigmoid net learns the built-in synthetic set (class 1 inside an
ellipse) by per-sample SGD at four learning rates, three runs (seeds) each.
``sweep`` spreads the runs over a pool of processes; the results equal
running them one by one. The script prints the final validation accuracy and
loss (mean +- std over the runs) per rate and plots the mean +- std curves.

Run it with ``python examples/learning_rate_sweep.py``. The pool starts its
workers with ``spawn``, which imports this file again in each of them: hence
the ``if __name__ == "__main__":`` guard. The figure goes to
``$FASTMLP_EXAMPLES_OUT`` (default ``./examples-output``);
``FASTMLP_EXAMPLES_QUICK=1`` uses fewer samples, epochs, rates and runs.
"""

import os
from pathlib import Path

from fastmlp import plots
from fastmlp.experiments import Config, sweep


def main() -> None:
    """Run the sweep, print a summary and save the figure."""
    quick = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
    out = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
    out.mkdir(parents=True, exist_ok=True)

    config = Config(data="synth", hidden=(3,), activation="sigmoid", epochs=5, seed=0)
    rates = [0.001, 0.003, 0.01, 0.03]
    if quick:
        config = config.replace(epochs=3, num_train=5000, num_val=2000)
        rates = [0.01, 0.03]  # 0.003 learns nothing in 3 short epochs (NotLearningWarning)
    # One worker process per core by default (n_jobs=1: all in this process). Runs this
    # short take less time than starting the workers; MNIST runs would not.
    results = sweep(config, runs=2 if quick else 3, lr=rates).by("lr")

    print("learning rate  validation accuracy  validation loss")
    for rate, runs in results.items():
        accuracy, accuracy_std = runs.final("val_accuracy")
        loss, loss_std = runs.final("val_loss")
        print(f"{rate:<13}  {accuracy:.3f} +- {accuracy_std:.3f}      {loss:.3f} +- {loss_std:.3f}")
    best = min(results, key=lambda rate: results[rate].final("val_loss")[0])
    print(f"lowest mean validation loss at learning rate {best}")
    print("wrote", plots.save(plots.lr_comparison(results), out / "learning-rates.png"))


if __name__ == "__main__":
    main()
