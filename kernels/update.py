"""The SGD parameter update, shared by every training loop.

A layer's gradient over a batch of ``B`` rows is ``scale * sum_s outer(U[s], Z[s])``
with ``scale = 1 / B``: ``U`` holds the layer's input rows and ``Z`` its
delta rows, or the other way round for a layer kept transposed (see
``kernels.network.Layout``). With L2 weight decay ``wd``
and classical momentum ``mu`` the step is ``V = mu * V - lr * (G + wd * M);
M += V``. With ``mu = 0`` and ``wd = 0`` (plain SGD) each row of ``M`` is
stepped sample by sample, ``M[p] -= lr * scale * U[s, p] * Z[s]``, straight
from the deltas: no gradient buffer, and rows whose ``U[s, p]`` is zero
(zero inputs, most MNIST pixels) cost nothing.

Every function works on a range of rows ``[p0, p1)`` of ``M``, so threads
can share a layer without sharing a row; a row's arithmetic does not depend
on the split. ``lr``, ``mu``, ``wd`` and ``scale`` must have ``M``'s dtype.
"""

from ._jit import kernel


@kernel(inline=True)
def _add_outer_rows(G, U, Z, p0, p1, c):
    """Add ``c * sum_s outer(U[s], Z[s])`` to rows ``p0:p1`` of ``G``, skipping zero ``U[s, p]``."""
    zero = G.dtype.type(0)
    for p in range(p0, p1):
        for s in range(U.shape[0]):
            coef = c * U[s, p]
            if coef != zero:
                for j in range(G.shape[1]):
                    G[p, j] += coef * Z[s, j]


@kernel(inline=True)
def _update_rows(M, V, G, U, Z, p0, p1, scale, lr, mu, wd):
    """Step rows ``p0:p1`` of ``M`` along the batch gradient (see the module docstring).

    ``G`` is a gradient buffer shaped like ``M`` and ``V`` the velocities; plain
    SGD reads neither, so both may then be empty.
    """
    zero = M.dtype.type(0)
    if mu == zero and wd == zero:
        _add_outer_rows(M, U, Z, p0, p1, -lr * scale)
        return
    G[p0:p1] = zero
    _add_outer_rows(G, U, Z, p0, p1, scale)
    for p in range(p0, p1):
        if mu == zero:
            for j in range(M.shape[1]):
                M[p, j] -= lr * (G[p, j] + wd * M[p, j])
        else:
            for j in range(M.shape[1]):
                v = mu * V[p, j] - lr * (G[p, j] + wd * M[p, j])
                V[p, j] = v
                M[p, j] += v


@kernel(inline=True)
def _update_bias(b, vb, Z, scale, lr, mu):
    """Step the biases along ``scale * Z.sum(axis=0)`` (biases take no weight decay)."""
    zero = b.dtype.type(0)
    for j in range(b.size):
        g = zero
        for s in range(Z.shape[0]):
            g += Z[s, j]
        if mu == zero:
            b[j] -= lr * scale * g
        else:
            v = mu * vb[j] - lr * scale * g
            vb[j] = v
            b[j] += v
