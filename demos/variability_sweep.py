"""Variability sweep: fidelity of on-chip STDP learning vs write noise and endurance, over 32 chips.

100 recorded inputs drive 20 LIF neurons through one plastic crossbar.  The
first 40 inputs are correlated (each copies a shared "mother" spike train with
probability 0.5), the other 60 are independent; all fire at 15 Hz.  Additive
pair STDP (Song, Miller & Abbott 2000) then potentiates the correlated group and
depresses the rest: after 2 s the network has *learned which inputs belong
together*.  This is the workload; it is the same on every chip.

The chip is an RRAM crossbar on a card derived from ``rram_hfox`` with
:func:`neuroimc.devices.replace`: its nonlinear, 128-level pulse response and
1 % read noise are kept, its cycle-to-cycle write noise ``write.c2c_sigma`` and
its mean endurance ``endurance.cycles_mean`` are swept (0 = unlimited), and its
fabrication stuck-at faults are switched off (``--faults`` keeps the card's
9.8 %) so that the curves show what the two swept effects do.  Every weight
change becomes stochastically rounded programming pulses through the device
model, so write noise accumulates in the learned weights and every pulse wears
a device; a device past its own (lognormal) endurance fails for good.

Each seed is one chip instance (its device sampling, write noise and pulse
rounding).  Fidelity is measured against the *ideal-device* run of the same
inputs and initial weights (computed once, before the sweep):

* ``dw_corr`` -- correlation, over the 2,000 synapses, of the weight change
  learned on the chip with the change learned on ideal devices (1 = the chip
  learned what the ideal network learned; 0 = unrelated);
* ``selectivity`` -- the probability that a synapse from the correlated group
  ended stronger than one from the independent group (area under the ROC
  curve of the learned weights; 0.5 = nothing learned), next to the ideal
  run's ``selectivity_ideal``;
* ``w_rms`` -- RMS difference of the final weights from the ideal ones, in
  units of ``w_max``; ``rate_ratio`` and ``rate_corr`` -- mean output rate
  relative to the ideal run, and correlation of the per-neuron rates;
* wear: ``failed_devices`` (fraction of devices worn out), ``failed_synapses``
  (synapses with a worn device), ``pulses`` and ``pulses_per_device``
  (programming pulses of the learning, deployment excluded), and
  ``failed_expected``, the worn fraction that the card's lognormal endurance
  law predicts from each device's pulse count (an independent check of the
  wear model: on average it lies 0.2-3 % above the observed fraction, because
  pulse counts depend on the failures -- a worn device's weight no longer
  moves, so learning keeps pulsing it).

On a bidirectional card STDP writes only the positive device of each pair, so
at most half of the devices can wear out.  About 60 pulses per device (120 per
written device) are spent in 2 s of learning, so endurance is swept over 100,
300 and 1000 pulses (1e4 would not differ from unlimited here).  Bands are the
10th-90th percentiles over chips (where 80 % of manufactured chips fall).

Usage::

    python demos/variability_sweep.py [--out out/variability_sweep] [--seeds 32] [--seed 0]
                                      [--quick] [--faults] [--scheduler local|serial|ADDRESS]
                                      [--no-cache] [--json] [--quiet]

Writes ``variability.csv``, ``variability.json``, ``summary.json``,
``fidelity.png`` and ``wear.png`` into ``--out``; finished tasks are cached in
``--out/cache``, so an interrupted run resumes.  ``--quick`` runs a 2 x 2 grid on
2 chips with 0.5 s of learning (a smoke run).
"""
import argparse
import functools
import json
import os

import numpy as np
from matplotlib.figure import Figure

