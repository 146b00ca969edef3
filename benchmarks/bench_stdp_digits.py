"""Training time of one pass of Diehl & Cook (2015) over MNIST: neuroimc against Brian2 (issue #4).

The network is ``neuroimc.diehl_cook.DiehlCook2015`` (784 Poisson inputs, N
excitatory neurons with adaptive thresholds learning by triplet STDP, N
inhibitory neurons); training is ``model.present(images, learn=True)``: per
image, synaptic scaling of each neuron's input weights, a 350 ms Poisson
presentation, 150 ms of rest, and a re-presentation with a higher rate if the
network drew fewer than 5 spikes.  Brian2 runs the same network
(``_dc_brian2.py``, every parameter read from the neuroimc object by
``_dc_params.py``) in two forms:

* **loop**: runtime target (cython, or numpy without Cython) with a Python loop
  over images: the protocol exactly;
* **standalone**: cpp_standalone with the whole subset as one compiled run
  (rates from a TimedArray, scaling by a summed variable and run_regularly);
  no re-presentation, so a lower bound for Brian2.

Every part runs in a fresh worker process (``_worker.py``).  Timed subsets
are extrapolated to one pass of the training set (``s / image x 60000``) and
the JSON says so (``basis``); ``--full`` times neuroimc's whole pass directly.
Whether the Brian2 network is the same is checked twice (``_dc_stats.py``):
Brian2 replays neuroimc's recorded input spikes of a few images (the
excitatory spikes must be identical), and the timed Poisson runs are compared
by their spikes per image and mean thresholds, paired image by image.

    python benchmarks/bench_stdp_digits.py               # N=400 subsets, extrapolated (about 6 min)
    python benchmarks/bench_stdp_digits.py --full        # plus neuroimc's full pass, timed (minutes more)
    python benchmarks/bench_stdp_digits.py --quick       # smoke run: N=10, a few images

Outputs: JSON (``--out``, default benchmarks/results/stdp_digits.json) and a
markdown table beside it (also printed).
"""
import argparse
import datetime
import importlib.util
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _dc_params  # noqa: E402
import _dc_report  # noqa: E402
import _dc_stats  # noqa: E402
from _worker import launch  # noqa: E402

SCHEMA = "neuroimc-bench-stdp-digits/1"
#: issue #4: one full pass of N = 400 in at most 8 minutes (a third of Brian2's best measured there), aim 4
BAR = {"neurons": 400, "bar_min": 8.0, "aim_min": 4.0}
DEFAULTS = dict(neurons=400, images_neuroimc=2000, warmup_neuroimc=20, images_brian2=40, images_standalone=200,
                replay_images=3)
QUICK = dict(neurons=10, images_neuroimc=20, warmup_neuroimc=2, images_brian2=2, images_standalone=4,
             replay_images=2)
#: Brian2's loop form: images shown before the timed ones (the first generates and compiles the code)
BRIAN2_WARMUP = 1

MEASURED = {
    "s_per_image": "wall-clock time of the timed images / their number (time.perf_counter in the worker; the "
                   "standalone binary's own std::chrono clock around network.run)",
    "full_pass_min": "s_per_image x images per pass / 60; basis 'measured' only for neuroimc with --full",
    "neuroimc": "model.present(images, learn=True) on the images after the warm-up ones, same model; the warm-up "
                "images load numba's cached kernels and pack the network (warmup_s); with --full the kernels are "
                "loaded on a tiny model and the whole pass is one timed present call from the untrained network",
    "brian2_loop": "per image: numpy synaptic scaling of S.w, PoissonGroup rates, net.run(presentation), spike "
                   "count, net.run(rest), re-presentation with +rate_step while fewer than min_spikes; compile_s: "
                   "the first image in a process of its own (code generation and compilation into a fresh cython "
                   "cache unless --cache-dir; compile_modules built); the timed process loads them (its first "
                   "image, warmup_s) and then times the images, including Brian2's preparation of every net.run "
                   "call and the gc.collect() each net.run starts with (gc_s; s_per_image_without_gc leaves it "
                   "out, for reference only)",
    "brian2_standalone": "one network.run over all images; rates from a TimedArray indexed by image (zero during "
                         "the rest); at each image start a summed variable (moved to an image clock) and "
                         "run_regularly scale the input weights; no re-presentation (omits the boost: a lower "
                         "bound for Brian2); codegen_s, compile_s (make) and binary_wall_s reported apart; "
                         "single-threaded (openmp_threads 0)",
    "ratios": "neuroimc s_per_image / Brian2 s_per_image (below 1: neuroimc is faster); *_cpu: the same with "
              "CPU times (steadier on a shared machine; Brian2 runs on one thread, neuroimc's training on two where "
              "two cores are usable: a second one applies logged potentiation in the background, its CPU time "
              "counted)",
    "cpu_share": "run_cpu_s / run_wall_s of a timed part: below 1 it waited for a core; load averages (1 min) "
                 "before and after each part are in load_average_before/after",
}


