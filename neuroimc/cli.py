"""The ``neuroimc`` command line.

::

    neuroimc validate [--device CARD]... [--case CASE]... [--seed N] [--duration 1s]
                      [--out out/validate] [--json] [--quiet]
    neuroimc sweep FILE [--seeds N] [--scheduler local|serial|ADDRESS] ...
    neuroimc demo NAME [--device CARD]... [--seed N] [--out DIR] [--json] [--quiet] [-- SCRIPT_ARGS...]
    neuroimc bench {engine,vs-brian2} [options] [-- SCRIPT_ARGS...]

Each subcommand registers itself through one function
``add_<name>_parser(subparsers)`` listed in :data:`SUBCOMMANDS`: it adds its
parser (using :func:`add_common_options`, so that every subcommand spells
``--device --seed --json --quiet --out --duration`` the same way) and sets
``func``, which takes the parsed arguments and returns the exit status
(0 success, 1 a check failed, 2 bad usage).  Subcommands import their heavy
dependencies (Brian2, ...) only when they run, so ``neuroimc --help`` is quick.
A subcommand that sets ``accepts_extra=True`` receives the arguments after
``--`` as ``args.extra`` (``demo`` and ``bench`` hand them to their script).
"""
import argparse
import json
import re
import sys

from . import __version__
from .devices import available_devices

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|ms)?\s*$")


def parse_duration(text):
    """``"1"``, ``"1s"``, ``"0.5 s"``, ``"200ms"`` -> seconds (float > 0)."""
    m = _DURATION.match(str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"duration must be a number of seconds, optionally with s or ms, got {text!r}")
    value = float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1.0)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"duration must be > 0, got {text!r}")
    return value


def add_common_options(parser, out, duration=1.0, device=True):
    """The options every subcommand shares, with one spelling and meaning.

    ``out``: default report folder; ``duration``: default simulated seconds;
    ``device``: whether the subcommand takes ``--device`` (repeatable; default
    all cards).
    """
    if device:
        cards = available_devices()
        parser.add_argument(
            "--device", action="append", choices=cards, metavar="CARD",
            help=f"device card (repeatable; default: all cards: {', '.join(cards)})",
        )
    parser.add_argument("--seed", type=int, default=1, help="seed of every network and random draw (default 1)")
    parser.add_argument(
        "--duration", type=parse_duration, default=duration,
        help=f"simulated time per run, seconds or with a unit: 1s, 200ms (default {duration:g} s)",
    )
    parser.add_argument("--out", default=out, help=f"folder for the report and figures (default {out})")
    parser.add_argument("--json", action="store_true", help="print machine-readable results (JSON) on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bars and no summary")


# --------------------------------------------------------------------------- validate
#: the cases of neuroimc.brian.validate (spelled here so that --help does not import Brian2)
VALIDATION_CASES = ("feedforward", "recurrent_ei", "devices", "stdp")


def add_validate_parser(subparsers):
    p = subparsers.add_parser(
        "validate",
        help="compare neuroimc with Brian2 on reference networks and write a report",
        description=(
            "Run the validation suite: a feed-forward network, a recurrent E/I network (CUBA topology) and the "
            "feed-forward network on every device card, each against its Brian2 twin.  Writes report.md, "
            "results.json and one PNG per case.  Exit status 1 if a check fails."
        ),
    )
    add_common_options(p, out="out/validate")
    p.add_argument(
        "--case", action="append", choices=VALIDATION_CASES,
        help="run only this case (repeatable; default all)",
    )
    p.set_defaults(func=run_validate)


def run_validate(args):
    try:
        from .brian import run_suite
    except ImportError as exc:
        print(f"neuroimc validate: {exc}", file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"neuroimc validate: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2
    cases = None if args.case is None else list(dict.fromkeys(args.case))
    devices = None if args.device is None else list(dict.fromkeys(args.device))
    suite = run_suite(
        out=args.out, devices=devices, seed=args.seed, duration=args.duration, cases=cases, progress=not args.quiet
    )
    if args.json:
        with open(suite.results) as fh:  # exactly what results.json holds
            print(json.dumps(json.load(fh), indent=2))
    elif not args.quiet:
        for case in suite.cases:
            c = case.comparison
            div = "none" if c.first_divergence is None else f"{c.first_divergence * 1e3:.1f} ms"
            print(
                f"{'pass' if case.passed else 'FAIL'}  {case.name:<22} matched {100 * c.matched_fraction:8.3f} %  "
                f"first divergence {div}"
            )
        print(f"report: {suite.report}")
    return 0 if suite.passed else 1


# --------------------------------------------------------------------------- main
from .scripts import add_bench_parser, add_demo_parser  # noqa: E402
from .sweep.command import add_sweep_parser  # noqa: E402  (importing it does not import dask)

#: one registration function per subcommand
SUBCOMMANDS = (add_validate_parser, add_sweep_parser, add_demo_parser, add_bench_parser)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="neuroimc", description="Spiking neural networks on memristive crossbars: command-line tools."
    )
    parser.add_argument("--version", action="version", version=f"neuroimc {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``neuroimc`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "--" in argv:
        # split by hand: argparse's own handling of "--" after options is unreliable
        cut = argv.index("--")
        args = parser.parse_args(argv[:cut])
        if getattr(args, "accepts_extra", False):
            args.extra = argv[cut + 1:]
            return args.func(args)
        args = parser.parse_args(argv)  # other subcommands: "--" keeps argparse's meaning
    else:
        args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
