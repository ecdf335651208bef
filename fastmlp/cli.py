"""The ``fastmlp`` command. ``fastmlp`` alone trains the default model on the synthetic set."""

import argparse
import sys

from . import __version__
from .config import DEFAULT_DTYPE, DTYPES
from .datasets import fetch_mnist, load_synth
from .errors import DatasetError
from .model import MLP
from .names import ACTIVATIONS
from .training import BACKENDS, train

COMMANDS = ("train", "data")


def _hidden_sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, found {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes >= 1, found {text!r}")
    return sizes


def build_parser():
    """Return the argument parser of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmlp", description="Train small multilayer perceptrons by SGD."
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("train", help="train a model on the synthetic 2-D set (default)")
    run.add_argument(
        "--hidden", type=_hidden_sizes, default=[3], help="hidden sizes, e.g. 300 or 32,32"
    )
    run.add_argument("--activation", choices=sorted(ACTIVATIONS), default="sigmoid")
    run.add_argument("--epochs", type=int, default=5)
    run.add_argument("--lr", type=float, default=0.01)
    run.add_argument("--batch-size", type=int, default=1)
    run.add_argument("--backend", choices=BACKENDS, default="numba")
    run.add_argument("--dtype", choices=sorted(DTYPES), default=DEFAULT_DTYPE)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--num-train", type=int, default=60_000)
    data = commands.add_parser("data", help="find or download a dataset and verify it")
    data.add_argument("name", choices=["mnist"])
    data.add_argument("--dir", help="folder to use (default: $FASTMLP_DATA_DIR or the user cache)")
    data.add_argument("--mirror", action="append", help="mirror base URL (repeatable)")
    data.add_argument("--no-download", action="store_true", help="only look, never download")
    return parser


def _data(args):
    try:
        paths = fetch_mnist(args.dir, download=not args.no_download, mirrors=args.mirror)
    except DatasetError as error:
        print(f"fastmlp data: {error}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name:<24} {path}  (SHA-256 verified)")
    return 0


def main(argv=None):
    """Run the ``fastmlp`` command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["train", *argv]  # no command: train, so bare `fastmlp` runs the main job
    args = build_parser().parse_args(argv)
    if args.command == "data":
        return _data(args)
    (X, y), (Xv, yv), n_classes = load_synth(num_train=args.num_train, seed=args.seed)
    model = MLP([2, *args.hidden, n_classes], args.activation, args.dtype, seed=args.seed)
    print(f"{model} on synth: {len(X)} train, {len(Xv)} validation, backend {args.backend}")
    print(f"{'epoch':>5} {'train loss':>10} {'val loss':>9} {'val acc':>8} {'time (s)':>9}")
    for epoch in range(args.epochs):
        history = train(
            model,
            X,
            y,
            epochs=1,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed + epoch,
            backend=args.backend,
        )
        print(
            f"{epoch + 1:>5} {history.train_loss[0]:>10.4f} {model.loss(Xv, yv):>9.4f} "
            f"{model.accuracy(Xv, yv):>8.2%} {history.epoch_time[0]:>9.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
