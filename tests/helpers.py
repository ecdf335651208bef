"""Shared test helpers: tolerances and random inputs. The numerical twins themselves are
``fastmlp.reference`` (numpy) and ``fastmlp.scalar`` (pure Python)."""

import http.server
import itertools
import os
import re
import ssl
import string
import struct
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

from fastmlp._checks import RULES
from fastmlp.config import ATOL, RTOL

DTYPES = ("float32", "float64")
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def rule_regex(key, **fields):
    """Return a regex of the messages of ``fastmlp._checks.RULES[key]``, with ``{name}`` kept.

    The template's text must appear as it is; the argument's name replaces
    ``{name}`` later (``re.escape``d by the caller), ``fields`` give regexes of
    some other fields and the rest match anything. Not anchored.
    """
    parts = []
    for text, field, _, _ in string.Formatter().parse(RULES[key].message):
        parts.append(re.escape(text))
        if field == "name":
            parts.append("{name}")
        elif field is not None:
            parts.append(fields.get(field, "(?s:.*?)"))
    return "".join(parts)


def child_environment(**env):
    """Return the environment of a child interpreter: ``os.environ`` with fastmlp's and
    Numba's variables cleared, except the kernel cache the test run shares (conftest
    exports it as FASTMLP_CACHE_DIR), then ``env`` set (a value of None removes it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMLP_", "NUMBA_"))}
    if "FASTMLP_CACHE_DIR" in os.environ:
        environment["FASTMLP_CACHE_DIR"] = os.environ["FASTMLP_CACHE_DIR"]
    environment.update(env)
    return {k: v for k, v in environment.items() if v is not None}


def run(args, cwd, timeout=900, check=True, **env):
    """Run ``python *args`` from ``cwd`` in ``child_environment(**env)``; return the process.

    From ``cwd`` the source tree is not on sys.path (unless ``cwd`` is the
    checkout). With ``check`` the run must succeed (its stderr is the message).
    """
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=child_environment(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_python(code, cwd, timeout=900, **env):
    """Run ``code`` in a fresh interpreter (see ``run``); return its stdout (it must succeed)."""
    return run(["-c", textwrap.dedent(code)], cwd, timeout=timeout, **env).stdout.strip()


def assert_close(actual, expected, dtype):
    """Compare with the project's kernel-vs-twin tolerance for ``dtype``."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype])


def random_network(rng, sizes, dtype):
    """Random weights and biases as lists of C-contiguous arrays."""
    weights = [rng.normal(0, 0.5, (a, b)).astype(dtype) for a, b in itertools.pairwise(sizes)]
    biases = [rng.normal(0, 0.1, b).astype(dtype) for b in sizes[1:]]
    return weights, biases


def sparse_inputs(rng, n, d, dtype, density=0.3):
    """Rows with mostly zero entries, like MNIST pixels."""
    return ((rng.random((n, d)) < density) * rng.random((n, d))).astype(dtype)


def idx_bytes(array, magic=None):
    """Encode a uint8 array as an IDX file (magic 2051 for 3-D images, 2049 for labels)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


class FileServer:
    """An HTTP server on 127.0.0.1 serving ``files`` (name -> bytes) from a thread.

    ``/drop/<name>`` announces the whole file but closes the connection after
    half of it; ``/slow/<name>`` waits ``delay`` seconds before each 64 KiB.
    ``/drip/<name>`` sends the headers, then the file a byte every ``delay``
    seconds; ``/drip-headers/<name>`` sends the status line and then headers
    without end, a byte every ``delay`` seconds. A file given as a callable
    is served from the chunks it yields, without a Content-Length (the
    connection's end ends it), so a generator can serve an endless file.
    With ``tls=(certfile, keyfile)`` it serves HTTPS. ``requests`` lists the
    paths asked for.
    """

    def __init__(self, files, delay=0.0, tls=None):
        self.files, self.delay, self.requests = files, delay, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                mode, _, name = self.path.lstrip("/").rpartition("/")
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                try:
                    self.send_hostile(mode, data)
                except OSError:  # a ConnectionError, or an SSLError over TLS
                    pass  # the client hung up on a hostile response: that was the test

            def send_hostile(self, mode, data):
                """Send the response ``mode`` asks for: hostile, or the plain file."""
                if mode.endswith("drip-headers"):
                    head = b"HTTP/1.0 200 OK\r\n"
                    self.drip(itertools.chain(head, itertools.cycle(b"X-Drip: 1\r\n")))
                elif callable(data):
                    self.send_response(200)
                    self.end_headers()
                    for chunk in data():
                        self.wfile.write(chunk)
                else:
                    self.send_file(mode, data)

            def drip(self, data):
                for byte in data:
                    time.sleep(server.delay)
                    self.wfile.write(bytes([byte]))

            def send_file(self, mode, data):
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode.endswith("drop"):
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode.endswith("drip"):
                    self.drip(data)
                    return
                for start in range(0, len(data), 1 << 16):
                    if mode.endswith("slow"):
                        time.sleep(server.delay)
                    self.wfile.write(data[start : start + (1 << 16)])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.url = "https" + self.url.removeprefix("http")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
