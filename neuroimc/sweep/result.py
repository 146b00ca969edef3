"""The result of a sweep: a tidy table, one row per task.

Each row holds the task's parameters, its ``seed`` (the chip instance), its
``status`` (``"ok"`` or ``"failed"``), its metrics, ``wall_s`` (the task's own
run time) and ``cached`` (read from the cache instead of run now).  A failed
row has ``error_type``, ``error`` (message) and ``traceback`` instead of
metrics.  Rows are in grid order, then seed order, whatever order the tasks
finished in.

Statistics over chip instances (:meth:`SweepResult.stats`, :meth:`SweepResult.plot`)
group the successful rows by parameter point and summarise a metric over the
seeds: the mean, and a spread band between two percentiles (by default the
10th and 90th: the range that 80 % of manufactured chips fall into).
"""
import csv
import io
import json
import math
import numbers

import numpy as np
from matplotlib.figure import Figure

from .._io import write_atomic
from .tasks import RESERVED, finite_or_none

_FAILED_COLUMNS = ("error_type", "error", "traceback")


class SweepResult:
    """Rows of a sweep with the names of its parameters and metrics.

    Attributes
    ----------
    rows : list of dict
        One per task (see the module docstring for the columns).
    params : list of str
        Parameter names, in grid order.
    metrics : list of str
        Metric names, in order of first appearance.
    function : str
        Name of the swept function (the cache key's first part).
    wall_s : float or None
        Wall time of the whole sweep, seconds.
    """

    def __init__(self, rows, params, function="", wall_s=None):
        self.rows = list(rows)
        self.params = list(params)
        self.function = function
        self.wall_s = wall_s
        fixed = set(self.params) | set(RESERVED)
        names = {}
        for row in self.rows:
            for k in row:
                if k not in fixed:
                    names.setdefault(k, None)
        self.metrics = list(names)

    # ------------------------------------------------------------------ counts
    @property
    def ok(self):
        """Rows of the tasks that succeeded."""
        return [r for r in self.rows if r["status"] == "ok"]

    @property
    def failed(self):
        """Rows of the tasks that raised, with ``error_type``, ``error`` and ``traceback``."""
        return [r for r in self.rows if r["status"] == "failed"]

    @property
    def n_cached(self):
        """Tasks whose record was read from the cache."""
        return sum(bool(r["cached"]) for r in self.rows)

    @property
    def n_run(self):
        """Tasks run in this sweep (not from the cache)."""
        return len(self.rows) - self.n_cached

    def __len__(self):
        return len(self.rows)

    def __repr__(self):
        wall = "" if self.wall_s is None else f", {self.wall_s:.3g} s"
        return (
            f"SweepResult({self.function or 'sweep'}: {len(self.rows)} tasks, {len(self.ok)} ok, "
            f"{len(self.failed)} failed, {self.n_cached} cached, {self.n_run} run{wall})"
        )

    # ------------------------------------------------------------------ access
    def column(self, name):
        """Values of parameter, ``seed`` or metric ``name`` over the successful rows (aligned across names)."""
        if name not in self.params and name not in self.metrics and name not in RESERVED:
            raise ValueError(f"name must be a parameter, metric or column; got {name!r}, "
                             f"parameters {self.params}, metrics {self.metrics}")
        return [r.get(name) for r in self.ok]

    def where(self, **conditions):
        """The rows whose parameters equal the given values (``result.where(w=2e-12)``), as a SweepResult."""
        for name in conditions:
            if name not in self.params and name != "seed":
                raise ValueError(f"where: {name!r} is not a parameter; parameters are {self.params}")
        rows = [r for r in self.rows if all(r.get(k) == v for k, v in conditions.items())]
        return SweepResult(rows, self.params, self.function, self.wall_s)

    # ------------------------------------------------------------------ statistics over chip instances
    def stats(self, x, y, hue=None, percentiles=(10.0, 90.0)):
        """Mean and percentile band of metric ``y`` over seeds, per value of ``x`` (and of ``hue``).

        Every other parameter must be constant (select with :meth:`where`),
        else the band would mix parameter points with chip instances.  NaN
        values (an undefined metric, e.g. the CV of a silent neuron) are left
        out of the statistics and counted in ``n_nan``.

        Returns a list of dicts ``{x, hue?, "n", "n_nan", "mean", "lo", "hi"}``,
        sorted by hue then x (numbers numerically, others in first-seen order).
        """
        lo_p, hi_p = self._check_stats_args(x, y, hue, percentiles)
        groups = {}
        for r in self.ok:
            value = r.get(y)
            if value is None:
                value = math.nan
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"y: metric {y!r} must be a number to be averaged, got {value!r} at {r}")
            h, xv = (r[hue] if hue else None), r[x]
            # parameter values may be lists (unhashable): group on their JSON text
            groups.setdefault(json.dumps([h, xv], sort_keys=True), (h, xv, []))[2].append(float(value))
        out = []
        for h, xv, values in groups.values():
            v = np.asarray(values)
            good = v[~np.isnan(v)]
            row = {x: xv}
            if hue:
                row[hue] = h
            row.update(n=int(good.size), n_nan=int(v.size - good.size))
            if good.size:
                row.update(mean=float(good.mean()), lo=float(np.percentile(good, lo_p)),
                           hi=float(np.percentile(good, hi_p)))
            else:
                row.update(mean=math.nan, lo=math.nan, hi=math.nan)
            out.append(row)
        order_x = _ordering([r[x] for r in out])
        order_h = _ordering([r[hue] for r in out]) if hue else (lambda v: 0)
        out.sort(key=lambda r: (order_h(r[hue]) if hue else 0, order_x(r[x])))
        return out

    def _check_stats_args(self, x, y, hue, percentiles):
        if x not in self.params:
            raise ValueError(f"x must be a parameter, one of {self.params}; got {x!r}")
        if y not in self.metrics:
            raise ValueError(f"y must be a metric, one of {self.metrics}; got {y!r}")
        if hue is not None and (hue not in self.params or hue == x):
            raise ValueError(f"hue must be a parameter other than x, one of {self.params}; got {hue!r}")
        for p in self.params:
            if p in (x, hue):
                continue
            values = {json.dumps(r[p], sort_keys=True) for r in self.ok}
            if len(values) > 1:
                raise ValueError(
                    f"parameter {p!r} varies ({len(values)} values) but is neither x nor hue; "
                    f"choose one value with result.where({p}=...) or pass hue={p!r}"
                )
        try:
            lo_p, hi_p = (float(p) for p in percentiles)
        except (TypeError, ValueError):
            raise TypeError(f"percentiles must be two numbers (low, high), got {percentiles!r}") from None
        if not 0.0 <= lo_p <= hi_p <= 100.0:
            raise ValueError(f"percentiles must satisfy 0 <= low <= high <= 100, got {percentiles!r}")
        return lo_p, hi_p

    def plot(self, x, y, hue=None, ax=None, percentiles=(10.0, 90.0), title=None):
        """Mean of metric ``y`` against parameter ``x`` with a band between ``percentiles`` over seeds.

        One line (and band) per value of ``hue``.  Draws into ``ax`` or a new
        headless ``Figure``; returns the ``Axes`` (save with
        ``ax.figure.savefig(path)``).
        """
        stats = self.stats(x, y, hue, percentiles)
        if ax is None:
            ax = Figure(figsize=(6, 4), layout="constrained").add_subplot()
        levels = _unique([r[hue] for r in stats]) if hue else [None]
        xs_all = [r[x] for r in stats]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in xs_all)
        categories = _unique(xs_all)
        for level in levels:
            part = [r for r in stats if not hue or r[hue] == level]
            xs = [r[x] if numeric else categories.index(r[x]) for r in part]
            label = f"{hue} = {level}" if hue else "mean"
            (line,) = ax.plot(xs, [r["mean"] for r in part], marker="o", ms=3, label=label)
            ax.fill_between(xs, [r["lo"] for r in part], [r["hi"] for r in part], color=line.get_color(),
                            alpha=0.25, linewidth=0)
        if not numeric:
            ax.set_xticks(range(len(categories)), [str(c) for c in categories])
        n_seeds = len({r["seed"] for r in self.ok})
        lo_p, hi_p = percentiles
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        default = f"{y}: mean, band {lo_p:g}-{hi_p:g} percentile over {n_seeds} seeds"
        ax.set_title(default if title is None else title)
        if hue or len(levels) > 1:
            ax.legend(fontsize="small")
        return ax

    # ------------------------------------------------------------------ files
    def columns(self):
        """Column order of exports: parameters, seed, status, metrics, then bookkeeping."""
        return [*self.params, "seed", "status", *self.metrics, "wall_s", "cached", *_FAILED_COLUMNS]

    def to_csv(self, path):
        """Write the table as CSV, atomically.  Lists and dicts are JSON text; missing cells are empty."""
        cols = self.columns()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for r in self.rows:
            writer.writerow([_csv_cell(r.get(c)) for c in cols])
        write_atomic(path, buf.getvalue())
        return path

    def to_json(self, path):
        """Write the table as strict JSON, atomically (``nan``/``inf`` become ``null``)."""
        doc = {
            "function": self.function,
            "params": self.params,
            "metrics": self.metrics,
            "wall_s": self.wall_s,
            "rows": finite_or_none(self.rows),
        }
        write_atomic(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")
        return path

    @classmethod
    def from_json(cls, path):
        """Read a table written by :meth:`to_json` (``null`` metrics come back as ``None``)."""
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        if not isinstance(doc, dict) or not {"params", "rows"} <= doc.keys():
            raise ValueError(f"{path} is not a sweep result written by SweepResult.to_json")
        return cls(doc["rows"], doc["params"], doc.get("function", ""), doc.get("wall_s"))


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _unique(values):
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _ordering(values):
    """Sort key: numbers by value, anything else by first appearance."""
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return lambda v: v
    seen = _unique(values)
    return lambda v: seen.index(v)