# ---------------------------------------------------------------------------------- options
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--neurons", type=int, help=f"N excitatory (= inhibitory) neurons (default {DEFAULTS['neurons']})")
    ap.add_argument("--images-neuroimc", type=int,
                    help=f"neuroimc's timed images (default {DEFAULTS['images_neuroimc']}; ignored with --full)")
    ap.add_argument("--warmup-neuroimc", type=int,
                    help=f"neuroimc's untimed images before them (default {DEFAULTS['warmup_neuroimc']})")
    ap.add_argument("--images-brian2", type=int, help="timed images of Brian2's loop form, after "
                    f"{BRIAN2_WARMUP} warm-up image (default {DEFAULTS['images_brian2']})")
    ap.add_argument("--images-standalone", type=int,
                    help=f"images of Brian2's standalone run (default {DEFAULTS['images_standalone']})")
    ap.add_argument("--replay-images", type=int,
                    help=f"images of the replay checks (default {DEFAULTS['replay_images']})")
    ap.add_argument("--seed", type=int, default=1, help="seed of the network (weights, Poisson inputs)")
    ap.add_argument("--full", action="store_true", help="time neuroimc's full pass over the training set directly")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: " + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    ap.add_argument("--brian2-runtime", choices=("auto", "cython", "numpy"), default="auto",
                    help="runtime target of Brian2's loop form (auto: cython if Cython is installed)")
    ap.add_argument("--data", default=None, help="MNIST folder (default: $NEUROIMC_DATA/mnist, see load_mnist)")
    ap.add_argument("--cache-dir", default=None, help="keep the cython cache and standalone projects here (reruns "
                    "then compile little; default: a fresh temporary folder, so compile times are cold builds)")
    ap.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds allowed to each part")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "stdp_digits.json"), help="JSON result path")
    ap.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    args = ap.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key, default in base.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    lows = dict(neurons=2, images_neuroimc=1, warmup_neuroimc=0, images_brian2=1, images_standalone=1,
                replay_images=1)
    for key, low in lows.items():
        if getattr(args, key) < low:
            ap.error(f"--{key.replace('_', '-')} must be >= {low}, got {getattr(args, key)}")
    longest = min(args.images_brian2 + BRIAN2_WARMUP, args.images_standalone)
    if args.replay_images > longest:
        ap.error(f"--replay-images must be at most min(--images-brian2 + {BRIAN2_WARMUP}, --images-standalone) = "
                 f"{longest} (the replays are the first images of the compared runs), got {args.replay_images}")
    if args.timeout <= 0:
        ap.error(f"--timeout must be positive seconds, got {args.timeout}")
    return args


def runtime_target(choice):
    """The loop form's target: cython when asked or when Cython is importable, else numpy."""
    if choice == "auto":
        return "cython" if importlib.util.find_spec("Cython") is not None else "numpy"
    return choice


