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


ADAPTIVE_LIF_EQS = LIF_EQS + """
dtheta/dt = -theta/tau_theta : volt
theta_plus : volt (constant)
tau_theta : second (constant)
"""

TRIPLET_EQS = """
w : 1
dr1/dt = -r1/tau_plus : 1 (event-driven)
dr2/dt = -r2/tau_x : 1 (event-driven)
do1/dt = -o1/tau_minus : 1 (event-driven)
do2/dt = -o2/tau_y : 1 (event-driven)
"""


def triplet_code(rule, pairing):
    """on_pre, on_post of Pfister & Gerstner's triplet rule on normalised weights.

    The slow trace of the spiking side (r2 on_pre, o2 on_post) enters the weight change before the
    spike increments it; ``rule`` "soft_bound" scales depression by (w - w_min), potentiation by (w_max - w).
    """
    step = "= 1" if pairing == "nearest" else "+= 1"
    dep = "o1 * (a2_minus + a3_minus * r2)"
    pot = "r1 * (a2_plus + a3_plus * o2)"
    if rule == "soft_bound":
        dep += " * (w - w_min)"
        pot += " * (w_max - w)"
    on_pre = f"I_syn_post += w * w_scale\nw = clip(w - {dep}, w_min, w_max)\nr1 {step}\nr2 {step}"
    on_post = f"w = clip(w + {pot}, w_min, w_max)\no1 {step}\no2 {step}"
    return on_pre, on_post


def run_brian2_twin(dt, duration, n_in, in_idx, in_times, lif, W, triplet=None, theta=None, record_theta=False):
    """Input spikes -> one LIF population through all-to-all synapses, in plain Brian2 (numpy target).

    lif: dict of scalars (SI) n, tau_m, v_rest, v_reset, v_thresh, t_ref, tau_syn, r_m.
    W: (n_in, n) current jumps in amperes at the start.
    triplet: None (static synapses) or a dict of the triplet rule's parameters (tau_plus, tau_minus,
    tau_x, tau_y, a2_plus, a3_plus, a2_minus, a3_minus, w_min, w_max, rule, pairing) plus w_scale
    (amperes per unit weight).
    theta: None (fixed threshold) or dict(theta_plus=volts, tau_theta=seconds): adaptive threshold
    v > v_thresh + theta, reset v = v_reset; theta += theta_plus.
    Returns dict: spikes (sorted (step, neuron) pairs), W (final current jumps, amperes),
    theta (final, volts, or None), theta_trace ((n_steps, n) sampled at each step's start, if recorded).
    """
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    bdt = dt * b2.second
    inp = b2.SpikeGeneratorGroup(n_in, in_idx, in_times * b2.second, dt=bdt)
    if theta is None:
        G = b2.NeuronGroup(lif["n"], LIF_EQS, threshold="v > v_thresh", reset="v = v_reset",
                           refractory=lif["t_ref"] * b2.second, method="exact", dt=bdt)
    else:
        G = b2.NeuronGroup(lif["n"], ADAPTIVE_LIF_EQS, threshold="v > v_thresh + theta",
                           reset="v = v_reset\ntheta += theta_plus", refractory=lif["t_ref"] * b2.second,
                           method="exact", dt=bdt)
        G.theta_plus = theta["theta_plus"] * b2.volt
        G.tau_theta = theta["tau_theta"] * b2.second
        G.theta = 0 * b2.volt
    for k in ("v_rest", "v_reset", "v_thresh"):
        setattr(G, k, lif[k] * b2.volt)
    G.r_m, G.tau_m, G.tau_syn = lif["r_m"] * b2.ohm, lif["tau_m"] * b2.second, lif["tau_syn"] * b2.second
    G.v = lif["v_rest"] * b2.volt
    ii, jj = np.nonzero(np.ones(W.shape, bool))
    if triplet is None:
        S = b2.Synapses(inp, G, "w : amp", on_pre="I_syn_post += w", dt=bdt)
        S.connect(i=ii, j=jj)
        S.w = W[ii, jj] * b2.amp
        scale = 1.0
    else:
        on_pre, on_post = triplet_code(triplet["rule"], triplet["pairing"])
        names = ("a2_plus", "a3_plus", "a2_minus", "a3_minus", "w_min", "w_max")
        namespace = {k: triplet[k] for k in names}
        namespace.update({k: triplet[k] * b2.second for k in ("tau_plus", "tau_minus", "tau_x", "tau_y")})
        namespace["w_scale"] = triplet["w_scale"] * b2.amp
        S = b2.Synapses(inp, G, TRIPLET_EQS, on_pre=on_pre, on_post=on_post, namespace=namespace, dt=bdt)
        S.connect(i=ii, j=jj)
        scale = triplet["w_scale"]
        S.w = W[ii, jj] / scale
    mon = b2.SpikeMonitor(G)
    objs = [inp, G, S, mon]
    if record_theta:
        theta_mon = b2.StateMonitor(G, "theta", record=True, dt=bdt)
        objs.append(theta_mon)
    b2.Network(*objs).run(duration * b2.second)
    W_final = np.zeros(W.shape)
    W_final[np.asarray(S.i), np.asarray(S.j)] = np.asarray(S.w_, np.float64) * scale
    steps = np.round(np.asarray(mon.t / b2.second) / dt).astype(np.int64)
    return {
        "spikes": sorted(zip(steps.tolist(), np.asarray(mon.i).tolist())),
        "W": W_final,
        "theta": None if theta is None else np.asarray(G.theta_, np.float64).copy(),
        "theta_trace": np.asarray(theta_mon.theta_).T.copy() if record_theta else None,
    }
