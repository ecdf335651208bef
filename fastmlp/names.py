"""The one table of activation and loss names, shared by the kernels and the numpy reference.

Kernels receive the integer code (Numba compiles one branch per code);
the Python API and the reference use the names.
"""

#: Hidden-layer activations, name -> code passed to the kernels.
ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2}
#: The output layer's pre-activation: logits go straight to softmax.
IDENTITY = 3
SIGMOID, TANH, RELU = (ACTIVATIONS[name] for name in ("sigmoid", "tanh", "relu"))

#: Output losses. Softmax + cross-entropy is the only one: its gradient with
#: respect to the logits is ``p - onehot(t)``, bounded in [-1, 1].
LOSSES = {"softmax_xent": 0}
SOFTMAX_XENT = LOSSES["softmax_xent"]


def activation_code(name: str, allow_identity: bool = False) -> int:
    """Return the kernel code of an activation, or raise a ValueError naming the options.

    ``allow_identity`` also accepts ``"identity"`` (a layer without activation,
    such as the output layer before softmax).
    """
    table = dict(ACTIVATIONS, identity=IDENTITY) if allow_identity else ACTIVATIONS
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"activation: expected one of {sorted(table)}, found {name!r}")
    return table[name]
