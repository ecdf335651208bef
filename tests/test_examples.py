"""The scripts in examples/ run as they are: each in a fresh interpreter, in quick mode."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: Each script: the files it writes, and printed numbers as (pattern, lowest, highest),
#: the pattern's group being the number. The bounds are loose: quick mode trains little.
SCRIPTS = {
    "mnist_classifier.py": {
        "outputs": ["mnist-digits.png", "mnist-classifier.npz"],
        "numbers": [(r"^test accuracy: (\S+)$", 0.7, 1.0)],
    },
    "pipeline_grid_search.py": {
        "outputs": ["spirals-best.png"],
        # Three classes: chance is 1/3.
        "numbers": [(r"^held-out accuracy of the best pipeline: (\S+)$", 0.5, 1.0)],
    },
    "decision_boundary.py": {
        "outputs": ["disc-3x3.png", "disc-32x32.png"],
        "numbers": [
            # The small net keeps its settings in quick mode: the hexagon at >= 95%.
            (r"^hidden \[3, 3\]: validation accuracy (\S+) after 40 epochs", 0.95, 1.0),
            (r"^hidden \[32, 32\]: validation accuracy (\S+)", 0.85, 1.0),
        ],
    },
    "learning_rate_sweep.py": {
        "outputs": ["learning-rates.png"],
        "numbers": [(r"^0\.03 +(\S+) \+-", 0.8, 1.0)],  # final validation accuracy at lr 0.03
    },
    "backprop_by_hand.py": {
        "outputs": [],
        "numbers": [
            (r"^gradients, by hand vs fastmlp\.gradients: largest difference (\S+)$", 0, 1e-12),
            (r"^gradcheck \(max relative error vs finite differences\): (\S+)$", 0, 1e-6),
            (r"^parameters after one step, .*: largest difference (\S+)$", 0, 1e-12),
        ],
    },
}
SCRIPTS["pytorch_counterpart.py"] = {
    "outputs": ["pytorch-counterpart.png"],
    "numbers": [
        (r"^gradients, fastmlp vs torch autograd \(float64\): largest difference (\S+)$", 0, 1e-10),
        # float32, same weights and order: the two curves differ by rounding only.
        (r"^loss curves \(mean of \d+ steps\), .*: largest difference (\S+)$", 0, 1e-4),
        (r"^fastmlp +\S+ +\S+ +\S+ +(\S+)$", 0.5, 1.0),  # validation accuracy after 1,000 steps
        (r"^torch +\S+ +\S+ +\S+ +(\S+)$", 0.5, 1.0),
    ],
}
#: Scripts that take more than a few seconds even in quick mode.
SLOW = {"mnist_classifier.py", "learning_rate_sweep.py", "pytorch_counterpart.py"}
#: Scripts that need MNIST; the tests read it from the local copy, never download it.
MNIST = {"mnist_classifier.py", "pytorch_counterpart.py"}


@pytest.fixture
def examples_dir():
    if not EXAMPLES.is_dir():
        pytest.skip(f"no examples folder at {EXAMPLES} (tests run outside the source tree)")
    return EXAMPLES


def test_every_example_has_a_test(examples_dir):
    assert sorted(path.name for path in examples_dir.glob("*.py")) == sorted(SCRIPTS)


def run_example(script, cwd, **env):
    """Run ``script`` with this interpreter from ``cwd``; return the completed process."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FASTMLP_EXAMPLES_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,  # a machine with no compiled kernels cached compiles them first
        check=False,
    )


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow if name in SLOW else ()) for name in SCRIPTS]
)
def test_example_runs_in_quick_mode(name, examples_dir, tmp_path, request):
    env = {}
    if name in MNIST:
        env["FASTMLP_DATA_DIR"] = str(request.getfixturevalue("mnist_dir"))
        # The files are there; an unroutable mirror makes any download attempt fail fast.
        env["FASTMLP_MNIST_MIRRORS"] = "http://127.0.0.1:9/"
    if name == "pipeline_grid_search.py" and importlib.util.find_spec("sklearn") is None:
        pytest.skip("the pipeline example needs scikit-learn, which is not installed")
    if name == "pytorch_counterpart.py" and importlib.util.find_spec("torch") is None:
        pytest.skip("the PyTorch example needs torch (the test extra installs it)")
    out = tmp_path / "out"
    result = run_example(
        examples_dir / name,
        cwd=tmp_path,
        FASTMLP_EXAMPLES_QUICK="1",
        FASTMLP_EXAMPLES_OUT=str(out),
        MPLBACKEND="Agg",
        **env,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Warning" not in result.stderr, result.stderr
    for output in SCRIPTS[name]["outputs"]:
        path = out / output
        assert path.is_file(), f"{name} did not write {output}; it wrote {os.listdir(out)}"
        assert path.stat().st_size > 0, f"{name} wrote an empty {output}"
    for pattern, lowest, highest in SCRIPTS[name]["numbers"]:
        match = re.search(pattern, result.stdout, flags=re.MULTILINE)
        assert match, f"{name}: no line matching {pattern!r} in:\n{result.stdout}"
        assert lowest <= float(match.group(1)) <= highest, match.group(0)
    assert not (tmp_path / "examples-output").exists()  # FASTMLP_EXAMPLES_OUT was honoured
