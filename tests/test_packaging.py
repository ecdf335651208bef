"""The installed layout: kernels ship only as fastmlp.kernels, never as a top-level module."""

import importlib.metadata
import importlib.util
from pathlib import Path

import fastmlp.kernels

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
