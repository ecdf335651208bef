"""The ``fastmlp`` command. ``fastmlp`` alone trains the default model on the synthetic set.

Commands: ``train`` (the default), ``sweep``, ``reproduce``, ``data`` and ``warmup``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._files import atomic_path
from ._warmup import DEFAULT_HIDDEN_LAYERS, warmup
from .config import DEFAULT_DTYPE, DTYPES
from .datasets import SYNTHETIC, fetch_mnist
from .errors import DatasetError, TrainingDivergedError
from .experiments import Config, Interrupted, RepeatResult, Run, load_data, repeat, run, sweep
from .names import ACTIVATIONS
from .schedules import SCHEDULES
from .training import BACKENDS

#: Exit status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2).
INTERRUPTED = 130
COMMANDS = ("train", "sweep", "reproduce", "data", "warmup")
DATA = (*SYNTHETIC, "mnist")


def _sizes(text):
    """Parse ``300`` or ``32,32`` into a tuple of positive ints."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, found {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes >= 1, found {text!r}")
    return sizes


def _add_training_flags(parser, grid=False):
    """Add the training flags; with ``grid``, --lr, --hidden and --batch-size take lists."""
    parser.add_argument("--data", choices=DATA, default="synth", help="dataset (default: synth)")
    if grid:
        parser.add_argument("--hidden", type=_sizes, nargs="+", help="sizes to sweep: 3 8 32,32")
        parser.add_argument("--lr", type=float, nargs="+", default=[0.01], help="rates to sweep")
        parser.add_argument("--batch-size", type=int, nargs="+", default=[1])
    else:
        parser.add_argument(
            "--hidden",
            type=_sizes,
            action="append",
            help="hidden sizes: 300, or 32,32, or repeat the flag (default: 3)",
        )
        parser.add_argument("--lr", type=float, default=0.01)
        parser.add_argument("--batch-size", type=int, default=1)
        parser.add_argument(
            "--checkpoint", type=Path, help="write a checkpoint (.npz) after every epoch"
        )
        parser.add_argument(
            "--checkpoint-every", type=int, default=1, help="epochs between checkpoints"
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="continue from --checkpoint if it exists (same result as an unbroken run)",
        )
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="sigmoid")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule")
    parser.add_argument("--backend", choices=BACKENDS, default="numba")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=DEFAULT_DTYPE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1, help="repeat over seeds seed, seed+1, ...")
    parser.add_argument("--jobs", type=int, help="worker processes for the runs (default: CPUs)")
    parser.add_argument("--num-train", type=int, help="use only the first N training rows")
    parser.add_argument("--final", action="store_true", help="mnist: train on 60k, test on 10k")
    parser.add_argument("--data-dir", help="mnist folder (default: $FASTMLP_DATA_DIR or the cache)")
    parser.add_argument("--out", type=Path, help="write history JSON, model files and plots here")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmlp", description="Train small multilayer perceptrons by SGD."
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_training_flags(commands.add_parser("train", help="train a model (the default command)"))
    grid = commands.add_parser("sweep", help="repeated runs over a grid of hyperparameters")
    _add_training_flags(grid, grid=True)
    study = commands.add_parser(
        "reproduce", help="regenerate the classic study as PNGs + report.md"
    )
    study.add_argument("--out", type=Path, default=Path("fastmlp-study"))
    study.add_argument("--quick", action="store_true", help="a reduced version in under a minute")
    study.add_argument("--data-dir", help="mnist folder (default: $FASTMLP_DATA_DIR or the cache)")
    data = commands.add_parser("data", help="find or download a dataset and verify it")
    data.add_argument("name", choices=["mnist"])
    data.add_argument("--dir", help="folder to use (default: $FASTMLP_DATA_DIR or the user cache)")
    data.add_argument("--mirror", action="append", help="mirror base URL (repeatable)")
    data.add_argument("--no-download", action="store_true", help="only look, never download")
    warm = commands.add_parser(
        "warmup", help="compile the kernels now (or load them from the disk cache)"
    )
    warm.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        nargs="+",
        default=sorted(DTYPES),
        help="parameter dtypes to prepare (default: all)",
    )
    warm.add_argument(
        "--hidden-layers",
        type=int,
        nargs="+",
        default=list(DEFAULT_HIDDEN_LAYERS),
        help=f"network depths to prepare (default: {' '.join(map(str, DEFAULT_HIDDEN_LAYERS))})",
    )
    warm.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def _config(args, hidden=None):
    hidden = hidden or tuple(size for group in (args.hidden or [(3,)]) for size in group)
    return Config(
        data=args.data,
        hidden=hidden,
        activation=args.activation,
        dtype=args.dtype,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        lr_schedule=args.schedule,
        final=args.final,
        num_train=args.num_train,
        data_dir=args.data_dir,
        seed=args.seed,
        backend=args.backend,
    )


