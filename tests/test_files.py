import pytest

from fastmlp._files import atomic_path


def test_replaces_the_file_only_on_success(tmp_path):
    target = tmp_path / "model.bin"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"
        assert tmp.parent == tmp_path
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_failure_keeps_the_old_file_and_leaves_nothing(tmp_path, exception):
    target = tmp_path / "model.bin"
    target.write_text("old")
    with pytest.raises(exception), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise exception
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_concurrent_writers_get_distinct_temporary_files(tmp_path):
    target = tmp_path / "x"
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b
        a.write_text("a")
        b.write_text("b")
    assert target.read_text() == "a"  # the outer writer renamed last
