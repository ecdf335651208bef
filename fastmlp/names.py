"""The one table of activation and output names, shared by the kernels and the numpy reference.

Kernels receive integer codes, chosen at run time: one compiled kernel
serves every activation and every output of a kind of target; the Python
API and the reference use the names.
"""

#: Activations, name -> code passed to the kernels. "logistic" is another
#: name of the sigmoid (scikit-learn's); "identity" leaves a layer linear
#: and is also the output layer's pre-activation.
ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2, "identity": 3, "logistic": 0}
SIGMOID, TANH, RELU, IDENTITY = (ACTIVATIONS[n] for n in ("sigmoid", "tanh", "relu", "identity"))

#: Outputs (the output layer's transform and its loss), name -> code:
#:
#: - softmax: categorical cross-entropy against class indices; its gradient
#:   with respect to the logits ``z`` is ``softmax(z) - onehot(t)``;
#: - logistic: binary cross-entropy per unit against 0/1 targets,
#:   gradient ``sigmoid(z) - y``;
#: - identity: squared error ``0.5 * (y - z)**2`` summed over units,
#:   gradient ``z - y``;
#: - exp: Poisson half-deviance with a log link,
#:   ``y * log(y / exp(z)) - y + exp(z)``, gradient ``exp(z) - y``.
OUTPUTS = {"softmax": 0, "logistic": 1, "identity": 2, "exp": 3}
SOFTMAX, LOGISTIC, LINEAR, POISSON = (
    OUTPUTS[n] for n in ("softmax", "logistic", "identity", "exp")
)
#: Outputs whose predictions are probabilities (``predict_proba``) and right or wrong (accuracy).
CLASSIFIER_OUTPUTS = ("softmax", "logistic")


def activation_code(name: str) -> int:
    """Return the kernel code of an activation, or raise a ValueError naming the options."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, found {name!r}")
    return ACTIVATIONS[name]


def output_code(name: str) -> int:
    """Return the kernel code of an output, or raise a ValueError naming the options."""
    if not isinstance(name, str) or name not in OUTPUTS:
        raise ValueError(f"output: expected one of {sorted(OUTPUTS)}, found {name!r}")
    return OUTPUTS[name]
