"""The ``MLP``: parameters in one contiguous buffer, seeded initialisation, inference."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._checks import (
    as_array,
    as_csr,
    as_dtype,
    as_float_array,
    as_sizes,
    as_targets,
    describe,
    is_sparse,
    reject,
)
from ._checks import as_rng as _as_rng
from .kernels.network import check_network, infer, is_plain_array
from .names import CLASSIFIER_OUTPUTS, RELU, SOFTMAX, activation_code, output_code

#: Values ``initialize`` draws at a time: its float64 draws stay a few MB,
#: whatever the size of the model.
INIT_CHUNK = 2**18

_NEW_MODEL = "build a new MLP (or load one) instead"
_IN_PLACE = "change its values in place instead: model.{}[...] = values"

#: What ``MLP.save`` writes with: ``fastmlp.io.save``, registered by ``fastmlp.io`` (the
#: persistence layer, above this one) when ``import fastmlp`` imports it.
_file_writer: Callable[[MLP, os.PathLike | str], Path] | None = None


def register_writer(write: Callable[[MLP, os.PathLike | str], Path]) -> None:
    """Make ``MLP.save(path)`` call ``write(model, path)``: how the model layer saves files.

    Parameters
    ----------
    write : callable
        Takes the model and the destination, writes the file, returns its path.
    """
    global _file_writer
    _file_writer = write


def _read_only(name, doc, instead):
    """Return a property reading ``_<name>`` whose assignment raises, saying what to do instead.

    The kernels take the parameters as views into one buffer, of the model's
    sizes and dtype: rebinding any of these would hand them arrays that do
    not fit. Their values stay writable in place.
    """

    def get(self):
        return getattr(self, "_" + name)

    def refuse(self, value):
        raise AttributeError(f"{name}: MLP.{name} is read-only; {instead}")

    return property(get, refuse, doc=doc)


class MLP:
    """A multilayer perceptron; its output and loss are softmax + cross-entropy by default.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first and outputs (classes) last:
        ``[784, 300, 10]`` or ``[2, 3, 3, 2]``. At least two entries, all >= 1.
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}
        Activation of every hidden layer ("logistic" is another name of
        "sigmoid"; ``activation`` keeps the name given, and model files
        store it).
    dtype : {"float32", "float64"} or numpy.dtype
        Dtype of the parameters and of all arithmetic on them.
    seed : int or None
        Seed of the model's own ``np.random.Generator`` (global numpy random
        state is never touched).
    output : {"softmax", "logistic", "identity", "exp"}
        The output layer and its loss, averaged over rows:

        - "softmax": categorical cross-entropy; targets are class indices, shape (n,);
        - "logistic": binary cross-entropy per output unit; targets 0/1, shape
          (n, k) (one unit for a binary problem, k for multilabel);
        - "identity": squared error ``0.5 * (y - z)**2`` summed over outputs;
          real targets, shape (n, k), or (n,) for one output;
        - "exp": Poisson half-deviance with a log link,
          ``y * log(y / exp(z)) - y + exp(z)``; targets >= 0, shape (n, k) or (n,).

    Attributes
    ----------
    sizes : tuple of int
        Units per layer.
    activation : str
        The hidden layers' activation.
    output : str
        The output layer and its loss.
    dtype : numpy.dtype
        Dtype of the parameters.
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
    Initialisation: biases are zero. Weights are Glorot-uniform for sigmoid,
    tanh and identity, ``U(-r, r)`` with ``r = sqrt(6 / (n_in + n_out))``, and
    He-normal for relu, ``N(0, 2 / n_in)``; the output layer follows the
    hidden activation's scheme.

    ``sizes``, ``activation``, ``output``, ``dtype``, ``params``, ``weights``
    and ``biases`` are read-only: assigning one raises ``AttributeError``. The
    parameters' values are changed in place (``model.params[...] = p``,
    ``model.weights[0][...] = W``). Every call that reaches a kernel first
    runs ``check_network``.

    Threads: ``train`` holds the model's lock, so trainings of one model run
    one after another; inference and ``gradients`` never write parameters
    and take no lock (while another thread trains the model, they see its
    parameters at some point of that training).
    """

    sizes = _read_only("sizes", "Units per layer, input first (tuple of int).", _NEW_MODEL)
    activation = _read_only("activation", "The hidden layers' activation (str).", _NEW_MODEL)
    output = _read_only("output", "The output layer and its loss (str).", _NEW_MODEL)
    dtype = _read_only("dtype", "Dtype of the parameters (numpy.dtype).", _NEW_MODEL)
    params = _read_only(
        "params", "Every parameter in one 1-D buffer (numpy.ndarray).", _IN_PLACE.format("params")
    )
    weights = _read_only(
        "weights", "Each layer's weights, views into params.", _IN_PLACE.format("weights[l]")
    )
    biases = _read_only(
        "biases", "Each layer's biases, views into params.", _IN_PLACE.format("biases[l]")
    )

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        dtype: DTypeLike = "float32",
        seed: int | None = 0,
        *,
        output: str = "softmax",
    ) -> None:
        self._sizes = as_sizes(sizes)
        self._code = activation_code(activation)
        self._activation = activation
        self._out_code = output_code(output)
        self._output = output
        self._dtype = as_dtype(dtype)
        rng = _as_rng(seed)
        #: Held by ``train`` and ``initialize``, the calls that write parameters.
        self._lock = threading.RLock()
        n_params = parameter_count(self._sizes)
        try:
            self._params = np.zeros(n_params, dtype=self._dtype)
            weights, biases, offset = [], [], 0
            for n_in, n_out in self.layer_shapes:
                weights.append(self._params[offset : offset + n_in * n_out].reshape(n_in, n_out))
                offset += n_in * n_out
                biases.append(self._params[offset : offset + n_out])
                offset += n_out
            self._weights, self._biases = tuple(weights), tuple(biases)
            self._draw(rng)
        except (MemoryError, ValueError) as error:
            raise ValueError(
                f"sizes: {list(self._sizes)} needs {n_params} parameters "
                f"({n_params * self._dtype.itemsize / 2**30:.3g} GiB), more than can be "
                f"allocated ({type(error).__name__}: {error})"
            ) from None

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """The ``(n_in, n_out)`` shape of each layer's weights."""
        return tuple(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_classes(self) -> int:
        """Number of output classes (softmax), or of output units (the other outputs)."""
        return self.sizes[-1]

    def check_network(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Check that the model is fit for the kernels; return its ``(weights, biases)``.

        The kernels do no bounds checking and trust the model's arrays, so
        every call that reaches a kernel (``predict_proba``, ``evaluate``,
        ``train``, ``gradients``; ``train`` again after each callback) runs
        this first. The public attributes are read-only, but private state
        (or an array's flags) can still be changed by hand: this is what keeps
        such a change from reaching a kernel.

        Returns
        -------
        weights, biases : tuple of numpy.ndarray
            The checked parameter views, one per layer.

        Raises
        ------
        TypeError, ValueError
            Naming the attribute (``model.weights[1]: ...``) that is not what
            ``sizes``, ``activation`` and ``dtype`` require: ``params`` must be
            a writeable C-contiguous 1-D array of the model's dtype holding
            ``parameter_count(sizes)`` values, and ``weights[l]``, ``biases[l]``
            its C-contiguous views of shapes ``(sizes[l], sizes[l + 1])`` and
            ``(sizes[l + 1],)`` at their offsets, layer by layer.
        """
        try:
            sizes = as_sizes(self._sizes)
            if activation_code(self._activation) != self._code:
                raise ValueError(
                    f"activation: {self._activation!r} does not match the model's "
                    f"activation code {self._code!r}"
                )
            if output_code(self._output) != self._out_code:
                raise ValueError(
                    f"output: {self._output!r} does not match the model's "
                    f"output code {self._out_code!r}"
                )
            weights, biases = check_network(self._weights, self._biases)
        except (TypeError, ValueError) as error:
            raise type(error)(f"model.{error}") from None
        dtype, params, n = self._dtype, self._params, parameter_count(sizes)
        if dtype not in (np.float32, np.float64) or weights[0].dtype != dtype:
            raise reject("model-dtype", "model.dtype", weights=weights[0].dtype, value=dtype)
        if (
            not is_plain_array(params)
            or params.dtype != dtype
            or params.shape != (n,)
            or not params.flags.c_contiguous
            or not params.flags.writeable
        ):
            raise reject(
                "params-array",
                "model.params",
                dtype=dtype,
                n=n,
                sizes=list(sizes),
                found=describe(params),
            )
        _check_views(params, weights, biases, sizes)
        return weights, biases

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
        self.check_network()
        return self._draw(_as_rng(seed))

    def _draw(self, rng):
        # INIT_CHUNK values at a time into each layer's flat view: a Generator
        # draws sequentially, so the values are those of one draw of the whole
        # shape, without a float64 temporary as large as the layer.
        with self._lock:
            for W, b in zip(self._weights, self._biases):
                n_in, n_out = W.shape
                flat = W.reshape(-1)
                for start in range(0, flat.size, INIT_CHUNK):
                    size = min(INIT_CHUNK, flat.size - start)
                    if self._code == RELU:
                        values = rng.normal(0.0, np.sqrt(2.0 / n_in), size)
                    else:
                        limit = np.sqrt(6.0 / (n_in + n_out))
                        values = rng.uniform(-limit, limit, size)
                    flat[start : start + size] = values
                b[...] = 0
        return self

    def copy(self) -> MLP:
        """Return an independent model with the same sizes, activation, dtype and parameters.

        Returns
        -------
        MLP
            The copy, sharing no memory with this model.
        """
        self.check_network()
        clone = MLP(self.sizes, self.activation, self.dtype.name, seed=None, output=self.output)
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
        return _file_writer(self, path)

    def __getstate__(self) -> dict[str, Any]:
        # weights and biases are views into params: pickle the buffer once and
        # rebuild the views, or the copy would stop writing through to params.
        # The lock is not pickled: the copy gets its own.
        self.check_network()
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "dtype": self.dtype.name,
            "output": self.output,
            "params": self.params,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickles from before outputs existed hold no "output": they were softmax.
        output = state.get("output", "softmax")
        self.__init__(state["sizes"], state["activation"], state["dtype"], None, output=output)
        self.params[...] = state["params"]

    def __repr__(self) -> str:
        sizes, activation, dtype = list(self.sizes), self.activation, self.dtype.name
        output = "" if self._out_code == SOFTMAX else f", output={self.output!r}"
        return f"MLP(sizes={sizes}, activation={activation!r}, dtype={dtype!r}{output})"

    def check_X(self, X: ArrayLike) -> np.ndarray:
        """Return ``X`` as a C-contiguous 2-D array of the model's dtype and input width.

        A ``scipy.sparse`` matrix or array is returned as CSR instead, never
        densified: the kernels read it row by row.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0]) or (n, h, w) with h * w == sizes[0]
            Inputs, one row per sample, or one image per sample (such as MNIST
            from ``load_mnist(flatten=False)``), which is flattened row by row;
            or a scipy.sparse matrix or array of shape (n, sizes[0]), in any
            format (converted to CSR, copying only its stored entries).

        Returns
        -------
        numpy.ndarray or scipy.sparse CSR, shape (n, sizes[0])
            ``X`` itself when it already qualifies, else a converted copy
            (a view of it for images that already qualify). Sparse input
            gives a CSR of its kind (matrix or array) in the model's dtype
            with int64 indices, sorted and without duplicates.

        Raises
        ------
        TypeError, ValueError
            For non-numeric, empty, non-finite or wrongly shaped input, or
            a sparse matrix whose structure is corrupt (indices out of
            range, an ``indptr`` that does not rise from 0 to its entries).
        """
        if is_sparse(X):
            return as_csr("X", X, self.dtype, self.sizes[0])
        X = as_array("X", X)
        width = self.sizes[0]
        if X.ndim != 3:
            return as_float_array("X", X, self.dtype, 2, shape=(None, width))
        n, h, w = X.shape
        if h * w != width:
            raise reject("images", "X", width=width, shape=X.shape, h=h, w=w, pixels=h * w)
        return as_float_array("X", X, self.dtype, 3).reshape(n, width)

    def check_y(self, y: ArrayLike, n: int) -> np.ndarray:
        """Return the targets ``y`` of ``n`` rows in the form the model's output takes.

        Parameters
        ----------
        y : array_like
            Softmax: class labels, shape (n,), integers (floats holding whole
            numbers are accepted). The other outputs: shape (n, n_classes)
            (or (n,) with one output unit) of finite values, 0 or 1 for
            "logistic" (booleans too), >= 0 for "exp".
        n : int
            Number of rows the targets belong to.

        Returns
        -------
        numpy.ndarray
            Softmax: int64 labels of shape (n,); the others: a C-contiguous
            (n, n_classes) array of the model's dtype.

        Raises
        ------
        TypeError, ValueError
            Naming ``y``: a wrong type, shape or count, or a value out of range.
        """
        return as_targets("y", y, n, self.n_classes, self._out_code, self.dtype)

    def _outputs(self, X, check_finite=True):
        """Return the output's prediction for the rows of ``X`` (see ``predict_proba``).

        ``check_finite=False`` returns NaN or infinite outputs instead of
        raising (scikit-learn scores a diverged network NaN).
        """
        weights, biases = self.check_network()
        X = self.check_X(X)
        P = np.empty((X.shape[0], self.n_classes), dtype=self.dtype)
        infer("predict_proba", weights, biases, X, self._code, self._out_code, P)
        if check_finite:
            check_forward(P, self.dtype)
        return P

    def _classifier(self, what):
        """Raise ``ValueError`` naming ``output`` unless the output predicts classes or labels."""
        if self.output not in CLASSIFIER_OUTPUTS:
            raise ValueError(
                f"output: {what} needs one of the outputs {list(CLASSIFIER_OUTPUTS)}, found "
                f"{self.output!r}, whose predictions are values (use predict and loss)"
            )

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Return the probabilities, shape ``(n, n_classes)``, for the rows of ``X``.

        Parameters
        ----------
        X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
            Inputs, converted to the model's dtype (see ``check_X``).

        Returns
        -------
        numpy.ndarray, shape (n, n_classes)
            In the model's dtype: softmax outputs (each row sums to 1), or
            for output "logistic" each unit's probability of a 1.

        Raises
        ------
        ValueError
            Naming ``output`` for outputs "identity" and "exp", which predict values.
        """
        self._classifier("predict_proba")
        return self._outputs(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Return the prediction for each row of ``X``.

        Parameters
        ----------
        X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
            Inputs, converted to the model's dtype (see ``check_X``).

        Returns
        -------
        numpy.ndarray
            Softmax: the most probable class (int64, shape (n,)); logistic:
            0 or 1 per unit (int64, shape (n, n_classes)); identity: the
            outputs ``z``; exp: ``exp(z)`` (model's dtype, shape (n, n_classes)).
        """
        if self._out_code == SOFTMAX:
            return self._outputs(X).argmax(axis=1)
        P = self._outputs(X)
        return (P > 0.5).astype(np.int64) if self.output == "logistic" else P

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(losses, hits)``: each row's loss (float64) and whether it is right.

        Parameters
        ----------
        X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
            Inputs, converted to the model's dtype (see ``check_X``).
        y : array_like
            Targets (see ``check_y``).

        Returns
        -------
        losses : numpy.ndarray of float64, shape (n,)
            Each row's loss (see the class's ``output``).
        hits : numpy.ndarray of bool, shape (n,)
            Softmax: whether the predicted class is the label; logistic:
            whether every unit is predicted right; identity and exp: False.
        """
        weights, biases = self.check_network()
        X = self.check_X(X)
        y = self.check_y(y, X.shape[0])
        losses = np.empty(X.shape[0], dtype=np.float64)
        hits = np.empty(X.shape[0], dtype=np.bool_)
        infer("evaluate", weights, biases, X, self._code, self._out_code, y, losses, hits)
        check_forward(losses, self.dtype)
        return losses, hits

    def loss(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the mean loss over the rows of ``X`` (a float64 sum).

        Parameters
        ----------
        X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
            Inputs, converted to the model's dtype (see ``check_X``).
        y : array_like
            Targets (see ``check_y``).

        Returns
        -------
        float
            The mean loss.
        """
        return float(self.evaluate(X, y)[0].mean())

    def accuracy(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the fraction of rows of ``X`` predicted right.

        Softmax: the predicted class equals ``y``; logistic: every unit of the
        row is (subset accuracy).

        Parameters
        ----------
        X : array_like or scipy.sparse matrix or array, shape (n, sizes[0])
            Inputs, converted to the model's dtype (see ``check_X``).
        y : array_like
            Targets (see ``check_y``).

        Returns
        -------
        float
            The accuracy, in [0, 1].

        Raises
        ------
        ValueError
            Naming ``output`` for outputs "identity" and "exp": no right or wrong.
        """
        self._classifier("accuracy")
        return float(self.evaluate(X, y)[1].mean())


def parameter_count(sizes: Sequence[int]) -> int:
    """Return how many parameters (weights and biases) a network of ``sizes`` has."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def check_forward(outputs: np.ndarray, dtype: np.dtype) -> None:
    """Raise ``ValueError`` naming ``X`` when a forward pass gave a non-finite value.

    Inputs are finite once checked, so a NaN or infinity in ``outputs``
    means the forward pass overflowed ``dtype`` (relu layers, or the logits,
    of inputs near the dtype's limit): say so rather than return NaN and
    predict class 0.

    Parameters
    ----------
    outputs : numpy.ndarray, shape (n, ...)
        The forward pass's results, a row (or value) per input row: the
        probabilities or the losses.
    dtype : numpy.dtype
        The model's dtype, for the message.

    Raises
    ------
    ValueError
        When a value of ``outputs`` is NaN or infinite.
    """
    finite = np.isfinite(outputs)
    if not finite.all():
        rows = finite.reshape(len(finite), -1).all(axis=1)
        count, first = np.count_nonzero(~rows), int(np.argmin(rows))
        raise reject("forward-overflow", "X", dtype=dtype, count=count, rows=len(rows), first=first)


def _check_views(params, weights, biases, sizes):
    """Check that ``weights`` and ``biases`` are the views into ``params`` laid out by ``sizes``."""
    if len(weights) != len(sizes) - 1:
        raise reject(
            "layer-count",
            "model.weights",
            count=len(sizes) - 1,
            sizes=list(sizes),
            found=len(weights),
        )
    address, offset = params.__array_interface__["data"][0], 0
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        for name, arr, shape in (
            (f"weights[{l}]", weights[l], (n_in, n_out)),
            (f"biases[{l}]", biases[l], (n_out,)),
        ):
            there = arr.__array_interface__["data"][0] == address + offset
            if arr.shape != shape or not there:
                raise reject(
                    "param-view",
                    f"model.{name}",
                    shape=shape,
                    offset=offset // params.itemsize,
                    sizes=list(sizes),
                    found=arr.shape,
                    where="" if there else " elsewhere in memory",
                )
            offset += arr.nbytes
