"""Plots of training runs, models and predictions, built with matplotlib's object-oriented API.

Every function creates its own ``matplotlib.figure.Figure`` (never ``pyplot``),
so plotting needs no display and leaves matplotlib's global state alone; it
returns the figure, and ``save`` writes one to disk atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, MaxNLocator
from numpy.typing import ArrayLike

from ._checks import as_choice, as_float_array, reject
from ._files import atomic_path
from .experiments import RepeatResult, SweepResult
from .history import History
from .kernels import softmax_xent_backward
from .model import MLP
from .reference import normalised_xent_backward

#: The per-run curves a ``History`` records, with their axis labels.
CURVES = {
    "step_loss": "loss per step",
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_accuracy": "training accuracy",
    "val_accuracy": "validation accuracy",
}
#: One colour per series, the same in every panel of a figure.
SERIES_COLOURS = {"train": "C0", "val": "C1"}
#: Most data points ``decision_boundary`` scatters; more would hide the regions.
MAX_POINTS = 2000
#: Fewest steps the default moving average of ``step_loss`` spans (all steps if fewer).
MIN_WINDOW = 10
#: Percentiles of the raw step losses that bound ``step_loss``'s y axis: a few
#: spikes must not squash the moving average into a flat line.
LOSS_PERCENTILES = (1, 99)


def curve_label(key: str, held_out: str = "validation") -> str:
    """Return the axis label of a ``History`` curve, naming the held-out set.

    Parameters
    ----------
    key : {"step_loss", "train_loss", "val_loss", "train_accuracy", "val_accuracy"}
        The curve.
    held_out : str
        What the ``val_*`` curves were measured on: ``"validation"``, or
        ``"test"`` for a final run (``Config(final=True)``).

    Returns
    -------
    str
        E.g. ``"validation loss"``, or ``"test accuracy"`` with ``held_out="test"``.
    """
    _check_key("key", key)
    return CURVES[key].replace("validation", held_out) if key.startswith("val_") else CURVES[key]


def step_loss(
    history: History | ArrayLike, window: int | None = None, title: str | None = None
) -> Figure:
    """Plot every step's loss, raw and smoothed by a moving average.

    Parameters
    ----------
    history : History or array_like
        A run's ``History``, or its step losses as a 1-D array.
    window : int, optional
        Steps per moving-average window; default 1% of the steps, at least
        ``MIN_WINDOW`` (or all steps if fewer). The smoothed value at step ``i``
        is the mean of steps ``i - window + 1`` to ``i``, so the smoothed curve
        starts at step ``window - 1``.
    title : str, optional
        Axes title; default "Loss per training step".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the raw losses (faint), the moving average (left out when
        ``window`` is 1: it would be the raw losses again), and light vertical
        lines at epoch boundaries when ``history`` is a ``History`` of several
        epochs. The y axis spans the ``LOSS_PERCENTILES`` of the raw losses and
        the whole moving average, so rare spikes run off the top.
    """
    loss = np.asarray(getattr(history, "step_loss", history), dtype=np.float64)
    if loss.ndim != 1 or loss.size == 0:
        raise reject("step-losses", "history", shape=loss.shape)
    window = max(loss.size // 100, min(MIN_WINDOW, loss.size)) if window is None else window
    if not 1 <= window <= loss.size:
        raise reject("window", "window", most=loss.size, value=window)
    steps = np.arange(loss.size)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(steps, loss, color="C0", alpha=0.3, lw=0.8, label="per step")
    if window > 1:
        ax.plot(steps[window - 1 :], smooth, color="C0", label=f"mean of last {window} steps")
    ax.set_ylim(_robust_limits(loss, smooth))
    per_epoch = getattr(history, "steps_per_epoch", 0)
    if per_epoch and loss.size > per_epoch:
        # vlines, not axvline: keeps ax.get_lines() to the two loss curves.
        ax.vlines(
            steps[per_epoch::per_epoch],
            0,
            1,
            transform=ax.get_xaxis_transform(),
            color="0.85",
            lw=0.8,
            zorder=0,
        )
    ax.set(xlabel="step", ylabel="loss", title="Loss per training step" if title is None else title)
    _legend(ax, steps=True)
    return fig


def _legend(ax, steps):
    """Add the legend; over per-step curves, top right (losses fall), not "best".

    "best" scans every point: over thousands of steps matplotlib warns it is slow.
    """
    ax.legend(loc="upper right" if steps else "best")


def _robust_limits(raw, smooth):
    """Return y limits spanning the raw values' central percentiles and all of ``smooth``."""
    low, high = np.percentile(raw, LOSS_PERCENTILES)
    low, high = min(low, smooth.min()), max(high, smooth.max())
    pad = 0.05 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def epoch_loss(history: History, title: str | None = None, held_out: str = "validation") -> Figure:
    """Plot training and validation loss per epoch, and validation accuracy if recorded.

    Parameters
    ----------
    history : History
        A run's history with at least one epoch.
    title : str, optional
        Figure title; default "Loss and accuracy per epoch" (or "Loss per
        epoch" without accuracy).
    held_out : str
        Name of the set the ``val_*`` curves were measured on, as in ``curve_label``.

    Returns
    -------
    matplotlib.figure.Figure
        A loss axes (training, then validation if recorded) and, when
        ``history.val_accuracy`` is not empty, an accuracy axes (validation,
        then training if recorded). Each series keeps its ``SERIES_COLOURS``
        colour in both axes; every epoch has a marker and the epoch ticks are
        integers.
    """
    if not history.train_loss:
        raise reject("epochs-none", "history")
    with_accuracy = bool(history.val_accuracy)
    fig = Figure(figsize=(11 if with_accuracy else 6, 4), layout="constrained")
    axes = fig.subplots(1, 2 if with_accuracy else 1, squeeze=False)[0]
    _epoch_curves(axes[0], history, ("train_loss", "val_loss"), "loss", held_out)
    if with_accuracy:
        _epoch_curves(axes[1], history, ("val_accuracy", "train_accuracy"), "accuracy", held_out)
    default = "Loss and accuracy per epoch" if with_accuracy else "Loss per epoch"
    fig.suptitle(default if title is None else title)
    return fig


