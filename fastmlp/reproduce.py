"""``fastmlp reproduce``: the classic study of a small MLP trained by SGD, as PNGs and a report.

Nine studies, each a figure (or two) and its numbers, gathered in
``report.md``. ``quick=True`` shrinks the data, epochs and repeats so the
whole study runs in well under a minute; the full study takes minutes.
"""

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import plots, reference
from ._files import atomic_path
from .experiments import Config, load_data, repeat, run, sweep
from .kernels import softmax_xent_backward
from .schedules import Piecewise

#: The final MNIST recipe: per-sample SGD on all 60,000 training images with a
#: stepped learning rate (see the report for the measured test accuracy).
FINAL_EPOCHS = 12
FINAL_SCHEDULE = Piecewise({0: 0.1, 8: 0.03, 10: 0.01})
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03)


class _Report:
    """Collects figures and markdown, writing each figure as soon as it exists."""

    def __init__(self, out, say):
        self.out, self.say, self.lines = Path(out), say, []
        self.out.mkdir(parents=True, exist_ok=True)

    def section(self, title):
        self.say(f"- {title}")
        self.lines += ["", f"## {title}", ""]

    def figure(self, fig, name, caption):
        plots.save(fig, self.out / name)
        self.lines.append(f"![{caption}]({name})")

    def text(self, line):
        self.lines.append(line)

    def write(self):
        path = self.out / "report.md"
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(self.lines) + "\n")
        return path


def _settings(quick, data_dir):
    """Return the configurations of the studies, shrunk when ``quick``."""
    mnist = Config(data="mnist", hidden=(300,), epochs=1, lr=0.01, data_dir=data_dir)
    if quick:
        mnist = replace(mnist, num_train=3_000, num_val=1_000)
    return {
        "synth": Config(data="synth", hidden=(3,), epochs=5, lr=0.01),
        "mnist": mnist,
        "minibatch": replace(mnist, batch_size=16, lr=0.1),
        "epochs": replace(mnist, batch_size=8, lr=0.05, epochs=2 if quick else 10),
        "lr": replace(mnist, epochs=1 if quick else 3),
        "final": replace(
            mnist, final=True, epochs=2 if quick else FINAL_EPOCHS, lr_schedule=FINAL_SCHEDULE
        ),
        "small": Config(
            data="disc",
            hidden=(3, 3),
            activation="relu",
            epochs=10 if quick else 30,
            lr=0.01,
            seed=1,
        ),
        "large": Config(
            data="disc", hidden=(32, 32), activation="relu", epochs=5 if quick else 20, lr=0.05
        ),
        "runs": 2 if quick else 3,
    }


