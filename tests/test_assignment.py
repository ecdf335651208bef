"""docs/assignment.md runs as written.

Every Python block runs and prints what the page shows after it (a ``text``
block); every command runs in the quick form the page gives, and writes every
file the page names after it. Example scripts are run by test_examples.py.
"""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from test_examples import SCRIPTS

from fastmlp.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "assignment.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", flags=re.MULTILINE | re.DOTALL)
#: A file the page says a block writes: a backticked path ending in one of these suffixes.
OUTPUT = re.compile(r"`([\w./-]+\.(?:png|json|md|npz))`")
#: Commands that take more than a few seconds in quick form.
SLOW = re.compile(r"--data mnist|^fastmlp reproduce")
#: The quick form: "append `FLAGS` (for `reproduce`, `FLAGS`)".
QUICK = re.compile(r"append\s+`([^`]+)`\s+\(for\s+`reproduce`,\s+`([^`]+)`\)")


def runnable_blocks():
    """Return ``(lang, code, shown, outputs)`` for each python and sh block of the page.

    ``shown`` is the text block right after the block (or None); ``outputs`` are the
    files named between the block and the next runnable one.
    """
    if not PAGE.is_file():
        return []
    text = PAGE.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    runnable = [i for i, f in enumerate(fences) if f[1] in ("python", "sh")]
    blocks = []
    for n, i in enumerate(runnable):
        following = fences[i + 1] if i + 1 < len(fences) else None
        shown = following[2] if following is not None and following[1] == "text" else None
        end = fences[runnable[n + 1]].start() if n + 1 < len(runnable) else len(text)
        outputs = OUTPUT.findall(text[fences[i].end() : end])
        blocks.append((fences[i][1], fences[i][2], shown, outputs))
    return blocks


BLOCKS = runnable_blocks()
PYTHON = [(code, shown, outputs) for lang, code, shown, outputs in BLOCKS if lang == "python"]
COMMANDS = [
    (line.strip(), outputs)
    for lang, code, _, outputs in BLOCKS
    if lang == "sh"
    for line in code.splitlines()
    if line.strip()
]


def quick_flags():
    match = QUICK.search(PAGE.read_text(encoding="utf-8"))
    assert match, "the page no longer says how to run its commands quickly"
    return shlex.split(match[1]), shlex.split(match[2])


@pytest.fixture
def page():
    if not PAGE.is_file():
        pytest.skip(f"no {PAGE} (tests run outside the source tree)")
    return PAGE


def test_the_page_has_its_deliverables(page):
    assert len(PYTHON) >= 5 and len(COMMANDS) >= 9
    text = page.read_text(encoding="utf-8")
    for deliverable in ("softmax_xent_gradcheck", "fastmlp.scalar", "fastmlp.gradcheck"):
        assert deliverable in text
    assert "(docs/assignment.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("code", "shown", "outputs"), PYTHON, ids=[f"python-{i + 1}" for i in range(len(PYTHON))]
)
def test_python_block_prints_what_the_page_shows(page, code, shown, outputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(page), "exec"), {"__name__": "__main__"})
    if shown is not None:
        assert printed.getvalue() == shown
    for output in outputs:
        assert (tmp_path / output).stat().st_size > 0, output


def _command_id(command):
    words = command[0].split()
    return " ".join(words[:2] + [w for w in words if w.startswith("runs/") or w == "--final"])


@pytest.mark.parametrize(
    ("command", "outputs"),
    [
        # MNIST runs take seconds each even in quick form; test_reproduce runs the quick study.
        pytest.param(command, outputs, marks=pytest.mark.slow if SLOW.search(command) else ())
        for command, outputs in COMMANDS
    ],
    ids=[_command_id(c) for c in COMMANDS],
)
def test_command_runs_in_quick_form(page, command, outputs, tmp_path, monkeypatch, request):
    argv = shlex.split(command)
    if argv[0] == "python":
        # The examples run, in quick mode, in test_examples.py, which checks their files.
        script = Path(argv[1])
        assert script.parent == Path("examples") and script.name in SCRIPTS, command
        assert all(Path(o).name in SCRIPTS[script.name]["outputs"] for o in outputs), outputs
        return
    assert argv[0] == "fastmlp", f"the page runs a command the tests cannot: {command}"
    train_flags, reproduce_flags = quick_flags()
    argv = argv[1:] + (reproduce_flags if argv[1] == "reproduce" else train_flags)
    if "mnist" in argv or argv[0] == "reproduce":
        monkeypatch.setenv("FASTMLP_DATA_DIR", str(request.getfixturevalue("mnist_dir")))
        # The files are there; an unroutable mirror makes any download attempt fail fast.
        monkeypatch.setenv("FASTMLP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, argv
    assert outputs, f"the page names no file that {command} writes"
    for output in outputs:
        assert (tmp_path / output).stat().st_size > 0, output