# ---------------------------------------------------------------------------------- workers
def plan(args, target, paths, cache, params):
    """The parts, in running order: ``(key, description, spec)``."""
    base = dict(n_input=params["n_input"], n_neurons=args.neurons, seed=args.seed, params=params,
                w0_path=paths["w0"], images_path=paths["images"])
    n_loop = args.images_brian2 + BRIAN2_WARMUP
    tag = f"N{args.neurons}-seed{args.seed}"
    return [
        ("neuroimc_stats", f"neuroimc: per-image records of {n_loop} + {args.images_standalone} images, replays",
         dict(base, kind="neuroimc", mode="stats", n_protocol=n_loop, n_no_boost=args.images_standalone,
              n_replay=args.replay_images, record_protocol_path=paths["record_protocol"],
              record_no_boost_path=paths["record_no_boost"])),
        ("brian2_loop_compile", f"Brian2 {target} loop: code generation and compilation (one image)",
         dict(base, kind="brian2", form="loop", target=target, cython_cache=os.path.join(cache, "cython"),
              n_warmup=1, n_images=0)),
        ("brian2_loop", f"Brian2 {target} loop: {BRIAN2_WARMUP} + {args.images_brian2} images",
         dict(base, kind="brian2", form="loop", target=target, cython_cache=os.path.join(cache, "cython"),
              n_warmup=BRIAN2_WARMUP, n_images=args.images_brian2)),
        ("replay_loop", f"Brian2 {target} loop replaying neuroimc's input ({args.replay_images} images)",
         dict(base, kind="brian2", form="loop", target=target, cython_cache=os.path.join(cache, "cython"),
              n_warmup=0, n_images=args.replay_images, replay_path=paths["record_protocol"],
              state_path=paths["state_loop"])),
        ("brian2_standalone", f"Brian2 cpp_standalone: build, compile, run {args.images_standalone} images",
         dict(base, kind="brian2", form="standalone", n_images=args.images_standalone,
              project_dir=os.path.join(cache, f"standalone-{tag}-{args.images_standalone}"))),
        ("replay_standalone", f"Brian2 cpp_standalone replaying neuroimc's input ({args.replay_images} images)",
         dict(base, kind="brian2", form="standalone", n_images=args.replay_images,
              replay_path=paths["record_no_boost"], state_path=paths["state_standalone"],
              project_dir=os.path.join(cache, f"standalone-replay-{tag}-{args.replay_images}"))),
        ("neuroimc", "neuroimc: full pass" if args.full else
         f"neuroimc: {args.warmup_neuroimc} + {args.images_neuroimc} images",
         dict(base, kind="neuroimc", mode="time", full=args.full, n_warmup=args.warmup_neuroimc,
              n_images=args.images_neuroimc)),
    ]


# ---------------------------------------------------------------------------------- results
def machine_info():
    import bench_vs_brian2

    return bench_vs_brian2.machine_info()


def add_pass(entry, pass_images, basis):
    """One pass's time from the timed subset (``basis``: measured or extrapolated)."""
    if "error" in entry:
        return entry
    entry["full_pass_min"] = entry["s_per_image"] * pass_images / 60.0
    entry["basis"] = basis
    # below 1: the process waited for a core (the machine is shared) -- the CPU time is then the steadier figure
    entry["cpu_share"] = entry["run_cpu_s"] / entry["run_wall_s"]
    entry["cpu_s_per_image"] = entry["run_cpu_s"] / entry["images"]
    return entry


