import hashlib
import io
import json
import warnings
import zipfile

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, _archive
from fastmlp._archive import METADATA_MAX_BYTES
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


@pytest.mark.parametrize("output", ["logistic", "identity", "exp"])
def test_the_output_is_recorded_and_files_without_one_load_as_softmax(tmp_path, rng, output):
    model = MLP([4, 3, 2], "tanh", "float64", seed=1, output=output)
    loaded, metadata = fastmlp.load(model.save(tmp_path / "m.npz"), return_metadata=True)
    assert metadata["output"] == output and loaded.output == output
    X = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # As this version writes a softmax model, less the field: what older versions wrote.
    del metadata["output"], metadata[_archive.DIGEST_KEY]
    _archive.write(tmp_path / "old.npz", metadata, {"params": model.params})
    old = fastmlp.load(tmp_path / "old.npz")
    assert old.output == "softmax"
    np.testing.assert_array_equal(old.params, model.params)


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


def save_version_1(path, model, classes=None, extra=None):
    """Write ``model`` as fastmlp wrote format version 1: the digest covers the parameters only."""
    metadata = {
        "format": "fastmlp-model",
        "format_version": 1,
        "fastmlp_version": "0.9.0",
        "sizes": list(model.sizes),
        "activation": model.activation,
        "dtype": model.dtype.name,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "classes_dtype": None if classes is None else np.asarray(classes).dtype.str,
        "params_sha256": hashlib.sha256(model.params.tobytes()).hexdigest(),
        "extra": extra or {},
    }
    write_npz(path, params=model.params, metadata=np.array(json.dumps(metadata)))


def fitted_estimator(rng):
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "yes", "no")
    estimator = fastmlp.MLPClassifier((6,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge
        return estimator.fit(X, y), X


def network_of(estimator):
    """Return an ``MLP`` holding the estimator's fitted ``coefs_`` and ``intercepts_``."""
    sizes = [estimator.n_features_in_, *(W.shape[1] for W in estimator.coefs_)]
    model = MLP(
        sizes,
        estimator.activation,
        estimator.coefs_[0].dtype,
        seed=None,
        output=estimator.out_activation_,
    )
    for target, source in zip(
        (*model.weights, *model.biases), (*estimator.coefs_, *estimator.intercepts_)
    ):
        target[...] = source
    return model


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": {}},  # an estimator file read as a bare MLP
        {"activation": "tanh"},  # it was fitted with relu
        {"output": "softmax"},
        {"sizes": [4, 4, 1]},  # 25 parameters, like [2, 6, 1]
        {"classes": ["yes", "no"]},  # swapped: every prediction inverted
        {"sha256": None},
    ],
    ids=["extra", "activation", "output", "same-count-sizes", "swapped-classes", "no-digest"],
)
def test_the_digest_covers_the_metadata(tmp_path, rng, changes):
    estimator, _ = fitted_estimator(rng)
    path = estimator.save(tmp_path / "m.npz")
    tamper(path, metadata=changes)
    with pytest.raises(ModelFileError, match="do not match the digest stored with them"):
        fastmlp.load(path)


