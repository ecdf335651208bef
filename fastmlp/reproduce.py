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

#: The final MNIST recipe: per-sample SGD on all 60,000 training images, tested
#: on the 10,000 test images, with a stepped learning rate (the quick study runs
#: it on subsets for fewer epochs; its report says which).
FINAL_EPOCHS = 12
FINAL_SCHEDULE = Piecewise({0: 0.1, 8: 0.03, 10: 0.01})
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03)
#: The [3, 3] relu net of section 8 (and ``examples/decision_boundary.py``): with
#: this seed its boundary on the disc is a hexagon with a corner wherever one of
#: its 3 first-layer lines crosses it, and 97.3% of the validation points are
#: right (measured; other seeds may draw fewer corners or leave a unit dead).
POLYGON = Config(data="disc", hidden=(3, 3), activation="relu", epochs=40, lr=0.03, seed=9)


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
        # Tiny nets train in well under a second: quick mode keeps the lesson's settings.
        "small": POLYGON,
        "large": Config(
            data="disc", hidden=(32, 32), activation="relu", epochs=5 if quick else 20, lr=0.05
        ),
        "runs": 2 if quick else 3,
    }


def _held_out(config):
    """Return what the ``val_*`` curves of ``config`` are measured on: "test" or "validation"."""
    return "test" if config.final and config.data == "mnist" else "validation"


def _describe(config, history, rates=True):
    """Describe the run that was made: net, SGD, epochs, learning rates and data sizes.

    E.g. "784-300-10 sigmoid, per-sample SGD, 2 epochs, lr 0.1 in every epoch;
    3,000 training and 1,000 test images": the epochs and rates are what
    ``history`` recorded, the sizes those of the data ``config`` loads.
    Without ``rates``, the learning rates are left out (a sweep varies them).
    """
    (X, _), (Xv, _), k = load_data(config)
    net = "-".join(map(str, [X.shape[1], *config.hidden, k])) + f" {config.activation}"
    epochs = f"{history.epochs} epoch{'s' if history.epochs != 1 else ''}"
    rows = "images" if config.data == "mnist" else "points"
    return (
        f"{net}, {_sgd(config)}, {epochs}{', ' + _rates(history.lr) if rates else ''}; "
        f"{len(X):,} training and {len(Xv):,} {_held_out(config)} {rows}"
    )


def _sgd(config):
    if config.batch_size == 1:
        return "per-sample SGD"
    return f"minibatches of {config.batch_size} (gradients averaged)"


def _rates(lrs):
    """Describe per-epoch learning rates as runs of equal rates, e.g. "lr 0.1 in epochs 1-8"."""
    spans, first = [], 0
    for e in range(1, len(lrs) + 1):
        if e == len(lrs) or lrs[e] != lrs[first]:
            epochs = f"epoch {first + 1}" if e == first + 1 else f"epochs {first + 1}-{e}"
            spans.append(f"{lrs[first]:g} in {epochs}")
            first = e
    if len(spans) == 1:
        return f"lr {lrs[0]:g} in every epoch"
    return "lr " + ", ".join(spans)