def same_network(parts, params, paths):
    """Replay and statistics checks (see _dc_stats)."""
    out = {}
    sched = params["schedule"]
    period = sched["presentation"] + sched["rest"]
    n = params["n_neurons"]
    for key, record, state in (("replay_loop", "record_protocol", "state_loop"),
                               ("replay_standalone", "record_no_boost", "state_standalone")):
        if "error" in parts[key] or "error" in parts["neuroimc_stats"]:
            out[key] = {"error": "a part failed"}
            continue
        with np.load(paths[record]) as ref, np.load(paths[state]) as b2:
            out[key] = _dc_stats.replay(ref, b2)
    stats = parts["neuroimc_stats"]
    for key, part, protocol, count in (("statistics_loop", "brian2_loop", "protocol", "accepted_spikes"),
                                       ("statistics_standalone", "brian2_standalone", "no_boost",
                                        "first_presentation_spikes")):
        b = parts[part]
        if "error" in b or "error" in stats:
            out[key] = {"error": "a part failed"}
            continue
        ours = stats[protocol]
        theirs = b["per_image"]
        what = ("excitatory spikes of the accepted presentation" if protocol == "protocol"
                else "excitatory spikes of the (only) presentation")
        b_attempts = theirs.get("attempts", [1] * len(theirs["total_spikes"]))
        durations = (ours["simulated_s"], float(np.sum(b_attempts)) * period)
        out[key] = {
            "spikes": _dc_stats.paired(ours["per_image"]["accepted_spikes"], theirs[count], what),
            "theta": _dc_stats.theta_comparison(ours["theta_mean_v"], b["theta_mean_v"],
                                                ours["per_image"]["total_spikes"], theirs["total_spikes"],
                                                params["exc"], n, durations),
        }
        if protocol == "protocol":
            out[key]["presentations"] = _dc_stats.paired(ours["per_image"]["attempts"], theirs["attempts"],
                                                         "presentations per image")
    verdicts = []
    for key, v in out.items():
        if "error" in v:
            verdicts.append(None)
        elif key.startswith("replay"):
            verdicts.append(v["agree"])
        else:
            verdicts += [v["spikes"]["agree"], v["theta"]["agree"], v["theta"]["identity"]["neuroimc"]["agree"],
                         v["theta"]["identity"]["brian2"]["agree"]]
    out["agree"] = False if False in verdicts else (None if None in verdicts else True)
    out["how"] = _dc_stats.__doc__
    return out


def summarise(result, parts, args):
    n_pass = result["pass_images"]
    ni = add_pass(parts["neuroimc"], n_pass, "measured" if args.full else
                  f"extrapolated from {args.images_neuroimc} images")
    loop = add_pass(parts["brian2_loop"], n_pass, f"extrapolated from {args.images_brian2} images")
    compiled = parts["brian2_loop_compile"]
    if "error" not in loop:
        loop["compile_s"] = None if "error" in compiled else compiled["warmup_s"]
        loop["compile_modules"] = None if "error" in compiled else compiled["compiled_modules"]
    sa = add_pass(parts["brian2_standalone"], n_pass, f"extrapolated from {args.images_standalone} images")
    if "error" not in sa:
        sa["omits_boost"] = True
    result.update(neuroimc=ni, brian2_loop=loop, brian2_standalone=sa)
    ratios = {}
    for key, b in (("brian2_loop", loop), ("brian2_standalone", sa)):
        if "error" not in ni and "error" not in b:
            ratios[f"neuroimc_over_{key}"] = ni["s_per_image"] / b["s_per_image"]
            ratios[f"speedup_over_{key}"] = b["s_per_image"] / ni["s_per_image"]
            ratios[f"neuroimc_over_{key}_cpu"] = ni["cpu_s_per_image"] / b["cpu_s_per_image"]
    result["ratios"] = ratios
    minutes = None if "error" in ni else ni["full_pass_min"]
    applies = args.neurons == BAR["neurons"]
    judged = minutes is not None and applies  # the bar is set for one network size only
    result["bar"] = dict(BAR, applies=applies, neuroimc_pass_min=minutes,
                         basis=None if minutes is None else ("measured" if args.full else "extrapolated"),
                         bar_met=minutes <= BAR["bar_min"] if judged else None,
                         aim_met=minutes <= BAR["aim_min"] if judged else None)


def spikes_side_by_side(result):
    """Mean excitatory spikes per image of every run, side by side (from the records above)."""
    same, ni = result["same_network"], result["neuroimc"]
    out = {"neuroimc timed subset, accepted presentation": None if "error" in ni else ni["accepted_spikes_per_image"]}
    for key, label in (("statistics_loop", "protocol with re-presentation, accepted presentation"),
                       ("statistics_standalone", "one presentation per image")):
        s = same.get(key, {})
        if "error" not in s:
            sp = s["spikes"]
            out[f"first {sp['images']} images, {label}"] = {"neuroimc": sp["mean_neuroimc"], "brian2": sp["mean_brian2"]}
    return out


