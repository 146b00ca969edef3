"""``neuroimc demo NAME`` and ``neuroimc bench NAME``: run the repository's demo and benchmark scripts.

::

    neuroimc demo NAME [--device CARD]... [--seed N] [--duration 1s] [--out DIR] [--quick]
                       [--json] [--quiet] [-- SCRIPT_ARGS...]
    neuroimc bench {engine,vs-brian2} [same options] [-- SCRIPT_ARGS...]

The scripts live in ``demos/`` and ``benchmarks/`` of a repository checkout,
not in the installed package (a wheel holds only ``neuroimc``).  They are
looked for beside the package's source tree (an editable install or a
checkout on ``sys.path``), then in the current working directory (a
non-editable install run from the checkout); if neither holds the script the
command says where it looked.

A script runs in a fresh Python process (``sys.executable SCRIPT ...``), as if
started by hand: scripts that start Dask worker processes need their own
``__main__``.  The shared options are translated into each script's own
spelling where the script has that setting (``--device`` becomes
``--devices a,b`` for the device zoo, ``--quiet`` becomes ``--no-progress``
for the Brian2 benchmark); an option a script does not have is an error that
lists what it does take.  Everything after ``--`` goes to the script
unchanged.  The exit status is the script's.
"""
import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .devices import available_devices


@dataclass(frozen=True)
class Script:
    """One runnable script: its folder and file, what it does, and the shared options it understands.

    ``options`` maps a shared option (``device``, ``seed``, ``duration``,
    ``out``, ``quick``, ``json``, ``quiet``) to the script's own flag.  For
    ``device`` the flag may end in ``s`` (``--devices``): the script then takes
    a comma-separated list, otherwise exactly one card.
    """

    folder: str
    file: str
    summary: str
    options: dict = field(default_factory=dict)


DEMOS = {
    "quickstart": Script("demos", "quickstart.py", "1000 Poisson inputs -> 100 LIF neurons: raster, traces, summary",
                         {"device": "--device", "seed": "--seed", "out": "--out", "quiet": "--quiet"}),
    "device_zoo": Script("demos", "device_zoo.py", "one network on every device card: accuracy, energy, wear plots",
                         {"device": "--devices", "seed": "--seed", "duration": "--duration", "out": "--out",
                          "json": "--json", "quiet": "--quiet"}),
    "brian2_validation": Script("demos", "brian2_validation.py", "neuroimc against its Brian2 twin, both ways",
                                {"device": "--device", "seed": "--seed", "duration": "--duration", "out": "--out",
                                 "quiet": "--quiet"}),
    "stdp_digits": Script("demos", "stdp_digits.py",
                          "Diehl & Cook (2015) unsupervised digits, STDP on the devices: accuracy, wear, energy",
                          {"device": "--device", "seed": "--seed", "out": "--out", "json": "--json",
                           "quiet": "--quiet"}),
    "seed_sweep": Script("demos", "seed_sweep.py", "output rate vs input rate over 32 chips (Dask), with theory",
                         {"device": "--device", "seed": "--seed", "out": "--out", "quiet": "--quiet"}),
    "variability_sweep": Script("demos", "variability_sweep.py",
                                "on-chip STDP fidelity vs write noise and endurance over 32 chips (Dask)",
                                {"seed": "--seed", "out": "--out", "quick": "--quick", "json": "--json",
                                 "quiet": "--quiet"}),
}

BENCHMARKS = {
    "engine": Script("benchmarks", "bench_engine.py", "engine wall time on the dense feed-forward network",
                     {"duration": "--duration", "out": "--out"}),
    "vs-brian2": Script("benchmarks", "bench_vs_brian2.py", "neuroimc vs Brian2 (cython, cpp_standalone), same network",
                        {"seed": "--seed", "duration": "--duration", "out": "--out", "quick": "--quick",
                         "quiet": "--no-progress"}),
}

#: the shared options, in the order they are passed on
SHARED = ("device", "seed", "duration", "out", "quick", "json", "quiet")


class ScriptError(Exception):
    """A script cannot be run as asked (not found, or an option it does not have); exit status 2."""


# --------------------------------------------------------------------------- finding the checkout
def checkout_roots():
    """Folders that may be the repository checkout: beside the package source, then the working directory."""
    roots = [Path(__file__).resolve().parents[1], Path.cwd().resolve()]
    return list(dict.fromkeys(roots))


def locate(script, roots=None):
    """Path of ``script`` in the first checkout root that has it, or ``ScriptError`` naming every place tried."""
    tried = []
    for root in checkout_roots() if roots is None else roots:
        path = Path(root) / script.folder / script.file
        if path.is_file():
            return path
        tried.append(str(path))
    raise ScriptError(
        f"{script.folder}/{script.file} is not available: the {script.folder} ship with the repository checkout, "
        "not with the installed package. Looked for\n  " + "\n  ".join(tried)
        + "\nRun from a clone of the neuroimc repository (pip install -e . there, or cd into it)."
    )


