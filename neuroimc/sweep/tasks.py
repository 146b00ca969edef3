"""Tasks of a sweep: one call of the user's function for one grid point and one seed.

A *task* is ``function(**params, seed=seed)``; ``seed`` is the chip instance
(the seed of every random draw of the network the function builds: device-to-
device sampling, noise, Poisson inputs).  A task is identified by a stable hash
of the function's name, its parameters and its seed, so the same task has the
same key in every process, on every machine and in every later session — the
key of its cache file.

:func:`execute` is what runs on a worker.  It never raises for an error of the
user's function: the error becomes a *failed* record (type, message, traceback)
so that one bad task cannot stop the sweep.
"""
import hashlib
import itertools
import json
import math
import numbers
import time
import traceback
from dataclasses import dataclass

import numpy as np

#: columns the sweep adds to every row; parameters and metrics may not use these names
RESERVED = ("seed", "status", "wall_s", "cached", "error_type", "error", "traceback")


@dataclass(frozen=True)
class Task:
    """One grid point at one seed.

    ``index`` orders the rows of the result (grid order, then seeds);
    ``key`` names the cache file.
    """

    index: int
    params: dict
    seed: int
    key: str


def jsonable(value, what):
    """``value`` as plain JSON types (numpy scalars and arrays converted), or ``TypeError`` naming ``what``.

    Non-finite floats are kept (``nan``, ``inf``): a metric such as the CV of
    an empty spike train is legitimately undefined.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold numbers or booleans, got an array of dtype {value.dtype}")
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{what} must have string keys, got key {k!r} ({type(k).__name__})")
            out[k] = jsonable(v, f"{what}[{k!r}]")
        return out
    raise TypeError(
        f"{what} is not JSON-serialisable: got {type(value).__name__} ({_show(value)}); allowed are numbers, "
        "strings, booleans, None, and lists, dicts or numpy arrays of them"
    )


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def task_key(function_name, params, seed):
    """Stable hex key of a task: SHA-256 of canonical JSON of (function name, parameters, seed).

    Canonical means sorted keys and Python's shortest round-trip float repr,
    so the key does not depend on dict order, numpy scalar types or the process.
    """
    doc = {"function": function_name, "params": jsonable(params, "params"), "seed": int(seed)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def grid_points(grid):
    """The parameter points of ``grid``: a mapping ``name -> list of values`` (Cartesian product,
    in the mapping's order) or a sequence of mappings (explicit points).  Returns a list of dicts."""
    if isinstance(grid, dict):
        names = list(grid)
        lists = []
        for name in names:
            _check_param_name(name)
            values = grid[name]
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
                raise TypeError(
                    f"grid[{name!r}] must be a list of values, got {_show(values)}; "
                    f"write [{_show(values)}] for a single value"
                )
            values = [jsonable(v, f"grid[{name!r}] value") for v in values]
            if not values:
                raise ValueError(f"grid[{name!r}] is empty; give at least one value")
            lists.append(values)
        points = [dict(zip(names, combo)) for combo in itertools.product(*lists)]
    elif isinstance(grid, (list, tuple)):
        points = []
        for i, point in enumerate(grid):
            if not isinstance(point, dict):
                raise TypeError(f"grid[{i}] must be a dict of parameter values, got {type(point).__name__}")
            for name in point:
                _check_param_name(name)
            points.append(jsonable(point, f"grid[{i}]"))
        if not points:
            raise ValueError("grid is empty; give at least one parameter point (or {} for none)")
    else:
        raise TypeError(f"grid must be a dict of value lists or a list of dicts, got {type(grid).__name__}")
    return points or [{}]


def _check_param_name(name):
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"grid parameter names must be Python identifiers (passed as keywords), got {name!r}")
    if name in RESERVED:
        raise ValueError(f"grid parameter {name!r} clashes with a column the sweep adds; reserved: {list(RESERVED)}")


