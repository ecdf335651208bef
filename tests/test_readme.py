"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def run_blocks(blocks):
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "__main__"})


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save plots into the working directory
    blocks = [b for b in python_blocks() if "load_mnist" not in b]
    assert len(blocks) >= 3
    run_blocks(blocks)
    expected = {"band.png", "rates.png", "boundary.png", "moons.npz"}
    assert expected <= {p.name for p in tmp_path.iterdir()}


def test_readme_mnist_example_runs(tmp_path, monkeypatch, mnist_dir, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FASTMLP_DATA_DIR", str(mnist_dir))  # never download in tests
    blocks = [b for b in python_blocks() if "load_mnist" in b]
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 10
    run_blocks(blocks)
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", capsys.readouterr().out)[1])
    assert accuracy > 92
    assert (tmp_path / "digits.png").stat().st_size > 0


def test_readme_opens_with_the_two_setup_commands():
    first_block = README.read_text().split("```")[1].strip().splitlines()
    assert first_block[0] == "python3 -m pip install . && python3 -m fastmlp"
    assert first_block[1] == "python3 -m pip install nox && python3 -m nox -s tests"
    ci = (README.parent / ".ci" / "run").read_text()
    assert first_block[1] in ci.splitlines()
