"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save plots into the working directory
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "__main__"})
    assert {"band.png", "rates.png", "boundary.png"} <= {p.name for p in tmp_path.iterdir()}


def test_readme_opens_with_the_two_setup_commands():
    first_block = README.read_text().split("```")[1].strip().splitlines()
    assert first_block[0] == "python3 -m pip install . && python3 -m fastmlp"
    assert first_block[1] == "python3 -m pip install nox && python3 -m nox -s tests"
    ci = (README.parent / ".ci" / "run").read_text()
    assert first_block[1] in ci.splitlines()
