"""The ``MLP``: parameters in one contiguous buffer, seeded initialisation, inference."""

from __future__ import annotations

import itertools
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._checks import as_array, as_dtype, as_float_array, as_labels
from .kernels.network import infer
from .names import RELU, activation_code


class MLP:
    """A multilayer perceptron with a softmax + cross-entropy output.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first and classes last: ``[784, 300, 10]``
        or ``[2, 3, 3, 2]``. At least two entries, all >= 1.
    activation : {"sigmoid", "tanh", "relu"}
        Activation of every hidden layer.
    dtype : {"float32", "float64"} or numpy.dtype
        Dtype of the parameters and of all arithmetic on them.
    seed : int or None
        Seed of the model's own ``np.random.Generator`` (global numpy random
        state is never touched).

    Attributes
    ----------
    params : numpy.ndarray
        Every parameter in one contiguous 1-D buffer, layer by layer, each
        layer's weights (row-major) followed by its biases.
    weights : tuple of numpy.ndarray
        ``weights[l]`` has shape ``(sizes[l], sizes[l + 1])``, a row per input
        unit; a writable view into ``params``.
    biases : tuple of numpy.ndarray
        ``biases[l]`` has shape ``(sizes[l + 1],)``; a writable view into ``params``.

    Notes
    -----
    Initialisation: biases are zero. Weights are Glorot-uniform for sigmoid
    and tanh, ``U(-r, r)`` with ``r = sqrt(6 / (n_in + n_out))``, and
    He-normal for relu, ``N(0, 2 / n_in)``; the output layer follows the
    hidden activation's scheme.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        dtype: DTypeLike = "float32",
        seed: int | None = 0,
    ) -> None:
        self.sizes = _as_sizes(sizes)
        self.activation = activation
        self._code = activation_code(activation)
        self.dtype = as_dtype(dtype)
        n_params = parameter_count(self.sizes)
        try:
            self.params = np.zeros(n_params, dtype=self.dtype)
        except (MemoryError, ValueError) as error:
            raise ValueError(
                f"sizes: {list(self.sizes)} needs {n_params} parameters "
                f"({n_params * self.dtype.itemsize / 2**30:.3g} GiB), more than can be "
                f"allocated ({error})"
            ) from None
        weights, biases, offset = [], [], 0
        for n_in, n_out in self.layer_shapes:
            weights.append(self.params[offset : offset + n_in * n_out].reshape(n_in, n_out))
            offset += n_in * n_out
            biases.append(self.params[offset : offset + n_out])
            offset += n_out
        self.weights, self.biases = tuple(weights), tuple(biases)
        self.initialize(seed)

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """The ``(n_in, n_out)`` shape of each layer's weights."""
        return tuple(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_classes(self) -> int:
        """Number of output classes."""
        return self.sizes[-1]

    def initialize(self, seed: int | None = 0) -> MLP:
        """Draw fresh parameters from ``np.random.default_rng(seed)`` (see Notes of ``MLP``).

        Parameters
        ----------
        seed : int or None
            Seed of the ``np.random.Generator`` the parameters are drawn from.

        Returns
        -------
        MLP
            This model, its parameters overwritten in place.
        """
        rng = _as_rng(seed)
        for W, b in zip(self.weights, self.biases):
            n_in, n_out = W.shape
            if self._code == RELU:
                W[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=W.shape)
            else:
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[...] = rng.uniform(-limit, limit, size=W.shape)
            b[...] = 0
        return self

    def copy(self) -> MLP:
        """Return an independent model with the same sizes, activation, dtype and parameters.

        Returns
        -------
        MLP
            The copy, sharing no memory with this model.
        """
        clone = MLP(self.sizes, self.activation, self.dtype.name, seed=None)
        clone.params[...] = self.params
        return clone

    def save(self, path: os.PathLike | str) -> Path:
        """Write the model to ``path`` as ``.npz``, atomically (see ``fastmlp.io``); return it.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        from .io import save

        return save(self, path)

    def __getstate__(self) -> dict[str, Any]:
        # weights and biases are views into params: pickle the buffer once and
        # rebuild the views, or the copy would stop writing through to params.
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "dtype": self.dtype.name,
            "params": self.params,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["sizes"], state["activation"], state["dtype"], seed=None)
        self.params[...] = state["params"]

    def __repr__(self) -> str:
        sizes, activation, dtype = list(self.sizes), self.activation, self.dtype.name
        return f"MLP(sizes={sizes}, activation={activation!r}, dtype={dtype!r})"

    def check_X(self, X: ArrayLike) -> np.ndarray:
        """Return ``X`` as a C-contiguous 2-D array of the model's dtype and input width.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0]) or (n, h, w) with h * w == sizes[0]
            Inputs, one row per sample, or one image per sample (such as MNIST
            from ``load_mnist(flatten=False)``), which is flattened row by row.

        Returns
        -------
        numpy.ndarray, shape (n, sizes[0])
            ``X`` itself when it already qualifies, else a converted copy
            (a view of it for images that already qualify).

        Raises
        ------
        TypeError, ValueError
            For non-numeric, empty, non-finite or wrongly shaped input.
        """
        X = as_array("X", X)
        width = self.sizes[0]
        if X.ndim != 3:
            return as_float_array("X", X, self.dtype, 2, shape=(None, width))
        n, h, w = X.shape
        if h * w != width:
            raise ValueError(
                f"X: expected a 2-D array of shape (n, {width}) or 3-D images (n, h, w) of "
                f"h * w = {width} pixels, found shape {X.shape} ({h} * {w} = {h * w} pixels)"
            )
        return as_float_array("X", X, self.dtype, 3).reshape(n, width)

    def check_y(self, y: ArrayLike, n: int) -> np.ndarray:
        """Return ``y`` as int64 labels, one per row, each in ``[0, n_classes)``.

        Parameters
        ----------
        y : array_like of int, shape (n,)
            Class labels; floats holding whole numbers are accepted.
        n : int
            Number of rows the labels belong to.

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
            The labels, C-contiguous.

        Raises
        ------
        TypeError, ValueError
            For non-integer labels, a wrong count or a label out of range.
        """
        return as_labels("y", y, n, self.n_classes)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the class probabilities, shape ``(n, n_classes)``, for the rows of ``X``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Inputs, converted to the model's dtype.

        Returns
        -------
        numpy.ndarray, shape (n, n_classes)
            Softmax outputs in the model's dtype; each row sums to 1.
        """
        X = self.check_X(X)
        P = np.empty((X.shape[0], self.n_classes), dtype=self.dtype)
        infer("predict_proba", self.weights, self.biases, X, self._code, P)
        return P

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Return the most probable class (int64) for each row of ``X``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Inputs, converted to the model's dtype.

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
            The predicted classes.
        """
        return self.predict_proba(X).argmax(axis=1)

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(losses, hits)``: each row's cross-entropy (float64) and whether it is right.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Inputs, converted to the model's dtype.
        y : array_like of int, shape (n,)
            True classes.

        Returns
        -------
        losses : numpy.ndarray of float64, shape (n,)
            Each row's cross-entropy loss.
        hits : numpy.ndarray of bool, shape (n,)
            Whether each row's predicted class equals its label.
        """
        X = self.check_X(X)
        y = self.check_y(y, X.shape[0])
        losses = np.empty(X.shape[0], dtype=np.float64)
        hits = np.empty(X.shape[0], dtype=np.bool_)
        infer("evaluate", self.weights, self.biases, X, self._code, y, losses, hits)
        return losses, hits

    def loss(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the mean cross-entropy loss over the rows of ``X`` (a float64 sum).

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Inputs, converted to the model's dtype.
        y : array_like of int, shape (n,)
            True classes.

        Returns
        -------
        float
            The mean loss.
        """
        return float(self.evaluate(X, y)[0].mean())

    def accuracy(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the fraction of rows of ``X`` whose predicted class equals ``y``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Inputs, converted to the model's dtype.
        y : array_like of int, shape (n,)
            True classes.

        Returns
        -------
        float
            The accuracy, in [0, 1].
        """
        return float(self.evaluate(X, y)[1].mean())


def parameter_count(sizes: Sequence[int]) -> int:
    """Return how many parameters (weights and biases) a network of ``sizes`` has."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def _as_rng(seed):
    """Return ``np.random.default_rng(seed)``; numpy's errors for a bad seed name ``seed``."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"seed: expected None or an integer >= 0, found {seed!r} ({error})"
        ) from None


def _as_sizes(given):
    try:
        sizes = tuple(given)
    except TypeError:
        raise TypeError(f"sizes: expected a sequence of layer sizes, found {given!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output size, found {given!r}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"sizes: expected integers >= 1, found {given!r}")
    return tuple(int(size) for size in sizes)
