"""Crash safety of what fastmlp reads from files: checkpoints and model files are not trusted.

A checkpoint's arrays go straight into the kernels' buffers when a run is
resumed: a short ``step_loss`` made the kernel write past its end, a
``best_params`` of shape (1,) was broadcast into every parameter.
``child_checkpoints`` resumes ``train`` (both backends) from checkpoints
tampered with one way each, and re-signed with a valid digest, so that each
value's own check (not only the digest) must refuse it, leaving the model
unchanged. ``child_model_files`` loads hostile model files under an address
space limit, so that a file which makes ``load`` allocate what it claims
fails the case (MemoryError) instead of the machine.
"""

# Each case() calls its lambda at once, so closing over the loop variables is safe.
# ruff: noqa: B023

import io
import json
import resource
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_crash_safety import case, run_cases

import fastmlp
from fastmlp import MLP, train
from fastmlp._archive import METADATA_MAX_BYTES, write
from fastmlp.checkpoint import CheckpointError
from fastmlp.errors import ModelFileError


@pytest.mark.slow
def test_tampered_checkpoints_are_refused_before_anything_is_written(tmp_path):
    records = run_cases(child_checkpoints, tmp_path, minimum=120)
    assert sum("expected" in r for r in records.values()) == len(records) - 2  # two controls


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads VmSize from /proc, sets RLIMIT_AS")
def test_hostile_model_files_are_refused_within_bounded_memory(tmp_path):
    records = run_cases(child_model_files, tmp_path, minimum=13)
    assert sum("expected" in r for r in records.values()) == len(records) - 1  # one control


def read_checkpoint(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "metadata"}
        return json.loads(str(archive["metadata"])), arrays


def tampered(path, target, change, sign=True):
    """Write ``target``: the checkpoint at ``path`` after ``change(metadata, arrays)``."""
    metadata, arrays = read_checkpoint(path)
    change(metadata, arrays)
    if sign:
        write(target, metadata, arrays)
    else:
        with open(target, "wb") as f:
            np.savez(f, metadata=np.array(json.dumps(metadata)), **arrays)
    return target


def setter(key, value, where=None):
    """A change that sets ``metadata[key]`` (or ``metadata[where][key]``) to ``value``."""

    def change(metadata, arrays):
        (metadata if where is None else metadata[where])[key] = value

    return change


def replace(name, make):
    """A change that replaces the array ``name`` by ``make(array)`` (None removes it)."""

    def change(metadata, arrays):
        new = make(arrays.pop(name))
        if new is not None:
            arrays[name] = new

    return change


