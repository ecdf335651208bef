"""Downloads against a server on 127.0.0.1: verified, atomic, with fail-over and clear errors."""

import hashlib
import itertools
import shutil
import subprocess
import sys
import threading

import pytest
from helpers import FileServer, run_python

from fastmlp.datasets.download import download
from fastmlp.errors import DatasetError

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
MAX = 2 * len(PAYLOAD)


def verify(path):
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != DIGEST:
        raise DatasetError(f"{path}: digest {actual}, expected {DIGEST}")


def leftovers(directory, keep=()):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_downloads_and_verifies(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as server:
        url = download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
    assert url == server.url + "f.bin"
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["f.bin"]


def test_corrupted_file_is_rejected_and_not_kept(tmp_path):
    with FileServer({"f.bin": PAYLOAD[:-1] + b"x"}) as server:
        with pytest.raises(DatasetError, match=r"f\.bin.*digest .*, expected " + DIGEST):
            download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
    assert leftovers(tmp_path) == []


def test_dropped_connection_leaves_nothing(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as server:
        with pytest.raises(DatasetError, match="connection closed after 131072 of 262144 bytes"):
            download([server.url + "drop/f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
    assert leftovers(tmp_path) == []


def test_falls_over_to_the_next_mirror_and_names_every_failure(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as good, FileServer({}) as empty:
        url = download(
            [empty.url + "f.bin", good.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX
        )
        assert url == good.url + "f.bin"
        with pytest.raises(DatasetError) as error:
            download(
                [empty.url + "f.bin", good.url + "drop/f.bin"],
                tmp_path / "g.bin",
                verify,
                max_bytes=MAX,
            )
    message = str(error.value)
    assert f"{empty.url}f.bin: HTTPError: HTTP Error 404: Not Found" in message
    assert f"{good.url}drop/f.bin: DatasetError: connection closed after" in message
    assert leftovers(tmp_path) == ["f.bin"]


def test_a_failed_download_keeps_the_previous_good_file(tmp_path):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    with FileServer({"f.bin": b"garbage"}) as server, pytest.raises(DatasetError):
        download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_unreachable_server_times_out(tmp_path):
    with FileServer({"f.bin": PAYLOAD}, delay=2.0) as server:
        with pytest.raises(DatasetError, match="timed out"):
            download(
                [server.url + "slow/f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX, timeout=0.2
            )
    assert leftovers(tmp_path) == []


def test_concurrent_downloads_do_not_corrupt_each_other(tmp_path):
    errors = []

    def fetch(server):
        try:
            download([server.url + "slow/f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
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

download([sys.argv[1]], Path(sys.argv[2]), verify, max_bytes=1 << 20)
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


# --- hostile servers: bounded in bytes and in time -----------------------------------------

#: Runs one download in a fresh interpreter that may write at most 64 MiB per file, so a
#: download that does not stop fails there rather than filling the disk, and under
#: ``run_python``'s timeout, so one that hangs fails too. Prints the error and the seconds.
HOSTILE_DOWNLOAD = """
import resource, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
from fastmlp.datasets.download import download
from fastmlp.errors import DatasetError
start = time.monotonic()
try:
    download([{url!r}], Path({dest!r}), lambda path: None, **{kwargs!r})
except DatasetError as error:
    print(str(error).replace(chr(10), " "))
print(time.monotonic() - start)
"""


def hostile_download(tmp_path, url, env=None, **kwargs):
    """Return the error message and the seconds of downloading ``url`` in a child process."""
    (tmp_path / "data").mkdir()
    code = HOSTILE_DOWNLOAD.format(url=url, dest=str(tmp_path / "data" / "f.bin"), kwargs=kwargs)
    *_, message, seconds = run_python(code, tmp_path, timeout=120, **(env or {})).splitlines()
    assert leftovers(tmp_path / "data") == []
    return message, float(seconds)


def endless():
    return itertools.repeat(bytes(1 << 16))


@pytest.mark.slow
def test_endless_stream_stops_at_max_bytes(tmp_path):
    with FileServer({"f.bin": endless}) as server:
        message, _ = hostile_download(tmp_path, server.url + "f.bin", max_bytes=1 << 20)
    assert f"{server.url}f.bin: DatasetError: expected at most 1048576 bytes, found more" in message


def test_announced_size_beyond_max_bytes_is_refused_unread(tmp_path):
    with FileServer({"f.bin": PAYLOAD}) as server:
        with pytest.raises(DatasetError, match="at most 1000 bytes, found a Content-Length of"):
            download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=1000)
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["drip", "drip-headers"])
def test_a_dripping_server_meets_the_deadline(tmp_path, mode):
    # A byte every 0.05 s never trips the 30 s timeout of each read: only the deadline stops it.
    with FileServer({"f.bin": PAYLOAD}, delay=0.05) as server:
        url = f"{server.url}{mode}/f.bin"
        message, seconds = hostile_download(tmp_path, url, max_bytes=MAX, deadline=1.0)
    assert (
        f"{url}: DatasetError: expected the download to end within the deadline of 1 s" in message
    )
    assert 1.0 <= seconds < 5


def test_the_deadline_spares_a_download_that_ends_in_time(tmp_path):
    with FileServer({"f.bin": PAYLOAD[:40]}, delay=0.01) as server:
        download([server.url + "drip/f.bin"], tmp_path / "f.bin", lambda p: None, max_bytes=MAX)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD[:40]


@pytest.mark.parametrize(
    ("limits", "error", "message"),
    [
        ({"max_bytes": 0}, ValueError, "max_bytes: expected a finite value > 0, found 0"),
        ({"max_bytes": 1.5}, TypeError, "max_bytes: expected an integer, found 1.5"),
        ({"deadline": float("nan")}, ValueError, "deadline: expected a finite value > 0"),
        ({"timeout": -1}, ValueError, "timeout: expected a finite value > 0, found -1"),
    ],
)
def test_bad_limits_are_named(tmp_path, limits, error, message):
    with pytest.raises(error, match=message):
        download(
            ["http://127.0.0.1:9/f.bin"], tmp_path / "f.bin", verify, **{"max_bytes": MAX, **limits}
        )
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: ``(certfile, keyfile)``."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(["openssl", *request, *subject, *files], capture_output=True, check=True)
    return str(cert), str(key)


def test_https_downloads_verify_the_certificate(tmp_path, certificate, monkeypatch):
    # The mirrors are HTTPS, and HTTPS connections are made by the deadline's own classes.
    with FileServer({"f.bin": PAYLOAD}, tls=certificate) as server:
        with pytest.raises(DatasetError, match="CERTIFICATE_VERIFY_FAILED"):
            download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
        monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # trusted from now on
        assert download([server.url + "f.bin"], tmp_path / "f.bin", verify, max_bytes=MAX)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["f.bin"]


@pytest.mark.slow
def test_a_dripping_https_server_meets_the_deadline(tmp_path, certificate):
    with FileServer({"f.bin": PAYLOAD}, delay=0.05, tls=certificate) as server:
        url = server.url + "drip-headers/f.bin"
        env = {"SSL_CERT_FILE": certificate[0]}
        message, seconds = hostile_download(tmp_path, url, env, max_bytes=MAX, deadline=1.0)
    assert (
        f"{url}: DatasetError: expected the download to end within the deadline of 1 s" in message
    )
    assert 1.0 <= seconds < 5
