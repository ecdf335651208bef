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


#: The variable (which xdist's workers inherit) holding the path of the record conftest's
#: warm-up leaves for test_warmup when it ran on an empty cache.
COLD_RECORD = "FASTMLP_TEST_COLD_WARMUP"

#: Warm up in a fresh process (the depths of ``sys.argv[1]``, default 1), then run the
#: public API far more broadly than warmup does (other widths, every activation, options,
#: input types, sizes) and record whether any kernel gained a compiled version. On an
#: empty cache, conftest's ``--warm-kernel-cache`` runs it and test_warmup checks its record.
WARM_THEN_USE = """
import importlib, json, pkgutil, sys, tempfile
from pathlib import Path
import numpy as np
from numba import types
from numba.core.dispatcher import Dispatcher
import fastmlp
import fastmlp.kernels

def kernels():
    found = {}
    for info in pkgutil.iter_modules(fastmlp.kernels.__path__):
        module = importlib.import_module(f"fastmlp.kernels.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = value
    return found

def float_arrays(ty):
    if isinstance(ty, types.Array) and isinstance(ty.dtype, types.Float):
        yield str(ty.dtype)
    elif isinstance(ty, types.BaseTuple):
        for item in ty.types:
            yield from float_arrays(item)

def dtypes(dispatcher):
    # The dtype of a version is that of its first float array (the parameters, or the row).
    return sorted({next(a for t in sig for a in float_arrays(t)) for sig in dispatcher.signatures})

def versions():
    return {name: len(d.signatures) for name, d in kernels().items()}

compiled_before = {name: n for name, n in versions().items() if n}
depths = json.loads(sys.argv[1]) if len(sys.argv) > 1 else 1
report = fastmlp.warmup(("float32", "float64"), hidden_layers=depths)
after_warmup = versions()

rng = np.random.default_rng(0)
for dtype in ("float32", "float64"):
    for sizes, activation in (([5, 4, 3], "sigmoid"), ([5, 17, 3], "tanh"), ([5, 1, 3], "relu")):
        X = rng.normal(size=(600, 5))
        y = rng.integers(0, 3, 600)
        model = fastmlp.MLP(sizes, activation, dtype, seed=1)
        for batch_size in (1, 7, 32, 600):
            fastmlp.train(model, X, y, batch_size=batch_size, progress=False)
            fastmlp.train(
                model, X.astype(np.float32), y.astype(np.int32), epochs=2, lr=0.05,
                batch_size=batch_size, validation=(X[:9], y[:9]), momentum=0.9,
                weight_decay=1e-3, sample_weight=rng.random(600), shuffle=False,
                lr_schedule="step", early_stopping=1, progress=False,
            )
        big = rng.normal(size=(3000, 5))
        model.predict(big)
        model.predict_proba(X[:1])
        model.loss(X, y)
        model.accuracy(big, y.repeat(5))
        fastmlp.gradients(model, X, y)
        fastmlp.gradients(model, X[:2], y[:2])
        fastmlp.gradcheck(model, X[:3], y[:3])
        path = Path(tempfile.mkdtemp()) / "model.npz"
        model.save(path)
        fastmlp.load(path).predict(X.tolist())
after_use = versions()

print(json.dumps({
    "compiled_before": compiled_before,
    "after_warmup": after_warmup,
    "after_use": after_use,
    "dtypes": {name: dtypes(d) for name, d in kernels().items() if d.signatures},
    "report": {
        "seconds": report.seconds,
        "compiled": report.compiled,
        "loaded": report.loaded,
        "cache_dir": str(report.cache_dir),
        "kernels": sorted(report.kernels),
    },
}))
"""


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
