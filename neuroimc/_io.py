"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any error (or a kill) the temporary file is dropped and ``path`` keeps
    its previous content.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        # mkstemp creates 0600; keep an existing file's mode, else the usual umask-based one
        if os.path.exists(path):
            os.fchmod(fd, os.stat(path).st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_atomic(path, data, mode="w"):
    """Write ``data`` (text, or bytes with ``mode="wb"``) to ``path`` atomically."""
    with atomic_open(path, mode) as fh:
        fh.write(data)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=2) + "\n")
