import json
import os
import re
import signal
import subprocess
import sys
import warnings

import pytest

import fastmlp
import fastmlp.cli
import fastmlp.reproduce
from fastmlp import History
from fastmlp.cli import main
from fastmlp.experiments import NotLearningWarning


def table_rows(out):
    return [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]


def test_default_command_trains_the_default_model(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "synth: 60000 train, 10000 validation, sizes [2, 3, 2], sigmoid, float32, numba" in out
    rows = table_rows(out)
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert float(rows[-1][3].rstrip("%")) >= 93  # the 2-3-2 bar: >= 93% within 5 epochs


def test_train_flags_runs_and_outputs(tmp_path, capsys):
    argv = ["train", "--data", "disc", "--hidden", "5", "--hidden", "4", "--activation", "relu"]
    argv += ["--epochs", "2", "--batch-size", "8", "--dtype", "float64", "--runs", "2"]
    argv += ["--lr", "0.05", "--momentum", "0.5", "--schedule", "step", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "sizes [2, 5, 4, 2], relu, float64" in out
    assert len(table_rows(out)) == 2 and "±" in out
    names = {p.name for p in tmp_path.iterdir()}
    expected = {"history-run0.json", "history-run1.json", "model-run0.npz", "model-run1.npz"}
    assert expected | {"loss.png", "epochs.png", "boundary.png", "band.png"} <= names
    model = fastmlp.load(tmp_path / "model-run1.npz")
    assert model.sizes == (2, 5, 4, 2) and model.dtype == "float64"
    history = History.from_json(tmp_path / "history-run0.json")
    assert history.epochs == 2 and history.config["momentum"] == 0.5


def test_quiet_prints_nothing(capsys):
    with pytest.warns(NotLearningWarning):  # one epoch of 500 points: too little to learn
        assert main(["--epochs", "1", "--num-train", "500", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_numpy_backend(capsys):
    with pytest.warns(NotLearningWarning):
        assert main(["--epochs", "1", "--num-train", "500", "--backend", "numpy"]) == 0
    assert "numpy" in capsys.readouterr().out


def test_mnist_training_writes_digit_plots(mnist_dir, tmp_path, capsys):
    argv = ["train", "--data", "mnist", "--data-dir", str(mnist_dir), "--hidden", "32"]
    argv += ["--epochs", "1", "--num-train", "3000", "--lr", "0.05", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert {"digits.png", "confusion.png", "model.npz", "history.json"} <= {
        p.name for p in tmp_path.iterdir()
    }


def test_sweep(tmp_path, capsys):
    argv = ["sweep", "--lr", "0.01", "0.1", "--runs", "2", "--epochs", "1", "--num-train", "2000"]
    with pytest.warns(NotLearningWarning):  # lr 0.01 learns nothing in one such epoch
        assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lr=0.01" in out and "lr=0.1" in out
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert len(data["params"]) == 2
    assert_png(tmp_path / "lr.png")


def test_errors_are_reported_not_raised(tmp_path, capsys):
    code = main(["train", "--data", "mnist", "--data-dir", str(tmp_path), "--epochs", "1"])
    assert code == 1
    assert "not found in" in capsys.readouterr().err


@pytest.mark.parametrize("hidden", ["0", "a,b", ""])
def test_bad_hidden_sizes_are_rejected(hidden, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--hidden", hidden])
    assert exit_info.value.code == 2
    assert "--hidden" in capsys.readouterr().err


def test_python_dash_m_runs_the_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fastmlp", "--version"],
        cwd=tmp_path,  # keep the source tree off sys.path: test the installed package
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("fastmlp ")


COMPILE_NOTICE = "compiling kernels, once per machine: ~"


def run_cold(tmp_path, *flags):
    """Run ``python -m fastmlp`` on an empty kernel cache; return its lines, stderr in stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "fastmlp", "--epochs", "1", "--num-train", "200", *flags],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if k != "FASTMLP_NO_CACHE"},  # it would win
            "FASTMLP_CACHE_DIR": str(tmp_path / "cache"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream: the notice's place among the output lines
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


@pytest.mark.slow  # a cold compile
def test_the_compile_notice_comes_before_any_output(tmp_path):
    lines = run_cold(tmp_path)
    notices = [i for i, line in enumerate(lines) if line.startswith(COMPILE_NOTICE)]
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "train"])
    assert notices == [0] and header > 0, lines


@pytest.mark.slow  # a cold compile
def test_runs_in_worker_processes_compile_once_in_this_one(tmp_path):
    lines = run_cold(tmp_path, "--runs", "2", "--jobs", "2")
    notices = [i for i, line in enumerate(lines) if line.startswith(COMPILE_NOTICE)]
    assert notices == [0], lines  # the workers load the kernels from the cache it filled
    assert sum(line.startswith("run ") for line in lines) == 2


def test_warmup_prints_what_it_compiled_and_the_time(capsys):
    assert main(["warmup", "--dtype", "float32", "--hidden-layers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("float32, 1 hidden layer(s): ")
    summary = out.splitlines()[1]
    assert summary.startswith("warmed up ") and " s: " in summary
    assert "compiled" in summary and "loaded from the cache" in summary
    table = out[out.index("kernel ") :].splitlines()[1:]
    assert table and all(len(row.split()) == 4 and int(row.split()[1]) >= 1 for row in table)


def test_warmup_quiet_and_errors(capsys):
    assert main(["warmup", "--dtype", "float32", "--hidden-layers", "1", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit) as exit_info:
        main(["warmup", "--hidden-layers", "-1"])
    assert exit_info.value.code == 2
    assert (
        "argument --hidden-layers: expected an integer >= 0, found '-1'" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["warmup", "--dtype", "float16"])
    assert exit_info.value.code == 2


def test_resume_from_a_checkpoint_gives_the_unbroken_run(tmp_path, capsys):
    base = ["train", "--hidden", "4", "--num-train", "3000", "--momentum", "0.5"]
    base += ["--batch-size", "4", "--quiet"]
    ckpt = str(tmp_path / "run.ckpt.npz")
    argv = [*base, "--epochs", "5", "--checkpoint", ckpt, "--resume", "--out"]
    with pytest.warns(NotLearningWarning):  # 3000 points: these runs stay near the majority
        assert main([*base, "--epochs", "5", "--out", str(tmp_path / "whole")]) == 0
        assert main([*base, "--epochs", "2", "--checkpoint", ckpt]) == 0
        assert main([*argv, str(tmp_path / "resumed")]) == 0
    whole = fastmlp.load(tmp_path / "whole" / "model.npz")
    resumed = fastmlp.load(tmp_path / "resumed" / "model.npz")
    assert resumed.params.tobytes() == whole.params.tobytes()
    history = History.from_json(tmp_path / "resumed" / "history.json")
    assert history.train_loss == History.from_json(tmp_path / "whole" / "history.json").train_loss


def test_checkpoint_needs_a_single_run(tmp_path, capsys):
    argv = ["train", "--runs", "2", "--checkpoint", str(tmp_path / "c.npz"), "--epochs", "1"]
    assert main(argv) == 1
    assert "--checkpoint/--resume: expected --runs 1" in capsys.readouterr().err


def test_a_diverging_run_is_reported(capsys):
    argv = ["train", "--activation", "relu", "--hidden", "8", "--lr", "1e38"]
    assert main([*argv, "--epochs", "2", "--num-train", "500"]) == 1
    assert "fastmlp train: training diverged in epoch 0 at step" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_saves_the_model_and_history_and_exits_130(tmp_path):
    import signal

    out = tmp_path / "out"
    argv = [sys.executable, "-m", "fastmlp", "train", "--epochs", "500", "--out", str(out)]
    child = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with child.stdout, child.stderr:
        while not child.stdout.readline().split()[:1] == [b"2"]:  # epoch 2 is done
            pass
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=60) == 130
        err = child.stderr.read().decode()
    assert "fastmlp train: interrupted after" in err and str(out) in err
    history = History.from_json(out / "history.json")
    assert history.interrupted and 2 <= history.epochs < 500
    model = fastmlp.load(out / "model.npz")
    assert model.sizes == (2, 3, 2)


@pytest.fixture
def no_training(monkeypatch):
    """Make any data loading or training fail the test: a bad path must stop the CLI before."""

    def must_not_run(*args, **kwargs):
        raise AssertionError("the command went to work before checking its paths")

    for name in ("load_data", "run", "repeat", "sweep"):
        monkeypatch.setattr(fastmlp.cli, name, must_not_run)
    monkeypatch.setattr(fastmlp.reproduce, "reproduce", must_not_run)


#: ``(flag, path, message)`` with ``{tmp}`` for a folder and ``{file}`` for a file in it.
BAD_PATHS = {
    "out-is-a-file": (
        "--out",
        "{file}",
        "--out: expected a folder to write, found a file at {file}",
    ),
    "out-under-a-file": (
        "--out",
        "{file}/sub",
        "--out: expected a path through folders, found the file {file}",
    ),
    "checkpoint-is-a-folder": (
        "--checkpoint",
        "{tmp}",
        "--checkpoint: expected a file to write, found a folder at {tmp}",
    ),
    "checkpoint-folder-missing": (
        "--checkpoint",
        "{tmp}/missing/c.npz",
        "--checkpoint: expected an existing folder to write c.npz in, found no folder "
        "{tmp}/missing",
    ),
    "checkpoint-under-a-file": (
        "--checkpoint",
        "{file}/c.npz",
        "--checkpoint: expected a path through folders, found the file {file}",
    ),
}


@pytest.mark.parametrize(
    ("command", "case"),
    [
        (command, case)
        for command in ("train", "sweep", "reproduce")
        for case, (flag, _, _) in BAD_PATHS.items()
        if command == "train" or flag == "--out"  # only train has --checkpoint
    ],
)
def test_unwritable_paths_are_rejected_before_any_work(
    tmp_path, capsys, no_training, command, case
):
    flag, path, message = BAD_PATHS[case]
    places = {"tmp": tmp_path, "file": tmp_path / "a-file"}
    places["file"].write_text("not a folder")
    assert main([command, flag, path.format(**places)]) == 1
    assert capsys.readouterr().err == f"fastmlp {command}: {message.format(**places)}\n"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_a_folder_without_write_permission_is_rejected_before_any_work(
    tmp_path, capsys, no_training
):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    for flag, path in (("--out", locked / "out"), ("--checkpoint", locked / "c.npz")):
        assert main(["train", flag, str(path)]) == 1
        expected = f"{flag}: expected a folder fastmlp may write in, found {locked} not writable"
        assert capsys.readouterr().err == f"fastmlp train: {expected}\n"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a process group")
def test_ctrl_c_during_runs_saves_the_completed_runs_and_exits_130(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "fastmlp", "train", "--data", "moons", "--num-train", "1000"]
    argv += ["--batch-size", "50", "--epochs", "200", "--runs", "3", "--jobs", "2"]
    # One Numba thread per process keeps epochs steady on a busy machine.
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    # Its own process group, signalled as a whole, as Ctrl-C in a terminal does:
    # the workers get SIGINT too.
    child = subprocess.Popen(
        [*argv, "--out", str(out)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with child.stdout, child.stderr:
        # Two workers, three runs: when the first run is done, another has just started.
        line = b"-"
        while line and not line.startswith(b"run "):
            line = child.stdout.readline()
        assert line, child.stderr.read().decode()
        os.killpg(child.pid, signal.SIGINT)
        assert child.wait(timeout=60) == 130
        err = child.stderr.read().decode()
    assert "Traceback" not in err, err
    found = re.search(rf"interrupted after (\d) of 3 completed run\(s\); they are in {out}", err)
    assert found, err
    completed = int(found[1])
    assert 1 <= completed < 3
    histories, models = sorted(out.glob("history-run*.json")), sorted(out.glob("model-run*.npz"))
    assert len(histories) == len(models) == completed
    for path in histories:
        history = History.from_json(path)
        assert history.epochs == 200 and not history.interrupted
    assert fastmlp.load(models[0]).sizes == (2, 3, 2)
    assert (out / "band.png").exists()


def help_entries(capsys, command):
    """Return each option's entry of ``fastmlp COMMAND --help``, on one line."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    options = text[text.index("options:") :]
    return [" ".join(entry.split()) for entry in re.split(r"\n(?=  -)", options)[1:]]


METAVAR = r"\[?(\{[^}]*\}|[A-Z_]+)|\.\.\.\]"


@pytest.mark.parametrize("command", fastmlp.cli.COMMANDS)
def test_help_gives_every_option_its_meaning_and_default(capsys, command):
    entries = help_entries(capsys, command)
    assert len(entries) >= 3
    for entry in entries:
        if entry.startswith("-h, --help"):
            continue
        flag, *rest = entry.split()
        values = 0  # the flag's value placeholders: LR, {relu,sigmoid,tanh}, [HIDDEN ...]
        while values < len(rest) and re.fullmatch(METAVAR, rest[values]):
            values += 1
        assert len(rest) > values, f"{flag} has no help text"
        if values:  # a flag that takes a value says what it is when not given
            assert "(default: " in entry, entry


def test_help_names_the_training_defaults(capsys):
    text = "\n".join(help_entries(capsys, "train"))
    lr = "--lr LR learning rate (default: the optimizer's; 0.01 for sgd, 0.001 for adam)"
    for entry in (lr, "--epochs EPOCHS", "(default: 5)"):
        assert entry in text
    assert "--batch-size BATCH_SIZE samples per SGD step, gradients averaged (default: 1)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--lr", "-1"], "argument --lr: expected a finite value > 0, found -1.0"),
        (["train", "--lr", "nan"], "argument --lr: expected a finite value > 0, found nan"),
        (["train", "--lr", "fast"], "argument --lr: expected a number, found 'fast'"),
        (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, found '0'"),
        (["--batch-size", "1.5"], "argument --batch-size: expected an integer >= 1, found '1.5'"),
        (["--runs", "0"], "argument --runs: expected an integer >= 1, found '0'"),
        (["--seed", "-1"], "argument --seed: expected an integer >= 0, found '-1'"),
        (["--momentum", "1"], "argument --momentum: expected a value in [0, 1), found 1.0"),
        (["--weight-decay", "-1"], "argument --weight-decay: expected a finite value >= 0"),
        (["--num-train", "0"], "argument --num-train: expected an integer >= 1, found '0'"),
        (
            ["--epochs", str(2**63)],
            f"argument --epochs: expected an integer <= {2**63 - 1} (int64), found '{2**63}'",
        ),
        (["--data", "nope"], "argument --data: expected one of synth, disc, rings, moons"),
        (["sweep", "--lr", "0.1", "-1"], "argument --lr: expected a finite value > 0, found -1.0"),
        (["sweep", "--batch-size", "0"], "argument --batch-size: expected an integer >= 1"),
    ],
)
def test_bad_values_are_usage_errors_before_any_output(capsys, no_training, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    command = argv[0] if argv[0] in fastmlp.cli.COMMANDS else "train"
    assert f"fastmlp {command}: error: {message}" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--hidden-size", "3"],
            "fastmlp train: error: unrecognized arguments: --hidden-size 3; did you mean --hidden?",
        ),
        (["--epocs", "2"], "unrecognized arguments: --epocs 2; did you mean --epochs?"),
        (["sweep", "--batchsize=2"], "--batchsize=2; did you mean --batch-size?"),
        (["warmup", "--hiden-layers", "1"], "did you mean --hidden-layers?"),
        (["swep", "--lr", "0.1"], "found 'swep'; did you mean sweep?"),
    ],
)
def test_unknown_options_and_commands_get_the_closest_suggested(capsys, no_training, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def column_ends(line):
    """Return where each cell of a right-aligned table line ends."""
    return [m.end() for m in re.finditer(r"\S+", line)]


def test_table_columns_stay_aligned_with_plus_minus(capsys):
    argv = ["train", "--runs", "2", "--jobs", "1", "--epochs", "2", "--num-train", "2000"]
    assert main([*argv, "--lr", "0.1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("epoch"))) :]
    rows = [line for line in table if line.strip()[:1].isdigit()]
    assert len(rows) == 2 and all("±" in row for row in rows)
    ends = column_ends(rows[0])
    assert len(ends) == 5 and all(column_ends(row) == ends for row in rows)
    assert set(ends) <= set(column_ends(table[0]))  # each column ends under its heading


def test_sweep_table_columns_stay_aligned(capsys):
    argv = ["sweep", "--hidden", "3", "16,16", "--lr", "0.1", "0.00123456789", "--epochs", "1"]
    with warnings.catch_warnings():
        # Alignment is the point here, not whether one epoch suffices for every setting.
        warnings.simplefilter("ignore", NotLearningWarning)
        assert main([*argv, "--num-train", "1000", "--runs", "1", "--jobs", "1"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.startswith("setting ") and len(rows) == 4
    longest = "lr=0.00123456789, hidden=(16, 16)"
    assert rows[-1].startswith(longest + " ")  # longer than the old fixed width
    starts = [[m.start() for m in re.finditer(r"\S+", row)][-2:] for row in rows]
    ends = [column_ends(row)[-2:] for row in rows]
    assert all(e == ends[0] for e in ends) and set(ends[0]) <= set(column_ends(header))
    assert all(s[0] > len(longest) for s in starts)


def test_a_run_that_does_not_learn_warns(capsys):
    argv = ["train", "--lr", "1000", "--epochs", "2", "--num-train", "2000"]
    with pytest.warns(NotLearningWarning, match="lr 1000 and seed 0 did not learn: its validation"):
        assert main(argv) == 0


def test_a_run_that_learns_does_not_warn(capsys):
    assert main(["train", "--lr", "0.1", "--epochs", "2", "--num-train", "2000"]) == 0
    assert capsys.readouterr().err == ""


def test_the_warning_is_one_line_of_the_command_on_stderr(tmp_path):
    argv = [sys.executable, "-m", "fastmlp", "--lr", "1000", "--epochs", "1"]
    result = subprocess.run(
        [*argv, "--num-train", "1000"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    lines = [line for line in result.stderr.splitlines() if "did not learn" in line]
    assert len(lines) == 1  # the compile notice may come too, on a cold kernel cache
    assert lines[0].startswith("fastmlp train: warning: the run with lr 1000 and seed 0 ")
    assert "warnings.warn" not in result.stderr and "NotLearningWarning" not in result.stderr


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"  # complete: ends with its IEND chunk


@pytest.mark.parametrize(
    ("flags", "name"),
    [(["--hidden", "3", "5"], "hidden.png"), (["--batch-size", "1", "4"], "batch_size.png")],
)
def test_sweep_writes_the_comparison_plot(tmp_path, capsys, flags, name):
    argv = ["sweep", *flags, "--epochs", "1", "--num-train", "500", "--runs", "1"]
    with pytest.warns(NotLearningWarning):  # one epoch of 500 points
        assert main([*argv, "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"sweep.json", name}
    assert_png(tmp_path / name)
