"""``neuroimc sweep FILE``: run a sweep file from the command line.

Wiring into the main command line is one line in ``neuroimc/cli.py``::

    sweep.add_sweep_parser(subparsers)      # sets args.func = run_sweep_command

after which ``sys.exit(args.func(args))`` runs it.  Standalone:
``python -m neuroimc.sweep FILE``.

Outputs go to ``--out`` (default ``out/sweeps/<file stem>``): ``results.csv``,
``results.json``, ``plot.png`` if the file has a ``[plot]`` table, and
``cache/`` with one file per task, so running the same command again after
an interruption only runs the missing tasks.

Exit status: 0 when every task succeeded, 1 when some failed (they are listed),
2 for a bad sweep file or option.
"""
import argparse
import json
import os
import sys

from .runner import DEFAULT_WORKERS, sweep
from .spec import load_spec


def add_sweep_parser(subparsers):
    """Add the ``sweep`` sub-command to an ``argparse`` sub-parser set; returns its parser."""
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep over chip instances (Dask)",
        description="Run a sweep file (TOML/YAML): a function over a parameter grid times chip seeds, "
        "on a local Dask cluster by default. Finished tasks are cached; rerun to resume.",
    )
    configure_parser(p)
    return p


def configure_parser(p):
    """The sweep options on parser ``p`` (shared by the sub-command and ``python -m neuroimc.sweep``)."""
    p.add_argument("file", help="sweep file, .toml or .yaml (keys: function, seeds, grid, fixed, plot)")
    p.add_argument("--out", help="output folder (default out/sweeps/<file stem>)")
    p.add_argument("--seed", type=int, help="first chip seed (seeds SEED..SEED+n-1), overrides the file's seed")
    p.add_argument("--seeds", type=int, help="number of chip seeds, overrides the file's seeds")
    p.add_argument("--device", help="device card passed to every task as parameter 'device' (overrides the file)")
    p.add_argument("--scheduler", default="local",
                   help="'local' (a LocalCluster, default), 'serial' (in-process) or a scheduler address")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="worker processes of the local cluster")
    p.add_argument("--no-cache", action="store_true", help="do not read or write per-task cache files")
    p.add_argument("--keep-failed", action="store_true", help="do not rerun tasks whose cached record is a failure")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout instead of text")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only errors")
    p.set_defaults(func=run_sweep_command)
    return p


def run_sweep_command(args):
    """Run the sweep described by parsed ``args``; returns the exit status."""
    try:
        spec = _spec_with_overrides(args)
    except (ValueError, TypeError, ImportError) as exc:
        print(f"neuroimc sweep: error: {exc}", file=sys.stderr)
        return 2
    out = args.out or os.path.join("out", "sweeps", os.path.splitext(os.path.basename(args.file))[0])
    try:
        result = sweep(
            spec["function"],
            spec["grid"],
            spec["seeds"],
            cache=None if args.no_cache else os.path.join(out, "cache"),
            scheduler=args.scheduler,
            workers=args.workers,
            name=spec["name"] or spec["function_ref"],
            retry_failed=not args.keep_failed,
            progress=not args.quiet and not args.json,
        )
    except (ValueError, TypeError) as exc:
        print(f"neuroimc sweep: error: {exc}", file=sys.stderr)
        return 2
    files = {"csv": result.to_csv(os.path.join(out, "results.csv")),
             "json": result.to_json(os.path.join(out, "results.json"))}
    plot_error = None
    if spec["plot"] and result.ok:
        try:
            files["plot"] = _save_plot(result, spec["plot"], os.path.join(out, "plot.png"))
        except (ValueError, TypeError) as exc:  # e.g. plot.y names no metric: the table is still written
            plot_error = str(exc)
    _report(result, files, plot_error, args)
    return 1 if result.failed else 0


def _spec_with_overrides(args):
    spec = load_spec(args.file)
    if args.seeds is not None or args.seed is not None:
        # a count of seeds starting at a first seed; each defaults to the file's
        n = len(spec["seeds"]) if args.seeds is None else args.seeds
        first = spec["seeds"][0] if args.seed is None else args.seed
        if n < 1:
            raise ValueError(f"--seeds must be >= 1, got {n}")
        if first < 0:
            raise ValueError(f"--seed must be >= 0, got {first}")
        spec["seeds"] = list(range(first, first + n))
    if args.device is not None:
        spec["grid"] = {**spec["grid"], "device": [args.device]}
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    return spec


def _save_plot(result, plot, path):
    ax = result.plot(plot["x"], plot["y"], hue=plot.get("hue"), percentiles=plot["percentiles"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ax.figure.savefig(path, dpi=120)
    return path


def _report(result, files, plot_error, args):
    failures = [
        {**{p: r[p] for p in result.params}, "seed": r["seed"], "error_type": r["error_type"], "error": r["error"]}
        for r in result.failed
    ]
    summary = {
        "tasks": len(result),
        "ok": len(result.ok),
        "failed": len(result.failed),
        "cached": result.n_cached,
        "run": result.n_run,
        "wall_s": round(result.wall_s, 3),
        "files": files,
        "failures": failures,
    }
    if plot_error:
        summary["plot_error"] = plot_error
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    if plot_error:
        print(f"neuroimc sweep: plot not made: {plot_error}", file=sys.stderr)
    for f in failures[:5]:
        print(f"neuroimc sweep: task failed {f}", file=sys.stderr)
    if len(failures) > 5:
        print(f"neuroimc sweep: ... and {len(failures) - 5} more failures (see {files['csv']})", file=sys.stderr)
    if args.quiet:
        return
    print(f"{summary['tasks']} tasks: {summary['ok']} ok, {summary['failed']} failed; "
          f"{summary['cached']} from cache, {summary['run']} run; {summary['wall_s']} s")
    for kind, path in files.items():
        print(f"{kind:>5}: {path}")


def main(argv=None):
    """``python -m neuroimc.sweep FILE [options]``."""
    p = configure_parser(argparse.ArgumentParser(prog="python -m neuroimc.sweep", description=__doc__.splitlines()[0]))
    args = p.parse_args(argv)
    return args.func(args)


__all__ = ["add_sweep_parser", "run_sweep_command", "main"]
