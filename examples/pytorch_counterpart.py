"""The same MNIST net in PyTorch and in fastmlp: equal gradients, then an epoch side by side.

Part one builds a 784-300-10 sigmoid net in fastmlp, copies its weights into a
``torch.nn.Sequential`` of the same shape, and compares ``fastmlp.gradients``
with PyTorch's autograd on the same batch, in float64: they agree to rounding
(about 1e-17). Part two starts both nets from the same float32 weights and
trains each for one epoch of per-sample SGD (batch size 1, learning rate
0.01) in the same sample order, then reports both loss curves (a figure), the
validation accuracy and the time of each. PyTorch runs on one thread, as
fastmlp's per-sample SGD does; fastmlp's time leaves out the one-off kernel
compilation (``History.compile_time``).

Run it with ``python examples/pytorch_counterpart.py`` after
``pip install ".[torch]"`` (on Linux take PyTorch's CPU wheel: PyPI's default
pulls in CUDA). MNIST is read from ``$FASTMLP_DATA_DIR`` or
``~/.cache/fastmlp/mnist`` and downloaded there (about 11 MB) when absent. The
figure goes to ``$FASTMLP_EXAMPLES_OUT`` (default ``./examples-output``);
``FASTMLP_EXAMPLES_QUICK=1`` trains on 1,000 images instead of 55,000.
"""

import os
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

import fastmlp
from fastmlp import plots
from fastmlp.datasets import load_mnist

QUICK = os.environ.get("FASTMLP_EXAMPLES_QUICK") == "1"
OUT = Path(os.environ.get("FASTMLP_EXAMPLES_OUT", "examples-output"))
LR = 0.01


def torch_twin(model: fastmlp.MLP) -> torch.nn.Sequential:
    """Return a PyTorch net with ``model``'s layers, activation, dtype and weights."""
    activation = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    layers = []
    for W, b in zip(model.weights, model.biases):
        linear = torch.nn.Linear(*W.shape, dtype=getattr(torch, model.dtype.name))
        with torch.no_grad():
            # fastmlp keeps W as (n_in, n_out), a row per input; torch keeps (n_out, n_in).
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        layers += [linear, activation[model.activation]()]
    return torch.nn.Sequential(*layers[:-1])  # logits out: the loss applies the softmax


def compare_gradients(X: np.ndarray, y: np.ndarray) -> float:
    """Return the largest difference between fastmlp's and autograd's gradients (float64)."""
    model = fastmlp.MLP([784, 300, 10], "sigmoid", dtype="float64", seed=1)
    dWs, dbs = fastmlp.gradients(model, X, y)  # of the mean loss over the rows
    net = torch_twin(model)
    loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
    loss.backward()
    linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
    differences = [
        np.abs(ours - theirs).max()
        for dW, db, linear in zip(dWs, dbs, linears)
        for ours, theirs in ((dW, linear.weight.grad.numpy().T), (db, linear.bias.grad.numpy()))
    ]
    return float(max(differences))


def train_torch(net: torch.nn.Sequential, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Train ``net`` by per-sample SGD over the rows in order; return step losses and seconds."""
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    losses = np.empty(len(X))
    start = time.perf_counter()
    for i in range(len(X)):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(inputs[i : i + 1]), targets[i : i + 1])
        loss.backward()
        optimizer.step()
        losses[i] = loss.item()
    return losses, time.perf_counter() - start


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Return the mean of each run of ``window`` consecutive values."""
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_curves(curves: dict[str, np.ndarray], window: int) -> Figure:
    """Plot the moving average of each step-loss curve (labelled by its name), on one axes."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for (name, losses), style in zip(curves.items(), ("-", "--")):
        ax.plot(
            np.arange(window, len(losses) + 1), moving_average(losses, window), style, label=name
        )
    ax.set(
        xlabel="step (one sample each)",
        ylabel=f"training loss, mean of the last {window} steps",
        title="One epoch of per-sample SGD, same weights and order",
    )
    ax.legend()
    return fig


def main() -> None:
    """Compare the gradients, train both nets for an epoch, print and plot the results."""
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    (X, y), (Xv, yv), _ = load_mnist()
    if QUICK:
        X, y, Xv, yv = X[:1000], y[:1000], Xv[:1000], yv[:1000]
    y, yv = y.astype(np.int64), yv.astype(np.int64)

    batch = np.random.default_rng(0).choice(len(X), 32, replace=False)
    difference = compare_gradients(X[batch].astype(np.float64), y[batch])
    print(f"gradients, fastmlp vs torch autograd (float64): largest difference {difference:.1e}")

    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]  # both nets see this order; fastmlp with shuffle=False
    model = fastmlp.MLP([784, 300, 10], "sigmoid", dtype="float32", seed=0)
    net = torch_twin(model)
    history = fastmlp.train(model, X, y, epochs=1, lr=LR, shuffle=False, progress=False)
    torch_losses, torch_seconds = train_torch(net, X, y)
    ours = np.asarray(history.step_loss)
    with torch.no_grad():
        torch_accuracy = (net(torch.from_numpy(Xv)).argmax(1).numpy() == yv).mean()

    print(f"{'':8} {'seconds':>8} {'us/sample':>10} {'last loss':>10} {'val accuracy':>13}")
    window = min(500, len(X) // 10)
    for name, losses, seconds, accuracy in (
        ("fastmlp", ours, history.epoch_time[0], model.accuracy(Xv, yv)),
        ("torch", torch_losses, torch_seconds, torch_accuracy),
    ):
        print(
            f"{name:8} {seconds:>8.3f} {seconds / len(X) * 1e6:>10.1f} "
            f"{np.mean(losses[-window:]):>10.4f} {accuracy:>13.4f}"
        )
    gap = np.abs(moving_average(ours, window) - moving_average(torch_losses, window)).max()
    print(f"loss curves (mean of {window} steps), fastmlp vs torch: largest difference {gap:.1e}")
    print(f"fastmlp is {torch_seconds / history.epoch_time[0]:.0f}x faster on this epoch")
    curves = {
        f"fastmlp ({history.epoch_time[0]:.2f} s)": ours,
        f"torch ({torch_seconds:.2f} s)": torch_losses,
    }
    figure = plot_curves(curves, window)
    print("wrote", plots.save(figure, OUT / "pytorch-counterpart.png"))


if __name__ == "__main__":
    main()
