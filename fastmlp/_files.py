"""Atomic file writes: a crash leaves either the old file or the new one, never half of one.

The temporary file of a write is named ``.<target>.fastmlp~<host>~<pid>~<random>.part``
beside its target. A writer killed outright (``kill -9``, power loss) cannot
remove it, so every write first removes the stale ones in its folder: those
whose writer is gone (same host, process not alive) and those not modified
for ``STALE_AFTER`` seconds (any host: another host's processes cannot be
asked, and a process id may have been reused by then). A live write of
another process, on this host or another, is never touched, nor is any
file not named this way.
"""

import contextlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

#: Seconds after which a temporary file of any writer counts as abandoned.
STALE_AFTER = 24 * 3600
_TEMPORARY = re.compile(r"\..+\.fastmlp~(?P<host>[^~/]+)~(?P<pid>\d+)~[^~/.]+\.part")


def _host():
    """Return this host's name as temporary names hold it (short, no ``~`` or separators)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64] or "host"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file lives in the same directory (so the rename is atomic
    and stays on one filesystem) under a name unique to this writer, so
    concurrent writers never share one; stale temporary files of earlier
    writers there are removed first (see the module docstring). On any
    exception it is removed. The result gets the mode of the file it
    replaces, or for a new file the mode ``open`` would give it (``mkstemp``
    makes files private, 0600).
    """
    path = Path(path)
    remove_stale(path.parent)
    prefix = f".{path.name}.fastmlp~{_host()}~{os.getpid()}~"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale(folder: str | os.PathLike) -> None:
    """Remove the temporary files in ``folder`` whose writer is gone or that are a day old.

    Best effort: a file that cannot be removed (or is removed by another
    writer meanwhile) is left alone, and the write goes on.
    """
    host, now = _host(), time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
                gone = match["host"] == host and not _alive(int(match["pid"]))
                if old or gone:
                    os.unlink(entry.path)


def _alive(pid):
    """Return whether process ``pid`` exists on this host (signal 0 only asks)."""
    if os.name != "posix":
        return True  # os.kill would end the process: only the age rule applies there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid this system can check
    return True


def _umask():
    """Return the process's umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
