"""The parameter update of every optimizer, shared by every training loop.

A layer's gradient over a batch is ``scale * sum_s outer(U[s], Z[s])`` with
``scale = 1 / divisor`` (the batch's row count, or the sum of its sample
weights): ``U`` holds the layer's input rows and ``Z`` its delta rows, or
the other way round for a layer kept transposed (see
``kernels.network.Layout``). The L2 penalty ``l2`` (scikit-learn's
``alpha``) adds ``l2s * M`` with ``l2s = l2 * scale``, today's weight decay
``wd * M``: ``g = (G + l2s * M) + wd * M``, weights only. The optimizer
(``fastmlp.optimizers``) then steps each parameter from its ``g``.

Plain SGD (no momentum) without penalty or decay steps each row of ``M``
sample by sample, ``M[p] -= lr * scale * U[s, p] * Z[s]``, straight from
the deltas: no gradient buffer, and rows whose ``U[s, p]`` is zero (zero
inputs, most MNIST pixels) cost nothing.

Every function works on a range of rows ``[p0, p1)`` of ``M``, so threads
can share a layer without sharing a row; a row's arithmetic does not depend
on the split. The step's scalars ``(scale, lr, l2s, wd)`` must have ``M``'s
dtype; an optimizer's hyperparameters come in float64 and are cast where
used, so float32 arithmetic stays float32.

A row's nonzero ``U[s, p]`` are listed first, for the range's rows at once,
in scratch ``(cnt, S, C)`` from ``outer_scratch``; then each row takes its
samples' delta rows four per pass, loading and storing the row once for four
samples, with no branch per sample. On MNIST's 784-300 layer this cut the
update's time by about a third.
"""

import numpy as np

from ..config import CACHE_LINE
from ..optimizers import ADAM_CODE, SGD_CODE
from ._jit import kernel