# --------------------------------------------------------------------------- command line
def script_arguments(name, script, args):
    """The script's command-line arguments for the parsed shared options and the pass-through ``args.extra``."""
    # "is", not "in (None, False)": --seed 0 is given (0 == False)
    given = {key: getattr(args, key) for key in SHARED
             if getattr(args, key) is not None and getattr(args, key) is not False}
    unsupported = [key for key in given if key not in script.options]
    if unsupported:
        takes = ", ".join(f"--{key}" for key in SHARED if key in script.options) or "none of them"
        raise ScriptError(
            f"{name}: {', '.join('--' + k for k in unsupported)} not supported by {script.folder}/{script.file} "
            f"(of the shared options it takes {takes}); pass its own options after --"
        )
    argv = []
    for key, value in given.items():
        flag = script.options[key]
        if key == "device":
            cards = list(dict.fromkeys(value))
            if flag.endswith("s"):
                argv += [flag, ",".join(cards)]
                continue
            if len(cards) > 1:
                raise ScriptError(f"{name}: takes one --device, got {len(cards)}: {', '.join(cards)}")
            argv += [flag, cards[0]]
        elif value is True:
            argv.append(flag)
        else:
            argv += [flag, repr(value) if isinstance(value, float) else str(value)]
    return argv + list(getattr(args, "extra", []))


def _add_shared_options(p):
    from .cli import parse_duration  # the one spelling of durations

    cards = available_devices()
    p.add_argument("--device", action="append", choices=cards, metavar="CARD",
                   help=f"device card (repeatable where the script takes several; one of {', '.join(cards)})")
    p.add_argument("--seed", type=int, help="seed (the script's meaning; default the script's own)")
    p.add_argument("--duration", type=parse_duration,
                   help="simulated time per run, seconds or with a unit: 1s, 200ms (default the script's own)")
    p.add_argument("--out", help="output folder or file (default the script's own)")
    p.add_argument("--quick", action="store_true", help="the script's small smoke-run setting")
    p.add_argument("--json", action="store_true", help="the script prints machine-readable results (JSON)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (and, where the script can, no summary)")


def _catalogue(table, shown):
    width = max(len(n) for n in table)
    lines = []
    for n, s in table.items():
        takes = ", ".join("--" + k for k in SHARED if k in s.options) or "none"
        lines += [f"  {n:<{width}}  {s.summary}", f"  {'':<{width}}  ({s.folder}/{s.file}; takes {takes})"]
    return f"{shown}:\n" + "\n".join(lines) + \
        "\n\nArguments after -- go to the script unchanged; see its own options with: ... NAME -- --help"


def add_demo_parser(subparsers):
    p = subparsers.add_parser(
        "demo", help="run one of the repository's demos (demos/*.py)",
        usage="neuroimc demo NAME [options] [-- SCRIPT_ARGS ...]",
        description="Run a demo script of the repository checkout in a fresh Python process.",
        epilog=_catalogue(DEMOS, "demos"), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", choices=list(DEMOS), metavar="NAME", help=f"one of: {', '.join(DEMOS)}")
    _add_shared_options(p)
    p.set_defaults(func=run_demo, accepts_extra=True, extra=[])
    return p


def add_bench_parser(subparsers):
    p = subparsers.add_parser(
        "bench", help="run one of the repository's benchmarks (benchmarks/bench_*.py)",
        usage="neuroimc bench {engine,vs-brian2} [options] [-- SCRIPT_ARGS ...]",
        description="Run a benchmark script of the repository checkout in a fresh Python process. "
        "Without --out the benchmarks write into benchmarks/results/ of the checkout.",
        epilog=_catalogue(BENCHMARKS, "benchmarks"), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", choices=list(BENCHMARKS), metavar="NAME", help=f"one of: {', '.join(BENCHMARKS)}")
    _add_shared_options(p)
    p.set_defaults(func=run_bench, accepts_extra=True, extra=[])
    return p


def run_demo(args):
    return _run("demo", DEMOS, args)


def run_bench(args):
    return _run("bench", BENCHMARKS, args)


def _run(command, table, args):
    script = table[args.name]
    try:
        path = locate(script)
        argv = script_arguments(args.name, script, args)
    except ScriptError as exc:
        print(f"neuroimc {command}: error: {exc}", file=sys.stderr)
        return 2
    cmd = [sys.executable, str(path), *argv]
    if not args.quiet:
        print("neuroimc " + command + ": running " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    try:
        return subprocess.run(cmd, env=os.environ.copy()).returncode
    except KeyboardInterrupt:  # the script got the same Ctrl-C; report it the shell's way
        return 130


__all__ = ["BENCHMARKS", "DEMOS", "Script", "ScriptError", "add_bench_parser", "add_demo_parser", "locate",
           "run_bench", "run_demo", "script_arguments"]
