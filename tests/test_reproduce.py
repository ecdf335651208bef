"""The study of ``fastmlp reproduce`` and the accuracy bars its recipes must reach on real data."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from fastmlp import plots
from fastmlp.cli import main
from fastmlp.experiments import Config, load_data, run
from fastmlp.reproduce import FINAL_EPOCHS, FINAL_SCHEDULE, POLYGON, _rates, _settings


@pytest.fixture(scope="module")
def study(mnist_dir, tmp_path_factory):
    """Run the quick study once through the CLI; keep its output, report and every Figure."""
    out = tmp_path_factory.mktemp("study")
    figures, save = {}, plots.save

    def keep(fig, path, **kwargs):
        figures[path.name] = fig
        return save(fig, path, **kwargs)

    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setattr(plots, "save", keep)
        status = main(["reproduce", "--quick", "--out", str(out), "--data-dir", str(mnist_dir)])
    assert status == 0, stdout.getvalue()
    report = (out / "report.md").read_text()
    return {"out": out, "report": report, "figures": figures, "stdout": stdout.getvalue()}


def sections(report):
    """Map each section number to its heading and body."""
    parts = re.split(r"^## (\d)\. ", report, flags=re.MULTILINE)[1:]
    return {int(number): text for number, text in zip(parts[::2], parts[1::2])}


@pytest.mark.slow  # the quick study: 22 s in CI
def test_quick_study_writes_every_figure_and_the_report(study):
    out, report = study["out"], study["report"]
    assert sorted(sections(report)) == list(range(1, 10))
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(images) >= 13
    for name in images:
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    assert sorted(study["figures"]) == sorted(images)
    assert "sum-normalisation gradient is -99.0" in report
    assert "wrote" in study["stdout"]


def epochs_phrase(n):
    return f"{n} epoch{'s' if n != 1 else ''}"


@pytest.mark.slow  # the quick study: 22 s in CI
def test_quick_report_describes_the_runs_that_were_made(study, mnist_dir):
    configs = _settings(quick=True, data_dir=str(mnist_dir))
    expected = {
        1: [configs["synth"]],
        2: [configs["mnist"]],
        3: [configs["minibatch"]],
        4: [configs["epochs"]],
        5: [configs["epochs"]],
        6: [configs["lr"]],
        7: [configs["final"]],
        8: [configs["small"], configs["large"]],
    }
    text = sections(study["report"])
    for number, runs in expected.items():
        setups = re.findall(r"^Setup: (.*)$", text[number], flags=re.MULTILINE)
        assert len(setups) == len(runs), (number, setups)
        for setup, config in zip(setups, runs):
            (X, _), (Xv, _), k = load_data(config)
            held_out = "test" if config.final else "validation"
            assert re.search(rf", {epochs_phrase(config.epochs)}[,;] ", setup), (number, setup)
            assert f"{len(X):,} training and {len(Xv):,} {held_out}" in setup, (number, setup)
            assert "-".join(map(str, [X.shape[1], *config.hidden, k])) in setup, (number, setup)
    runs = configs["runs"]
    assert f"over {runs} runs" in text[5] and f"({runs} runs, seeds 0-{runs - 1})" in text[5]
    assert f"{runs} runs per learning rate" in text[6]


@pytest.mark.slow  # the quick study: 22 s in CI
def test_quick_report_of_the_final_run_says_what_ran(study, mnist_dir):
    config = _settings(quick=True, data_dir=str(mnist_dir))["final"]
    (X, _), (Xt, _), _ = load_data(config)
    final = sections(study["report"])[7]
    heading = final.splitlines()[0]
    assert heading == f"Final run: {len(X):,} training images, tested on {len(Xt):,} test images"
    assert "60,000" not in final or len(X) == 60_000
    used = sorted({FINAL_SCHEDULE(e) for e in range(config.epochs)})
    unused = sorted(set(FINAL_SCHEDULE.rates.values()) - set(used))
    setup = re.search(r"^Setup: (.*)$", final, flags=re.MULTILINE).group(1)
    assert all(f"{rate:g}" in setup for rate in used), setup
    assert not any(f"{rate:g}" in setup for rate in unused), setup
    assert "Test accuracy over" in final
    assert "validation" not in final


def test_learning_rates_are_described_epoch_by_epoch():
    rates = [FINAL_SCHEDULE(e) for e in range(FINAL_EPOCHS)]
    assert _rates(rates) == "lr 0.1 in epochs 1-8, 0.03 in epochs 9-10, 0.01 in epochs 11-12"
    assert _rates([0.1, 0.1]) == "lr 0.1 in every epoch"
    assert _rates([0.1, 0.05, 0.05]) == "lr 0.1 in epoch 1, 0.05 in epochs 2-3"


def figure_texts(fig):
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        texts += [line.get_label() for line in ax.get_lines()]
    return texts


@pytest.mark.slow  # the quick study: 22 s in CI
def test_final_figures_name_the_test_set(study):
    for name in ("7-final.png", "7-digits.png", "7-confusion.png"):
        texts = figure_texts(study["figures"][name])
        assert not any("validation" in t for t in texts), (name, texts)
        assert any("test" in t.lower() for t in texts), (name, texts)
    (ax,) = study["figures"]["7-final.png"].axes
    assert ax.get_ylabel() == "test accuracy"


@pytest.mark.slow  # the quick study: 22 s in CI
def test_every_study_figure_has_a_title(study):
    for name, fig in study["figures"].items():
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert fig.get_suptitle() or all(ax.get_title() for ax in axes), name


@pytest.mark.slow  # the quick study: 22 s in CI
def test_one_epoch_learning_rate_curves_show_as_points_on_epoch_1(study):
    curves_ax = study["figures"]["6-learning-rates.png"].axes[0]
    study["figures"]["6-learning-rates.png"].canvas.draw()
    lines = curves_ax.get_lines()
    assert len(lines) == 4
    for line in lines:
        assert list(line.get_xdata()) == [1]
        assert line.get_marker() not in ("None", None, "", " ")
    low, high = curves_ax.get_xlim()
    assert [t for t in curves_ax.get_xticks() if low <= t <= high] == [1]


@pytest.mark.slow  # the quick study: 22 s in CI
def test_small_disc_net_draws_a_polygon_on_its_first_layer_lines(study):
    ax = study["figures"]["8-disc-small.png"].axes[0]
    assert len(ax.get_lines()) == POLYGON.hidden[0]  # one line per first-layer unit
    assert "first layer" in ax.get_legend().get_texts()[0].get_text()
    accuracy = re.search(r"^Validation accuracy: (\S+)%", sections(study["report"])[8], re.M)
    assert float(accuracy.group(1)) >= 95


def test_cli_header_names_the_test_set_with_final(mnist_dir, capsys):
    args = ["train", "--data", "mnist", "--epochs", "1", "--num-train", "300"]
    args += ["--hidden", "8", "--data-dir", str(mnist_dir)]
    assert main([*args, "--final"]) == 0
    header, columns = capsys.readouterr().out.splitlines()[:2]
    assert header.startswith("mnist: 300 train, 10000 test, "), header
    assert columns.split()[3:7] == ["test", "loss", "test", "acc"], columns
    assert main(args) == 0
    header, columns = capsys.readouterr().out.splitlines()[:2]
    assert header.startswith("mnist: 300 train, 5000 validation, "), header
    assert columns.split()[3:7] == ["val", "loss", "val", "acc"], columns


def test_cli_outputs_name_the_test_set_with_final(mnist_dir, tmp_path, capsys, monkeypatch):
    """The table of --runs and the epochs and band figures of --out say "test" with --final."""
    from fastmlp import plots

    held_out = []
    for name in ("epoch_loss", "repeat_band"):
        draw = getattr(plots, name)

        def spy(*args, _draw=draw, **kwargs):
            held_out.append(kwargs.get("held_out", "validation"))
            return _draw(*args, **kwargs)

        monkeypatch.setattr(plots, name, spy)
    args = ["train", "--data", "mnist", "--epochs", "1", "--num-train", "300", "--hidden", "8"]
    args += ["--data-dir", str(mnist_dir), "--final", "--runs", "2", "--jobs", "1"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "val " not in out and "test loss" in out and "test acc" in out, out
    assert held_out == ["test", "test"]


def test_mnist_per_sample_one_epoch_reaches_93_percent(mnist_dir):
    config = Config(data="mnist", hidden=(300,), epochs=1, lr=0.01, data_dir=str(mnist_dir))
    result = run(config)
    print(f"MNIST 784-300-10, one epoch: {result.history.val_accuracy[-1]:.2%}")
    assert result.history.val_accuracy[-1] >= 0.93


@pytest.mark.slow
def test_final_recipe_reaches_98_percent_on_the_test_set(mnist_dir):
    config = Config(
        data="mnist",
        hidden=(300,),
        final=True,
        epochs=FINAL_EPOCHS,
        lr_schedule=FINAL_SCHEDULE,
        data_dir=str(mnist_dir),
    )
    history = run(config).history
    print(f"final: {history.val_accuracy[-1]:.2%} test, {sum(history.epoch_time):.1f} s training")
    assert history.val_accuracy[-1] >= 0.98


def test_readme_disc_command_draws_the_polygon_at_95_percent(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (command,) = re.findall(r"^fastmlp train --data disc .*$", readme, flags=re.MULTILINE)
    args = shlex.split(command)[1:]
    # The study's [3, 3] net is the README's: one recipe, stated twice.
    assert args[args.index("--seed") + 1] == str(POLYGON.seed)
    assert float(args[args.index("--lr") + 1]) == POLYGON.lr
    assert int(args[args.index("--epochs") + 1]) == POLYGON.epochs
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    last_epoch = capsys.readouterr().out.splitlines()[-2]  # then "wrote runs/disc"
    assert last_epoch.split()[0] == str(POLYGON.epochs), last_epoch
    (accuracy,) = re.findall(r"(\d+\.\d+)%", last_epoch)
    assert float(accuracy) >= 95, last_epoch
    assert (tmp_path / "runs" / "disc" / "boundary.png").stat().st_size > 0
