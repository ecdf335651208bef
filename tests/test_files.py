import os
import stat

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


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    new, old = tmp_path / "new.bin", tmp_path / "old.bin"
    old.write_bytes(b"old")
    old.chmod(0o604)
    mask = os.umask(0o027)
    try:
        for target in (new, old):
            with atomic_path(target) as tmp:
                tmp.write_bytes(b"data")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0666 & ~0027, not mkstemp's 0600
    assert stat.S_IMODE(old.stat().st_mode) == 0o604
