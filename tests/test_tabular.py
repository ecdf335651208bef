import re

import numpy as np
import pytest

import fastmlp
import fastmlp.datasets.tabular as tabular
from fastmlp.cli import main
from fastmlp.datasets import DatasetError, read_table
from fastmlp.experiments import VAL_FRACTION, Config, class_labels, load_data, repeat, run


def write_csv(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def points():
    """200 separable points with text labels: the net learns them in a few epochs."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    return X, labels


@pytest.fixture
def csv_file(tmp_path, points):
    X, labels = points
    rows = [f"{a!r},{b!r},{c!r},{label}" for (a, b, c), label in zip(X.tolist(), labels)]
    return write_csv(tmp_path / "points.csv", "a,b,c,answer", rows)


def test_csv_text_labels_become_classes_in_sorted_order(csv_file, points):
    X, labels = points
    table = read_table(csv_file)
    np.testing.assert_array_equal(table.X, X)  # repr round-trips floats exactly
    assert table.classes.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(table.classes[table.y], labels)
    assert table.features == ("a", "b", "c") and table.y.dtype == np.int64


def test_csv_label_column_by_name_and_integer_labels(tmp_path):
    path = write_csv(tmp_path / "t.csv", "x, kind ,y", ["1,7,2", "3,2.0,4", " 5 ,7,6", "", "7,2,8"])
    table = read_table(path, label="kind")
    assert table.features == ("x", "y")
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4], [5, 6], [7, 8]])
    assert table.classes.tolist() == [2, 7] and table.y.tolist() == [1, 0, 1, 0]


FINITE = "expected a finite number, found "
COLUMNS = "label: expected one of the columns of {path}"


@pytest.mark.parametrize(
    ("text", "label", "message"),
    [
        ("", None, "expected a header row and data rows, found an empty file"),
        ("a,b,label\n", None, "expected data rows after the header, found none"),
        ("a,b,label\n1,2,0\n3,4\n", None, "line 3: expected 3 fields as in the header, found 2"),
        (
            "a,b,label\n1,2,0\n3,x,1\n",
            None,
            "line 3, column 'b': expected a finite number, found 'x'",
        ),
        ("a,b,label\n1,nan,0\n", None, "line 2, column 'b': " + FINITE + "'nan'"),
        ("a,b,label\n1,,0\n", None, "line 2, column 'b': " + FINITE + "''"),
        (
            "a,b,label\n1,2,0\n",
            "kind",
            "label: expected one of the columns of {path} (a, b, label)",
        ),
        ("a,a,b\n1,2,0\n", "a", COLUMNS + " (a, a, b), found it twice"),
        ("label\n1\n", None, "expected feature columns besides the label, found none"),
        ("a,label\n1,0\n2,\n", None, "line 3: expected a label, found an empty field"),
        ("a,label\n1,0\n2,2.5\n", None, "line 3: expected an integer or text class label"),
        ("a,label\n1,0\n2,nan\n", None, "line 3: expected an integer or text class label"),
    ],
)
def test_malformed_csv_files_are_named_errors(tmp_path, text, label, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=re.escape(str(path))) as info:  # names the file
        read_table(path, label=label)
    assert message.format(path=path) in str(info.value)


def test_npz_arrays(tmp_path):
    X = np.arange(12, dtype=np.int32).reshape(6, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["b", "a", "b", "c", "a", "b"]), notes=np.zeros(1))
    table = read_table(tmp_path / "d.npz")
    np.testing.assert_array_equal(table.X, X)
    assert table.X.dtype == np.float64 and table.features == ("x0", "x1")
    assert table.classes.tolist() == ["a", "b", "c"] and table.y.tolist() == [1, 0, 1, 2, 0, 1]
    np.savez(tmp_path / "f.npz", X=X, y=np.array([3.0, 1, 3, 1, 1, 3]))
    assert read_table(tmp_path / "f.npz").classes.tolist() == [1, 3]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.ones((3, 2))}, "expected an entry y, found ['X']"),
        ({"X": np.ones(3), "y": np.zeros(3)}, "expected X a non-empty 2-D numeric array"),
        ({"X": np.ones((3, 2)), "y": np.zeros(2)}, "expected y a 1-D array of 3 integer or text"),
        ({"X": np.ones((2, 2)), "y": np.array([True, False])}, "found (2,) bool"),
        ({"X": np.ones((2, 2)), "y": np.array([0.5, 1])}, "y[0]: expected an integer or text"),
        (
            {"X": np.array([[1, np.nan]]), "y": np.zeros(1)},
            "expected finite numbers in X, found nan",
        ),
        (
            {"X": np.ones((2, 2)), "y": np.array([0, None])},
            "holds Python objects (never unpickled)",
        ),
    ],
)
def test_malformed_npz_files_are_named_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match="^" + re.escape(str(path))) as info:
        read_table(path)
    assert message in str(info.value)


def test_npz_sizes_are_checked_before_reading(tmp_path, monkeypatch):
    np.savez(tmp_path / "big.npz", X=np.ones((100, 4)), y=np.zeros(100, dtype=np.int64))
    monkeypatch.setattr(tabular, "MAX_BYTES", 3999)

    def no_reading(*args):
        raise AssertionError("read an array whose size was not checked")

    monkeypatch.setattr(fastmlp._archive.Reader, "array", no_reading)
    with pytest.raises(DatasetError, match="expected X and y of at most 3999 bytes, found 4000"):
        read_table(tmp_path / "big.npz")


def test_other_files_and_labels_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="expected a data file, found no file there"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(DatasetError, match=r"expected a .csv or .npz file"):
        read_table(tmp_path / "data.txt")
    np.savez(tmp_path / "d.npz", X=np.ones((2, 2)), y=np.zeros(2))
    with pytest.raises(DatasetError, match=r"label: expected a \.csv file to pick a column of"):
        read_table(tmp_path / "d.npz", label="y")
    with pytest.raises(ValueError, match=r"label: expected a \.csv data file to pick the label"):
        load_data(Config(data="synth", label="y"))


def test_a_file_is_split_once_like_the_built_in_sets(csv_file):
    config = Config(data=str(csv_file))
    (X, y), (Xv, yv), k = load_data(config)
    assert set(yv.tolist()) <= {0, 1}
    n_val = round(200 * VAL_FRACTION)
    assert (len(X), len(Xv), k) == (200 - n_val, n_val, 2)
    assert X.dtype == np.float32 and y.dtype == np.int64
    table = read_table(csv_file)
    rows = {tuple(row) for row in np.vstack([X, Xv]).tolist()}
    assert rows == {tuple(row) for row in table.X.astype(np.float32).tolist()}
    assert class_labels(config).tolist() == ["no", "yes"]
    assert class_labels(Config()) is None
    (X2, _), (Xv2, _), _ = load_data(config.replace(seed=5))  # the same split for every run
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Xv2, Xv)
    (X3, y3), (Xv3, yv3), _ = load_data(config.replace(num_train=50, num_val=10))
    for got, want in [(X3, X[:50]), (y3, y[:50]), (Xv3, Xv[:10]), (yv3, yv[:10])]:
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="num_val: expected at most the 40 rows there are"):
        load_data(config.replace(num_val=41))


def test_an_edited_file_is_read_again(tmp_path):
    path = write_csv(tmp_path / "t.csv", "a,label", ["1,0", "2,1"])
    assert load_data(Config(data=str(path)))[2] == 2
    write_csv(path, "a,label", ["1,0", "2,1", "3,2", "4,2"])
    assert load_data(Config(data=str(path)))[2] == 3


def test_file_runs_in_workers_equal_the_sequential_runs(csv_file):
    config = Config(data=str(csv_file), hidden=(4,), epochs=3, lr=0.1)
    parallel, sequential = repeat(config, runs=2, n_jobs=2), repeat(config, runs=2, n_jobs=1)
    for a, b in zip(parallel.histories, sequential.histories, strict=True):
        np.testing.assert_array_equal(a.step_loss, b.step_loss)
        assert a.val_accuracy == b.val_accuracy
    for a, b in zip(parallel.models, sequential.models, strict=True):
        np.testing.assert_array_equal(a.params, b.params)
    assert run(config).history.val_accuracy[-1] > 0.9


def test_train_on_a_csv_file(csv_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["train", "--data", str(csv_file), "--epochs", "3", "--lr", "0.1", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"{csv_file}: 160 train, 40 validation, sizes [3, 3, 2]" in printed
    assert printed.splitlines()[0].endswith(", classes no, yes")
    model, metadata = fastmlp.load(out / "model.npz", return_metadata=True)
    assert model.sizes == (3, 3, 2) and metadata["classes"] == ["no", "yes"]


def test_runs_and_sweep_on_an_npz_file(tmp_path, points, capsys):
    X, labels = points
    np.savez(tmp_path / "p.npz", X=X, y=(labels == "yes").astype(np.int64))
    argv = ["--data", str(tmp_path / "p.npz"), "--epochs", "3", "--jobs", "1"]
    assert main(["train", *argv, "--lr", "0.1", "--runs", "2"]) == 0
    assert main(["sweep", *argv, "--lr", "0.1", "0.2", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "run 2 of 2 done" in out and "lr=0.2" in out


def test_a_malformed_file_is_reported_before_any_output(tmp_path, capsys):
    path = write_csv(tmp_path / "bad.csv", "a,label", ["1,0", "x,1"])
    assert main(["train", "--data", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"fastmlp train: {path}, line 3, column 'a': expected a finite number, found 'x'\n"
    )