def _epoch_curves(ax, history, keys, ylabel, held_out):
    for key in keys:
        values = getattr(history, key)
        if len(values):
            colour = SERIES_COLOURS[key.split("_")[0]]
            x = np.arange(1, len(values) + 1)
            ax.plot(x, values, color=colour, marker="o", ms=4, label=curve_label(key, held_out))
    _epoch_axis(ax, history.epochs)
    ax.set(xlabel="epoch", ylabel=ylabel)
    ax.legend()


def _epoch_axis(ax, epochs):
    """Integer epoch ticks, with half an epoch of room on each side (one epoch is one point)."""
    # min_n_ticks=1: else the locator gives up on integers when only one is in view.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(0.5, epochs + 0.5)


def repeat_band(
    histories: Sequence[History] | RepeatResult,
    key: str = "val_loss",
    label: str | None = None,
    ax_title: str | None = None,
    held_out: str = "validation",
) -> Figure:
    """Plot the mean +- standard deviation of one curve over repeated runs.

    Parameters
    ----------
    histories : list of History, or object with a ``histories`` list
        The runs. Curves of unequal length are truncated to the shortest.
    key : {"step_loss", "train_loss", "val_loss", "train_accuracy", "val_accuracy"}
        The curve to compare.
    label : str, optional
        Legend label of the mean curve; default "mean of N runs".
    ax_title : str, optional
        Axes title; default "<curve>: mean +- std of N runs".
    held_out : str
        Name of the set the ``val_*`` curves were measured on, as in ``curve_label``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: each run as a faint line, then the band of mean +- standard
        deviation (``ddof=0``), then the mean as the last line (with a marker
        per epoch for epoch curves).
    """
    runs = _runs("histories", histories)
    x, curves = _stack("histories", runs, key)
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for curve in curves:
        ax.plot(
            x, curve, color="C0", alpha=0.25, lw=0.8, marker=None if key == "step_loss" else "."
        )
    _band(ax, x, curves, "C0", label or f"mean of {len(runs)} runs", key != "step_loss")
    _label_axes(ax, key, len(x), held_out)
    default = f"{curve_label(key, held_out).capitalize()}: mean \u00b1 std of {len(runs)} runs"
    ax.set_title(default if ax_title is None else ax_title)
    _legend(ax, steps=key == "step_loss")
    return fig


