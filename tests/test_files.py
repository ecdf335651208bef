import os
import signal
import stat
import subprocess
import sys
import time

import pytest

import fastmlp
from fastmlp._files import STALE_AFTER, _host, atomic_path


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


def temporary_name(target, host, pid):
    return f".{target}.fastmlp~{host}~{pid}~x1y2z3.part"


def test_the_temporary_name_holds_the_host_and_the_process_id(tmp_path):
    with atomic_path(tmp_path / "m.npz") as tmp:
        assert tmp.name.startswith(f".m.npz.fastmlp~{_host()}~{os.getpid()}~")
        assert tmp.name.endswith(".part")
        tmp.write_text("x")


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked with kill(pid, 0)")
def test_stale_temporary_files_are_removed_and_live_writes_kept(tmp_path):
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait()  # its process id now names no process (until reused)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    day_ago = time.time() - STALE_AFTER - 60
    try:
        files = {
            "live": temporary_name("a.npz", _host(), live.pid),
            "dead": temporary_name("b.npz", _host(), dead_pid.pid),
            "other-host-young": temporary_name("c.npz", "elsewhere", 12345),
            "other-host-old": temporary_name("d.npz", "elsewhere", 12345),
            "not-ours-old": ".e.npz.k2j3h4g5.part",  # the naming of older fastmlp versions
            "not-ours-part": "notes.part",
            "not-ours-txt": temporary_name("f.npz", "elsewhere", 1)[:-5] + ".txt",
        }
        for key, name in files.items():
            (tmp_path / name).write_text(key)
            if key.endswith("old") or key.startswith("not-ours"):
                os.utime(tmp_path / name, (day_ago, day_ago))
        with atomic_path(tmp_path / "g.npz") as tmp:
            tmp.write_text("new")
        left = {p.read_text() for p in tmp_path.iterdir()}
    finally:
        live.kill()
        live.wait()
    kept = {"live", "other-host-young", "not-ours-old", "not-ours-part", "not-ours-txt"}
    assert left == kept | {"new"}


SAVE_FOREVER = """
import sys, fastmlp
model = fastmlp.MLP([784, 1000, 10], seed=None)  # 3 MB of parameters
print("ready", flush=True)
while True:
    model.save(sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="kills the writer with SIGKILL")
def test_temporary_files_of_writers_killed_mid_save_are_removed_by_the_next_save(tmp_path):
    script = tmp_path / "save_forever.py"
    script.write_text(SAVE_FOREVER)
    out = tmp_path / "out"
    out.mkdir()
    left_by_kills = 0
    for _ in range(6):
        earlier = set(out.glob(".*.part"))  # left by the previous kill
        child = subprocess.Popen(
            [sys.executable, str(script), str(out / "m.npz")], stdout=subprocess.PIPE, text=True
        )
        with child.stdout:
            assert child.stdout.readline().strip() == "ready"
            # Kill as soon as a temporary file shows: mid-save, as a kill -9 at random
            # would land only now and then (hashing the parameters comes before it).
            deadline = time.monotonic() + 30
            while not set(out.glob(".*.part")) - earlier:
                assert time.monotonic() < deadline, "the child wrote no temporary file"
                time.sleep(0.001)
            child.send_signal(signal.SIGKILL)
            assert child.wait() == -signal.SIGKILL
        left_by_kills += len(list(out.glob(".*.part")))
    assert left_by_kills >= 1  # some kills landed mid-save: the case this test is about
    fastmlp.MLP([2, 2]).save(out / "m.npz")
    assert [p.name for p in out.iterdir()] == ["m.npz"]
