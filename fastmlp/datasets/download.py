"""Verified downloads: streamed to a temporary file, bounded in size and time, checked, renamed.

A download goes to a temporary file beside its target and is renamed onto it
only once verified; a failed, oversized or too slow one leaves nothing.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .._checks import as_positive
from .._files import atomic_path
from ..errors import DatasetError

#: Seconds to wait for a server to connect or to send the next block.
TIMEOUT = 30
#: Seconds one attempt at a download may take in all, from connecting to the last byte.
DEADLINE = 600
_BLOCK = 1 << 20


def download(
    urls: Sequence[str],
    dest: os.PathLike | str,
    verify: Callable[[Path], object],
    *,
    max_bytes: int,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
) -> str:
    """Download the first of ``urls`` that succeeds and verifies to ``dest``; return that URL.

    Each attempt streams into a temporary file beside ``dest``; only when
    ``verify(path)`` returns without raising is it renamed onto ``dest``. A
    failed, oversized, too slow or interrupted attempt leaves nothing behind,
    and concurrent downloads of the same file each use their own temporary
    file.

    Parameters
    ----------
    urls : sequence of str
        Where the file may be fetched, tried in order.
    dest : str or os.PathLike
        Final location; its directory must exist.
    verify : callable
        ``verify(path)`` raises ``DatasetError`` for a bad file; ``path`` is
        the temporary file, a ``pathlib.Path``.
    max_bytes : int
        The most bytes a server may send: an attempt stops there, so a server
        that streams forever cannot fill the disk.
    timeout : float
        Seconds for the connection and for each read.
    deadline : float
        Seconds each attempt may take in all (measured by ``time.monotonic``
        from before connecting), so a server dripping bytes slowly cannot
        hold it forever. Only the initial TCP connection (at most ``timeout``)
        and the name lookup may run past it.

    Returns
    -------
    str
        The URL the verified file came from.

    Raises
    ------
    DatasetError
        When no URL gave a verified file; the message lists each URL's failure.
    """
    as_positive("max_bytes", max_bytes, numbers.Integral)
    as_positive("timeout", timeout)
    as_positive("deadline", deadline)
    return _first_verified(urls, dest, verify, max_bytes, timeout, deadline)


def _first_verified(urls, dest, verify, max_bytes, timeout, deadline):
    """Try each of ``urls`` in turn (see ``download``); return the first that verifies."""
    # Imported here (and urllib.request in _Deadline.urlopen): they bring http, ssl
    # and email, some 20 ms of `import fastmlp`, and most processes never download.
    import http.client

    failures = []
    for url in urls:
        try:
            with atomic_path(dest) as tmp:
                _fetch(url, tmp, max_bytes, min(timeout, deadline), deadline)
                verify(tmp)
            return url
        except (OSError, http.client.HTTPException, DatasetError) as error:
            failures.append(f"{url}: {type(error).__name__}: {error}")
    raise DatasetError("download failed; tried:\n  " + "\n  ".join(failures))


def _fetch(url, path, max_bytes, timeout, seconds):
    """Copy ``url`` to ``path``: at most ``max_bytes`` bytes, all within ``seconds``."""
    with _Deadline(seconds) as deadline:
        with deadline.urlopen(url, timeout) as response, open(path, "wb") as f:
            announced = response.headers.get("Content-Length")
            announced = int(announced) if announced and announced.isdigit() else None
            if announced is not None and announced > max_bytes:
                raise DatasetError(
                    f"expected at most {max_bytes} bytes, found a Content-Length of {announced}"
                )
            received = 0
            # read1 returns what one read brings, so nothing past the cap is written.
            while chunk := response.read1(_BLOCK):
                received += len(chunk)
                if received > max_bytes:
                    raise DatasetError(
                        f"expected at most {max_bytes} bytes, found more (the server kept sending)"
                    )
                f.write(chunk)
        if announced is not None and announced != received:
            raise DatasetError(f"connection closed after {received} of {announced} bytes")


class _Deadline:
    """At the deadline, shut down every socket a download opened, wherever it is blocked.

    A socket timeout bounds each read, not their sum, and ``http.client``
    reads the status line, the headers and chunk sizes in loops of its own: a
    server sending a byte every few seconds would hold a download forever.
    A timer thread shuts the sockets down instead, which ends a blocked read
    at once (the TLS handshake's too); leaving the ``with`` block then
    raises the deadline, not the broken connection that followed.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self._sockets = []
        self._lock = threading.Lock()
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._start = time.monotonic()
        self._timer.start()
        return self

    def __exit__(self, kind, error, traceback):
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            if self._expired:
                elapsed = time.monotonic() - self._start
                raise DatasetError(
                    f"expected the download to end within the deadline of {self.seconds:g} s, "
                    f"found it unfinished after {elapsed:.1f} s"
                ) from error

    def _expire(self):
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut(sock)

    def watch(self, sock):
        """Shut ``sock`` down at the deadline (a duplicate of it: TLS takes the original over)."""
        with self._lock:
            self._sockets.append(sock.dup())
            if self._expired:
                _shut(self._sockets[-1])

    def urlopen(self, url, timeout):
        """Open ``url`` like ``urllib.request.urlopen``, every connection it makes watched."""
        import http.client
        import urllib.request

        deadline = self

        class HTTP(http.client.HTTPConnection):
            def connect(self):
                super().connect()
                deadline.watch(self.sock)

        # HTTPSConnection.connect calls HTTP.connect (next in line), then wraps the watched socket.
        class HTTPS(http.client.HTTPSConnection, HTTP):
            pass

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(HTTP, req)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(HTTPS, req)

        opener = urllib.request.build_opener(HTTPHandler, HTTPSHandler)
        return opener.open(url, timeout=timeout)


def _shut(sock):
    with contextlib.suppress(OSError):  # already closed, by us or the server
        sock.shutdown(socket.SHUT_RDWR)
