"""The ``fastmlp`` command. ``fastmlp`` alone trains the default model on the synthetic set.

Commands: ``train`` (the default), ``sweep``, ``reproduce``, ``data`` and ``warmup``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import functools
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._checks import MAX_COUNT
from ._files import atomic_path
from ._warmup import DEFAULT_HIDDEN_LAYERS, warmup
from .config import DEFAULT_DTYPE, DTYPES
from .datasets import SYNTHETIC, TABLE_SUFFIXES, fetch_mnist
from .errors import DatasetError, TrainingDivergedError
from .experiments import (
    Config,
    Interrupted,
    RepeatResult,
    Run,
    _compile_kernels,
    class_labels,
    load_data,
    repeat,
    run,
    sweep,
)
from .io import save
from .names import ACTIVATIONS

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


def _integer(low):
    """Return an argparse type for integers >= ``low`` that the kernels' int64 can hold."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, found {text!r}")
        if value > MAX_COUNT:
            raise argparse.ArgumentTypeError(
                f"expected an integer <= {MAX_COUNT} (int64), found {text!r}"
            )
        return value

    return parse


def _real(check):
    """Return an argparse type for real numbers that pass ``check``, a ``fastmlp._checks`` rule.

    The rule is the one ``train`` applies, so the command accepts what the library does;
    its message drops the library's argument name, as argparse names the flag.
    """

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
        try:
            return check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).partition(": ")[2]) from None

    return parse


def _dataset(text):
    """Return a built-in dataset name, or a path ending in .csv or .npz."""
    if text in DATA or Path(text).suffix.lower() in TABLE_SUFFIXES:
        return text
    raise argparse.ArgumentTypeError(
        f"expected one of {', '.join(DATA)} or a {' or '.join(TABLE_SUFFIXES)} file, found {text!r}"
    )


_POSITIVE = _integer(1)


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: an unknown option is reported with the closest known one."""

    def __init__(self, *args, **kwargs):
        self.options = []  # filled by add_argument, which the base __init__ calls for -h
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """Add an argument as argparse does, and remember its option strings."""
        action = super().add_argument(*args, **kwargs)
        self.options.extend(action.option_strings)
        return action

    def parse_known_args(self, args=None, namespace=None):
        """Parse as argparse does; exit with a usage error naming the unknown arguments."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            hints = [
                f"did you mean {close[0]}?"
                for arg in extras
                if arg.startswith("--")
                for close in [difflib.get_close_matches(arg.partition("=")[0], self.options, 1)]
                if close
            ]
            self.error("; ".join([f"unrecognized arguments: {' '.join(extras)}", *hints]))
        return namespace, extras


#: Settings that ``sweep`` takes lists of (as it takes several --hidden).
GRID = ("lr", "batch_size")


def _add_training_flags(parser, grid=False):
    """Add the training flags; with ``grid``, --lr, --hidden and --batch-size take lists."""
    _add_data_flags(parser)
    if grid:
        parser.add_argument(
            "--hidden",
            type=_sizes,
            nargs="+",
            help="hidden sizes to sweep, e.g. 3 8 32,32 (default: 3)",
        )
    else:
        parser.add_argument(
            "--hidden",
            type=_sizes,
            action="append",
            help="hidden sizes: 300, or 32,32, or repeat the flag (default: 3)",
        )
    parser.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="sigmoid",
        help="activation of the hidden layers (default: %(default)s)",
    )
    parser.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=DEFAULT_DTYPE,
        help="dtype of the parameters and data (default: %(default)s)",
    )
    for field in dataclasses.fields(Config):
        if "setting" in field.metadata and field.metadata["setting"].flag is not None:
            _add_setting_flag(parser, field, grid and field.name in GRID)
    if not grid:
        _add_checkpoint_flags(parser)
    _add_run_flags(parser)


