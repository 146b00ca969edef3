"""neuroimc against Brian2 (cython and C++ standalone) on the same network.

The network (``_bench_net.py``): n_in Poisson inputs at 20 Hz -> all-to-all
crossbar -> n_out LIF neurons, dt = 0.1 ms, exact integration, weights
``w ~ U(0, 1)`` from ``default_rng(weight_seed)`` scaled to a mean drive of
16 mV; optionally with pair-based additive STDP.

Every measurement runs in its own process (``_worker.py``); for each size the
simulators alternate, in a rotated order on each repetition.  What exactly is
timed for each target is written into the JSON (``measured``) and into
``docs/performance.md``: in short, the simulation loop alone, with code
generation, compilation, numba's first-call compile and building the network
reported separately.

Outputs: JSON (``--out``), a markdown table and a scaling plot beside it.

    python benchmarks/bench_vs_brian2.py                       # full run (long)
    python benchmarks/bench_vs_brian2.py --quick               # smoke run, small sizes
    python benchmarks/bench_vs_brian2.py --sizes 1000x1000,4000x1000 --duration 1 --repeat 3 \\
        --targets neuroimc,cython,cpp_standalone --stdp
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from tqdm.auto import tqdm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _bench_net as bn  # noqa: E402
import _bench_report as report  # noqa: E402
from _worker import launch  # noqa: E402

TARGETS = ("neuroimc", "cython", "cpp_standalone", "numpy")
DEFAULT_TARGETS = "neuroimc,cython,cpp_standalone"
DEFAULT_SIZES = "1000x100,1000x1000,4000x1000,8000x2000,16000x4000"
STDP_DEFAULT_MAX_SYNAPSES = 4_000_000
QUICK = dict(sizes="250x50,1000x100", duration="0.5", repeat=2)
SCHEMA = "neuroimc-bench-vs-brian2/1"

MEASURED = {
    "run_wall_s": "wall-clock time of the simulation loop alone (see per-target entries)",
    "neuroimc": (
        "time.perf_counter around net.run(duration) of a network already packed by net.run(0) (pack_s), "
        "in a worker whose kernels were loaded by a warm-up run of a 10x5 network of the same kind "
        "(warmup_s); setup_s builds the network (weights, crossbar); numba's first-call compile is "
        "'neuroimc_startup'"
    ),
    "cython": (
        "time.perf_counter around net.run(duration) after net.run(0 s), which generated and compiled (or "
        "loaded from the cython cache) every code object (prepare_s, compiled_modules = extension modules "
        "built by it); the timed call still includes Brian2's per-run preparation from caches, measured "
        "alone afterwards as rerun_overhead_s"
    ),
    "numpy": "as cython, with Brian2's numpy target (no compilation)",
    "cpp_standalone": (
        "std::chrono::steady_clock around network.run inside the binary (inserted with device.insert_code), "
        "excluding loading weights, creating synapses and writing results; codegen_s = device.build before "
        "make, compile_s = make (full build on the first run of a configuration, changed files afterwards); "
        "run_cpu_s = Brian2's last_run_info.txt (std::clock of the same loop); peak memory = the binary's VmHWM"
    ),
    "events_per_s": "synaptic events (input spikes x n_out) / run_wall_s",
    "output_rate_hz": "output spikes / (n_out x duration); SE from spike counts in 10 windows per run",
    "rate_check": "|rate - reference rate| <= 4 combined standard errors (reference: neuroimc ideal)",
    "peak_rss_mb": "VmHWM of the process that simulates (worker process; standalone binary); for cython the "
                   "largest over runs that compiled nothing, when there are such runs",
    "bound": "memory-read bound on events/s: single-core read bandwidth streaming an array of the weight "
             "matrix's size and dtype / bytes per weight (neuroimc: its weights' dtype; Brian2: float64)",
    "row_add": "bare numba kernel I += W[row] over the spiking rows of a 20 Hz Bernoulli process: the practical "
               "ceiling of an event-driven loop",
}


# ---------------------------------------------------------------------------------- options
def parse_size_list(name, text):
    sizes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        try:
            n_in, n_out = (int(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a comma-separated list of N_INxN_OUT (e.g. 1000x100), got {item!r}"
            ) from None
        if n_in < 1 or n_out < 1:
            raise argparse.ArgumentTypeError(f"{name}: sizes must be positive, got {item!r}")
        sizes.append((n_in, n_out))
    return sizes


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--sizes", help=f"N_INxN_OUT list (default {DEFAULT_SIZES})")
    ap.add_argument("--duration", help="simulated seconds, comma-separated list (default 1)")
    ap.add_argument("--repeat", type=int, help="repetitions per measurement (default 3)")
    ap.add_argument("--targets", default=DEFAULT_TARGETS, help=f"comma-separated subset of {', '.join(TARGETS)}")
    ap.add_argument("--stdp", dest="stdp", action="store_true", default=True, help="also the STDP variants (default)")
    ap.add_argument("--no-stdp", dest="stdp", action="store_false", help="only the network without plasticity")
    ap.add_argument("--stdp-sizes", help="sizes for the STDP variants (default: the sizes with at most "
                                          f"{STDP_DEFAULT_MAX_SYNAPSES:.0e} synapses)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: sizes {QUICK['sizes']}, {QUICK['duration']} s, {QUICK['repeat']} repetitions "
                         "(explicit --sizes/--duration/--repeat still win)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "bench_vs_brian2.json"),
                    help="JSON path; the .md table and .png plot are written beside it")
    ap.add_argument("--seed", type=int, default=0, help="weight seed (weights identical in every run)")
    ap.add_argument("--precision", choices=("float32", "float64"), default="float32",
                    help="neuroimc's crossbar read-out (float32 agrees on spikes: tests/test_precision.py)")
    ap.add_argument("--threads", type=int, choices=(1, 2), help="neuroimc's Network(threads=) (default: its own, 2 where "
                                                                 "two cores are usable)")
    ap.add_argument("--openmp-threads", type=int, default=0,
                    help="Brian2 cpp_standalone's OpenMP threads (default 0: Brian2's default, one thread)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per measurement")
    ap.add_argument("--cython-cache", help="cython cache folder (default: a fresh one, so compile time is real)")
    ap.add_argument("--no-bandwidth", dest="bandwidth", action="store_false", help="skip the bandwidth measurement")
    ap.add_argument("--dram-mib", type=int, help="size of the DRAM bandwidth probe, MiB "
                                                 "(default: max(512, 16 x LLC); 256 with --quick)")
    ap.add_argument("--no-startup", dest="startup", action="store_false",
                    help="skip numba's first-call compile measurement")
    ap.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: recompute the summary, table and plot from the JSON at --out")
    args = ap.parse_args(argv)

    q = QUICK if args.quick else dict(sizes=DEFAULT_SIZES, duration="1", repeat=3)
    try:
        args.sizes = parse_size_list("--sizes", args.sizes or q["sizes"])
        if args.stdp_sizes:
            args.stdp_sizes = parse_size_list("--stdp-sizes", args.stdp_sizes)
    except argparse.ArgumentTypeError as exc:
        ap.error(str(exc))
    try:
        args.durations = [float(x) for x in (args.duration or q["duration"]).split(",")]
    except ValueError:
        ap.error(f"--duration must be a comma-separated list of seconds, got {args.duration!r}")
    for d in args.durations:
        steps = d / bn.DT
        if d <= 0 or abs(steps - round(steps)) > 1e-6:
            ap.error(f"--duration values must be positive multiples of dt = {bn.DT} s, got {d}")
    args.repeat = q["repeat"] if args.repeat is None else args.repeat
    if args.repeat < 1:
        ap.error(f"--repeat must be >= 1, got {args.repeat}")
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    bad = [t for t in args.targets if t not in TARGETS]
    if bad or not args.targets:
        ap.error(f"--targets must be a comma-separated subset of {', '.join(TARGETS)}, got {bad or args.targets}")
    if not args.stdp_sizes:
        args.stdp_sizes = [s for s in args.sizes if s[0] * s[1] <= STDP_DEFAULT_MAX_SYNAPSES]
    if args.dram_mib is not None and args.dram_mib < 1:
        ap.error(f"--dram-mib must be a positive number of MiB, got {args.dram_mib}")
    if args.openmp_threads < 0:
        ap.error(f"--openmp-threads must be >= 0, got {args.openmp_threads}")
    if args.timeout <= 0:
        ap.error(f"--timeout must be positive seconds, got {args.timeout}")
    return args


# ---------------------------------------------------------------------------------- planning
def jobs_for_size(size, args, features):
    """The measurements of one size, simulators interleaved; plus rows that cannot run yet."""
    n_in, n_out = size
    classes = [bn.STATIC] + (["stdp"] if args.stdp and size in args.stdp_sizes else [])
    jobs, missing = [], []
    for variant in classes:
        for target in args.targets:
            if target == "neuroimc":
                ni_variant = bn.STATIC if variant == bn.STATIC else bn.STDP_NEUROIMC
                for device in ("ideal", "rram_hfox"):
                    needs = [f for f, ok in (("rram_hfox", device == "rram_hfox"), ("stdp", ni_variant != bn.STATIC))
                             if ok and not features[f]]
                    job = dict(kind="neuroimc", target="neuroimc", device=device, variant=ni_variant)
                    (missing if needs else jobs).append(dict(job, missing_features=needs) if needs else job)
            else:
                brian_variants = [bn.STATIC] if variant == bn.STATIC else [bn.STDP_SYNAPSE, bn.STDP_NEURON]
                for v in brian_variants:
                    jobs.append(dict(kind="brian2", target=target, device=None, variant=v))
    for j in jobs + missing:
        j.update(n_in=n_in, n_out=n_out)
    return jobs, missing


def job_key(j, duration):
    return (duration, j["n_in"], j["n_out"], j["target"], j["device"], j["variant"])


# ---------------------------------------------------------------------------------- workers
def machine_info():
    import numba

    import neuroimc as ni

    info = {
        "cpus": os.cpu_count(),
        "cpu_model": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "neuroimc": ni.__version__,
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for mod in ("brian2", "Cython"):
        try:
            info[mod.lower()] = __import__(mod).__version__
        except ImportError:
            info[mod.lower()] = None
    try:
        info["gcc"] = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        info["gcc"] = None
    return info


def features():
    import _neuroimc_nets

    return _neuroimc_nets.features()


# ---------------------------------------------------------------------------------- main
def write_reports(result, out):
    """Summary into the JSON, markdown table and plot beside it."""
    from neuroimc._io import write_json

    stem = os.path.splitext(out)[0]
    result["summary"] = report.summarise(result)
    write_json(out, result)
    report.write_markdown(result, stem + ".md")
    report.write_plot(result, stem + ".png")
    return stem


def main(argv=None):
    args = parse_args(argv)
    from neuroimc._io import write_json

    if args.report_only:
        with open(args.out) as fh:
            result = json.load(fh)
        stem = write_reports(result, args.out)
        print(report.console_table(result))
        print(f"wrote {args.out}, {stem}.md, {stem}.png")
        return result

    feats = features()
    stem = os.path.splitext(args.out)[0]
    result = {
        "schema": SCHEMA,
        "benchmark": "n_in Poisson (20 Hz) -> all-to-all crossbar -> n_out LIF, dt 0.1 ms, exact integration",
        "network": {"dt_s": bn.DT, "rate_hz": bn.RATE, "lif": bn.LIF, "mean_drive_v": bn.MEAN_DRIVE,
                    "stdp": bn.STDP, "weights": f"U(0, 1) from numpy default_rng({args.seed}), x w_scale"},
        "command": [os.path.basename(sys.argv[0])] + list(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "load_average_start": list(os.getloadavg()),
        "note": "Measured on a machine shared with other work; see the load averages per run",
        "options": {"sizes": args.sizes, "durations": args.durations, "repeat": args.repeat,
                    "targets": args.targets, "stdp": args.stdp, "stdp_sizes": args.stdp_sizes,
                    "quick": args.quick, "weight_seed": args.seed, "threads": args.threads,
                    "openmp_threads": args.openmp_threads},
        "features": feats,
        "measured": MEASURED,
        "bandwidth": None,
        "neuroimc_startup": None,
        "runs": [],
        "missing": [],
        "summary": [],
    }

    def save():
        result["summary"] = report.summarise(result)
        write_json(args.out, result)

    workdir = tempfile.mkdtemp(prefix="bench-vs-brian2-")
    try:
        build_root = os.path.join(workdir, "standalone")
        cython_cache = args.cython_cache or os.path.join(workdir, "cython-cache")
        plan = []
        for duration in args.durations:
            for size in args.sizes:
                jobs, missing = jobs_for_size(size, args, feats)
                for m in missing:
                    result["missing"].append(dict(m, duration=duration, status="not available yet"))
                plan.append((duration, size, jobs))
        n_total = sum(len(j) for _, _, j in plan) * args.repeat + args.bandwidth + args.startup
        bar = tqdm(total=n_total, unit="run", desc="bench_vs_brian2", disable=not args.progress)

        if args.startup and "neuroimc" in args.targets:
            import _neuroimc_nets

            bar.set_postfix_str("numba first-call compile")
            result["neuroimc_startup"] = _neuroimc_nets.startup()
        bar.update(args.startup)
        if args.bandwidth:
            bar.set_postfix_str("memory bandwidth")
            spec = {"kind": "bandwidth", "sizes": sorted(set(args.sizes) | set(args.stdp_sizes))}
            if args.dram_mib or args.quick:
                spec["dram_bytes"] = (args.dram_mib or 256) * 1024**2
            if args.quick:
                spec["min_time"] = 0.1
            result["bandwidth"] = launch(spec, "vs", args.timeout, workdir)
            bar.update(1)
        save()

        for duration, (n_in, n_out), jobs in plan:
            for rep in range(args.repeat):
                k = rep % len(jobs) if jobs else 0
                for order, job in enumerate(jobs[k:] + jobs[:k]):  # rotated: no simulator always goes first
                    bar.set_postfix_str(f"{n_in}x{n_out} {job['target']} {job['device'] or ''} {job['variant']}")
                    spec = dict(job, duration=duration, seed=rep, weight_seed=args.seed, cython_cache=cython_cache,
                                precision=args.precision, threads=args.threads, openmp_threads=args.openmp_threads)
                    if job["target"] == "cpp_standalone":
                        spec["project_dir"] = os.path.join(
                            build_root, f"{n_in}x{n_out}_{job['variant']}_{duration:g}s")
                    load0 = os.getloadavg()[0]
                    res = launch(spec, "vs", args.timeout, workdir)
                    res.update({k2: v for k2, v in job.items()},
                               duration=duration, rep=rep, order=order, seed=rep,
                               load_average_before=load0, load_average_after=os.getloadavg()[0])
                    result["runs"].append(res)
                    if "error" in res:
                        tqdm.write(f"FAILED {n_in}x{n_out} {job['target']} {job['variant']}: {res['error']}",
                                   file=sys.stderr)
                    save()
                    bar.update(1)
        bar.close()
        result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        result["load_average_end"] = list(os.getloadavg())
        write_reports(result, args.out)
        print(report.console_table(result))
        print(f"wrote {args.out}, {stem}.md, {stem}.png")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
