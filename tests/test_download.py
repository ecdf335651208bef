"""Downloads against a server on 127.0.0.1: verified, atomic, with fail-over and clear errors."""

import hashlib
import subprocess
import sys
import threading

import pytest
from helpers import FileServer

from fastmlp.datasets.download import download
from fastmlp.errors import DatasetError

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def verify(path):
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != DIGEST:
        raise DatasetError(f"{path}: digest {actual}, expected {DIGEST}")


def leftovers(directory, keep=()):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_downloads_and_verifies(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as server:
        url = download([server.url + "f.bin"], tmp_path / "f.bin", verify)
    assert url == server.url + "f.bin"
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["f.bin"]


def test_corrupted_file_is_rejected_and_not_kept(tmp_path):
    with FileServer({"f.bin": PAYLOAD[:-1] + b"x"}) as server:
        with pytest.raises(DatasetError, match=r"f\.bin.*digest .*, expected " + DIGEST):
            download([server.url + "f.bin"], tmp_path / "f.bin", verify)
    assert leftovers(tmp_path) == []


def test_dropped_connection_leaves_nothing(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as server:
        with pytest.raises(DatasetError, match="connection closed after 131072 of 262144 bytes"):
            download([server.url + "drop/f.bin"], tmp_path / "f.bin", verify)
    assert leftovers(tmp_path) == []


def test_falls_over_to_the_next_mirror_and_names_every_failure(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as good, FileServer({}) as empty:
        url = download([empty.url + "f.bin", good.url + "f.bin"], tmp_path / "f.bin", verify)
        assert url == good.url + "f.bin"
        with pytest.raises(DatasetError) as error:
            download([empty.url + "f.bin", good.url + "drop/f.bin"], tmp_path / "g.bin", verify)
    message = str(error.value)
    assert f"{empty.url}f.bin: HTTPError: HTTP Error 404: Not Found" in message
    assert f"{good.url}drop/f.bin: DatasetError: connection closed after" in message
    assert leftovers(tmp_path) == ["f.bin"]


def test_a_failed_download_keeps_the_previous_good_file(tmp_path):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    with FileServer({"f.bin": b"garbage"}) as server, pytest.raises(DatasetError):
        download([server.url + "f.bin"], tmp_path / "f.bin", verify)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_unreachable_server_times_out(tmp_path):
    with FileServer({"f.bin": PAYLOAD}, delay=2.0) as server:
        with pytest.raises(DatasetError, match="timed out"):
            download([server.url + "slow/f.bin"], tmp_path / "f.bin", verify, timeout=0.2)
    assert leftovers(tmp_path) == []


def test_concurrent_downloads_do_not_corrupt_each_other(tmp_path):
    errors = []

    def fetch(server):
        try:
            download([server.url + "slow/f.bin"], tmp_path / "f.bin", verify)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    with FileServer({"f.bin": PAYLOAD}, delay=0.01) as server:
        threads = [threading.Thread(target=fetch, args=(server,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["f.bin"]


PROCESS_DOWNLOAD = """
import hashlib, sys
from pathlib import Path
from fastmlp.datasets.download import download
from fastmlp.errors import DatasetError

def verify(path):
    if hashlib.sha256(Path(path).read_bytes()).hexdigest() != sys.argv[3]:
        raise DatasetError("digest mismatch")

download([sys.argv[1]], Path(sys.argv[2]), verify)
"""


def test_two_processes_downloading_at_once(tmp_path):
    dest = tmp_path / "f.bin"
    with FileServer({"f.bin": PAYLOAD}, delay=0.02) as server:
        args = [server.url + "slow/f.bin", str(dest), DIGEST]
        procs = [
            subprocess.Popen([sys.executable, "-c", PROCESS_DOWNLOAD, *args], cwd=tmp_path)
            for _ in range(2)
        ]
        codes = [proc.wait(timeout=120) for proc in procs]
    assert codes == [0, 0]
    assert server.requests.count("/slow/f.bin") == 2
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["f.bin"]