def main(argv=None):
    args = parse_args(argv)
    from tqdm.auto import tqdm

    import neuroimc as ni
    from neuroimc._io import write_atomic, write_json
    from neuroimc.diehl_cook import DiehlCook2015

    images, _ = ni.datasets.load_mnist(args.data, split="train", progress=args.progress)
    pass_images = len(images)
    needed = pass_images if args.full else args.warmup_neuroimc + args.images_neuroimc
    needed = max(needed, args.images_brian2 + BRIAN2_WARMUP, args.images_standalone)
    if needed > pass_images:
        raise SystemExit(f"the benchmark needs {needed} images, MNIST's training set has {pass_images}")
    model = DiehlCook2015(int(np.prod(images.shape[1:])), args.neurons, seed=args.seed)
    params, w0 = _dc_params.describe(model)
    target = runtime_target(args.brian2_runtime)
    result = {
        "schema": SCHEMA,
        "benchmark": f"training time of one pass of Diehl & Cook (2015), N = {args.neurons}, over MNIST's "
                     f"{pass_images} training images (neuroimc.diehl_cook.DiehlCook2015.present, learn=True)",
        "command": [os.path.basename(sys.argv[0])] + list(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "load_average_start": list(os.getloadavg()),
        "note": "measured on a machine shared with other work (see the load averages); Brian2's passes are "
                "extrapolated from measured subsets, neuroimc's too unless basis is 'measured'",
        "options": {k: getattr(args, k) for k in ("neurons", "images_neuroimc", "warmup_neuroimc", "images_brian2",
                                                  "images_standalone", "replay_images", "seed", "full", "quick")},
        "brian2_loop_target": target,
        "brian2_loop_target_why": ("Cython is installed" if target == "cython" and args.brian2_runtime == "auto"
                                   else ("Cython is not installed" if args.brian2_runtime == "auto"
                                         else "asked for (--brian2-runtime)")),
        "pass_images": pass_images,
        "network": params,
        "measured": MEASURED,
    }
    workdir = tempfile.mkdtemp(prefix="bench-stdp-digits-")
    try:
        cache = os.path.abspath(args.cache_dir) if args.cache_dir else os.path.join(workdir, "cache")
        os.makedirs(cache, exist_ok=True)
        paths = {k: os.path.join(workdir, f"{k}.npy") for k in ("w0", "images")}
        paths.update({k: os.path.join(workdir, f"{k}.npz") for k in ("record_protocol", "record_no_boost",
                                                                     "state_loop", "state_standalone")})
        np.save(paths["w0"], w0)
        np.save(paths["images"], images[:needed])
        parts = {}
        stages = plan(args, target, paths, cache, params)
        for k, (key, what, spec) in enumerate(stages):
            tqdm.write(f"[{k + 1}/{len(stages)}] {what}", file=sys.stderr)
            load0 = os.getloadavg()[0]
            parts[key] = launch(spec, "dc", args.timeout, workdir, args.progress)
            parts[key].update(load_average_before=load0, load_average_after=os.getloadavg()[0])
            if "error" in parts[key]:
                tqdm.write(f"FAILED {key}: {parts[key]['error']}\n{parts[key].get('log_tail', '')}", file=sys.stderr)
        summarise(result, parts, args)
        result["same_network"] = same_network(parts, params, paths)
        result["spikes_per_image"] = spikes_side_by_side(result)
        result["neuroimc_stats"] = parts["neuroimc_stats"]
        result["other_parts"] = {k: parts[k] for k in ("brian2_loop_compile", "replay_loop", "replay_standalone")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    result["load_average_end"] = list(os.getloadavg())
    result["failed_parts"] = [k for k, v in parts.items() if "error" in v]
    write_json(args.out, result)
    table = _dc_report.markdown(result)
    md_path = os.path.splitext(args.out)[0] + ".md"
    write_atomic(md_path, table)
    print(table)
    print(f"wrote {args.out}, {md_path}")
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["failed_parts"] else 0)
