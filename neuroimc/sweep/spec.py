"""Sweep files: a sweep described in TOML or YAML, for ``neuroimc sweep FILE``.

Example (TOML; the YAML file has the same keys)::

    function = "experiments.py:firing_rate"   # file (relative to this file) or module, then ":function"
    seeds = 32                 # chip instances: a count, or a list of seeds
    seed = 0                   # first seed when seeds is a count (default 0)
    name = "rate-v1"           # optional: experiment name in the cache keys
    [grid]                     # every combination is run
    rate = [5.0, 10.0, 20.0]
    w = [1e-12, 2e-12]
    [fixed]                    # the same value for every task (a column of the table too)
    duration = 0.5
    [plot]                     # optional: figure of mean and spread over seeds
    x = "rate"
    y = "out_rate"
    hue = "w"                  # optional
    percentiles = [10, 90]     # optional

Reading is strict: an unknown key, a wrong type or a missing required key is
a ``ValueError`` naming the key, the file and what is allowed.
"""
import importlib
import importlib.util
import hashlib
import os
import sys
import tomllib

_TOP = {"function", "seeds", "seed", "name", "grid", "fixed", "plot"}
_PLOT = {"x", "y", "hue", "percentiles"}


def load_spec(path):
    """Read and check a sweep file; returns a dict with keys
    ``function`` (the callable), ``function_ref``, ``grid``, ``seeds`` (list), ``name``, ``plot``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"sweep file {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    with open(path, "rb") as fh:
        raw = fh.read()
    if ext == ".toml":
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"sweep file {path}: not valid TOML ({exc})") from None
    elif ext in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"sweep file {path}: not valid YAML ({exc})") from None
    else:
        raise ValueError(f"sweep file {path}: extension must be .toml, .yaml or .yml, got {ext or 'none'!r}")
    return _check(doc, path)


def _check(doc, path):
    def bad(msg):
        return ValueError(f"sweep file {path}: {msg}")

    if not isinstance(doc, dict):
        raise bad("must be a table of keys (function, seeds, grid, ...)")
    unknown = sorted(set(doc) - _TOP)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r}; allowed: {sorted(_TOP)}")
    if "function" not in doc:
        raise bad("missing required key 'function' (\"file.py:function\" or \"module:function\")")
    ref = doc["function"]
    if not isinstance(ref, str) or ref.count(":") != 1 or not all(ref.split(":")):
        raise bad(f"function must be \"file.py:function\" or \"module:function\", got {ref!r}")

    seed0 = doc.get("seed", 0)
    if isinstance(seed0, bool) or not isinstance(seed0, int) or seed0 < 0:
        raise bad(f"seed must be a non-negative integer, got {seed0!r}")
    seeds = doc.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list)):
        raise bad(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise bad(f"seeds must be >= 1, got {seeds}")
        seeds = list(range(seed0, seed0 + seeds))
    elif "seed" in doc:
        raise bad("seed (the first seed) only applies when seeds is a count, not a list")

    grid = doc.get("grid", {})
    fixed = doc.get("fixed", {})
    for key, table in (("grid", grid), ("fixed", fixed)):
        if not isinstance(table, dict):
            raise bad(f"{key} must be a table of parameters, got {type(table).__name__}")
    for k, values in grid.items():
        if not isinstance(values, list) or not values:
            raise bad(f"grid.{k} must be a non-empty list of values, got {values!r}")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise bad(f"parameter {both[0]!r} is both in grid and in fixed")
    # fixed values are one-value grid axes: they appear as columns and in the cache key
    grid = {**grid, **{k: [v] for k, v in fixed.items()}}

    name = doc.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise bad(f"name must be a non-empty string, got {name!r}")

    plot = doc.get("plot")
    if plot is not None:
        if not isinstance(plot, dict):
            raise bad("plot must be a table with x, y and optionally hue, percentiles")
        unknown = sorted(set(plot) - _PLOT)
        if unknown:
            raise bad(f"unknown key plot.{unknown[0]}; allowed: {sorted(_PLOT)}")
        for k in ("x", "y"):
            if not isinstance(plot.get(k), str):
                raise bad(f"plot.{k} must be a string naming a {'parameter' if k == 'x' else 'metric'}")
        if plot["x"] not in grid:
            raise bad(f"plot.x must be a grid parameter, one of {sorted(grid)}; got {plot['x']!r}")
        if "hue" in plot and plot["hue"] not in grid:
            raise bad(f"plot.hue must be a grid parameter, one of {sorted(grid)}; got {plot['hue']!r}")
        pct = plot.get("percentiles", [10, 90])
        if not (isinstance(pct, list) and len(pct) == 2 and all(isinstance(p, (int, float)) for p in pct)
                and 0 <= pct[0] <= pct[1] <= 100):
            raise bad(f"plot.percentiles must be [low, high] with 0 <= low <= high <= 100, got {pct!r}")
        plot = {**plot, "percentiles": pct}

    function = resolve_function(ref, os.path.dirname(os.path.abspath(path)))
    return {"function": function, "function_ref": ref, "grid": grid, "seeds": seeds, "name": name, "plot": plot}


def resolve_function(ref, base):
    """The callable named by ``"file.py:function"`` (relative to ``base``) or ``"module:function"``.

    A file is imported as a private module whose functions are pickled *by
    value* for the workers, so a cluster needs no copy of the file.
    """
    target, attr = ref.split(":")
    if target.endswith(".py"):
        file = target if os.path.isabs(target) else os.path.join(base, target)
        if not os.path.isfile(file):
            raise ValueError(f"function: file {file!r} does not exist")
        mod_name = "_neuroimc_sweep_" + hashlib.sha256(os.path.abspath(file).encode()).hexdigest()[:12]
        module = sys.modules.get(mod_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_name, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[mod_name]
                raise
            import cloudpickle

            cloudpickle.register_pickle_by_value(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ValueError(f"function: cannot import module {target!r} ({exc})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ValueError(f"function: {target!r} has no function {attr!r}")
    return function
