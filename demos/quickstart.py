"""Quickstart: 1000 Poisson inputs drive 100 LIF neurons through an ideal crossbar.

Runs one second of network time, prints a summary and saves a raster and
membrane traces.  Usage::

    python demos/quickstart.py [--out out/quickstart] [--seed 1] [--device ideal] [--quiet]
"""
import argparse
import json
import os
import time

import numpy as np

import neuroimc as ni
from neuroimc.units import Hz, Mohm, mV, ms, second


def build(seed, device):
    net = ni.Network(dt=0.1 * ms, seed=seed)
    src = net.add(ni.PoissonSource(1000, rate=20 * Hz, name="input"))
    pop = net.add(
        ni.LIFPopulation(100, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                         t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm, name="lif")
    )
    # mean drive r_m * n_in * rate * tau_syn * <W> = 16 mV: fluctuation-driven firing
    w_scale = 16 * mV / (100 * Mohm * 0.5 * 1000 * 20 * Hz * 5 * ms)
    W = np.random.default_rng(seed).uniform(0, 1, (1000, 100)) * w_scale
    xbar = net.connect(src, pop, ni.Crossbar.from_weights(W, device=device))
    return net, src, pop, xbar


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/quickstart", help="folder for figures and summary.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="ideal", help=f"device card, one of {ni.available_devices()}")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    net, src, pop, xbar = build(args.seed, args.device)
    spikes = net.monitor_spikes(pop)
    v = net.monitor_state(pop, "v", record=[0, 1, 2])
    t0 = time.perf_counter()
    net.run(1.0 * second, progress=not args.quiet)
    wall = time.perf_counter() - t0

    summary = {
        "device": xbar.device.name,
        "seed": args.seed,
        "simulated_s": net.t,
        "wall_s": round(wall, 3),
        "input_spikes": xbar.row_reads,
        "synaptic_events": net.synaptic_events,
        "output_spikes": len(spikes),
        "mean_rate_hz": round(len(spikes) / pop.n / net.t, 2),
    }
    os.makedirs(args.out, exist_ok=True)
    ax = ni.plot.raster(spikes)
    ax.figure.savefig(os.path.join(args.out, "raster.png"), dpi=120)
    ax = ni.plot.trace(v)
    ax.figure.savefig(os.path.join(args.out, "v_trace.png"), dpi=120)
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    for k, val in summary.items():
        print(f"{k:>16}: {val}")
    print(f"figures and summary in {args.out}/")


if __name__ == "__main__":
    main()