def _print_row(say, epoch, train_loss, val_loss, val_acc, seconds):
    say(f"{epoch:>5} {train_loss:>10} {val_loss:>10} {val_acc:>9} {seconds:>8}")


def _train(args, say):
    config = _config(args)
    if args.runs != 1 and (args.checkpoint is not None or args.resume):
        raise ValueError(
            f"--checkpoint/--resume: expected --runs 1 (one run per checkpoint), "
            f"found --runs {args.runs}"
        )
    (X, _), (Xv, _), k = load_data(config)
    held_out = "test" if config.final and config.data == "mnist" else "validation"
    say(
        f"{config.data}: {len(X)} train, {len(Xv)} {held_out}, sizes "
        f"{[X.shape[1], *config.hidden, k]}, {config.activation}, {config.dtype}, {config.backend}"
    )
    return (_train_once if args.runs == 1 else _train_runs)(args, config, say)


def _train_once(args, config, say):
    _print_row(say, "epoch", "train loss", "val loss", "val acc", "time (s)")

    def print_epoch(epoch, h, model):
        _print_row(
            say,
            epoch + 1,
            f"{h.train_loss[-1]:.4f}",
            f"{h.val_loss[-1]:.4f}",
            f"{h.val_accuracy[-1]:.2%}",
            f"{h.epoch_time[-1]:.3f}",
        )

    result = run(
        config,
        callbacks=[print_epoch],
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
    )
    if args.out:
        _write_outputs(args.out, config, [result], None, say)
    if result.history.interrupted:
        print(
            f"fastmlp train: interrupted after {result.history.epochs} completed epoch(s)"
            + (f"; the model and history so far are in {args.out}" if args.out else ""),
            file=sys.stderr,
        )
        return INTERRUPTED
    return 0


def _train_runs(args, config, say):
    def report(done):
        say(
            f"run {done.seed - config.seed + 1} of {args.runs} done (seed {done.seed}): "
            f"val loss {done.history.val_loss[-1]:.4f}, val acc {done.history.val_accuracy[-1]:.2%}"
        )

    try:
        result = repeat(config, runs=args.runs, n_jobs=args.jobs, callback=report)
        interrupted = False
    except Interrupted as stop:
        # Ctrl-C (the workers leave it to this process): keep the runs that completed.
        interrupted, done = True, stop.runs
        result = RepeatResult(
            config, [r.seed for r in done], [r.history for r in done], [r.model for r in done]
        )
    if result.seeds:
        _print_summary(say, result)
        if args.out:
            runs = [Run(config, *r) for r in zip(result.seeds, result.histories, result.models)]
            _write_outputs(args.out, config, runs, result, say)
    if interrupted:
        written = f"; they are in {args.out}" if args.out and result.seeds else ""
        print(
            f"fastmlp train: interrupted after {len(result.seeds)} of {args.runs} "
            f"completed run(s){written}",
            file=sys.stderr,
        )
        return INTERRUPTED
    return 0


def _print_summary(say, result):
    """Print the mean ± standard deviation over the runs of each epoch's losses."""
    _print_row(say, "epoch", "train loss", "val loss", "val acc", "time (s)")
    (tl, tl_sd), (vl, vl_sd), (va, va_sd) = (
        result.curve(key) for key in ("train_loss", "val_loss", "val_accuracy")
    )
    for e in range(len(tl)):
        seconds = sum(h.epoch_time[e] for h in result.histories) / len(result.histories)
        _print_row(
            say,
            e + 1,
            f"{tl[e]:.4f}±{tl_sd[e]:.3f}",
            f"{vl[e]:.4f}±{vl_sd[e]:.3f}",
            f"{va[e]:.2%}±{va_sd[e]:.1%}",
            f"{seconds:.3f}",
        )


def _write_outputs(out, config, runs, repeated, say):
    from . import plots  # matplotlib loads only when there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    (_, _), (Xv, yv), _ = load_data(config)
    for result in runs:
        # Numbered by seed: the runs an interruption left keep their numbers.
        suffix = "" if repeated is None else f"-run{result.seed - config.seed}"
        result.history.to_json(out / f"history{suffix}.json")
        result.model.save(out / f"model{suffix}.npz")
    first = runs[0]
    plots.save(plots.step_loss(first.history), out / "loss.png")
    plots.save(plots.epoch_loss(first.history), out / "epochs.png")
    if Xv.shape[1] == 2:
        plots.save(plots.decision_boundary(first.model, Xv, yv), out / "boundary.png")
    elif config.data == "mnist":
        predicted = first.model.predict(Xv)
        plots.save(plots.digits_grid(Xv, yv, predicted, mistakes_first=True), out / "digits.png")
        plots.save(plots.confusion_matrix(yv, predicted, n_classes=10), out / "confusion.png")
    if repeated is not None:
        plots.save(plots.repeat_band(repeated, key="val_loss"), out / "band.png")
    say(f"wrote {out}")


