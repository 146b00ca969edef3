"""Checksum-verified, atomic downloads from a list of mirrors.

A file is streamed into a temporary file in the destination folder while its MD5 and SHA-256 are
computed; only if the byte count and every given checksum match is the temporary file renamed
over the destination (``os.replace``, atomic on one file system).  Any failure -- HTTP error,
connection dropped mid-file, checksum mismatch, Ctrl-C -- deletes the temporary file, so the
destination either does not exist or holds the complete, verified file.  Mirrors are tried in
order until one succeeds.
"""
import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered the file with the expected size and checksums."""


def fetch(urls, dest, *, md5=None, sha256=None, size=None, progress=True, timeout=30.0):
    """Download ``dest`` from the first of ``urls`` that delivers the expected bytes.

    Parameters
    ----------
    urls : sequence of str
        Full URLs of the same file on different mirrors, tried in order.
    dest : path
        Where the verified file goes; its folder is created if missing.
    md5, sha256 : str, optional
        Expected hex digests (lower or upper case).
    size : int, optional
        Expected size in bytes.
    progress : bool
        Show a tqdm bar of the bytes received.
    timeout : float
        Seconds to wait for a connection or a chunk.

    Returns the destination ``Path``; raises :class:`DownloadError` listing each mirror's failure.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("urls must name at least one mirror, got an empty list")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch_one(url, dest, md5, sha256, size, progress, timeout)
            return dest
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError/HTTPError are OSErrors
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
    raise DownloadError(f"could not download {dest.name} from any of {len(urls)} mirror(s):\n  "
                        + "\n  ".join(failures))


def _fetch_one(url, dest, md5, sha256, size, progress, timeout):
    from .. import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"neuroimc/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length is not None else size
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-", suffix="-" + dest.name)
        try:
            digests = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
            received = 0
            with os.fdopen(fd, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                                                 disable=not progress, leave=False) as bar:
                while chunk := resp.read(_CHUNK):
                    fh.write(chunk)
                    for h in digests.values():
                        h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                fh.flush()
                os.fsync(fh.fileno())
            # a server that closes early without http.client noticing still shows up here
            if length is not None and received != int(length):
                raise ValueError(f"connection closed after {received} of {length} bytes")
            if size is not None and received != size:
                raise ValueError(f"size mismatch: expected {size} bytes, received {received}")
            for name, want in (("md5", md5), ("sha256", sha256)):
                got = digests[name].hexdigest()
                if want is not None and got != want.lower():
                    raise ValueError(f"{name} checksum mismatch: expected {want.lower()}, got {got}")
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def file_digest(path, algorithm="md5"):
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
