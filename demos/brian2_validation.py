"""neuroimc and Brian2 side by side, in both directions.

1. neuroimc -> Brian2: the recurrent E/I network (Brian2's CUBA topology, 800 E + 200 I
   neurons on dense ideal crossbars, Poisson drive) and its Brian2 twin run from the same
   state; ``compare`` reports how far their spikes, rates and membrane traces agree.
2. Brian2 -> neuroimc: a network written in Brian2 (its own symbol names; random weights
   stand in for trained ones) is deployed on crossbars with ``from_brian2``.  On ideal
   devices it spikes exactly as in Brian2; on a real device card ``reference_run`` shows
   what the hardware does to the model.
3. Learning: a Brian2 network with pair STDP (Song, Miller & Abbott's rule in Brian2's own
   notation) is deployed with ``from_brian2``: on ideal devices the chip learns exactly as
   Brian2 does (same spikes, same final weights); on the real card ``reference_run`` shows
   how far hardware learning moves spikes and weights from ideal STDP.

Saves one figure per comparison and a summary (markdown + JSON) into ``--out``::

    python demos/brian2_validation.py [--out out/brian2_validation] [--seed 1] [--device CARD]
                                      [--duration 1s] [--quiet]
"""
import argparse
import json
import os

import brian2 as b2
import numpy as np

import neuroimc as ni
from neuroimc import brian
from neuroimc._io import write_atomic
from neuroimc.brian import cases
from neuroimc.brian.report import save_figure
from neuroimc.cli import parse_duration


def brian2_model(seed, dt=0.1 * b2.ms):
    """A feed-forward Brian2 network in Brian2's own notation: 300 inputs -> 100 LIF neurons."""
    rng = np.random.default_rng(seed)
    n_in, n = 300, 100
    E_L, tau_mem = -65 * b2.mV, 20 * b2.ms  # noqa: F841 (read by the equations)
    steps, idx = np.nonzero(rng.random((10000, n_in)) < float(20 * b2.Hz * dt))
    inputs = b2.SpikeGeneratorGroup(n_in, idx, steps * dt, dt=dt, name="inputs")
    neurons = b2.NeuronGroup(
        n,
        """dV/dt = (E_L - V + R*Isyn)/tau_mem : volt (unless refractory)
        dIsyn/dt = -Isyn/tau_s : amp
        R : ohm (constant)
        tau_s : second (constant, shared)
        V_th : volt (constant)""",
        threshold="V > V_th", reset="V = -68*mV", refractory=2 * b2.ms, method="exact", dt=dt, name="neurons",
        namespace={"E_L": E_L, "tau_mem": tau_mem},
    )
    neurons.R = 100 * b2.Mohm
    neurons.tau_s = 5 * b2.ms
    neurons.V_th = rng.uniform(-52, -48, n) * b2.mV
    neurons.V = E_L
    synapses = b2.Synapses(inputs, neurons, "w : amp", on_pre="Isyn_post += w", dt=dt, name="synapses")
    synapses.connect(p=1.0)
    synapses.w = rng.uniform(-15, 35, len(synapses)) * b2.pA  # stand-in for trained weights
    monitor = b2.SpikeMonitor(neurons, name="spikes")
    return b2.Network(inputs, neurons, synapses, monitor), monitor


