"""Verified downloads: stream to a temporary file, check it, then rename it into place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from .._files import atomic_path
from ..errors import DatasetError

#: Seconds to wait for a server to connect or to send the next block.
TIMEOUT = 30
_BLOCK = 1 << 20


def download(
    urls: Sequence[str],
    dest: os.PathLike | str,
    verify: Callable[[Path], object],
    timeout: float = TIMEOUT,
) -> str:
    """Download the first of ``urls`` that succeeds and verifies to ``dest``; return that URL.

    Each attempt streams into a temporary file beside ``dest``; only when
    ``verify(path)`` returns without raising is it renamed onto ``dest``. A
    failed or interrupted attempt leaves nothing behind, and concurrent
    downloads of the same file each use their own temporary file.

    Parameters
    ----------
    urls : sequence of str
        Where the file may be fetched, tried in order.
    dest : str or os.PathLike
        Final location; its directory must exist.
    verify : callable
        ``verify(path)`` raises ``DatasetError`` for a bad file; ``path`` is
        the temporary file, a ``pathlib.Path``.
    timeout : float
        Seconds for the connection and for each read.

    Returns
    -------
    str
        The URL the verified file came from.

    Raises
    ------
    DatasetError
        When no URL gave a verified file; the message lists each URL's failure.
    """
    # Imported here: urllib.request brings http, ssl and email, some 20 ms of
    # `import fastmlp`, and most processes never download anything.
    import http.client
    import urllib.request

    failures = []
    for url in urls:
        try:
            with atomic_path(dest) as tmp:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
                    shutil.copyfileobj(response, f, _BLOCK)
                    _check_length(response, f.tell())
                verify(tmp)
            return url
        except (OSError, http.client.HTTPException, DatasetError) as error:
            failures.append(f"{url}: {type(error).__name__}: {error}")
    raise DatasetError("download failed; tried:\n  " + "\n  ".join(failures))


def _check_length(response, received):
    """Raise DatasetError when the server announced more bytes than it sent."""
    announced = response.headers.get("Content-Length")
    if announced is not None and announced.isdigit() and int(announced) != received:
        raise DatasetError(f"connection closed after {received} of {announced} bytes")