def _add_setting_flag(parser, field, many):
    """Add the flag of one ``TrainSettings`` field, as its metadata describes it."""
    setting = field.metadata["setting"]
    flag = setting.flag or "--" + field.name.replace("_", "-")
    default = [field.default] if many else field.default
    # Shown as the default unless the help says what the default means.
    help = setting.help
    if "(default:" not in help:
        help += " (default: %(default)s)"
    options = dict(dest=field.name, default=default, help=help)
    if many:
        options["nargs"] = "+"
    if setting.kind == "switch":
        options["action"] = argparse.BooleanOptionalAction
    elif setting.kind == "choice":
        options["choices"] = setting.choices
    elif setting.kind in ("count", "natural"):
        options["type"] = _POSITIVE if setting.kind == "count" else _integer(0)
    else:
        options["type"] = _real(setting.check)
    parser.add_argument(flag, **options)


def _add_data_flags(parser):
    parser.add_argument(
        "--data",
        type=_dataset,
        default="synth",
        help=f"dataset: {', '.join(DATA)}, or your own .csv (a header row, the label last "
        "unless --label) or .npz (arrays X and y) file; a file's rows are shuffled once and "
        "split 80/20 into training and validation (default: %(default)s)",
    )
    parser.add_argument(
        "--label", metavar="NAME", help="the label column of a .csv file (default: the last one)"
    )


def _add_checkpoint_flags(parser):
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="write a checkpoint (.npz) after every epoch (default: none)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=_POSITIVE,
        default=1,
        help="epochs between checkpoints (default: %(default)s)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from --checkpoint if it exists (same result as an unbroken run)",
    )


def _add_run_flags(parser):
    parser.add_argument(
        "--runs",
        type=_POSITIVE,
        default=1,
        help="repeat over seeds seed, seed+1, ... and report mean ± std (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs", type=_POSITIVE, help="worker processes for the runs (default: one per CPU)"
    )
    parser.add_argument(
        "--num-train",
        type=_POSITIVE,
        help="use only the first N training rows (default: all; synthetic sets are drawn at N)",
    )
    parser.add_argument(
        "--num-val",
        type=_POSITIVE,
        help="use only the first N validation rows (default: all; synthetic sets are drawn at N)",
    )
    parser.add_argument(
        "--final", action="store_true", help="mnist: train on 60k, test on 10k (default: off)"
    )
    parser.add_argument("--data-dir", help="mnist folder (default: $FASTMLP_DATA_DIR or the cache)")
    parser.add_argument(
        "--out", type=Path, help="write history JSON, model files and plots here (default: none)"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmlp", description="Train small multilayer perceptrons by SGD."
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    _add_training_flags(commands.add_parser("train", help="train a model (the default command)"))
    grid = commands.add_parser("sweep", help="repeated runs over a grid of hyperparameters")
    _add_training_flags(grid, grid=True)
    study = commands.add_parser(
        "reproduce", help="regenerate the classic study as PNGs + report.md"
    )
    study.add_argument(
        "--out",
        type=Path,
        default=Path("fastmlp-study"),
        help="folder for the PNGs and report.md (default: %(default)s)",
    )
    study.add_argument("--quick", action="store_true", help="a reduced version in under a minute")
    study.add_argument("--data-dir", help="mnist folder (default: $FASTMLP_DATA_DIR or the cache)")
    data = commands.add_parser("data", help="find or download a dataset and verify it")
    data.add_argument("name", choices=["mnist"], help="the dataset: mnist")
    data.add_argument("--dir", help="folder to use (default: $FASTMLP_DATA_DIR or the user cache)")
    data.add_argument(
        "--mirror",
        action="append",
        help="mirror base URL, repeatable (default: the built-in mirrors)",
    )
    data.add_argument("--no-download", action="store_true", help="only look, never download")
    warm = commands.add_parser(
        "warmup", help="compile the kernels now (or load them from the disk cache)"
    )
    warm.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        nargs="+",
        default=[DEFAULT_DTYPE],
        help=f"parameter dtypes to prepare (default: {DEFAULT_DTYPE})",
    )
    warm.add_argument(
        "--hidden-layers",
        type=_integer(0),
        nargs="+",
        default=list(DEFAULT_HIDDEN_LAYERS),
        help=f"network depths to prepare (default: {' '.join(map(str, DEFAULT_HIDDEN_LAYERS))})",
    )
    warm.add_argument(
        "--jobs", type=_POSITIVE, help="processes compiling at once (default: one per CPU)"
    )
    warm.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def _config(args, hidden=None):
    hidden = hidden or tuple(size for group in (args.hidden or [(3,)]) for size in group)
    settings = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if hasattr(args, f.name)
    }
    return Config(**settings | {"hidden": hidden})