def reproduce(
    out: str | os.PathLike,
    quick: bool = False,
    data_dir: str | os.PathLike | None = None,
    say: Callable[..., Any] = print,
) -> Path:
    """Run the nine studies and write their PNGs and ``report.md`` into ``out``.

    Every setup line of the report is written from the configuration that ran
    and what it recorded, in quick mode as in the full study.

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
    for study in (_synthetic, _mnist_steps, _epochs, _learning_rates, _final, _hidden_size):
        study(report, s)
    _softmax(report)
    report.text(f"\nTotal time: {time.perf_counter() - start:.0f} s.")
    path = report.write()
    say(f"wrote {path}")
    return path


def _setup(report, config, history, runs=1):
    over = f" ({runs} runs, seeds {config.seed}-{config.seed + runs - 1})" if runs > 1 else ""
    report.text(f"Setup: {_describe(config, history)}{over}.")


def _synthetic(report, s):
    config = s["synth"]
    synth = run(config)
    (_, _), (Xv, yv), k = load_data(config)
    net = "-".join(map(str, [Xv.shape[1], *config.hidden, k])) + f" {config.activation}"
    report.section(f"1. Synthetic data, {net} net, {_sgd(config)}")
    loss = plots.step_loss(synth.history, title=f"Synthetic data, {net}: loss per step")
    report.figure(loss, "1-synth-loss.png", "loss")
    title = f"Synthetic data, {net}: P(class 1) over the {_held_out(config)} points"
    report.figure(
        plots.decision_boundary(synth.model, Xv, yv, title=title),
        "1-synth-boundary.png",
        "boundary",
    )
    _setup(report, config, synth.history)
    report.text(f"Validation accuracy: {synth.history.val_accuracy[-1]:.2%}.")


def _mnist_steps(report, s):
    for number, key, name in (
        (2, "mnist", "2-mnist-loss.png"),
        (3, "minibatch", "3-minibatch-loss.png"),
    ):
        config = s[key]
        result = run(config)
        what = _sgd(config)
        report.section(f"{number}. MNIST, {what}")
        title = f"MNIST, {what}: loss per step"
        report.figure(plots.step_loss(result.history, title=title), name, "loss")
        _setup(report, config, result.history)
        report.text(
            f"Validation accuracy: {result.history.val_accuracy[-1]:.2%} "
            f"({sum(result.history.epoch_time):.2f} s of training)."
        )


def _epochs(report, s):
    config, runs = s["epochs"], s["runs"]
    report.section(f"4. Training vs validation loss per epoch (minibatches of {config.batch_size})")
    repeated = repeat(config, runs=runs)
    first = repeated.histories[0]
    title = f"MNIST, minibatches of {config.batch_size}: one run (seed {config.seed})"
    report.figure(plots.epoch_loss(first, title=title), "4-epochs.png", "epochs")
    _setup(report, config, first)
    best = int(np.argmin(first.val_loss))
    report.text(f"Lowest validation loss at epoch {best + 1} of {first.epochs}.")

    report.section(f"5. The same over {runs} runs: mean and standard deviation")
    report.figure(plots.repeat_band(repeated, key="val_loss"), "5-band.png", "band")
    _setup(report, config, first, runs)
    mean, std = repeated.final("val_accuracy")
    report.text(f"Final validation accuracy: {mean:.2%} ± {std:.2%}.")


def _learning_rates(report, s):
    config, runs = s["lr"], s["runs"]
    report.section(f"6. Learning rates {', '.join(map(str, LEARNING_RATES))} compared")
    rates = sweep(config, runs=runs, lr=list(LEARNING_RATES)).by("lr")
    report.figure(plots.lr_comparison(rates), "6-learning-rates.png", "learning rates")
    history = rates[LEARNING_RATES[0]].histories[0]
    report.text(f"Setup: {_describe(config, history, rates=False)}; {runs} runs per learning rate.")
    report.text("| lr | final validation accuracy |\n|---|---|")
    for lr, result in rates.items():
        mean, std = result.final("val_accuracy")
        report.text(f"| {lr} | {mean:.2%} ± {std:.2%} |")


def _final(report, s):
    config, runs = s["final"], s["runs"]
    (X, _), (Xt, yt), _ = load_data(config)
    tested = f"tested on {len(Xt):,} {_held_out(config)} images"
    report.section(f"7. Final run: {len(X):,} training images, {tested}")
    final = repeat(config, runs=runs)
    mean, std = final.final("val_accuracy")
    seconds = np.mean([sum(h.epoch_time) for h in final.histories])
    band = plots.repeat_band(final, key="val_accuracy", held_out=_held_out(config))
    report.figure(band, "7-final.png", "final")
    _setup(report, config, final.histories[0], runs)
    report.text(
        f"{_held_out(config).capitalize()} accuracy over {runs} runs: {mean:.2%} ± {std:.2%}; "
        f"{seconds:.1f} s of training per run."
    )
    predicted = final.models[0].predict(Xt)
    digits = plots.digits_grid(
        Xt,
        yt,
        predicted,
        mistakes_first=True,
        title="Test images: predicted vs true, mistakes first",
    )
    report.figure(digits, "7-digits.png", "digits")
    title = f"Confusion matrix on {len(Xt):,} test images"
    report.figure(
        plots.confusion_matrix(yt, predicted, n_classes=10, title=title),
        "7-confusion.png",
        "confusion",
    )


def _hidden_size(report, s):
    small, large = s["small"], s["large"]
    report.section(
        f"8. Hidden size on a round class region: {list(small.hidden)} vs {list(large.hidden)}, "
        f"{small.activation}"
    )
    (_, _), (Xd, yd), _ = load_data(small)
    for name, config in (("small", small), ("large", large)):
        result = run(config)
        accuracy = result.history.val_accuracy[-1]
        hidden = f"{config.activation}, hidden {list(config.hidden)}"
        title = f"{hidden} (seed {config.seed}): {accuracy:.1%} of validation points right"
        # The small net's few lines show where its corners come from; 32 would hide the regions.
        figure = plots.decision_boundary(
            result.model, Xd, yd, proba=False, title=title, first_layer=config is small
        )
        report.figure(figure, f"8-disc-{name}.png", f"{name} net")
        _setup(report, config, result.history)
        report.text(f"Validation accuracy: {accuracy:.2%}.")
    report.text(
        f"A relu net is linear between the lines where its units switch on (dashed: the "
        f"first layer's {small.hidden[0]} lines), so with {' + '.join(map(str, small.hidden))} "
        f"units the disc becomes a polygon with its corners on those lines; "
        f"{' + '.join(map(str, large.hidden))} units draw it nearly round."
    )


def _softmax(report):
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