def checkpoint_changes(params):
    """Return (name, change, message) for every way a checkpoint is tampered with."""
    n = params.size
    nan_at_0 = lambda a: np.where(np.arange(a.size) == 0, np.nan, a).astype(a.dtype)  # noqa: E731
    arrays = {
        "step_loss-short": replace("step_loss", lambda a: a[:-3]),
        "step_loss-long": replace("step_loss", lambda a: np.concatenate([a, np.zeros(10**5)])),
        "step_loss-float32": replace("step_loss", lambda a: a.astype(np.float32)),
        "step_loss-2d": replace("step_loss", lambda a: a.reshape(2, -1)),
        "step_loss-nan": replace("step_loss", nan_at_0),
        "step_loss-missing": replace("step_loss", lambda a: None),
        "best_params-(1,)": replace("best_params", lambda a: a[:1]),
        "best_params-long": replace("best_params", lambda a: np.zeros(n + 1, a.dtype)),
        "best_params-float64": replace("best_params", lambda a: a.astype(np.float64)),
        "best_params-nan": replace("best_params", nan_at_0),
        "best_params-missing": replace("best_params", lambda a: None),
        "params-float64": replace("params", lambda a: a.astype(np.float64)),
        "params-short": replace("params", lambda a: a[:-1]),
        "params-nan": replace("params", nan_at_0),
        "params-inf": replace("params", lambda a: np.full_like(a, np.inf)),
        "params-int32": replace("params", lambda a: a.view(np.int32)),
        "params-bytes": replace("params", lambda a: a.view(np.uint8)),
        "params-missing": replace("params", lambda a: None),
        "velocity-transposed": replace("velocity_0", lambda a: np.ascontiguousarray(a.T)),
        "velocity-nan": replace("velocity_1", lambda a: np.full_like(a, np.nan)),
        "velocity-missing": replace("velocity_2", lambda a: None),
        "train_loss-long": replace("train_loss", lambda a: np.append(a, 0.5)),
        "train_loss-short": replace("train_loss", lambda a: a[:-1]),
        "val_loss-empty": replace("val_loss", lambda a: a[:0]),
        "lr-nan": replace("lr", nan_at_0),
        "lr-int": replace("lr", lambda a: a.astype(np.int64)),
        "samples_per_second-negative": replace("samples_per_second", lambda a: -a),
        "extra-entry": lambda m, a: a.update(extra=np.zeros(3)),
    }
    values = {
        "epochs_done-over": setter("epochs_done", 5),
        "epochs_done-huge": setter("epochs_done", 10**18),
        "epochs_done-negative": setter("epochs_done", -1),
        "epochs_done-fewer": setter("epochs_done", 1),
        "epochs_done-bool": setter("epochs_done", True),
        "epochs_done-text": setter("epochs_done", "2"),
        "epochs_done-float": setter("epochs_done", 2.0),
        "waited-negative": setter("waited", -1),
        "waited-over": setter("waited", 3),
        "waited-float": setter("waited", 0.5),
        "best_loss-text": setter("best_loss", "low"),
        "best_loss-nan": setter("best_loss", float("nan")),
        "best_loss-inf": setter("best_loss", float("inf")),
        "best_loss-none": setter("best_loss", None),
        "best_epoch-over": setter("best_epoch", 2, "history"),
        "best_epoch-negative": setter("best_epoch", -1, "history"),
        "best_epoch-none": setter("best_epoch", None, "history"),
        "rng-empty": setter("rng", {}),
        "rng-text": setter("rng", "seed"),
        "rng-other-generator": setter("rng", {"bit_generator": "MT19937", "state": {}}),
        "rng-huge": lambda m, a: m["rng"]["state"].update(state=10**60),
        "rng-negative": lambda m, a: m["rng"]["state"].update(inc=-5),
        "rng-float": lambda m, a: m["rng"]["state"].update(state=2.5),
        "rng-missing": lambda m, a: m.pop("rng"),
        "velocities-count": setter("velocities", 0),
        "steps_per_epoch": setter("steps_per_epoch", 999, "history"),
        "steps_per_epoch-zero": setter("steps_per_epoch", 0, "history"),
        "stopped_early-text": setter("stopped_early", "no", "history"),
        "interrupted-number": setter("interrupted", 0, "history"),
        "config-missing": lambda m, a: m["history"].pop("config"),
        "config-list": setter("config", [1, 2], "history"),
        "history-list": setter("history", []),
        "format-version-1": setter("format_version", 1),
        "format-other": setter("format", "fastmlp-model"),
        "data-digest": lambda m, a: m["history"]["config"].update(data_sha256="0" * 64),
    }
    messages = {name: r"checkpoint \S+: " for name in [*arrays, *values]}
    return [(name, change, messages[name]) for name, change in {**arrays, **values}.items()]