#: The widths of train's columns for one run (printed as each epoch ends).
WIDTHS = (5, 10, 10, 9, 8)


def _held_out(config):
    """Return what the held-out rows are: "test" for MNIST with --final, else "validation"."""
    return "test" if config.final and config.data == "mnist" else "validation"


def _columns(config):
    """Return the columns of train's table, naming the held-out set (``_held_out``)."""
    short = "test" if _held_out(config) == "test" else "val"
    return ("epoch", "train loss", f"{short} loss", f"{short} acc", "time (s)")


def _print_row(say, cells, widths, left=0):
    """Print ``cells`` in columns of ``widths``: the first ``left`` left-aligned, the rest right."""
    say(
        " ".join(
            f"{cell:<{width}}" if i < left else f"{cell:>{width}}"
            for i, (cell, width) in enumerate(zip(cells, widths))
        ).rstrip()
    )


def _print_table(say, header, rows, left=0):
    """Print ``header`` and ``rows`` with each column as wide as its widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        _print_row(say, row, widths, left)


def _train(args, say):
    config = _config(args)
    if args.runs != 1 and (args.checkpoint is not None or args.resume):
        raise ValueError(
            f"--checkpoint/--resume: expected --runs 1 (one run per checkpoint), "
            f"found --runs {args.runs}"
        )
    (X, _), (Xv, _), k = load_data(config)
    labels = class_labels(config)
    # Before any output: a cold cache's "compiling kernels" notice (stderr) comes first,
    # and once, however many worker processes then load the kernels from the cache.
    _compile_kernels([config])
    say(
        f"{config.data}: {len(X)} train, {len(Xv)} {_held_out(config)}, sizes "
        f"{[X.shape[1], *config.hidden, k]}, {config.activation}, {config.dtype}, {config.backend}"
        + ("" if labels is None else f", classes {', '.join(map(str, labels))}")
    )
    return (_train_once if args.runs == 1 else _train_runs)(args, config, say)


def _train_once(args, config, say):
    _print_row(say, _columns(config), WIDTHS)

    def print_epoch(epoch, h, model):
        cells = (
            epoch + 1,
            f"{h.train_loss[-1]:.4f}",
            f"{h.val_loss[-1]:.4f}",
            f"{h.val_accuracy[-1]:.2%}",
            f"{h.epoch_time[-1]:.3f}",
        )
        _print_row(say, cells, WIDTHS)

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
    _, _, loss, acc, _ = _columns(config)

    def report(done):
        say(
            f"run {done.seed - config.seed + 1} of {args.runs} done (seed {done.seed}): "
            f"{loss} {done.history.val_loss[-1]:.4f}, {acc} {done.history.val_accuracy[-1]:.2%}"
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
    (tl, tl_sd), (vl, vl_sd), (va, va_sd) = (
        result.curve(key) for key in ("train_loss", "val_loss", "val_accuracy")
    )
    rows = [
        (
            str(e + 1),
            f"{tl[e]:.4f}±{tl_sd[e]:.3f}",
            f"{vl[e]:.4f}±{vl_sd[e]:.3f}",
            f"{va[e]:.2%}±{va_sd[e]:.1%}",
            f"{sum(h.epoch_time[e] for h in result.histories) / len(result.histories):.3f}",
        )
        for e in range(len(tl))
    ]
    _print_table(say, _columns(result.config), rows)


def _write_outputs(out, config, runs, repeated, say):
    from . import plots  # matplotlib loads only when there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    (_, _), (Xv, yv), _ = load_data(config)
    labels = class_labels(config)  # a data file's own labels go into its model files
    for result in runs:
        # Numbered by seed: the runs an interruption left keep their numbers.
        suffix = "" if repeated is None else f"-run{result.seed - config.seed}"
        result.history.to_json(out / f"history{suffix}.json")
        save(result.model, out / f"model{suffix}.npz", classes=labels)
    first = runs[0]
    plots.save(plots.step_loss(first.history), out / "loss.png")
    plots.save(plots.epoch_loss(first.history, held_out=_held_out(config)), out / "epochs.png")
    if Xv.shape[1] == 2:
        plots.save(plots.decision_boundary(first.model, Xv, yv), out / "boundary.png")
    elif config.data == "mnist":
        predicted = first.model.predict(Xv)
        plots.save(plots.digits_grid(Xv, yv, predicted, mistakes_first=True), out / "digits.png")
        plots.save(plots.confusion_matrix(yv, predicted, n_classes=10), out / "confusion.png")
    if repeated is not None:
        band = plots.repeat_band(repeated, key="val_loss", held_out=_held_out(config))
        plots.save(band, out / "band.png")
    say(f"wrote {out}")


def _sweep(args, say):
    lists = {"lr": args.lr, "hidden": args.hidden or [(3,)], "batch_size": args.batch_size}
    # A flag given one value sets the base configuration; several values are swept.
    base = {name: values[0] for name, values in lists.items()}
    grid = {name: values for name, values in lists.items() if len(values) > 1} or {"lr": args.lr}
    args.lr, args.batch_size = base["lr"], base["batch_size"]
    config = _config(args, hidden=base["hidden"])
    result = sweep(config, runs=args.runs, n_jobs=args.jobs, **grid)
    rows = []
    for params, repeated in zip(result.params, result.results):
        (loss, loss_sd), (acc, acc_sd) = repeated.final("val_loss"), repeated.final("val_accuracy")
        setting = ", ".join(f"{k}={v}" for k, v in params.items())
        rows.append((setting, f"{loss:.4f}±{loss_sd:.4f}", f"{acc:.2%}±{acc_sd:.2%}"))
    _, _, loss, acc, _ = _columns(config)
    _print_table(say, ("setting", loss, acc), rows, left=1)
    if args.out:
        from . import plots  # matplotlib loads only when there is something to draw

        args.out.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out / "sweep.json") as tmp:
            tmp.write_text(json.dumps(result.to_dict()))
        if list(grid) == ["lr"]:
            figure = plots.lr_comparison(result.by("lr"), held_out=_held_out(config))
        else:
            figure = plots.sweep_comparison(result, held_out=_held_out(config))
        plots.save(figure, args.out / f"{'-'.join(grid)}.png")
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


@contextlib.contextmanager
def _warnings_shown(command):
    """Meanwhile, show warnings as the command's own lines on stderr, not as Python's."""
    original = warnings.formatwarning
    warnings.formatwarning = lambda message, *_: f"fastmlp {command}: warning: {message}\n"
    try:
        yield
    finally:
        warnings.formatwarning = original


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastmlp`` command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        close = difflib.get_close_matches(argv[0], COMMANDS, 1)
        parser.error(
            f"expected a command ({', '.join(COMMANDS)}) or options, found {argv[0]!r}"
            + (f"; did you mean {close[0]}?" if close else "")
        )
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["train", *argv]  # no command: train, so bare `fastmlp` runs the main job
    args = parser.parse_args(argv)
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
            warmup(args.dtype, args.hidden_layers, jobs=args.jobs, verbose=not args.quiet)
            return 0
        if args.command == "reproduce":
            from .reproduce import reproduce

            reproduce(args.out, quick=args.quick, data_dir=args.data_dir, say=print)
            return 0
        with _warnings_shown(args.command):
            return (_sweep if args.command == "sweep" else _train)(args, say)
    except (DatasetError, ValueError, TypeError, TrainingDivergedError) as error:
        print(f"fastmlp {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