def lr_comparison(
    results: Mapping[float, Sequence[History] | RepeatResult],
    key: str = "val_loss",
    final_key: str = "val_accuracy",
    held_out: str = "validation",
) -> Figure:
    """Compare learning rates: mean curves, and the final value against the rate.

    Parameters
    ----------
    results : dict
        Maps each learning rate (> 0) to its runs: a list of ``History``, or an
        object with a ``histories`` list.
    key : {"step_loss", "train_loss", "val_loss", "train_accuracy", "val_accuracy"}
        The curve shown per rate in the left panel.
    final_key : str
        The curve (same choices as ``key``) whose last value, per run, the right
        panel shows.
    held_out : str
        Name of the set the ``val_*`` curves were measured on, as in ``curve_label``.

    Returns
    -------
    matplotlib.figure.Figure
        Left: per rate in increasing order, the mean curve with a +- standard
        deviation band (a marker per epoch for epoch curves, integer epoch
        ticks). Right: mean +- standard deviation of the final values against
        the rate, on a log axis. Each axes and the figure have a title.
    """
    if not results:
        raise reject("rates-none", "results")
    rates = sorted(results)
    if rates[0] <= 0:
        raise reject("rates-positive", "results", value=rates[0])
    _check_key("final_key", final_key)
    fig = Figure(figsize=(11, 4), layout="constrained")
    curves_ax, final_ax = fig.subplots(1, 2)
    groups = [(f"results[{rate!r}]", f"lr = {rate:g}", results[rate]) for rate in rates]
    finals = _mean_curves(curves_ax, groups, key, final_key, held_out)
    curves_ax.set_title(f"{curve_label(key, held_out).capitalize()} per learning rate")
    _legend(curves_ax, steps=key == "step_loss")
    final_ax.errorbar(
        np.array(rates, dtype=np.float64),
        np.array([np.mean(f) for f in finals]),
        yerr=np.array([np.std(f) for f in finals]),
        marker="o",
        capsize=3,
    )
    final_ax.set_xscale("log")
    final_label = f"final {curve_label(final_key, held_out)}"
    final_ax.set(xlabel="learning rate", ylabel=final_label, title=final_label.capitalize())
    fig.suptitle("Learning rates compared (mean \u00b1 std over the runs of each rate)")
    return fig


