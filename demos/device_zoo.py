"""Device zoo: the same network on every device card, side by side.

400 Poisson inputs (20 Hz) drive 100 LIF neurons through one crossbar whose
weights are deployed with program-and-verify on each technology.  For every
card the demo reports how far the hardware moves the network from the ideal
device (output rate, per-neuron rate correlation, weight error), what it costs
(energy per synaptic event, programming pulses and energy) and how the chip
fared (stuck and worn devices), and saves plots: pulse response, conductance
histogram, wear map, drift, energy breakdown.

    python demos/device_zoo.py [--out out/device_zoo] [--devices rram_hfox,pcm_gst] [--seed 1]
                               [--duration 1.0] [--json] [--quiet]
"""
import argparse
import json
import os
import time

import numpy as np

import neuroimc as ni
from neuroimc._io import write_atomic, write_json
from neuroimc.characterize import drift_curve, pulse_response
from neuroimc.units import Hz, Mohm, mV, ms, second

N_IN, N_OUT, RATE = 400, 100, 20 * Hz
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100 * Mohm)


def run_card(device, W, w_max, seed, duration, progress):
    net = ni.Network(dt=0.1 * ms, seed=seed)
    src = net.add(ni.PoissonSource(N_IN, rate=RATE))
    pop = net.add(ni.LIFPopulation(N_OUT, **LIF))
    xb = ni.Crossbar.from_weights(W, device=device, w_max=w_max, seed=seed, deploy="verify")
    program = xb.deployment  # program-and-verify of the fresh chip (None for exact devices)
    net.connect(src, pop, xb)
    spikes = net.monitor_spikes(pop)
    energy = net.monitor_energy()
    net.run(duration, progress=progress)
    return xb, spikes, energy.report(), program


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/device_zoo")
    ap.add_argument("--devices", default=",".join(ni.available_devices()), help="comma-separated card names")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    ap.add_argument("--json", action="store_true", help="print the table as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    devices = args.devices.split(",")
    unknown = sorted(set(devices) - set(ni.available_devices()))
    if unknown:
        ap.error(f"--devices: unknown cards {unknown}; available: {ni.available_devices()}")
    devices = ["ideal"] + [d for d in devices if d != "ideal"]  # the reference comes first
    os.makedirs(args.out, exist_ok=True)

    w_max = 16 * mV / (LIF["r_m"] * 0.5 * N_IN * RATE * LIF["tau_syn"])
    W = np.random.default_rng(args.seed).uniform(0, 1, (N_IN, N_OUT)) * w_max
    rows, reference = [], None
    for name in devices:
        t0 = time.perf_counter()
        xb, spikes, report, program = run_card(name, W, w_max, args.seed, args.duration * second, not args.quiet)
        rates = spikes.counts() / args.duration
        if reference is None:
            reference = rates
        dev = xb.device
        row = {
            "device": name,
            "technology": dev.technology,
            "mean_rate_hz": float(rates.mean()),
            "rate_change_vs_ideal": float(rates.mean() / reference.mean() - 1),
            "rate_correlation_vs_ideal": float(np.corrcoef(rates, reference)[0, 1]) if rates.std() > 0 else 0.0,
            "weight_rms_error": float(np.sqrt(np.mean((xb.weights() - W) ** 2)) / w_max),
            "energy_per_synaptic_event_J": report.total / max(report.synaptic_events, 1),
            "crossbar_energy_per_synaptic_event_J": sum(report.breakdown[k] for k in (
                "synapse_reads", "row_drivers", "columns", "adc")) / max(report.synaptic_events, 1),
            "program_pulses": program.pulses if program else 0,
            "program_energy_J": program.energy if program else 0.0,
            "stuck_synapses": float(xb.faults().mean()),
            "worn_synapses": float(xb.failed().mean()),
            "wall_s": round(time.perf_counter() - t0, 2),
        }
        rows.append(row)
        save_plots(args.out, name, xb, report)
        if not args.quiet:
            print(f"{name:>15}: rate {row['mean_rate_hz']:6.2f} Hz ({row['rate_change_vs_ideal']:+.1%}), "
                  f"w err {row['weight_rms_error']:.3f}, {row['energy_per_synaptic_event_J']:.3g} J/event, "
                  f"{row['program_pulses']} pulses, stuck {row['stuck_synapses']:.1%}")
    write_json(os.path.join(args.out, "device_zoo.json"), {"seed": args.seed, "duration_s": args.duration,
                                                          "network": f"{N_IN} Poisson -> {N_OUT} LIF", "rows": rows})
    write_atomic(os.path.join(args.out, "device_zoo.md"), to_markdown(rows))
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not args.quiet:
        print(f"table and figures in {args.out}/")


def save_plots(out, name, xb, report):
    dev = xb.device
    trace = pulse_response(dev, n_devices=32, start=0.0, seed=0)
    ni.plot.pulse_response(trace, dev).figure.savefig(os.path.join(out, f"{name}_pulse_response.png"), dpi=110)
    ni.plot.conductance_histogram(xb).figure.savefig(os.path.join(out, f"{name}_conductances.png"), dpi=110)
    ni.plot.wear_map(xb).savefig(os.path.join(out, f"{name}_wear.png"), dpi=110)
    times = np.logspace(0, 6, 25)
    mean, std = drift_curve(dev, times, level=0.5, n_devices=100)
    ni.plot.drift(times, mean, std, dev).figure.savefig(os.path.join(out, f"{name}_drift.png"), dpi=110)
    ni.plot.energy_breakdown(report).figure.savefig(os.path.join(out, f"{name}_energy.png"), dpi=110)


def to_markdown(rows):
    head = ("| device | rate (Hz) | vs ideal | rate corr. | weight RMS err (w_max) | J / synaptic event | "
            "crossbar J / event | program pulses | program energy (J) | stuck | worn |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['mean_rate_hz']:.2f} | {r['rate_change_vs_ideal']:+.1%} | "
            f"{r['rate_correlation_vs_ideal']:.3f} | {r['weight_rms_error']:.3f} | "
            f"{r['energy_per_synaptic_event_J']:.3g} | {r['crossbar_energy_per_synaptic_event_J']:.3g} | "
            f"{r['program_pulses']} | {r['program_energy_J']:.3g} | {r['stuck_synapses']:.1%} | "
            f"{r['worn_synapses']:.1%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
