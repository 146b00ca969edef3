"""Where data sets live on disk.

A data set ``name`` (``"mnist"``) is looked for, in order, in

1. the folder the caller passes (``path=``), and nowhere else if one is given;
2. else ``$NEUROIMC_DATA/<name>``, and nowhere else if that variable is set (the CI script sets
   it to the shared data folder): what the user configured is what is read;
3. else ``../shared/data/<name>`` next to the repository checkout (beside the package's source
   tree, and beside the current working directory, so a non-editable install run from the
   repository root finds it too), then the user cache ``$XDG_CACHE_HOME/neuroimc/<name>``
   (default ``~/.cache/neuroimc/<name>``).

Downloads go to the folder of 1 or 2, else to the user cache; never into the shared folder.
"""
import os
from pathlib import Path

ENV_VAR = "NEUROIMC_DATA"


def candidate_dirs(name, path=None):
    """Folders to search for data set ``name``, most specific first, without duplicates."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike folder, got {path!r} ({type(path).__name__})")
        return [Path(path).expanduser()]
    root = os.environ.get(ENV_VAR)
    if root:
        return [Path(root).expanduser() / name]
    repo = Path(__file__).resolve().parents[2]  # neuroimc/datasets/_paths.py -> repository root
    dirs = [repo.parent / "shared" / "data" / name,
            Path.cwd().resolve().parent / "shared" / "data" / name,
            cache_dir(name)]
    unique = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def cache_dir(name):
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "neuroimc" / name


def download_dir(name, path=None):
    """Folder a download of ``name`` writes to: ``path``, else ``$NEUROIMC_DATA/<name>``, else the user cache.

    The shared repository folder is never written to.
    """
    if path is not None:
        return candidate_dirs(name, path)[0]
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() / name if root else cache_dir(name)