def sweep_comparison(
    result: SweepResult,
    key: str = "val_loss",
    final_key: str = "val_accuracy",
    held_out: str = "validation",
) -> Figure:
    """Compare the settings of any sweep: mean curves, and each setting's final value.

    Parameters
    ----------
    result : SweepResult
        What ``fastmlp.experiments.sweep`` returned, whatever fields it swept.
    key, final_key : str
        As for ``lr_comparison``.
    held_out : str
        Name of the set the ``val_*`` curves were measured on, as in ``curve_label``.

    Returns
    -------
    matplotlib.figure.Figure
        Left: per setting (labelled with its swept values), the mean curve
        with a +- standard deviation band. Right: the mean +- standard
        deviation of the final values, one bar per setting in grid order.
    """
    _check_key("final_key", final_key)
    fig = Figure(figsize=(11, 4), layout="constrained")
    curves_ax, final_ax = fig.subplots(1, 2)
    labels = [", ".join(f"{name}={value}" for name, value in p.items()) for p in result.params]
    groups = [(label, label, runs) for label, runs in zip(labels, result.results)]
    finals = _mean_curves(curves_ax, groups, key, final_key, held_out)
    curves_ax.set_title(f"{curve_label(key, held_out).capitalize()} per setting")
    curves_ax.legend()
    at = np.arange(len(labels))
    final_ax.bar(
        at,
        [np.mean(f) for f in finals],
        yerr=[np.std(f) for f in finals],
        color=[f"C{i % 10}" for i in at],
        capsize=3,
    )
    final_ax.set_xticks(at, labels, rotation=20, ha="right")
    final_label = f"final {curve_label(final_key, held_out)}"
    final_ax.set(ylabel=final_label, title=final_label.capitalize())
    fig.suptitle(
        f"Sweep over {', '.join(result.params[0])} (mean \u00b1 std over the runs of each setting)"
    )
    return fig


def _mean_curves(ax, groups, key, final_key, held_out):
    """Draw each group's mean ``key`` curve with a band on ``ax``; return its runs' final values.

    ``groups`` holds ``(name, label, runs)``: ``name`` for errors, ``label`` for the legend.
    """
    finals = []
    for i, (name, label, repeated) in enumerate(groups):
        runs = _runs(name, repeated)
        x, curves = _stack(name, runs, key)
        _band(ax, x, curves, f"C{i % 10}", label, key != "step_loss")
        finals.append([curve[-1] for curve in _curves(name, runs, final_key)])
    _label_axes(ax, key, len(x), held_out)
    return finals


def _check_key(name, key):
    as_choice(name, key, CURVES)


def _runs(name, histories):
    runs = list(getattr(histories, "histories", histories))
    if not runs:
        raise reject("histories-none", name)
    return runs


def _curves(name, runs, key):
    """Return each run's ``key`` curve as float64, none of them empty."""
    _check_key("key", key)
    curves = [np.asarray(getattr(run, key), dtype=np.float64) for run in runs]
    if min(len(curve) for curve in curves) == 0:
        raise reject("curve-empty", name, key=key)
    return curves


def _stack(name, runs, key):
    """Return the x values and the runs' ``key`` curves, truncated to the shortest, as 2-D."""
    curves = _curves(name, runs, key)
    length = min(len(curve) for curve in curves)
    # Steps count from 0 (as in step_loss), epochs from 1 (as in epoch_loss).
    x = np.arange(length) if key == "step_loss" else np.arange(1, length + 1)
    return x, np.stack([curve[:length] for curve in curves])


def _band(ax, x, curves, color, label, markers):
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    ax.plot(x, mean, color=color, label=label, marker="o" if markers else None, ms=4)


def _label_axes(ax, key, length, held_out):
    ax.set(xlabel="step" if key == "step_loss" else "epoch", ylabel=curve_label(key, held_out))
    if key != "step_loss":
        _epoch_axis(ax, length)


