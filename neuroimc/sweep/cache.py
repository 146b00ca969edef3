"""The on-disk cache of a sweep: one JSON file per finished task.

The file of a task is ``<folder>/<key>.json`` (the key hashes the function's
name, the parameters and the seed) and is written atomically the moment the
task finishes, by the process that drives the sweep (workers need no shared
file system).  An interrupted sweep therefore loses at most the tasks that
were running; a restart reads the files and submits only the missing tasks.

A file repeats the function name, parameters and seed it was computed for; a
file whose content does not match its task (a hand-edited or foreign file) is
ignored with a warning and the task runs again, as is an unreadable one.

The cache does not know the function's code: after changing what the function
computes, use a new cache folder or a new sweep ``name``.
"""
import json
import os
import warnings

from .._io import write_atomic

FORMAT = "neuroimc.sweep.task/1"


class TaskCache:
    """Cached task records in ``folder`` (created on first write)."""

    def __init__(self, folder):
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"cache must be a folder path or None, got {type(folder).__name__}")
        self.folder = os.fspath(folder)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise ValueError(f"cache {self.folder!r} exists and is not a folder")

    def path(self, task):
        return os.path.join(self.folder, f"{task.key}.json")

    def load(self, function_name, task):
        """The stored record of ``task``, or ``None`` if there is no usable file."""
        path = self.path(task)
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            warnings.warn(f"sweep cache file {path} is unreadable ({exc}); the task runs again", stacklevel=3)
            return None
        same = (
            isinstance(doc, dict)
            and doc.get("format") == FORMAT
            and doc.get("function") == function_name
            and doc.get("params") == task.params
            and doc.get("seed") == task.seed
            and doc.get("status") in ("ok", "failed")
        )
        if not same:
            warnings.warn(f"sweep cache file {path} does not belong to this task; the task runs again", stacklevel=3)
            return None
        return {k: v for k, v in doc.items() if k not in ("format", "function", "params", "seed")}

    def store(self, function_name, task, record):
        """Write ``record`` for ``task`` atomically (a reader sees the old file or the new one)."""
        doc = {"format": FORMAT, "function": function_name, "params": task.params, "seed": task.seed, **record}
        # allow_nan: metrics may be nan/inf; Python's json reads the tokens back exactly
        write_atomic(self.path(task), json.dumps(doc, indent=1, allow_nan=True) + "\n")