def reproduce(
    out: str | os.PathLike,
    quick: bool = False,
    data_dir: str | os.PathLike | None = None,
    say: Callable[..., Any] = print,
) -> Path:
    """Run the nine studies and write their PNGs and ``report.md`` into ``out``.

    Parameters
    ----------
    out : str or os.PathLike
        Output folder (created).
    quick : bool
        A reduced version (small MNIST subsets, few epochs, fewer repeats).
    data_dir : str, optional
        MNIST folder (default: the loader's lookup).
    say : callable
        Where progress lines go.

    Returns
    -------
    pathlib.Path
        The report's path.
    """
    start = time.perf_counter()
    s = _settings(quick, data_dir)
    report = _Report(out, say)
    report.text("# fastmlp: the classic study" + (" (quick version)" if quick else ""))

    report.section("1. Synthetic data, 2-3-2 sigmoid net, per-sample SGD")
    synth = run(s["synth"])
    (_, _), (Xv, yv), _ = load_data(s["synth"])
    report.figure(plots.step_loss(synth.history, title="Per-step loss"), "1-synth-loss.png", "loss")
    report.figure(plots.decision_boundary(synth.model, Xv, yv), "1-synth-boundary.png", "boundary")
    report.text(
        f"Validation accuracy after {s['synth'].epochs} epochs: "
        f"{synth.history.val_accuracy[-1]:.2%}."
    )

    report.section("2. MNIST 784-300-10 sigmoid, per-sample SGD, one epoch")
    mnist = run(s["mnist"])
    report.figure(plots.step_loss(mnist.history, title="Per-step loss"), "2-mnist-loss.png", "loss")
    report.text(
        f"Validation accuracy: {mnist.history.val_accuracy[-1]:.2%} "
        f"(lr {s['mnist'].lr}, {mnist.history.epoch_time[-1]:.2f} s)."
    )

    report.section("3. MNIST, minibatches of 16 (gradients averaged)")
    batch = run(s["minibatch"])
    report.figure(
        plots.step_loss(batch.history, title="Per-step loss, batch 16"),
        "3-minibatch-loss.png",
        "loss",
    )
    report.text(
        f"Validation accuracy: {batch.history.val_accuracy[-1]:.2%} (lr {s['minibatch'].lr})."
    )

    report.section("4. Training vs validation loss per epoch (batch size 8)")
    repeated = repeat(s["epochs"], runs=s["runs"])
    report.figure(plots.epoch_loss(repeated.histories[0]), "4-epochs.png", "epochs")
    best = int(np.argmin(repeated.histories[0].val_loss))
    report.text(f"Lowest validation loss at epoch {best + 1} of {s['epochs'].epochs}.")

    report.section(f"5. The same over {s['runs']} runs: mean and standard deviation")
    report.figure(plots.repeat_band(repeated, key="val_loss"), "5-band.png", "band")
    mean, std = repeated.final("val_accuracy")
    report.text(f"Final validation accuracy: {mean:.2%} ± {std:.2%}.")

    report.section("6. Learning rates compared")
    rates = sweep(s["lr"], runs=s["runs"], lr=list(LEARNING_RATES)).by("lr")
    report.figure(plots.lr_comparison(rates), "6-learning-rates.png", "learning rates")
    report.text("| lr | final validation accuracy |\n|---|---|")
    for lr, result in rates.items():
        mean, std = result.final("val_accuracy")
        report.text(f"| {lr} | {mean:.2%} ± {std:.2%} |")

    report.section("7. Final run: all 60,000 training images, tested on the 10,000 test images")
    final = repeat(s["final"], runs=s["runs"])
    mean, std = final.final("val_accuracy")
    seconds = np.mean([sum(h.epoch_time) for h in final.histories])
    report.figure(plots.repeat_band(final, key="val_accuracy"), "7-final.png", "final")
    report.text(
        f"Test accuracy over {s['runs']} runs: {mean:.2%} ± {std:.2%}; "
        f"{s['final'].epochs} epochs of per-sample SGD, schedule {FINAL_SCHEDULE!r}, "
        f"{seconds:.1f} s of training per run."
    )
    (_, _), (Xt, yt), _ = load_data(s["final"])
    predicted = final.models[0].predict(Xt)
    report.figure(
        plots.digits_grid(Xt, yt, predicted, mistakes_first=True), "7-digits.png", "digits"
    )
    report.figure(
        plots.confusion_matrix(yt, predicted, n_classes=10), "7-confusion.png", "confusion"
    )

    report.section("8. Hidden size on a round class region: [3, 3] vs [32, 32], relu")
    (_, _), (Xd, yd), _ = load_data(s["small"])
    for name, config in (("small", s["small"]), ("large", s["large"])):
        result = run(config)
        report.figure(
            plots.decision_boundary(
                result.model,
                Xd,
                yd,
                proba=False,
                title=f"hidden {list(config.hidden)}: {result.history.val_accuracy[-1]:.1%}",
            ),
            f"8-disc-{name}.png",
            f"{name} net",
        )
    report.text(
        "With 3 + 3 relu units the net can only cut the plane along a few lines, so the "
        "disc becomes a polygon; 32 + 32 units draw it nearly round."
    )

    report.section("9. Why softmax: bounded gradients")
    report.figure(plots.softmax_vs_normalisation(), "9-softmax.png", "softmax")
    z = np.array([0.01, 1.0])
    _, softmax_grad = softmax_xent_backward(z, 0)
    _, norm_grad = reference.normalised_xent_backward(z, 0)
    report.text(
        f"At outputs {z.tolist()} with target 0: the softmax gradient of the target is "
        f"{softmax_grad[0]:+.3f} (always in [-1, 1]); the sum-normalisation gradient is "
        f"{norm_grad[0]:+.1f}, growing without bound as the output goes to 0."
    )

    report.text(f"\nTotal time: {time.perf_counter() - start:.0f} s.")
    path = report.write()
    say(f"wrote {path}")
    return path