def thread_rows(parts, width, dtype):
    """Return an empty ``(parts, >= width)`` array whose rows start a cache line apart.

    Each part (thread) of a kernel writes to its own row, so no two threads
    ever write to one cache line.
    """
    dtype = np.dtype(dtype)
    line = CACHE_LINE // dtype.itemsize
    return np.empty((parts, -(-width // line) * line), dtype)


def outer_scratch(rows, batch, dtype, parts=1):
    """Return scratch ``(cnt, S, C)`` for ``parts`` threads of ``_add_outer_rows``.

    Part ``k`` takes ``_part(scratch, k)``: room for ``rows`` rows of a batch
    of ``batch`` samples, all of them nonzero (sample indices in ``S``,
    coefficients in ``C``).
    """
    cnt = thread_rows(parts, rows + 1, np.intp)
    S = thread_rows(parts, rows * batch, np.intp)
    return cnt, S, thread_rows(parts, rows * batch, dtype)


@kernel(inline=True)
def _part(scratch, k):
    """Return part ``k``'s ``(cnt, S, C)`` of scratch from ``outer_scratch``."""
    return scratch[0][k], scratch[1][k], scratch[2][k]


@kernel(inline=True)
def _add_outer_rows(G, U, Z, p0, p1, c, part):
    """Add ``c * sum_s outer(U[s], Z[s])`` to rows ``p0:p1`` of ``G``, skipping zero ``U[s, p]``.

    ``part`` is one part's ``(cnt, S, C)`` (see ``_part``). Each row adds its
    samples in order of ``s``.
    """
    cnt, S, C = part
    zero = G.dtype.type(0)
    rows, B = p1 - p0, U.shape[0]
    # One pass lists each row's nonzero U[s, p] in its own bucket of B entries.
    cnt[:rows] = 0
    for s in range(B):
        for q in range(rows):
            u = U[s, p0 + q]
            if u != zero:
                e = q * B + cnt[q]
                S[e] = s
                C[e] = c * u
                cnt[q] += 1
    for q in range(rows):
        g = G[p0 + q]
        e, end = q * B, q * B + cnt[q]
        while e + 4 <= end:
            z0, z1, z2, z3 = Z[S[e]], Z[S[e + 1]], Z[S[e + 2]], Z[S[e + 3]]
            c0, c1, c2, c3 = C[e], C[e + 1], C[e + 2], C[e + 3]
            for j in range(g.size):
                g[j] = (((g[j] + c0 * z0[j]) + c1 * z1[j]) + c2 * z2[j]) + c3 * z3[j]
            e += 4
        for f in range(e, end):
            z, cf = Z[S[f]], C[f]
            for j in range(g.size):
                g[j] += cf * z[j]


@kernel(inline=True)
def _update_rows(M, G, S1, S2, U, Z, p0, p1, rule, scalars, part):
    """Step rows ``p0:p1`` of ``M`` along the batch gradient (see the module docstring).

    ``G`` is a gradient buffer shaped like ``M``; ``S1`` and ``S2`` the
    optimizer's state (rows of no columns when it keeps none). Plain SGD
    without decay reads none of them, so ``G`` may then be empty. ``rule``
    and ``scalars`` are as for ``_update_bias``; ``part`` is one part's
    ``(cnt, S, C)`` (see ``_part``).
    """
    scale, lr, l2s, wd = scalars
    zero = M.dtype.type(0)
    # One inlined _add_outer_rows for both targets: a second copy lengthened the
    # cold compile of every kernel that steps layers.
    plain = _is_plain(rule) and l2s == zero and wd == zero
    if plain:
        target, c = M, -lr * scale
    else:
        G[p0:p1] = zero
        target, c = G, scale
    _add_outer_rows(target, U, Z, p0, p1, c, part)
    if plain:
        return
    for p in range(p0, p1):
        g, m = G[p], M[p]
        if l2s != zero or wd != zero:
            for j in range(g.size):
                g[j] = (g[j] + l2s * m[j]) + wd * m[j]
        _optimizer_step(m, g, S1[p], S2[p], rule, lr)


@kernel(inline=True)
def _update_bias(b, gb, s1, s2, Z, rule, scalars):
    """Step the biases along ``scale * Z.sum(axis=0)`` (biases take no L2 penalty nor decay).

    ``gb`` is a gradient buffer shaped like ``b``; ``s1``, ``s2`` the state.
    ``rule`` is ``(code, h0, h1, h2)`` from ``optimizers.OPTIMIZERS`` (its
    hyperparameters in float64) and ``scalars`` the step's ``(scale, lr, l2s,
    wd)`` in ``b``'s dtype, ``lr`` the step's rate (see ``_step_rate``).
    """
    scale, lr = scalars[0], scalars[1]
    for j in range(b.size):
        g = b.dtype.type(0)
        for s in range(Z.shape[0]):
            g += Z[s, j]
        gb[j] = scale * g
    _optimizer_step(b, gb, s1, s2, rule, lr)


@kernel(inline=True)
def _is_plain(rule):
    """Return True for plain SGD: an update straight from the gradient, with no state."""
    return rule[0] == SGD_CODE and rule[1] == 0


@kernel(inline=True)
def _step_rate(rule, lr, t):
    """Return the rate of step ``t`` (from 1) in float64: ``lr``, or Adam's ``lr_t``.

    As ``optimizers.adam_rate``: float64 whatever the parameters' dtype.
    """
    if rule[0] == ADAM_CODE:
        # A float exponent calls pow(), as Python's float ** int does.
        t = np.float64(t)
        return lr * np.sqrt(1.0 - rule[2] ** t) / (1.0 - rule[1] ** t)
    return lr


@kernel(inline=True)
def _optimizer_step(P, G, S1, S2, rule, lr):
    """Step the 1-D parameters ``P`` by the gradient ``G`` under ``rule`` at rate ``lr``."""
    if rule[0] == SGD_CODE:
        _sgd_step(P, G, S1, rule[1], rule[2] != 0, lr)
    else:
        _adam_step(P, G, S1, S2, rule[1], rule[2], rule[3], lr)


@kernel(inline=True)
def _sgd_step(P, G, V, mu, nesterov, lr):
    """SGD: ``P -= lr * G``, or with momentum ``V = mu * V - lr * G; P += V`` (or Nesterov's)."""
    mu = P.dtype.type(mu)
    if mu == 0:
        for j in range(P.size):
            P[j] -= lr * G[j]
    elif nesterov:
        for j in range(P.size):
            v = mu * V[j] - lr * G[j]
            V[j] = v
            P[j] += mu * v - lr * G[j]
    else:
        for j in range(P.size):
            v = mu * V[j] - lr * G[j]
            V[j] = v
            P[j] += v


@kernel(inline=True)
def _adam_step(P, G, M1, M2, beta1, beta2, eps, lr):
    """Adam: update the moments ``M1``, ``M2`` and step ``P`` at the bias-corrected rate ``lr``."""
    dtype = P.dtype.type
    # 1 - beta in float64, then cast, as numpy does with the twin's Python floats.
    b1, c1, b2, c2 = dtype(beta1), dtype(1.0 - beta1), dtype(beta2), dtype(1.0 - beta2)
    eps = dtype(eps)
    for j in range(P.size):
        g = G[j]
        m = b1 * M1[j] + c1 * g
        v = b2 * M2[j] + c2 * (g * g)
        M1[j] = m
        M2[j] = v
        P[j] += (-lr * m) / (np.sqrt(v) + eps)
