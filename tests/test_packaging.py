"""The installed layout: kernels ship only as fastmlp.kernels, never as a top-level module."""

import importlib.metadata
import importlib.resources
import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

import fastmlp.kernels
import pytest
from helpers import run, run_python

import fastmlp


def test_no_top_level_kernels_module_is_importable():
    assert importlib.util.find_spec("kernels") is None


def test_kernels_are_a_subpackage_of_fastmlp():
    assert fastmlp.kernels.__name__ == "fastmlp.kernels"
    source = Path(fastmlp.kernels.__file__).parent
    assert {"dense.py", "softmax_xent.py", "sgd.py", "network.py"} <= {
        p.name for p in source.iterdir()
    }


def test_distribution_records_no_top_level_kernels():
    files = importlib.metadata.files("fastmlp") or []
    assert not [f for f in files if f.parts and f.parts[0] == "kernels"]


def test_version_matches_the_distribution():
    assert fastmlp.__version__ == importlib.metadata.version("fastmlp")


def test_public_api_is_listed():
    for name in fastmlp.__all__:
        assert getattr(fastmlp, name) is not None
    assert {"MLP", "train", "gradients", "gradcheck"} <= set(fastmlp.__all__)


def test_installed_package_ships_its_type_marker():
    assert (importlib.resources.files("fastmlp") / "py.typed").is_file()


#: The checkout these tests sit in, when they run from one.
SOURCE = Path(__file__).resolve().parents[1]

# Build outputs, environments and caches: a copy without them builds as a fresh clone would.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".nox",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*cache",
    ".benchmarks",
    ".hypothesis",
)


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    """The entries of a wheel built from this checkout: the one `nox -s tests` installed.

    nox builds it from the sdist (``python -m build``: no build/ folder of the
    tree can slip in) and names it in FASTMLP_TEST_WHEEL; without that, build one.
    """
    given = os.environ.get("FASTMLP_TEST_WHEEL")
    if given:
        wheel = Path(given)
    else:
        wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def build_wheel(tmp):
    """Build a wheel of this checkout in ``tmp``; return its path."""
    if not (SOURCE / "pyproject.toml").is_file() or not (SOURCE / "kernels").is_dir():
        pytest.skip(f"no fastmlp source tree (pyproject.toml, kernels/) in {SOURCE} to build")
    # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds,
    # and files left in an old build/lib would slip into the wheel.
    source = shutil.copytree(SOURCE, tmp / "source", ignore=NOT_SOURCE)
    run(
        [
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--quiet",
            "wheel",
            "--no-deps",
            "-w",
            str(tmp / "dist"),
            str(source),
        ],
        tmp,
    )
    (wheel,) = (tmp / "dist").glob("fastmlp-*.whl")
    return wheel


def test_wheel_ships_the_package_its_kernels_and_type_marker(wheel_names):
    assert {"fastmlp/__init__.py", "fastmlp/kernels/sgd.py", "fastmlp/py.typed"} <= wheel_names


def test_wheel_has_no_top_level_kernels(wheel_names):
    assert not [name for name in wheel_names if name.split("/")[0] == "kernels"]


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # two children, a cold kernel cache: 14 s in CI
def test_the_source_tree_runs_from_the_clone_root(tmp_path):
    """Issue 13: ``python -m fastmlp`` in the clone's root imports the source folder first.

    That folder has no ``kernels`` subpackage; it must find the top-level
    ``kernels/`` as ``fastmlp.kernels`` and run, without making anything else
    of the root importable.
    """
    code = """
        import pkgutil, fastmlp
        print(fastmlp.__file__)
        print(fastmlp.kernels.__file__, fastmlp.kernels.sgd.__name__)
        assert {m.name for m in pkgutil.iter_modules(fastmlp.__path__)}.isdisjoint(
            {"noxfile", "tests", "bench", "examples"}
        )
    """
    out = run_python(code, ROOT, FASTMLP_CACHE_DIR=str(tmp_path)).splitlines()
    assert out[0] == str(ROOT / "fastmlp" / "__init__.py")
    assert out[1] == f"{ROOT / 'kernels' / '__init__.py'} fastmlp.kernels.sgd"
    args = ["-m", "fastmlp", "train", "--epochs", "1", "--num-train", "200"]
    result = run(args, ROOT, timeout=600, FASTMLP_CACHE_DIR=str(tmp_path))
    assert "epoch" in result.stdout.lower()
