import subprocess
import sys

import pytest

from fastmlp.cli import main


def test_default_command_trains_the_default_model(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "MLP(sizes=[2, 3, 2], activation='sigmoid', dtype='float32')" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    val_acc = float(rows[-1][3].rstrip("%"))
    assert val_acc >= 93


def test_train_flags(capsys):
    argv = ["train", "--hidden", "5,4", "--activation", "relu", "--epochs", "1"]
    argv += ["--batch-size", "8", "--backend", "numpy", "--dtype", "float64", "--num-train", "500"]
    assert main(argv) == 0
    assert "MLP(sizes=[2, 5, 4, 2], activation='relu', dtype='float64')" in capsys.readouterr().out


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