N_IN, N_OUT, N_CORRELATED = 100, 20, 40
RATE = 15.0  # Hz, every input
CORRELATION = 0.5  # probability that a correlated input copies a mother spike
DT = 1e-4  # s
LIF = dict(tau_m=0.020, v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050, t_ref=0.002, tau_syn=0.005, r_m=100e6)
W_MAX = 60e-12  # A: current jump of one fully programmed device (weight 1)
W0_RANGE = (0.3, 0.5)  # initial weights in units of W_MAX: mean drive r_m N_IN RATE tau_syn <w> W_MAX = 18 mV
# a_post slightly stronger than a_pre: uncorrelated inputs are depressed on balance (Song et al. 2000)
STDP = dict(tau_pre=0.020, tau_post=0.020, a_pre=0.02, a_post=-0.021, w_max=1.0, rule="additive",
            pulses="stochastic")
BASE_CARD = "rram_hfox"
WORKLOAD_SEED = 12345  # inputs and initial weights: one workload, the same on every chip

FULL = dict(c2c=[0.0, 0.003, 0.01, 0.03, 0.1], endurance=[100.0, 300.0, 1000.0, 0.0], duration=2.0)
QUICK = dict(c2c=[0.0, 0.1], endurance=[100.0, 0.0], duration=0.5, seeds=2)
VERSION = "variability_sweep.measure/v1"  # cache key: change it when measure() computes something else


# --------------------------------------------------------------------------- the workload
def input_spikes(duration):
    """Spike trains of the inputs: ``(indices, times)``, times on the ``DT`` grid.

    In every step a correlated input fires if the mother train fired and the
    input copied it (probability ``CORRELATION``), or on its own with
    probability ``RATE (1 - CORRELATION) DT``; an independent input fires with
    probability ``RATE DT``.  All rates are ``RATE`` to first order in ``DT``.
    """
    rng = np.random.default_rng(WORKLOAD_SEED)
    n_steps = int(round(duration / DT))
    p = RATE * DT
    mother = rng.random(n_steps) < p
    fired = rng.random((n_steps, N_IN)) < p
    copied = mother[:, None] & (rng.random((n_steps, N_CORRELATED)) < CORRELATION)
    fired[:, :N_CORRELATED] = copied | (rng.random((n_steps, N_CORRELATED)) < p * (1 - CORRELATION))
    steps, indices = np.nonzero(fired)  # sorted by step
    return indices, steps * DT


def initial_weights():
    """Initial normalised weights ``(N_IN, N_OUT)`` (units of ``W_MAX``)."""
    return np.random.default_rng(WORKLOAD_SEED + 1).uniform(*W0_RANGE, (N_IN, N_OUT))


def card(c2c, endurance, faults):
    """The swept device: ``rram_hfox`` with write noise ``c2c`` and mean endurance ``endurance`` (0 = unlimited)."""
    from neuroimc.devices import replace

    changes = dict(write={"c2c_sigma": c2c}, endurance={"cycles_mean": endurance})
    if not faults:
        changes["faults"] = {"stuck_low_rate": 0.0, "stuck_high_rate": 0.0}
    return replace(BASE_CARD, **changes)


def learn(device, seed, duration):
    """Run the learning on one chip; weights before and after, output rates and wear."""
    import neuroimc as ni
    from neuroimc.kernels.device import STUCK_HIGH, STUCK_LOW, WORN_LOW

    indices, times = input_spikes(duration)
    net = ni.Network(dt=DT, seed=seed)
    src = net.add(ni.SpikeSource(N_IN, indices=indices, times=times))
    pop = net.add(ni.LIFPopulation(N_OUT, **LIF))
    xbar = net.connect(src, pop, ni.Crossbar.from_weights(initial_weights() * W_MAX, device=device, w_max=W_MAX,
                                                          seed=seed), plasticity=ni.STDP(**STDP))
    spikes = net.monitor_spikes(pop)
    w_start = xbar.weights() / W_MAX  # as deployed: on a real card quantised to its levels
    pulses_start = xbar.pulse_counts().sum()
    net.run(duration, progress=False)
    # every pulse a device received, deployment included, in the device order of status()
    counts = np.concatenate([xbar.pulse_counts("plus").ravel(), xbar.pulse_counts("minus").ravel()])
    status = xbar.status()
    can_wear = (status != STUCK_LOW) & (status != STUCK_HIGH)  # a fabrication fault never wears out
    return {
        "w_start": w_start,
        "w_end": xbar.weights() / W_MAX,
        "rates": spikes.counts() / duration,
        "pulses": int(xbar.pulse_counts().sum() - pulses_start),
        "n_devices": xbar.n_devices,
        "failed_devices": float(np.mean(status >= WORN_LOW)),
        "failed_expected": worn_fraction_expected(counts[can_wear], xbar.device.endurance) * can_wear.mean(),
        "failed_synapses": float(xbar.failed().mean()),
    }