def seed_list(seeds):
    """``seeds`` as a list of distinct non-negative ints: a count ``n`` means ``0..n-1``."""
    if isinstance(seeds, (bool, np.bool_)):
        raise TypeError(f"seeds must be a count or a sequence of ints, got {seeds!r}")
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the number of chip instances), got {seeds}")
        return list(range(int(seeds)))
    try:
        out = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be a count or a sequence of ints, got {_show(seeds)}") from None
    if not out:
        raise ValueError("seeds is empty; give a count >= 1 or at least one seed")
    for s in out:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"every seed must be a non-negative int, got {s!r} in seeds")
    out = [int(s) for s in out]
    if len(set(out)) != len(out):
        dup = next(s for s in out if out.count(s) > 1)
        raise ValueError(f"seeds must be distinct, {dup} appears twice")
    return out


def make_tasks(function_name, grid, seeds):
    """All tasks of a sweep, in row order (grid point, then seed)."""
    tasks, seen = [], {}
    seeds = seed_list(seeds)
    for point in grid_points(grid):
        for seed in seeds:
            key = task_key(function_name, point, seed)
            if key in seen:
                raise ValueError(f"grid has the point {point} twice; every (parameters, seed) must be unique")
            seen[key] = True
            tasks.append(Task(len(tasks), point, seed, key))
    return tasks


def check_metrics(metrics, params):
    """The metrics a task returned, as JSON types; ``TypeError``/``ValueError`` naming the bad metric."""
    if not isinstance(metrics, dict):
        raise TypeError(
            f"the sweep function must return a dict of metrics (name -> value), got {type(metrics).__name__}"
        )
    out = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"metric names must be non-empty strings, got {name!r}")
        if name in RESERVED or name in params:
            raise ValueError(
                f"metric {name!r} clashes with a {'parameter' if name in params else 'column the sweep adds'}; "
                f"rename it (reserved: {list(RESERVED)}, parameters: {list(params)})"
            )
        out[name] = jsonable(value, f"metric {name!r}")
    return out


def execute(function, params, seed):
    """Run one task; return its record (a dict), never raise for an error of ``function``.

    A record is ``{"status": "ok", "metrics": {...}, "wall_s": t}`` or
    ``{"status": "failed", "error_type", "error", "traceback", "wall_s"}``.
    ``KeyboardInterrupt`` and ``SystemExit`` are not caught: they stop the sweep.
    """
    t0 = time.perf_counter()
    try:
        metrics = check_metrics(function(**params, seed=seed), params)
    except Exception as exc:
        return failure(exc, time.perf_counter() - t0, traceback.format_exc())
    return {"status": "ok", "metrics": metrics, "wall_s": time.perf_counter() - t0}


def execute_pickled(payload, params, seed):
    """:func:`execute` on a worker, for a function sent as cloudpickle bytes.

    The runner pickles the function itself, with cloudpickle, because Dask
    tries the standard pickle first, which sends a reference to the
    function's module — useless on a worker when the module is a script
    (``__main__``) or a sweep file's private module.  A failure to unpickle
    (a module missing on the worker) becomes a failed record, not a hang.
    """
    try:
        function = _unpickle(payload)
    except Exception as exc:
        return failure(exc, 0.0, traceback.format_exc())
    return execute(function, params, seed)


_FUNCTIONS = {}  # per worker process: unpickle each function once, not once per task


def _unpickle(payload):
    import cloudpickle

    key = hashlib.sha256(payload).digest()
    if key not in _FUNCTIONS:
        if len(_FUNCTIONS) >= 8:
            _FUNCTIONS.clear()
        _FUNCTIONS[key] = cloudpickle.loads(payload)
    return _FUNCTIONS[key]


def failure(exc, wall_s, trace):
    """The record of a failed task."""
    return {
        "status": "failed",
        "error_type": type(exc).__name__,
        "error": str(exc),
        "traceback": trace,
        "wall_s": wall_s,
    }


def finite_or_none(value):
    """Non-finite floats (anywhere in a JSON value) become ``None``: strict JSON for export."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    return value