def brian2_stdp_model(seed, dt=0.1 * b2.ms):
    """A feed-forward Brian2 network that learns: 200 inputs -> 30 LIF neurons, additive pair STDP."""
    rng = np.random.default_rng(seed)
    n_in, n = 200, 30
    steps, idx = np.nonzero(rng.random((10000, n_in)) < float(15 * b2.Hz * dt))
    inputs = b2.SpikeGeneratorGroup(n_in, idx, steps * dt, dt=dt, name="inputs")
    neurons = b2.NeuronGroup(
        n,
        """dV/dt = (-65*mV - V + R*Isyn)/(20*ms) : volt (unless refractory)
        dIsyn/dt = -Isyn/(5*ms) : amp
        R : ohm (constant)""",
        threshold="V > -50*mV", reset="V = -65*mV", refractory=2 * b2.ms, method="exact", dt=dt, name="neurons",
    )
    neurons.R = 100 * b2.Mohm
    neurons.V = -65 * b2.mV
    synapses = b2.Synapses(
        inputs, neurons,
        """w : 1
        dApre/dt = -Apre/taupre : 1 (event-driven)
        dApost/dt = -Apost/taupost : 1 (event-driven)""",
        on_pre="Isyn_post += w*wscale\nApre += dApre\nw = clip(w + Apost, 0, wmax)",
        on_post="Apost += dApost\nw = clip(w + Apre, 0, wmax)",
        dt=dt, name="stdp",
        namespace={"taupre": 20 * b2.ms, "taupost": 20 * b2.ms, "dApre": 0.01, "dApost": -0.0105, "wmax": 1.0,
                   "wscale": 25 * b2.pA},
    )
    synapses.connect()
    synapses.w = rng.uniform(0.2, 0.8, len(synapses))
    monitor = b2.SpikeMonitor(neurons, name="spikes")
    return b2.Network(inputs, neurons, synapses, monitor), synapses, monitor


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/brian2_validation", help="folder for figures and the summary")
    ap.add_argument("--seed", type=int, default=1)
    cards = ni.available_devices()
    default_card = "rram_hfox" if "rram_hfox" in cards else next((c for c in cards if c != "ideal"), "ideal")
    ap.add_argument("--device", default=default_card, choices=cards, help=f"card for part 2 (default {default_card})")
    ap.add_argument("--duration", type=parse_duration, default=1.0, help="simulated time, e.g. 1s or 500ms")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    b2.prefs.codegen.target = "numpy"  # no compiler needed
    os.makedirs(args.out, exist_ok=True)
    summary, sections = {}, []

    # 1. neuroimc -> Brian2: the E/I network and its twin
    net, _ = cases.cuba_ei(seed=args.seed)
    c = brian.compare(*brian.reference_run(net, args.duration, progress=not args.quiet))
    save_figure(c.plot(), os.path.join(args.out, "ei_comparison.png"))
    summary["recurrent_ei"] = c.to_dict()
    sections.append(c.to_markdown("Recurrent E/I network (CUBA topology) vs its Brian2 twin"))
    print(f"E/I network vs Brian2 twin: {c}")

    # 2. Brian2 -> neuroimc: deploy, first on ideal devices, then on the chosen card
    for card in dict.fromkeys(["ideal", args.device]):
        model, monitor = brian2_model(args.seed)
        deployed = brian.from_brian2(model, device=card, seed=args.seed)
        run = brian.reference_run(deployed, args.duration, progress=not args.quiet)
        model.run(args.duration * b2.second)
        # the twin reproduces the Brian2 model itself: the reference is really Brian2's run
        twin = run.brian2.populations["neurons"]
        own = sorted(zip(np.round(np.asarray(monitor.t_) / deployed.dt).astype(int).tolist(),
                         np.asarray(monitor.i).tolist()))
        if sorted(zip(twin.steps.tolist(), twin.indices.tolist())) != own:
            raise RuntimeError("the Brian2 twin of the deployment differs from the Brian2 model's own run")
        c = brian.compare(*run)
        save_figure(c.plot(), os.path.join(args.out, f"deployed_{card}.png"))
        summary[f"deployed_{card}"] = c.to_dict()
        sections.append(c.to_markdown(f"Brian2 model deployed on '{card}' crossbars vs the Brian2 model"))
        print(f"Brian2 model on {card!r} crossbars: {c}")

    # 3. learning: a Brian2 STDP network deployed, first on ideal devices, then on the chosen card
    for card in dict.fromkeys(["ideal", args.device]):
        model, synapses, monitor = brian2_stdp_model(args.seed)
        deployed = brian.from_brian2(model, device=card, seed=args.seed, namespace={})
        run = brian.reference_run(deployed, args.duration, progress=not args.quiet)
        model.run(args.duration * b2.second)
        # the reference is Brian2's own learning: its twin must reproduce the model's run and weights
        (label,) = run.brian2.weights
        learned = np.zeros(deployed.crossbars[0].shape)
        learned[np.asarray(synapses.i[:]), np.asarray(synapses.j[:])] = np.asarray(synapses.w) * 25e-12
        twin = run.brian2.populations["neurons"]
        own = sorted(zip(np.round(np.asarray(monitor.t_) / deployed.dt).astype(int).tolist(),
                         np.asarray(monitor.i).tolist()))
        if (sorted(zip(twin.steps.tolist(), twin.indices.tolist())) != own
                or not np.allclose(run.brian2.weights[label].final, learned, rtol=1e-6, atol=1e-20)):
            raise RuntimeError("the Brian2 twin of the learning deployment differs from the Brian2 model's own run")
        c = brian.compare(*run)
        save_figure(c.plot(), os.path.join(args.out, f"stdp_{card}.png"))
        summary[f"stdp_{card}"] = c.to_dict()
        sections.append(c.to_markdown(f"Brian2 STDP network learning on '{card}' crossbars vs Brian2"))
        print(f"Brian2 STDP network on {card!r} crossbars: {c}")

    write_atomic(os.path.join(args.out, "summary.md"), "# neuroimc <-> Brian2\n\n" + "\n".join(sections))
    write_atomic(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(f"figures and summary in {args.out}/")


if __name__ == "__main__":
    main()
