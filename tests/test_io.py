import json
import zipfile

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP
from fastmlp.errors import ModelFileError
from fastmlp.io import FORMAT_VERSION, save


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_round_trip_is_exact(tmp_path, rng, dtype, activation):
    model = MLP([4, 6, 3], activation, dtype, seed=2)
    model.params[...] = rng.normal(size=model.params.size)
    path = model.save(tmp_path / "m.npz")
    loaded, metadata = fastmlp.load(path, return_metadata=True)
    np.testing.assert_array_equal(loaded.params, model.params)
    assert (loaded.sizes, loaded.activation, loaded.dtype) == (model.sizes, activation, model.dtype)
    X = rng.normal(size=(20, 4))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert metadata["fastmlp_version"] == fastmlp.__version__
    assert metadata["format_version"] == FORMAT_VERSION


def test_classes_and_extra_metadata(tmp_path):
    save(MLP([2, 2]), tmp_path / "m.npz", classes=["cat", "dog"], extra={"epochs": 3})
    _, metadata = fastmlp.load(tmp_path / "m.npz", return_metadata=True)
    assert metadata["classes"] == ["cat", "dog"] and metadata["extra"] == {"epochs": 3}


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    MLP([2, 2], seed=1).save(path)
    good = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        MLP([2, 2], seed=2).save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "not a readable fastmlp model file"),
        (lambda p: p.write_text("hello"), "not a readable fastmlp model file"),
        (lambda p: write_npz(p, x=np.zeros(3)), "expected a metadata entry"),
        (
            lambda p: write_npz(p, params=np.zeros(3), metadata=np.array('{"format": "other"}')),
            "not a fastmlp model file",
        ),
    ],
    ids=["empty", "text", "other-npz", "other-format"],
)
def test_not_a_model_file(tmp_path, make, message):
    path = tmp_path / "m.npz"
    make(path)
    with pytest.raises(ModelFileError, match=message):
        fastmlp.load(path)


def test_truncated_file(tmp_path):
    path = MLP([30, 20, 2]).save(tmp_path / "m.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable fastmlp model file"):
        fastmlp.load(path)


def tamper(path, **changes):
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        params = archive["params"]
    metadata.update(changes.pop("metadata", {}))
    params = changes.pop("params", params)
    write_npz(path, params=params, metadata=np.array(json.dumps(metadata)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metadata": {"format_version": FORMAT_VERSION + 1}}, "newer than this fastmlp reads"),
        ({"metadata": {"sizes": [4, 0, 2]}}, "invalid model metadata"),
        ({"metadata": {"activation": "swish"}}, "invalid model metadata"),
        ({"params": np.zeros(5, np.float32)}, r"expected params of shape \(30,\)"),
        ({"params": np.full(30, np.nan, np.float32)}, "non-finite"),
        ({"params": np.zeros(30, np.float32)}, "do not match the digest stored with them"),
    ],
    ids=["newer", "sizes", "activation", "params-shape", "nan", "params-changed"],
)
def test_tampered_files(tmp_path, changes, message):
    path = MLP([4, 4, 2]).save(tmp_path / "m.npz")
    tamper(path, **changes)
    with pytest.raises(ModelFileError, match=message):
        fastmlp.load(path)


def test_pickled_entries_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("params.npy", b"")
    with pytest.raises(ModelFileError):
        fastmlp.load(path)
    obj = tmp_path / "o.npz"
    write_npz(obj, params=np.array([object()], dtype=object), metadata=np.array("{}"))
    with pytest.raises(ModelFileError, match="not a readable fastmlp model file"):
        fastmlp.load(obj)


def test_metadata_sizes_that_do_not_match_the_params_are_refused_before_allocating(tmp_path):
    path = MLP([4, 4, 2]).save(tmp_path / "m.npz")
    # 50,000 x 50,000 would be 10 GB of float32: the count is checked first.
    tamper(path, metadata={"sizes": [50_000, 50_000]})
    with pytest.raises(ModelFileError, match=r"expected params of shape \(2500050000,\)"):
        fastmlp.load(path)


def test_path_of_the_wrong_type_is_named():
    with pytest.raises(TypeError, match=r"path: expected a str or os\.PathLike, found 5"):
        fastmlp.load(5)