def test_estimator_files_round_trip(tmp_path, rng):
    estimator, X = fitted_estimator(rng)
    assert estimator.coefs_[-1].shape == (6, 1)  # binary: one logistic output
    loaded = fastmlp.load(estimator.save(tmp_path / "m.npz"))
    assert type(loaded) is fastmlp.MLPClassifier
    assert loaded.get_params() == estimator.get_params()
    np.testing.assert_array_equal(loaded.classes_, estimator.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    assert (loaded.n_iter_, loaded.loss_curve_) == (estimator.n_iter_, estimator.loss_curve_)
    y = rng.normal(size=len(X))
    regressor = fastmlp.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge
        regressor.fit(X, y)
    loaded = fastmlp.load(regressor.save(tmp_path / "r.npz"))
    assert type(loaded) is fastmlp.MLPRegressor and not hasattr(loaded, "classes_")
    np.testing.assert_array_equal(loaded.predict(X), regressor.predict(X))


def test_version_1_files_keep_loading_with_one_warning(tmp_path, rng):
    estimator, X = fitted_estimator(rng)
    network = network_of(estimator)
    path = tmp_path / "v1.npz"
    save_version_1(path, network)
    with pytest.warns(UserWarning, match="format version 1.*does not cover its metadata") as caught:
        model = fastmlp.load(path)
    assert len(caught) == 1
    np.testing.assert_array_equal(model.params, network.params)
    assert model.output == "softmax"  # version 1 had no output field: softmax then
    # The earlier estimator's own file, as version 1 wrote it (two softmax outputs for
    # two classes), comes back as an estimator.
    softmax = MLP([2, 6, 2], "sigmoid", "float32", seed=0)
    extra = {"estimator": "MLPClassifier", "params": {"hidden_layer_sizes": [6]}, "state": {}}
    save_version_1(path, softmax, estimator.classes_, extra)
    with pytest.warns(UserWarning, match="format version 1") as caught:
        loaded = fastmlp.load(path)
    assert len(caught) == 1
    expected = estimator.classes_[softmax.predict(X)]
    np.testing.assert_array_equal(loaded.predict(X), expected)


#: The earlier estimator's parameters as its ``save`` wrote them (a nonzero weight decay).
OLD_PARAMS = {
    "hidden_layer_sizes": [6],
    "activation": "sigmoid",
    "learning_rate": 0.05,
    "batch_size": 1,
    "max_epochs": 3,
    "momentum": 0.0,
    "weight_decay": 0.01,
    "lr_schedule": None,
    "early_stopping": False,
    "validation_fraction": None,
    "n_iter_no_change": 10,
    "tol": 1e-4,
    "shuffle": True,
    "random_state": 0,
    "dtype": "float32",
    "backend": "numba",
    "verbose": 0,
    "warm_start": False,
}
OLD_STATE = {
    "n_iter_": 3,
    "loss_curve_": [0.7, 0.6, 0.5],
    "validation_loss_curve_": [],
    "validation_scores_": [],
    "converged_": False,
}


def test_a_file_of_the_earlier_estimator_loads_with_its_parameters_mapped(tmp_path, rng):
    model = MLP([2, 6, 2], "sigmoid", "float32", seed=3)  # binary: two softmax outputs then
    extra = {"estimator": "MLPClassifier", "params": OLD_PARAMS, "state": OLD_STATE}
    path = save(model, tmp_path / "old.npz", classes=["no", "yes"], extra=extra)
    with pytest.warns(UserWarning, match=r"weight_decay=0\.01 has no equivalent") as caught:
        loaded = fastmlp.load(path)
    assert len(caught) == 1
    params = loaded.get_params()
    expected = {"learning_rate_init": 0.05, "learning_rate": "constant", "max_iter": 3}
    expected |= {"activation": "logistic", "solver": "sgd", "alpha": 0.0, "momentum": 0.0}
    expected |= {"nesterovs_momentum": False, "validation_fraction": 0.1, "batch_size": 1}
    expected |= {"hidden_layer_sizes": (6,), "dtype": "float32", "random_state": 0}
    assert {name: params[name] for name in expected} == expected
    assert not {"max_epochs", "weight_decay"} & set(params)
    X = rng.normal(size=(20, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), np.array(["no", "yes"])[model.predict(X)])
    assert loaded.out_activation_ == "softmax" and loaded.coefs_[-1].shape == (6, 2)
    assert (loaded.n_iter_, loaded.loss_curve_, loaded.loss_) == (3, [0.7, 0.6, 0.5], 0.5)
    # It trains on (per-sample SGD, as its parameters say), keeping its two softmax outputs.
    loaded.partial_fit(X, np.where(X[:, 0] > 0, "yes", "no"))
    assert loaded.coefs_[-1].shape == (6, 2) and len(loaded.loss_curve_) == 4
    assert loaded.history_.config["batch_size"] == 1
    # Without a weight decay there is nothing to warn about.
    extra["params"] = {**OLD_PARAMS, "weight_decay": 0.0}
    path = save(model, tmp_path / "plain.npz", classes=["no", "yes"], extra=extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fastmlp.load(path).get_params()["alpha"] == 0.0


def test_version_1_parameters_are_still_checked_against_their_digest(tmp_path):
    path = tmp_path / "v1.npz"
    save_version_1(path, MLP([4, 4, 2]))
    tamper(path, params=np.zeros(30, np.float32))
    with pytest.raises(ModelFileError, match="do not match the digest stored with them"):
        fastmlp.load(path)


def npy_bytes(array=None, header_shape=None, dtype="<f4"):
    """Return ``.npy`` bytes of ``array``, or a bare header claiming ``header_shape``."""
    buffer = io.BytesIO()
    if array is not None:
        np.save(buffer, array)
    else:
        header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
        np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def write_members(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def version_1_members(params_bytes, **metadata):
    metadata = {"format": "fastmlp-model", "format_version": 1, "sizes": [4, 4, 2]} | metadata
    metadata = {"activation": "sigmoid", "dtype": "float32", "extra": {}} | metadata
    return {"metadata.npy": npy_bytes(np.array(json.dumps(metadata))), "params.npy": params_bytes}


def test_a_header_claiming_a_trillion_values_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.npz"
    write_members(path, version_1_members(npy_bytes(header_shape=(10**12,)) + bytes(120)))
    with pytest.raises(ModelFileError, match=r"entry params\.npy holds 248 bytes, its header says"):
        fastmlp.load(path)


def test_parameters_of_another_count_are_refused_from_their_header(tmp_path):
    path = tmp_path / "m.npz"
    params = np.zeros(2**20, np.float32)  # 4 MiB of zeros: a few kB deflated
    write_members(path, version_1_members(npy_bytes(params)), zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match=r"expected params of shape \(30,\) and dtype float32"):
        fastmlp.load(path)


def test_trailing_bytes_after_the_data_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    write_members(path, version_1_members(npy_bytes(np.zeros(30, np.float32)) + b"x"))
    with pytest.raises(ModelFileError, match=r"entry params\.npy holds 249 bytes"):
        fastmlp.load(path)


def test_huge_metadata_is_refused_from_the_zip_directory(tmp_path):
    path = tmp_path / "m.npz"
    padding = "x" * (METADATA_MAX_BYTES // 4)  # over the cap as UTF-32, 20 kB deflated
    members = version_1_members(npy_bytes(np.zeros(30, np.float32)), padding=padding)
    write_members(path, members, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError, match=f"metadata entry of at most {METADATA_MAX_BYTES}"):
        fastmlp.load(path)


def test_metadata_too_large_to_read_back_is_not_written(tmp_path):
    with pytest.raises(ValueError, match=f"metadata: expected at most {METADATA_MAX_BYTES} bytes"):
        save(MLP([2, 2]), tmp_path / "m.npz", extra={"notes": "x" * (METADATA_MAX_BYTES // 4)})
    assert not list(tmp_path.iterdir())


def test_entries_compressed_other_than_by_deflate_are_refused(tmp_path):
    path = MLP([2, 2]).save(tmp_path / "m.npz")
    other = tmp_path / "bzip2.npz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(other, "w", zipfile.ZIP_BZIP2) as copy:
        for name in source.namelist():
            copy.writestr(name, source.read(name))
    with pytest.raises(ModelFileError, match="expected entries stored or deflated, not encrypted"):
        fastmlp.load(other)


def test_a_tampered_model_is_not_saved(tmp_path):
    """Issue 12: a model whose private state no longer fits is refused, not written."""
    from test_crash_safety import model_tamperings

    for name, (attribute, value, named) in model_tamperings(MLP([2, 3, 2])).items():
        model = MLP([2, 3, 2])
        object.__setattr__(model, attribute, value)
        with pytest.raises((TypeError, ValueError), match=named):
            save(model, tmp_path / f"{name}.npz")
        assert not (tmp_path / f"{name}.npz").exists(), name