def decision_boundary(
    model: MLP,
    X: ArrayLike,
    y: ArrayLike,
    resolution: int = 200,
    proba: bool = True,
    title: str | None = None,
    first_layer: bool = False,
) -> Figure:
    """Plot a 2-input model's predictions over the plane, with the data on top.

    Parameters
    ----------
    model : MLP
        A model with 2 inputs.
    X : array_like, shape (n, 2)
        The data; the grid covers its range plus a 10% margin on each side.
    y : array_like of int, shape (n,)
        True classes, used to colour the points.
    resolution : int
        Grid points along each axis.
    proba : bool
        For a 2-class model, shade the probability of class 1 (and draw its
        0.5 contour); otherwise, or with more classes, shade the predicted class.
    title : str, optional
        Axes title; default "Decision regions".
    first_layer : bool
        Also draw each first-layer unit's line ``w . x + b = 0`` (dashed, in
        the order of the units): where a relu unit switches on. A relu net's
        boundary is straight between these lines and can bend only on them (or
        on a deeper unit's switch), which is why few units draw a polygon.

    Returns
    -------
    matplotlib.figure.Figure
        The plot axes (filled contour first, points, then the first layer's
        lines) and a colour bar. At most ``MAX_POINTS`` points are drawn, a
        fixed random subset.
    """
    if model.sizes[0] != 2:
        raise reject("two-inputs", "model", sizes=list(model.sizes))
    X = as_float_array("X", X, np.float64, 2, shape=(None, 2))
    y = model.check_y(y, len(X))
    gx, gy = _grid(X, resolution)
    P = model.predict_proba(np.column_stack([gx.ravel(), gy.ravel()]))
    if len(X) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(0).choice(len(X), MAX_POINTS, replace=False))
        X, y = X[keep], y[keep]

    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.add_subplot()
    colours = _shade(fig, ax, gx, gy, P, proba)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=12, edgecolors="k", linewidths=0.4, **colours)
    if first_layer:
        _first_layer_lines(ax, model, (gx[0, 0], gx[0, -1]), (gy[0, 0], gy[-1, 0]))
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision regions" if title is None else title)
    return fig


def _grid(X, resolution):
    """Return the ``meshgrid`` over ``X``'s range plus a 10% margin (0.5 for a flat axis)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
    return np.meshgrid(
        np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution),
        np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution),
    )


def _shade(fig, ax, gx, gy, P, proba):
    """Fill the grid with P(class 1) (2 classes and ``proba``) or the predicted class.

    Returns the colour arguments, for the points to be coloured alike.
    """
    k = P.shape[1]
    if proba and k == 2:
        p1 = P[:, 1].reshape(gx.shape)
        colours = {"cmap": "RdBu_r", "vmin": 0, "vmax": 1}
        filled = ax.contourf(gx, gy, p1, levels=np.linspace(0, 1, 11), alpha=0.5, **colours)
        # contour warns when asked for a level outside the data, e.g. one class everywhere.
        if p1.min() < 0.5 < p1.max():
            ax.contour(gx, gy, p1, levels=[0.5], colors="k", linewidths=1)
        fig.colorbar(filled, ax=ax, label="P(class 1)")
    else:
        colours = {"cmap": _class_colours(k), "norm": BoundaryNorm(np.arange(k + 1) - 0.5, k)}
        predicted = P.argmax(axis=1).reshape(gx.shape)
        filled = ax.contourf(gx, gy, predicted, levels=np.arange(k + 1) - 0.5, alpha=0.4, **colours)
        fig.colorbar(filled, ax=ax, label="predicted class", ticks=np.arange(k))
    return colours


def _first_layer_lines(ax, model, xlim, ylim):
    """Draw ``w_j . x + b_j = 0`` for each first-layer unit ``j`` across the plot's box."""
    W, b = model.weights[0], model.biases[0]
    for j in range(W.shape[1]):
        (w1, w2), c = np.asarray(W[:, j], dtype=np.float64), float(b[j])
        # Parametrised by the coordinate the line is steepest along, so no division by ~0.
        if abs(w2) >= abs(w1) and w2 != 0:
            xs = np.array(xlim)
            points = xs, -(w1 * xs + c) / w2
        elif w1 != 0:
            ys = np.array(ylim)
            points = -(w2 * ys + c) / w1, ys
        else:
            continue  # a unit that ignores the input draws no line
        label = r"first layer: $w_j \cdot x + b_j = 0$" if j == 0 else None
        ax.plot(*points, color="k", ls="--", lw=1.2, label=label)
    ax.set(xlim=xlim, ylim=ylim)
    if ax.get_lines():
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)


def _class_colours(k):
    if k <= 10:
        return ListedColormap(colormaps["tab10"].colors[:k])
    return colormaps["turbo"].resampled(k)


