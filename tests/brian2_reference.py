"""Hand-built Brian2 twins of small neuroimc networks, for agreement tests.

Written directly against Brian2's API (not through neuroimc), so that the
comparison is with an independent implementation of the same model.
"""
import numpy as np

LIF_EQS = """
dv/dt = (v_rest - v + r_m*I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_syn : amp
v_rest : volt (constant)
v_reset : volt (constant)
v_thresh : volt (constant)
r_m : ohm (constant)
tau_m : second (constant)
tau_syn : second (constant)
"""


def poisson_spike_trains(n, rate, duration, dt, seed):
    """Recorded input: each input fires with probability rate*dt per step (times on the step grid)."""
    rng = np.random.default_rng(seed)
    n_steps = int(round(duration / dt))
    fired = rng.random((n_steps, n)) < rate * dt
    steps, idx = np.nonzero(fired)
    return idx.astype(np.int64), steps * dt


def run_brian2(dt, duration, n_in, in_idx, in_times, pop, projections, record_v):
    """Run the Brian2 twin.

    pop: dict of per-neuron arrays (SI) n, tau_m, v_rest, v_reset, v_thresh, t_ref, tau_syn, r_m.
    projections: list of (source, W) with source "input" or "pop"; W in amperes,
    shape (n_pre, n_post).  They are named so that Brian2 runs them in the same
    order as neuroimc (recurrent before input), which keeps float sums identical.
    Returns (spike indices, spike steps, v trace array (n_t, len(record_v))).
    """
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    inp = b2.SpikeGeneratorGroup(n_in, in_idx, in_times * b2.second, dt=dt * b2.second, name="input")
    G = b2.NeuronGroup(
        pop["n"],
        LIF_EQS,
        threshold="v > v_thresh",
        reset="v = v_reset",
        refractory=pop["t_ref"] * b2.second,
        method="exact",
        dt=dt * b2.second,
        name="lif",
    )
    G.v_rest = pop["v_rest"] * b2.volt
    G.v_reset = pop["v_reset"] * b2.volt
    G.v_thresh = pop["v_thresh"] * b2.volt
    G.r_m = pop["r_m"] * b2.ohm
    G.tau_m = pop["tau_m"] * b2.second
    G.tau_syn = pop["tau_syn"] * b2.second
    G.v = pop["v_rest"] * b2.volt
    objs = [inp, G]
    for k, (source, W) in enumerate(projections):
        pre = inp if source == "input" else G
        order = "a_recurrent" if source == "pop" else "b_input"
        S = b2.Synapses(pre, G, "w : amp", on_pre="I_syn_post += w", dt=dt * b2.second, name=f"{order}{k}")
        ii, jj = np.nonzero(np.ones(W.shape, bool))
        S.connect(i=ii, j=jj)
        S.w = W[ii, jj] * b2.amp
        objs.append(S)
    spikes = b2.SpikeMonitor(G)
    trace = b2.StateMonitor(G, "v", record=record_v, dt=dt * b2.second)
    net = b2.Network(objs + [spikes, trace])
    net.run(duration * b2.second)
    steps = np.round(np.asarray(spikes.t / b2.second) / dt).astype(np.int64)
    return np.asarray(spikes.i, np.int64), steps, np.asarray(trace.v / b2.volt).T
