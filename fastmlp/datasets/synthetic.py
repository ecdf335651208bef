"""Synthetic 2-D classification sets whose decision boundary can be drawn.

Every loader returns ``((xtrain, ytrain), (xval, yval), num_classes)`` with
float64 inputs of shape ``(n, 2)`` and int64 labels, drawn from the loader's
own ``np.random.Generator``: the same seed gives the same arrays.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._checks import as_positive

#: The quadratic form of ``load_synth``: class 1 where ``x^T Q x > 0.6``.
SYNTH_Q = np.array([[1.0, -0.05], [1.0, 0.4]])
SYNTH_THRESHOLD = 0.6


def _draw(num_train, num_val, seed, draw):
    """Validate sizes, draw ``num_train + num_val`` points with ``draw(rng, n)`` and split them."""
    num_train = as_positive("num_train", num_train, numbers.Integral)
    num_val = as_positive("num_val", num_val, numbers.Integral)
    x, y, num_classes = draw(np.random.default_rng(seed), num_train + num_val)
    y = y.astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), num_classes


def load_synth(
    num_train: int = 60_000, num_val: int = 10_000, seed: int | None = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return the classic synthetic set: N(0, I) points, class 1 inside a quadratic form.

    A point is class 1 where ``x^T Q x > 0.6`` with ``Q = [[1, -0.05], [1, 0.4]]``
    (an ellipse-shaped boundary; about 56% of points are class 1), else 0.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int or None
        Seed of the set's own ``np.random.Generator``.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), 2)``.
    """

    def draw(rng, n):
        x = rng.standard_normal((n, 2))
        return x, np.einsum("ni,ij,nj->n", x, SYNTH_Q, x) > SYNTH_THRESHOLD, 2

    return _draw(num_train, num_val, seed, draw)


def load_disc(
    num_train: int = 10_000, num_val: int = 2_000, seed: int | None = 0, radius: float | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return points uniform in [-1, 1]^2, class 1 inside a disc about the origin.

    The default radius ``sqrt(2 / pi)`` puts half the square's area inside.
    A net with hidden sizes [3, 3] and relu can only cut the plane along a few
    lines, so it learns a polygon (hexagon-like) boundary; [32, 32] gets round.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int or None
        Seed of the set's own ``np.random.Generator``.
    radius : float, optional
        Radius of the disc (> 0); default ``sqrt(2 / pi)``.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), 2)``.
    """
    radius = np.sqrt(2 / np.pi) if radius is None else as_positive("radius", radius)

    def draw(rng, n):
        x = rng.uniform(-1, 1, (n, 2))
        return x, np.hypot(x[:, 0], x[:, 1]) < radius, 2

    return _draw(num_train, num_val, seed, draw)


def load_rings(
    num_train: int = 10_000, num_val: int = 2_000, seed: int | None = 0, num_classes: int = 3
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return points uniform in [-1, 1]^2, classed by concentric rings of equal area.

    Class ``k`` holds the points whose squared radius falls in the ``k``-th of
    ``num_classes`` equal-area bands of the unit disc's area ``[0, 2]`` (the
    corners beyond join the last class). With ``num_classes=2`` this is a disc
    inside a ring.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int or None
        Seed of the set's own ``np.random.Generator``.
    num_classes : int
        Number of rings, and of classes (>= 1).

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), num_classes)``.
    """
    num_classes = as_positive("num_classes", num_classes, numbers.Integral)
    edges = np.linspace(0, 2 * 2 / np.pi, num_classes + 1)[1:-1]

    def draw(rng, n):
        x = rng.uniform(-1, 1, (n, 2))
        return x, np.searchsorted(edges, (x**2).sum(axis=1)), num_classes

    return _draw(num_train, num_val, seed, draw)


def load_moons(
    num_train: int = 10_000, num_val: int = 2_000, seed: int | None = 0, noise: float = 0.1
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return the two interleaving half-circles ("moons") with Gaussian noise.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int or None
        Seed of the set's own ``np.random.Generator``.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), 2)``.
    """

    def draw(rng, n):
        y = rng.integers(0, 2, n)
        angle = rng.uniform(0, np.pi, n)
        x = np.where(
            y[:, None] == 0,
            np.column_stack([np.cos(angle), np.sin(angle)]),
            np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)]),
        )
        return x + rng.normal(0, noise, (n, 2)), y, 2

    return _draw(num_train, num_val, seed, draw)


def load_spirals(
    num_train: int = 10_000,
    num_val: int = 2_000,
    seed: int | None = 0,
    num_classes: int = 3,
    noise: float = 0.05,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Return ``num_classes`` interleaved spiral arms, one class per arm.

    Parameters
    ----------
    num_train, num_val : int
        Number of training and validation points (>= 1).
    seed : int or None
        Seed of the set's own ``np.random.Generator``.
    num_classes : int
        Number of arms, and of classes (>= 1).
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.

    Returns
    -------
    tuple
        ``((xtrain, ytrain), (xval, yval), num_classes)``.
    """
    num_classes = as_positive("num_classes", num_classes, numbers.Integral)

    def draw(rng, n):
        y = rng.integers(0, num_classes, n)
        t = rng.uniform(0.05, 1, n)  # position along the arm, centre to rim
        angle = 2 * np.pi * (1.5 * t + y / num_classes)
        x = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        return x + rng.normal(0, noise, (n, 2)), y, num_classes

    return _draw(num_train, num_val, seed, draw)


#: The synthetic sets by name, as the command line offers them.
SYNTHETIC = {
    "synth": load_synth,
    "disc": load_disc,
    "rings": load_rings,
    "moons": load_moons,
    "spirals": load_spirals,
}