def digits_grid(
    images: ArrayLike,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n: int = 36,
    title: str | None = None,
    mistakes_first: bool = False,
) -> Figure:
    """Show digit images in a grid, each titled with its predicted and true class.

    Parameters
    ----------
    images : array_like, shape (m, 784) or (m, 28, 28)
        The images.
    y_true, y_pred : array_like of int, shape (m,)
        True and predicted classes.
    n : int
        Most images shown: the first ``n`` in the order given.
    title : str, optional
        Figure title; default "Predicted vs true digits" (with "mistakes
        first" when ``mistakes_first``).
    mistakes_first : bool
        Order mistakes (``y_pred != y_true``) before correct predictions,
        each group keeping its original order.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image shown, titled "pred p / true t"; a mistake has a red
        title and a red frame.
    """
    images, y_true, y_pred = _digits(images, y_true, y_pred, n)
    wrong = y_true != y_pred
    order = np.argsort(~wrong, kind="stable") if mistakes_first else np.arange(len(images))
    order = order[:n]
    cols = int(np.ceil(np.sqrt(len(order))))
    rows = int(np.ceil(len(order) / cols))

    fig = Figure(figsize=(1.4 * cols, 1.6 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(order) :]:
        ax.remove()
    for ax, i in zip(axes, order):
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
        ax.set_title(
            f"pred {y_pred[i]} / true {y_true[i]}", fontsize=8, color="red" if wrong[i] else "black"
        )
        ax.set(xticks=[], yticks=[])
        for spine in ax.spines.values():
            spine.set(visible=wrong[i], color="red", linewidth=2)
    default = f"Predicted vs true digits{', mistakes first' if mistakes_first else ''}"
    fig.suptitle(default if title is None else title)
    return fig


def _digits(images, y_true, y_pred, n):
    """Return ``images`` as (m, 28, 28) and the labels as arrays, after checking them and ``n``."""
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 28 * 28:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
        raise reject("digit-images", "images", shape=images.shape)
    if n < 1:
        raise reject("images-none", "n", value=n)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != (len(images),) or y_pred.shape != (len(images),):
        raise reject(
            "image-labels", "y_true, y_pred", n=len(images), shape=y_true.shape, other=y_pred.shape
        )
    return images, y_true, y_pred


def confusion_counts(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """Return the confusion matrix: ``counts[i, j]`` samples of class ``i`` predicted as ``j``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (n,)
        True and predicted classes, each >= 0.
    n_classes : int, optional
        Number of classes; default one more than the largest label.

    Returns
    -------
    numpy.ndarray of int64, shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or y_true.size == 0:
        raise reject("label-pair", "y_true, y_pred", shape=y_true.shape, other=y_pred.shape)
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    y_true = _labels("y_true", y_true, n_classes)
    y_pred = _labels("y_pred", y_pred, n_classes)
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def _labels(name, y, n_classes):
    if not np.issubdtype(y.dtype, np.integer):
        raise reject("label-dtype", name, dtype=y.dtype)
    if y.min() < 0 or y.max() >= n_classes:
        raise reject("label-span", name, n_classes=n_classes, low=y.min(), high=y.max())
    return y.astype(np.int64)


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int | None = None,
    normalize: bool = False,
    title: str | None = None,
) -> Figure:
    """Plot the confusion matrix, each cell annotated with its value.

    Parameters
    ----------
    y_true, y_pred, n_classes
        As for ``confusion_counts``.
    normalize : bool
        Show each row as fractions of its true class (a row without samples
        stays 0) instead of counts.
    title : str, optional
        Axes title; default "Confusion matrix, N samples".

    Returns
    -------
    matplotlib.figure.Figure
        The matrix axes (rows true, columns predicted) and a colour bar.
    """
    counts = confusion_counts(y_true, y_pred, n_classes)
    k = len(counts)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts

    side = 2.5 + 0.5 * k
    fig = Figure(figsize=(side + 1, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    # White text on the dark half of the colour map, black on the light half.
    dark = shown > shown.max() / 2
    for (i, j), value in np.ndenumerate(shown):
        text = f"{value:.2f}" if normalize else str(value)
        color = "white" if dark[i, j] else "black"
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted class", ylabel="true class")
    ax.set_title(f"Confusion matrix, {counts.sum():,} samples" if title is None else title)
    return fig


def softmax_vs_normalisation(outputs: ArrayLike | None = None, target: int = 0) -> Figure:
    """Plot why softmax: the cross-entropy gradient with and without it.

    For two outputs, the other fixed at 1 and the target's varying, plot the
    gradient of the cross-entropy with respect to the target's output through
    softmax (``fastmlp.kernels.softmax_xent_backward``, bounded in [-1, 1])
    and through plain normalisation ``z / sum(z)``
    (``fastmlp.reference.normalised_xent_backward``, unbounded as the output
    goes to 0).

    Parameters
    ----------
    outputs : array_like, optional
        Positive values of the target's output; default 200 values from 0.01 to 5.
    target : {0, 1}
        Index of the target class.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (``asinh`` y axis: linear near 0, logarithmic far out, and
        smooth everywhere, so no curve gets a kink from the axis): the softmax
        gradient, the normalisation gradient, then dashed lines at -1 and 1.
    """
    z_t = np.linspace(0.01, 5, 200) if outputs is None else np.asarray(outputs, dtype=np.float64)
    if z_t.ndim != 1 or z_t.size == 0 or not (z_t > 0).all():
        raise reject("positive-outputs", "outputs")
    if target not in (0, 1):
        raise reject("binary-target", "target", value=target)
    Z = np.ones((z_t.size, 2))
    Z[:, target] = z_t
    _, softmax_grad = softmax_xent_backward(Z, np.full(z_t.size, target))
    normalised_grad = [normalised_xent_backward(z, target)[1][target] for z in Z]

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(z_t, softmax_grad[:, target], label=r"softmax: $p_t - 1$")
    ax.plot(z_t, normalised_grad, label=r"sum-normalisation: $1/(z_0 + z_1) - 1/z_t$")
    for bound in (-1, 1):
        ax.axhline(bound, color="0.5", ls="--", lw=0.8)
    # Near-linear within [-1, 1], logarithmic beyond: shows the bounded curve and the
    # blow-up. asinh, not symlog, whose slope jumps at the threshold and bends the curves there.
    ax.set_yscale("asinh", linear_width=1)
    values = np.concatenate([softmax_grad[:, target], normalised_grad])
    ax.yaxis.set_major_locator(FixedLocator(_decade_ticks(values.min(), values.max())))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.set(
        xlabel=f"target output $z_{target}$ (other output = 1)",
        ylabel=r"$\partial\,$loss$\,/\,\partial z_t$",
        title="Cross-entropy gradient at the target output",
    )
    ax.legend()
    return fig


def _decade_ticks(low, high):
    """Return 0, +-1 and the powers of ten out to ``low`` and ``high``: the asinh axis's marks."""
    ticks = [-1.0, 0.0, 1.0]
    for sign, end in ((-1, -low), (1, high)):
        ticks += [sign * 10.0**k for k in range(1, int(np.ceil(np.log10(max(end, 1)))) + 1)]
    return sorted(ticks)


def save(fig: Figure, path: os.PathLike | str, dpi: float = 100) -> Path:
    """Write ``fig`` to ``path`` atomically, in the format its suffix names.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Destination, e.g. ``"loss.png"`` or ``"loss.pdf"``.
    dpi : float
        Resolution of raster formats.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    if not path.suffix:
        raise reject("format-suffix", "path", path=path)
    with atomic_path(path) as tmp:
        # The temporary file ends in .part, so name the format explicitly.
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=dpi)
    return path