def child_checkpoints():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)).astype(np.float32), rng.integers(0, 3, 40)
    Xv, yv = rng.normal(size=(12, 5)).astype(np.float32), rng.integers(0, 3, 12)
    for backend in ("numba", "numpy"):
        options = dict(lr=0.1, batch_size=8, momentum=0.9, seed=0, backend=backend, progress=False)
        options.update(validation=(Xv, yv), early_stopping=5)
        base = Path(f"{backend}.ckpt.npz")
        train(MLP([5, 4, 3], seed=1), X, y, epochs=2, checkpoint=base, **options)

        def resume(fresh, path):
            train(fresh, X, y, epochs=4, checkpoint=path, resume=True, **options)
            return True

        changes = checkpoint_changes(MLP([5, 4, 3]).params)
        unsigned = [(lambda m, a: m.pop("sha256"), "no-digest")]
        unsigned += [(replace("params", lambda a: a * 2), "altered")]
        cases = [(f"{name}", change, message, True) for name, change, message in changes]
        cases += [(name, change, "checkpoint .*digest", False) for change, name in unsigned]
        for name, change, message, sign in cases:
            path = tampered(base, Path(f"{backend}-{name}.npz"), change, sign)
            fresh = MLP([5, 4, 3], seed=7)
            # unchanged: the model, its velocities and the generator are set only once
            # everything was checked, so a refused checkpoint leaves the model as it was.
            case(
                f"{backend}:{name}",
                CheckpointError,
                lambda: resume(fresh, path),
                named=message,
                unchanged=[fresh.params],
            )
        fresh = MLP([5, 4, 3], seed=7)
        case(f"{backend}:untampered", None, lambda: resume(fresh, base))


def npy(array=None, header_shape=None, descr="<f4"):
    buffer = io.BytesIO()
    if array is None:
        header = {"descr": descr, "fortran_order": False, "shape": header_shape}
        np.lib.format.write_array_header_1_0(buffer, header)
    else:
        np.save(buffer, array)
    return buffer.getvalue()


def model_file(path, params, compression=zipfile.ZIP_STORED, text=None, **changes):
    """Write a version 1 model file of sizes [4, 4, 2], metadata changed by ``changes``."""
    metadata = {"format": "fastmlp-model", "format_version": 1, "sizes": [4, 4, 2]}
    metadata = {"activation": "sigmoid", "dtype": "float32", "extra": {}, **metadata, **changes}
    text = json.dumps(metadata) if text is None else text
    members = {"metadata.npy": npy(np.array(text)), "params.npy": params}
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def child_model_files():
    # Half a GiB of address space beyond what the interpreter holds: a file that
    # makes load allocate what it claims raises MemoryError and fails its case.
    with open("/proc/self/status") as status:
        vm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
    limit = (vm_kib * 1024) + 2**29
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    good = npy(np.zeros(30, np.float32))
    deep = '{"format": "fastmlp-model", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    files = {
        "header-trillion": model_file("a.npz", npy(header_shape=(10**12,)) + bytes(120)),
        "header-4GiB-deflated": model_file(
            "b.npz", npy(header_shape=(2**30,)) + bytes(2**20), zipfile.ZIP_DEFLATED
        ),
        "header-2d": model_file("c.npz", npy(np.zeros((30, 1), np.float32))),
        "header-big-endian": model_file("d.npz", npy(np.zeros(30, ">f4"))),
        "header-object": model_file("e.npz", npy(np.array([None] * 30, dtype=object))),
        "trailing-bytes": model_file("f.npz", good + bytes(2**20), zipfile.ZIP_DEFLATED),
        "truncated-data": model_file("g.npz", good[:-8]),
        "metadata-over-cap": model_file(
            "h.npz", good, zipfile.ZIP_DEFLATED, padding="x" * (METADATA_MAX_BYTES // 4)
        ),
        "metadata-deep": model_file("i.npz", good, text=deep),
        "sizes-huge": model_file("j.npz", good, sizes=[10**6, 10**6, 10**6]),
        "sizes-negative": model_file("k.npz", good, sizes=[4, -4, 2]),
        "dtype-text": model_file("l.npz", good, dtype="<U4"),
    }
    for name, path in files.items():
        case(name, ModelFileError, lambda: fastmlp.load(path), named=r"\S+\.npz: ")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fine = fastmlp.load(model_file("z.npz", good))
    case("control", None, lambda: fine.params.shape == (30,))
