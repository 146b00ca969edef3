"""Numba kernels.  Everything that runs per time step lives here.

Kernels are compiled once and cached on disk (``cache=True``), so a second
process starts simulating at once.  numba keys each cached function on its own
source file only, so a kernel that calls a changed function from another file
would keep running the old code.  Unless ``NUMBA_CACHE_DIR`` is set, the cache
therefore lives in a folder named after a hash of every kernel source: any
change to any kernel starts a clean cache.
"""
import hashlib
import os
import pathlib

import numba


def _cache_dir():
    here = pathlib.Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py")) + [here.parent / "learning.py"]
    digest = hashlib.sha1(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "neuroimc", f"kernels-{digest}")


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _cache_dir()