def worn_fraction_expected(counts, endurance):
    """Fraction of devices expected worn out after ``counts`` pulses each, from the card's endurance law alone.

    A device survives ``floor(C)`` pulses (at least 1), ``C`` lognormal with
    mean ``cycles_mean`` and log-s.d. ``s`` (log-mean ``ln(cycles_mean) -
    s^2/2``), and fails at the pulse that exceeds that; so after ``n >= 2``
    pulses it is worn with probability ``P(C < n) = Phi((ln n - mu) / s)``.
    An independent check of the sampled endurance and of the failure rule
    (approximate, as a worn device's later pulse count depends on its failure).
    """
    from scipy.stats import norm

    if endurance.cycles_mean == 0:
        return 0.0
    n = np.asarray(counts, dtype=np.float64)
    s = endurance.cycles_log_sigma
    if s == 0:
        p = n > max(np.floor(endurance.cycles_mean), 1.0)
    else:
        mu = np.log(endurance.cycles_mean) - 0.5 * s * s
        p = np.where(n >= 2, norm.cdf((np.log(np.maximum(n, 1.0)) - mu) / s), 0.0)
    return float(np.mean(p))


def selectivity(w):
    """P(a correlated input's weight > an independent input's weight), ties counting 1/2 (ROC area)."""
    from scipy.stats import rankdata

    ranks = rankdata(w.ravel()).reshape(w.shape)
    n_pos, n_neg = N_CORRELATED * w.shape[1], (N_IN - N_CORRELATED) * w.shape[1]
    return float((ranks[:N_CORRELATED].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _corr(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if a.std() == 0 or b.std() == 0:
        return float("nan")  # undefined for a constant vector (e.g. a silent population)
    return float(np.corrcoef(a, b)[0, 1])


def reference(duration):
    """The ideal-device run of the workload: what every chip is compared with."""
    ideal = learn("ideal", 0, duration)
    return {"dw": ideal["w_end"] - ideal["w_start"], "w_end": ideal["w_end"], "rates": ideal["rates"],
            "selectivity": selectivity(ideal["w_end"])}


def measure(c2c, endurance, duration, faults, seed, *, ideal):
    """One chip (``seed``) learning on the card ``(c2c, endurance)``; fidelity against ``ideal`` and wear."""
    run = learn(card(c2c, endurance, faults), seed, duration)
    dw = run["w_end"] - run["w_start"]
    return {
        "dw_corr": _corr(dw, ideal["dw"]),
        "selectivity": selectivity(run["w_end"]),
        "selectivity_ideal": ideal["selectivity"],
        "w_rms": float(np.sqrt(np.mean((run["w_end"] - ideal["w_end"]) ** 2))),
        "rate_hz": float(run["rates"].mean()),
        "rate_ratio": float(run["rates"].mean() / ideal["rates"].mean()),
        "rate_corr": _corr(run["rates"], ideal["rates"]),
        "failed_devices": run["failed_devices"],
        "failed_expected": run["failed_expected"],
        "failed_synapses": run["failed_synapses"],
        "pulses": run["pulses"],
        "pulses_per_device": run["pulses"] / run["n_devices"],
    }


# --------------------------------------------------------------------------- figures
def _endurance_label(value):
    return "unlimited endurance" if value == 0 else f"endurance {value:.0f} pulses"


def _relabel(ax, hue, fmt, extra=()):
    """Legend of the lines SweepResult.plot labelled ``"<hue> = <value>"``: readable, ordered, unlimited last."""
    entries = []
    for line in ax.get_lines():
        label = line.get_label()
        if label.startswith(f"{hue} = "):
            value = float(label.split(" = ", 1)[1])
            entries.append(((value == 0 and hue == "endurance", value), line, fmt(value)))
    entries.sort(key=lambda e: e[0])
    handles = [e[1] for e in entries] + [h for h, _ in extra]
    ax.legend(handles, [e[2] for e in entries] + [text for _, text in extra], fontsize="small")


def fidelity_figure(result, n_seeds, ideal_selectivity):
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    result.plot("c2c", "dw_corr", hue="endurance", ax=ax1, title="")
    ax1.set_ylabel("correlation of learned weight change with ideal run")
    result.plot("c2c", "selectivity", hue="endurance", ax=ax2, title="")
    ideal_line = ax2.axhline(ideal_selectivity, color="k", ls="--", lw=1)
    ax2.axhline(0.5, color="0.5", ls=":", lw=0.8)
    ax2.set_ylabel("selectivity: P(w_correlated > w_independent)")
    for ax in (ax1, ax2):
        ax.set_xscale("symlog", linthresh=0.003, linscale=0.5)
        ax.set_xlabel("write noise c2c_sigma (fraction of window per pulse)")
    ax2.set_xlim(ax1.get_xlim())  # the horizontal reference lines would widen a symlog axis
    _relabel(ax1, "endurance", _endurance_label)
    _relabel(ax2, "endurance", _endurance_label, extra=[(ideal_line, f"ideal devices ({ideal_selectivity:.3f})")])
    fig.suptitle(f"On-chip STDP on {BASE_CARD}-derived RRAM: mean and 10-90 % band over {n_seeds} chips")
    return fig


def wear_figure(result, n_seeds):
    from neuroimc.sweep import SweepResult

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    # unlimited endurance (0) never fails and has no place on a log axis
    finite = SweepResult([r for r in result.rows if r["endurance"]], result.params, result.function)
    if finite.ok:
        finite.plot("endurance", "failed_devices", hue="c2c", ax=ax1, title="")
        ax1.set_xscale("log")
        # the card's lognormal endurance law applied to each chip's pulse counts, averaged over c2c levels
        predicted = finite.stats("endurance", "failed_expected", hue="c2c")
        xs = sorted({r["endurance"] for r in predicted})
        (law,) = ax1.plot(xs, [np.mean([r["mean"] for r in predicted if r["endurance"] == x]) for x in xs],
                          "k--", lw=1)
        _relabel(ax1, "c2c", lambda v: f"c2c_sigma {v:g}", extra=[(law, "lognormal endurance law, given the pulses")])
    ax1.set_xlabel("mean device endurance (pulses)")
    ax1.set_ylabel("fraction of devices worn out")
    result.plot("c2c", "pulses_per_device", hue="endurance", ax=ax2, title="")
    ax2.set_xscale("symlog", linthresh=0.003, linscale=0.5)
    ax2.set_xlabel("write noise c2c_sigma (fraction of window per pulse)")
    ax2.set_ylabel("programming pulses per device during learning")
    _relabel(ax2, "endurance", _endurance_label)
    fig.suptitle(f"Wear of the same learning: mean and 10-90 % band over {n_seeds} chips")
    return fig


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/variability_sweep", help="folder for the CSV, JSON, figures and cache")
    ap.add_argument("--seeds", type=int, help="number of chip instances per grid point (default 32; 2 with --quick)")
    ap.add_argument("--seed", type=int, default=0, help="first chip seed (chips SEED..SEED+n-1; default 0)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 x 2 grid, 2 chips, 0.5 s of learning")
    ap.add_argument("--faults", action="store_true", help="keep the card's fabrication stuck-at faults (9.8 %%)")
    ap.add_argument("--scheduler", default="local", help="'local' (2 worker processes), 'serial' or an address")
    ap.add_argument("--no-cache", action="store_true", help="run every task, read and write no cache")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    ap.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    args = ap.parse_args(argv)
    if args.seeds is None:
        args.seeds = QUICK["seeds"] if args.quick else 32
    if args.seeds < 1 or args.seed < 0:
        ap.error(f"--seeds must be >= 1 and --seed >= 0, got {args.seeds} and {args.seed}")
    return args


def summarise(result, ideal, duration, n_seeds):
    """Per grid point: mean and 10-90 % band of the main metrics."""
    points = []
    for e in sorted({r["endurance"] for r in result.ok}, key=lambda v: (v == 0, v)):
        part = result.where(endurance=e)
        stats = {m: part.stats("c2c", m) for m in ("dw_corr", "selectivity", "failed_devices", "pulses_per_device")}
        for k, row in enumerate(stats["dw_corr"]):
            point = {"endurance": e, "c2c": row["c2c"], "n": row["n"]}
            for m, s in stats.items():
                point[m] = {key: s[k][key] for key in ("mean", "lo", "hi")}
            points.append(point)
    return {"base_card": BASE_CARD, "network": f"{N_IN} inputs ({N_CORRELATED} correlated) -> {N_OUT} LIF",
            "learning_s": duration, "chips": n_seeds, "tasks": len(result), "run": result.n_run,
            "cached": result.n_cached, "failed_tasks": len(result.failed), "wall_s": round(result.wall_s, 2),
            "ideal": {"selectivity": ideal["selectivity"], "rate_hz": float(ideal["rates"].mean())},
            "points": points}


def print_table(summary):
    print(f"{summary['tasks']} tasks ({summary['run']} run, {summary['cached']} from cache) in "
          f"{summary['wall_s']:.1f} s; ideal devices: selectivity {summary['ideal']['selectivity']:.3f}, "
          f"rate {summary['ideal']['rate_hz']:.1f} Hz")
    print(f"{'endurance':>10} {'c2c':>6}   {'dw_corr mean [10%, 90%]':<26}{'selectivity':<24}"
          f"{'failed devices':<24}pulses/device")
    for p in summary["points"]:
        e = "unlimited" if p["endurance"] == 0 else f"{p['endurance']:.0f}"
        cells = [f"{p[m]['mean']:6.3f} [{p[m]['lo']:6.3f}, {p[m]['hi']:6.3f}]"
                 for m in ("dw_corr", "selectivity", "failed_devices")]
        print(f"{e:>10} {p['c2c']:6.3f}   {cells[0]:<26}{cells[1]:<24}{cells[2]:<24}"
              f"{p['pulses_per_device']['mean']:6.1f}")


def main(argv=None):
    from neuroimc._io import write_json
    from neuroimc.sweep import sweep

    args = parse_args(argv)
    setup = QUICK if args.quick else FULL
    ideal = reference(setup["duration"])
    result = sweep(
        functools.partial(measure, ideal=ideal),
        {"c2c": setup["c2c"], "endurance": setup["endurance"], "duration": [setup["duration"]],
         "faults": [args.faults]},
        seeds=range(args.seed, args.seed + args.seeds),
        cache=None if args.no_cache else os.path.join(args.out, "cache"),
        scheduler=args.scheduler,
        name=VERSION,
        progress=not (args.quiet or args.json),
    )
    if result.failed:
        first = result.failed[0]
        raise SystemExit(f"{len(result.failed)} tasks failed; first: {first['error_type']}: {first['error']}")
    os.makedirs(args.out, exist_ok=True)
    result.to_csv(os.path.join(args.out, "variability.csv"))
    result.to_json(os.path.join(args.out, "variability.json"))
    fidelity_figure(result, args.seeds, ideal["selectivity"]).savefig(os.path.join(args.out, "fidelity.png"), dpi=120)
    wear_figure(result, args.seeds).savefig(os.path.join(args.out, "wear.png"), dpi=120)
    summary = summarise(result, ideal, setup["duration"], args.seeds)
    write_json(os.path.join(args.out, "summary.json"), summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        print_table(summary)
        print(f"figures, CSV and JSON in {args.out}/")
    return summary


if __name__ == "__main__":
    main()