def _sweep(args, say):
    lists = {"lr": args.lr, "hidden": args.hidden or [(3,)], "batch_size": args.batch_size}
    # A flag given one value sets the base configuration; several values are swept.
    base = {name: values[0] for name, values in lists.items()}
    grid = {name: values for name, values in lists.items() if len(values) > 1} or {"lr": args.lr}
    args.lr, args.batch_size = base["lr"], base["batch_size"]
    config = _config(args, hidden=base["hidden"])
    result = sweep(config, runs=args.runs, n_jobs=args.jobs, **grid)
    say(f"{'setting':<32} {'val loss':>16} {'val acc':>16}")
    for params, repeated in zip(result.params, result.results):
        (loss, loss_sd), (acc, acc_sd) = repeated.final("val_loss"), repeated.final("val_accuracy")
        setting = ", ".join(f"{k}={v}" for k, v in params.items())
        say(f"{setting:<32} {loss:>9.4f}±{loss_sd:<6.4f} {acc:>9.2%}±{acc_sd:<6.2%}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out / "sweep.json") as tmp:
            tmp.write_text(json.dumps(result.to_dict()))
        if list(grid) == ["lr"]:
            from . import plots

            plots.save(plots.lr_comparison(result.by("lr")), args.out / "lr.png")
        say(f"wrote {args.out}")
    return 0


def _check_paths(args):
    """Raise ValueError for an ``--out`` or ``--checkpoint`` that cannot be written, before work."""
    for flag, path, folder in (
        ("--out", getattr(args, "out", None), True),
        ("--checkpoint", getattr(args, "checkpoint", None), False),
    ):
        if path is not None:
            _check_writable(flag, Path(path).absolute(), folder)


def _check_writable(flag, path, folder):
    """Raise ValueError unless fastmlp can write the folder (with ``folder``) or file ``path``.

    A missing folder is made, with its parents, inside the nearest one that
    exists; a file's folder must exist already.
    """
    want = "a folder" if folder else "a file"
    if path.exists() and path.is_dir() != folder:
        found = "a folder" if path.is_dir() else "a file"
        raise ValueError(f"{flag}: expected {want} to write, found {found} at {path}")
    base = path if folder else path.parent
    nearest = next(p for p in (base, *base.parents) if p.exists())
    if not nearest.is_dir():
        raise ValueError(f"{flag}: expected a path through folders, found the file {nearest}")
    if nearest != base and not folder:
        raise ValueError(
            f"{flag}: expected an existing folder to write {path.name} in, found no folder {base}"
        )
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise ValueError(
            f"{flag}: expected a folder fastmlp may write in, found {nearest} not writable"
        )


def _data(args):
    try:
        paths = fetch_mnist(args.dir, download=not args.no_download, mirrors=args.mirror)
    except DatasetError as error:
        print(f"fastmlp data: {error}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name:<24} {path}  (SHA-256 verified)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastmlp`` command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["train", *argv]  # no command: train, so bare `fastmlp` runs the main job
    args = build_parser().parse_args(argv)
    # Flushed: progress lines must show as they happen when stdout is a pipe.
    quiet = getattr(args, "quiet", False)
    say = (lambda *a: None) if quiet else functools.partial(print, flush=True)
    # The kernels' "compiling kernels" note reaches stderr through Python's
    # last-resort handler; --quiet keeps only errors.
    logging.getLogger("fastmlp").setLevel(logging.ERROR if quiet else logging.NOTSET)
    try:
        _check_paths(args)
        if args.command == "data":
            return _data(args)
        if args.command == "warmup":
            # verbose: a line per dtype and depth as each is ready, then the report
            warmup(args.dtype, args.hidden_layers, verbose=not args.quiet)
            return 0
        if args.command == "reproduce":
            from .reproduce import reproduce

            reproduce(args.out, quick=args.quick, data_dir=args.data_dir, say=print)
            return 0
        return (_sweep if args.command == "sweep" else _train)(args, say)
    except (DatasetError, ValueError, TypeError, TrainingDivergedError) as error:
        print(f"fastmlp {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
