"""fastmlp's Numba kernels, one module per concern.

Each compiled kernel ``_name`` takes C-contiguous arrays and scalars and
writes into buffers it is given; its public wrapper ``name`` validates and
coerces input first. Import as ``fastmlp.kernels``.
"""

from .dense import dense_backward, dense_backward_sgd, dense_forward
from .outputs import output_backward, output_transform
from .sgd import sgd_epoch_minibatch, sgd_epoch_per_sample
from .softmax_xent import softmax_xent_backward, softmax_xent_forward

__all__ = [
    "dense_backward",
    "dense_backward_sgd",
    "dense_forward",
    "output_backward",
    "output_transform",
    "sgd_epoch_minibatch",
    "sgd_epoch_per_sample",
    "softmax_xent_backward",
    "softmax_xent_forward",
]
