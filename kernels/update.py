"""The SGD parameter update, shared by the per-sample and minibatch loops.

For a gradient ``G`` (plus L2 weight decay ``wd * W``), classical momentum
``mu`` keeps a velocity ``V``: ``V = mu * V - lr * (G + wd * W); W += V``.
With ``mu = 0`` this is plain SGD, ``W -= lr * (G + wd * W)``; with ``wd = 0``
too, a row of ``G = outer(a, delta)`` whose ``a[i]`` is zero (a zero input)
leaves its row of ``W`` unchanged and is skipped.

Each function loops over a whole layer: a call per row would pass arrays
between compiled functions row by row, which costs more than the update.
``lr``, ``mu``, ``wd`` and ``scale`` must already have ``W``'s dtype.
"""

from ._jit import kernel


@kernel
def _update_outer(W, V, a, delta, lr, mu, wd):
    """Step along the per-sample gradient ``outer(a, delta) + wd * W``."""
    zero = W.dtype.type(0)
    n_in, n_out = W.shape
    if mu == zero and wd == zero:
        for i in range(n_in):
            step = lr * a[i]
            if step != zero:
                for j in range(n_out):
                    W[i, j] -= step * delta[j]
    elif mu == zero:
        for i in range(n_in):
            for j in range(n_out):
                W[i, j] -= lr * (a[i] * delta[j] + wd * W[i, j])
    else:
        for i in range(n_in):
            for j in range(n_out):
                v = mu * V[i, j] - lr * (a[i] * delta[j] + wd * W[i, j])
                V[i, j] = v
                W[i, j] += v


@kernel
def _update_scaled(W, V, G, scale, lr, mu, wd):
    """Step along the gradient ``scale * G + wd * W`` (``G`` shaped like ``W``)."""
    zero = W.dtype.type(0)
    n_in, n_out = W.shape
    if mu == zero and wd == zero:
        step = lr * scale
        for i in range(n_in):
            for j in range(n_out):
                W[i, j] -= step * G[i, j]
    elif mu == zero:
        for i in range(n_in):
            for j in range(n_out):
                W[i, j] -= lr * (scale * G[i, j] + wd * W[i, j])
    else:
        for i in range(n_in):
            for j in range(n_out):
                v = mu * V[i, j] - lr * (scale * G[i, j] + wd * W[i, j])
                V[i, j] = v
                W[i, j] += v


@kernel
def _update_bias(b, vb, g, scale, lr, mu):
    """Step the bias vector along ``scale * g`` (biases take no weight decay).

    A 1-D twin of ``_update_scaled``: viewing ``b`` as a one-row matrix would
    cost a reshape per layer and step, more than the update itself.
    """
    if mu == b.dtype.type(0):
        step = lr * scale
        for j in range(b.size):
            b[j] -= step * g[j]
    else:
        for j in range(b.size):
            v = mu * vb[j] - lr * scale * g[j]
            vb[j] = v
            b[j] += v
