"""The SGD parameter update, shared by the per-sample and minibatch loops.

For a row ``W[i]`` with gradient ``coef * g + wd * W[i]`` (L2 weight decay
``wd``), classical momentum ``mu`` keeps a velocity ``V``:
``V[i] = mu * V[i] - lr * grad; W[i] += V[i]``. With ``mu = 0`` this is plain
SGD, ``W[i] -= lr * grad``, and with ``wd = 0`` too, a row whose ``coef`` is
zero (a zero input) does not change and is skipped.
"""

from ._jit import kernel


@kernel
def _update_row(W, V, i, coef, g, lr, mu, wd):
    """Update row ``i`` of ``W`` (and velocity ``V``) along ``coef * g + wd * W[i]``.

    ``coef``, ``lr``, ``mu`` and ``wd`` are already of ``W``'s dtype.
    """
    zero = W.dtype.type(0)
    if mu == zero:
        if wd == zero:
            step = lr * coef
            if step != zero:
                for j in range(W.shape[1]):
                    W[i, j] -= step * g[j]
        else:
            for j in range(W.shape[1]):
                W[i, j] -= lr * (coef * g[j] + wd * W[i, j])
    else:
        for j in range(W.shape[1]):
            v = mu * V[i, j] - lr * (coef * g[j] + wd * W[i, j])
            V[i, j] = v
            W[i, j] += v
