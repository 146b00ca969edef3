"""Seed sweep: output firing rate of a Poisson -> LIF network over input rate x 32 chip instances.

200 Poisson inputs drive 50 LIF neurons through one crossbar.  Each seed is one
chip instance: it draws the chip's weight matrix (uniform in [0, 20] pA) and
its input spike trains, and with a non-ideal ``--device`` card the network
seed also fixes the crossbar's sampled device parameters.  For every input rate the sweep runs 32 chips on a
local Dask cluster and plots the mean output rate with the band that 80 % of
the chips fall into (10th-90th percentile over seeds).

Each task also computes the rate that diffusion theory predicts for its own
weights (Siegert's first-passage formula for the LIF neuron with the
Fourcaud-Brunel correction for synaptic filtering, averaged over neurons), an
independent check on the simulated rates.  Above threshold they agree within
about 7 %, the simulation being higher: the diffusion approximation keeps only
the mean and variance of the input and drops the positive skew of purely
excitatory shot noise, which raises the rate.

Usage::

    python demos/seed_sweep.py [--out out/seed_sweep] [--seeds 32] [--seed 0] [--device ideal]
                               [--scheduler local|serial|ADDRESS] [--no-cache] [--quiet]

Writes ``rates.csv``, ``rates.json`` and ``rates.png`` into ``--out``; finished
tasks are cached in ``--out/cache``, so an interrupted run resumes.
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

N_IN, N_OUT = 200, 50
DURATION = 1.0  # s of network time per task
LIF = dict(tau_m=0.020, v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050, t_ref=0.002, tau_syn=0.005, r_m=100e6)
W_MAX = 20e-12  # A: largest current jump; the mean drive reaches threshold near 15 Hz input
INPUT_RATES = [10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 25.0, 30.0, 35.0, 40.0]


def measure(rate_in, device, seed):
    """One chip at one input rate: simulated and predicted output rates (Hz) and ISI irregularity."""
    import neuroimc as ni

    net = ni.Network(dt=0.1e-3, seed=seed)
    src = net.add(ni.PoissonSource(N_IN, rate=rate_in))
    pop = net.add(ni.LIFPopulation(N_OUT, **LIF))
    W = np.random.default_rng(seed).uniform(0.0, W_MAX, (N_IN, N_OUT))
    xbar = net.connect(src, pop, ni.Crossbar.from_weights(W, device=device, w_max=W_MAX))
    spikes = net.monitor_spikes(pop)
    net.run(DURATION, progress=False)

    # the chip's effective weights (W itself on an ideal chip) are what the theory is given
    W_chip = xbar.weights()
    rates = spikes.counts() / DURATION
    cvs = []
    for i in range(N_OUT):
        isi = np.diff(spikes.times[spikes.indices == i])
        if isi.size >= 3:
            cvs.append(isi.std() / isi.mean())
    return {
        "rate_out": float(rates.mean()),
        "rate_sd_neurons": float(rates.std()),
        "silent_fraction": float(np.mean(rates == 0)),
        # undefined (nan) when no neuron fired enough to have an ISI distribution
        "cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
        "rate_theory": float(np.mean([siegert_rate(rate_in, W_chip[:, j]) for j in range(N_OUT)])),
    }


def siegert_rate(rate_in, w):
    """Diffusion-approximation rate (Hz) of one LIF neuron whose inputs fire at ``rate_in`` with jumps ``w``.

    Shot noise of exponential currents becomes a mean ``mu = v_rest + r_m rate
    tau_s sum(w)`` and a white-noise strength ``sigma^2 = rate r_m^2 tau_s^2
    sum(w^2) / tau_m`` (Brunel 2000 notation); synaptic filtering shifts
    threshold and reset by ``sigma alpha/2 sqrt(tau_s/tau_m)``,
    ``alpha = sqrt(2)|zeta(1/2)|`` (Fourcaud & Brunel 2002).  Then Siegert:
    ``1/rate = t_ref + tau_m sqrt(pi) int_{y_r}^{y_t} exp(u^2)(1 + erf u) du``.
    """
    from scipy.integrate import quad
    from scipy.special import erfcx

    tm, ts, rm = LIF["tau_m"], LIF["tau_syn"], LIF["r_m"]
    mu = LIF["v_rest"] + rm * rate_in * ts * w.sum()
    sigma = np.sqrt(rate_in * rm**2 * ts**2 * (w**2).sum() / tm)
    shift = sigma * 2.0652 / 2 * np.sqrt(ts / tm)
    y_t = (LIF["v_thresh"] + shift - mu) / sigma
    y_r = (LIF["v_reset"] + shift - mu) / sigma
    # exp(u^2)(1 + erf u) = erfcx(-u): finite where exp(u^2) alone overflows
    integral, _ = quad(lambda u: erfcx(-u), y_r, y_t, limit=200)
    return 1.0 / (LIF["t_ref"] + tm * np.sqrt(np.pi) * integral)


def figure(result, n_seeds):
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    result.plot("rate_in", "rate_out", ax=ax1, title="")
    theory = result.stats("rate_in", "rate_theory")
    ax1.plot([r["rate_in"] for r in theory], [r["mean"] for r in theory], "k--", lw=1,
             label="diffusion theory (Siegert + Fourcaud-Brunel)")
    ax1.lines[0].set_label(f"simulated: mean, 10-90 % band over {n_seeds} chips")
    ax1.set_xlabel("input rate (Hz)")
    ax1.set_ylabel("output rate (Hz)")
    ax1.legend(fontsize="small")
    result.plot("rate_in", "cv_isi", ax=ax2, title="")
    ax2.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax2.set_xlabel("input rate (Hz)")
    ax2.set_ylabel("CV of inter-spike intervals")
    fig.suptitle(f"{N_IN} Poisson inputs -> {N_OUT} LIF neurons, {DURATION:g} s per chip")
    return fig


def main(argv=None):
    import neuroimc as ni
    from neuroimc._io import write_json
    from neuroimc.sweep import sweep

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/seed_sweep", help="folder for the CSV, JSON, figure and cache")
    ap.add_argument("--seeds", type=int, default=32, help="number of chip instances per input rate")
    ap.add_argument("--seed", type=int, default=0, help="first chip seed")
    ap.add_argument("--device", default="ideal", help=f"device card, one of {ni.available_devices()}")
    ap.add_argument("--scheduler", default="local", help="'local' (2 worker processes), 'serial' or an address")
    ap.add_argument("--no-cache", action="store_true", help="run every task, read and write no cache")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.seed < 0:
        ap.error(f"--seeds must be >= 1 and --seed >= 0, got {args.seeds} and {args.seed}")

    result = sweep(
        measure,
        {"rate_in": INPUT_RATES, "device": [args.device]},
        seeds=range(args.seed, args.seed + args.seeds),
        cache=None if args.no_cache else os.path.join(args.out, "cache"),
        scheduler=args.scheduler,
        name="seed_sweep.measure/v1",
        progress=not args.quiet,
    )
    if result.failed:
        first = result.failed[0]
        raise SystemExit(f"{len(result.failed)} tasks failed; first: {first['error_type']}: {first['error']}")
    result.to_csv(os.path.join(args.out, "rates.csv"))
    result.to_json(os.path.join(args.out, "rates.json"))
    figure(result, args.seeds).savefig(os.path.join(args.out, "rates.png"), dpi=120)

    sim = result.stats("rate_in", "rate_out")
    theory = result.stats("rate_in", "rate_theory")
    print(f"{len(result)} tasks ({result.n_run} run, {result.n_cached} from cache) in {result.wall_s:.1f} s")
    print(" rate_in  rate_out mean [10%, 90%]   theory   sim/theory")
    for s, t in zip(sim, theory):
        ratio = s["mean"] / t["mean"] if t["mean"] > 0 else float("nan")
        print(f"{s['rate_in']:8.1f}  {s['mean']:8.2f} [{s['lo']:6.2f}, {s['hi']:6.2f}]  "
              f"{t['mean']:7.2f}   {ratio:6.3f}")
    write_json(os.path.join(args.out, "summary.json"), {
        "tasks": len(result), "run": result.n_run, "cached": result.n_cached, "wall_s": round(result.wall_s, 2),
        "rate_out": sim, "rate_theory": theory,
    })
    print(f"figure, CSV and JSON in {args.out}/")


if __name__ == "__main__":
    main()
