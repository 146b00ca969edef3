"""Engine benchmark: dense feed-forward network, Poisson inputs -> LIF, ideal crossbar.

n_in Poisson inputs at 20 Hz -> all-to-all crossbar -> n_out LIF neurons,
dt = 0.1 ms, 1 s, exact integration; weights w ~ U(0, 1) * w_scale with
w_scale = 16 mV / (R * 0.5 * n_in * rate * tau_syn) (mean drive 16 mV).

Writes JSON with, per size, the wall time of the run (best and median of
several repetitions), synaptic events per second and the output rate, plus the
numba compile time of the first call (measured in a fresh process with an empty
kernel cache) and the start-up time of a process with cached kernels.

    python benchmarks/bench_engine.py [--sizes 1000x100,1000x1000,4000x1000] [--repeat 3]
                                      [--out benchmarks/results/bench_engine.json]
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

import neuroimc as ni
from neuroimc._io import write_json
from neuroimc.units import Hz, Mohm, mV, ms, second

RATE = 20 * Hz
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms,
           tau_syn=5 * ms, r_m=100 * Mohm)


def build(n_in, n_out, seed=0):
    net = ni.Network(dt=0.1 * ms, seed=seed)
    src = net.add(ni.PoissonSource(n_in, rate=RATE))
    pop = net.add(ni.LIFPopulation(n_out, **LIF))
    w_scale = 16 * mV / (LIF["r_m"] * 0.5 * n_in * RATE * LIF["tau_syn"])
    W = np.random.default_rng(seed).uniform(0, 1, (n_in, n_out)) * w_scale
    net.connect(src, pop, ni.Crossbar.from_weights(W, device="ideal", w_max=w_scale))
    return net, net.monitor_spikes(pop)


def time_run(n_in, n_out, duration, seed):
    net, spikes = build(n_in, n_out, seed)
    t0 = time.perf_counter()
    net.run(duration, progress=False)
    wall = time.perf_counter() - t0
    return wall, net.synaptic_events, len(spikes) / n_out / duration


_STARTUP = """
import time; t0 = time.perf_counter()
import sys; sys.path.insert(0, {here!r})
from bench_engine import build
net, _ = build(10, 5); t1 = time.perf_counter()
net.run(1e-3, progress=False); t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def startup_times():
    """First-call time with an empty kernel cache (compile) and with a warm cache (second process)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = _STARTUP.format(here=here)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = []
        for _ in range(2):  # first populates the empty cache, second loads from it
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            out.append([float(x) for x in res.stdout.split()])
    (imp0, first0), (imp1, first1) = out
    return {
        "compile_first_run_s": first0,
        "cached_first_run_s": first1,
        "import_and_build_s": imp1,
        "cached_start_to_simulating_s": imp1 + first1,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000x100,1000x1000,4000x1000")
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bench_engine.json"))
    args = ap.parse_args(argv)
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]

    result = {
        "benchmark": "feed-forward Poisson -> LIF, ideal crossbar, dt 0.1 ms",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "numba": numba.__version__, "neuroimc": ni.__version__},
        "startup": startup_times(),
        "runs": [],
    }
    time_run(10, 5, 1 * ms, 0)  # warm the kernels in this process
    for n_in, n_out in sizes:
        walls, events, rates = [], [], []
        for rep in range(args.repeat):
            wall, ev, rate = time_run(n_in, n_out, args.duration * second, seed=rep)
            walls.append(wall)
            events.append(ev)
            rates.append(rate)
        best = min(walls)
        row = {
            "n_in": n_in, "n_out": n_out, "duration_s": args.duration, "repeat": args.repeat,
            "wall_s_best": best, "wall_s_median": float(np.median(walls)),
            "synaptic_events": int(np.mean(events)),
            "events_per_s": float(np.mean(events)) / best,
            "output_rate_hz": float(np.mean(rates)),
            "realtime_factor": args.duration / best,
        }
        result["runs"].append(row)
        print(f"{n_in:>6}x{n_out:<5} {best * 1e3:8.1f} ms  {row['events_per_s']:.3g} events/s  "
              f"out {row['output_rate_hz']:.1f} Hz")
    print("startup:", {k: round(v, 3) for k, v in result["startup"].items()})
    write_json(args.out, result)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
