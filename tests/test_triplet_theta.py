"""Triplet STDP, adaptive thresholds and the learning switch, against Brian2 and closed forms.

The Brian2 twins here are written by hand (tests/brian2_reference.py: per-synapse
event-driven traces r1, r2, o1, o2; ``dtheta/dt = -theta/tau_theta``) and
driven by the same recorded input spikes; the ``neuroimc.brian`` tests check that
the package's own twins (``to_brian2``, ``reference_run``) agree as well.
"""
import dataclasses

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import Mohm, mV, ms, pA, second

from brian2_reference import poisson_spike_trains, run_brian2_twin

DT = 0.1 * ms
N_IN, N = 50, 5
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100 * Mohm)
W_SCALE = 120 * pA
# large amplitudes (all four terms present), so that weights move a good part of their range in 1 s
STRONG = dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=125 * ms, a2_plus=0.005, a3_plus=0.05,
              a2_minus=0.02, a3_minus=0.002)
# Diehl & Cook (2015): nearest spike, pair depression, triplet potentiation
DIEHL_COOK = dict(tau_plus=20 * ms, tau_minus=20 * ms, tau_y=40 * ms, a2_plus=0.0, a3_plus=0.01, a2_minus=1e-4,
                  a3_minus=0.0, pairing="nearest")
ADAPT = dict(theta_plus=2 * mV, tau_theta=50 * ms)


def inputs(duration=1.0 * second, seed=31, rate=15.0):
    return poisson_spike_trains(N_IN, rate, duration, DT, seed=seed)


def build(rule=None, adapt=None, seed=31, duration=1.0 * second, w0=None):
    """Recorded input -> N LIF neurons through one ideal crossbar (plastic if ``rule``)."""
    idx, times = inputs(duration, seed)
    if w0 is None:
        w0 = np.random.default_rng(seed + 1).uniform(0.2, 0.8, (N_IN, N))
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(N_IN, indices=idx, times=times, name="inp"))
    pop = net.add(ni.LIFPopulation(N, **LIF, **(adapt or {}), name="out"))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * W_SCALE, device="ideal", w_max=W_SCALE),
                     plasticity=rule)
    return net, src, pop, xb, (idx, times)


def pairs(mon):
    return sorted(zip(mon.steps.tolist(), mon.indices.tolist()))


def twin_rule(rule):
    return {**dataclasses.asdict(rule), "w_scale": W_SCALE}


# --------------------------------------------------------------------------- a. triplet STDP vs Brian2
TRIPLET_CASES = {
    f"{r}-{p}": ni.TripletSTDP(**STRONG, rule=r, pairing=p)
    for r in ("additive", "soft_bound") for p in ("all_to_all", "nearest")
}
TRIPLET_CASES["diehl_cook"] = ni.TripletSTDP(**DIEHL_COOK)


@pytest.mark.parametrize("name", list(TRIPLET_CASES))
def test_triplet_stdp_matches_brian2_with_ideal_devices(name):
    pytest.importorskip("brian2")
    rule = TRIPLET_CASES[name]
    net, _, pop, xb, (idx, times) = build(rule)
    W0 = xb.weights()
    spikes = net.monitor_spikes(pop)
    net.run(1.0 * second, progress=False)
    ref = run_brian2_twin(DT, 1.0, N_IN, idx, times, dict(LIF, n=N), W0, triplet=twin_rule(rule))
    ours = pairs(spikes)
    assert len(ours) > 100  # active enough for the triplet term (post-post pairs) to matter
    assert ours == ref["spikes"]
    w, w_b2, w0 = xb.weights() / W_SCALE, ref["W"] / W_SCALE, W0 / W_SCALE
    # the weights really moved (Diehl & Cook's amplitudes are 5x smaller)
    assert np.abs(w - w0).max() > (0.05 if name == "diehl_cook" else 0.2)
    np.testing.assert_allclose(w, w_b2, rtol=0, atol=1e-6 * rule.w_max)


def test_triplet_term_reads_the_slow_trace_before_the_spike_steps_it():
    """A pair of post spikes 5 ms apart after one pre spike: the second potentiation sees o2 from the
    first post spike only (exp(-5 ms/tau_y)), never the spike's own increment.  Closed form."""
    rule = ni.TripletSTDP(tau_plus=20 * ms, tau_minus=20 * ms, tau_x=100 * ms, tau_y=40 * ms, a2_plus=0.0,
                          a3_plus=0.1, a2_minus=0.0, a3_minus=0.0)
    net = ni.Network(dt=DT, seed=1)
    # input 0 fires at 1 ms; inputs 1 and 2 drive one post spike each (brief, strong current pulses)
    src = net.add(ni.SpikeSource(3, indices=[0, 1, 2], times=[1 * ms, 2 * ms, 7 * ms]))
    pop = net.add(ni.LIFPopulation(1, **dict(LIF, tau_syn=0.2 * ms)))
    W = np.array([[0.0], [1.0], [1.0]]) * 30000 * pA
    xb = net.connect(src, pop, ni.Crossbar.from_weights(W, w_max=30000 * pA), plasticity=rule)
    spikes = net.monitor_spikes(pop)
    net.run(20 * ms, progress=False)
    t_post = spikes.steps * DT
    assert spikes.indices.size == 2 and 4 * ms < np.diff(t_post)[0] < 6 * ms
    # synapse 0: w = 0 + r1(t1)*a3_plus*o2(before 1st) + r1(t2)*a3_plus*o2(before 2nd)
    r1 = np.exp(-(t_post - 1 * ms) / rule.tau_plus)
    o2 = np.array([0.0, np.exp(-(t_post[1] - t_post[0]) / rule.tau_y)])
    expected = np.sum(r1 * rule.a3_plus * o2)
    assert expected > 0.05
    assert xb.weights()[0, 0] / xb.w_max == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- b. adaptive threshold vs Brian2
def test_adaptive_threshold_matches_brian2():
    pytest.importorskip("brian2")
    adapt = dict(theta_plus=np.array([1.0, 2.0, 3.0, 2.0, 1.5]) * mV,
                 tau_theta=np.array([30.0, 50.0, 80.0, 50.0, 1e9]) * ms)  # the last one barely decays
    net, _, pop, xb, (idx, times) = build(adapt=adapt, w0=np.random.default_rng(7).uniform(0.3, 1.0, (N_IN, N)))
    W = xb.weights()
    spikes = net.monitor_spikes(pop)
    thetas = []  # theta at the start of steps 1000, 2000, ..., 10000
    for _ in range(10):
        net.run(0.1 * second, progress=False)
        thetas.append(pop.theta.copy())
    ref = run_brian2_twin(DT, 1.0, N_IN, idx, times, dict(LIF, n=N), W, theta=adapt, record_theta=True)
    ours = pairs(spikes)
    assert len(ours) > 100
    assert ours == ref["spikes"]
    np.testing.assert_allclose(pop.theta, ref["theta"], rtol=0, atol=1e-9)  # volts
    sampled = ref["theta_trace"][1000::1000]  # Brian2 samples at the start of each step
    np.testing.assert_allclose(np.array(thetas[:-1]), sampled, rtol=0, atol=1e-9)
    assert pop.theta.max() > 3 * mV  # the threshold really adapted
    # and adaptation changed the behaviour: the same input with a fixed threshold fires more
    fixed, _, fixed_pop, _, _ = build(w0=np.random.default_rng(7).uniform(0.3, 1.0, (N_IN, N)))
    fixed_spikes = fixed.monitor_spikes(fixed_pop)
    fixed.run(1.0 * second, progress=False)
    assert len(fixed_spikes) > 1.2 * len(ours)


# --------------------------------------------------------------------------- c. learning switch, save/load
def test_learning_off_freezes_weights_traces_and_theta_but_not_spikes():
    rule = ni.TripletSTDP(**STRONG)
    net, src, pop, xb, _ = build(rule, adapt=ADAPT)
    net.run(0.2 * second, progress=False)

    def state():
        return [xb.weights(), xb._pre_trace.copy(), xb._post_trace.copy(), xb._pre_trace2.copy(),
                xb._post_trace2.copy(), pop.theta.copy()]

    before = state()
    assert all(np.abs(a).max() > 0 for a in before)  # everything that must freeze is live
    net.learning = False
    out, inp = net.monitor_spikes(pop), net.monitor_spikes(src)
    I_before = pop.I_syn.copy()
    net.run(0.3 * second, progress=False)
    assert len(out) > 30 and len(inp) > 100  # spikes still propagate and drive the neurons
    assert not np.array_equal(pop.I_syn, I_before)
    for a, b in zip(before, state()):
        np.testing.assert_array_equal(a, b)
    net.learning = True
    net.run(0.1 * second, progress=False)
    for a, b in zip(before, state()):
        assert not np.array_equal(a, b)  # learning (weights, all four traces) and adaptation resume
    with pytest.raises(TypeError, match="learning must be True or False, got 1"):
        net.learning = 1


def run_pieces(pieces, tmp_path=None):
    """A network with Poisson input, triplet STDP and adaptive thresholds, run in ``pieces`` of
    ``(duration, learning)``; saved and loaded between pieces if ``tmp_path``.  Returns the output
    spikes of all pieces and the final state."""
    rng = np.random.default_rng(3)
    net = ni.Network(dt=DT, seed=11)
    src = net.add(ni.PoissonSource(N_IN, rate=rng.uniform(10, 20, N_IN), name="poisson"))
    pop = net.add(ni.LIFPopulation(N, **LIF, **ADAPT, name="out"))
    net.connect(src, pop, ni.Crossbar.from_weights(rng.uniform(0.2, 0.8, (N_IN, N)) * W_SCALE, w_max=W_SCALE),
                plasticity=ni.TripletSTDP(**STRONG, rule="soft_bound"))
    got = []
    for k, (duration, learning) in enumerate(pieces):
        net.learning = learning
        if tmp_path is not None and k > 0:
            net = ni.load(net.save(tmp_path / f"piece{k}.npz"))
            assert net.learning == learning
        mon = net.monitor_spikes(net.populations[0])
        net.run(duration, progress=False)
        got.append(pairs(mon))
    (xb,), (pop,) = net.crossbars, net.populations
    state = [xb.weights(), xb._pre_trace, xb._post_trace, xb._pre_trace2, xb._post_trace2, pop.theta, pop.v,
             pop.I_syn, pop.lastspike]
    return [s for piece in got for s in piece], state


def test_save_load_of_a_triplet_adaptive_network_continues_bit_identically(tmp_path):
    whole, whole_state = run_pieces([(0.6 * second, True)])
    halves, halves_state = run_pieces([(0.3 * second, True), (0.3 * second, True)], tmp_path)
    assert len(whole) > 100
    assert halves == whole
    for a, b in zip(whole_state, halves_state):
        np.testing.assert_array_equal(a, b)
    # with a test phase in between: the saved flag (and the frozen state) carry over too
    pieces = [(0.2 * second, True), (0.15 * second, False), (0.25 * second, True)]
    resumed, resumed_state = run_pieces(pieces, tmp_path)
    uninterrupted, uninterrupted_state = run_pieces(pieces)
    assert resumed == uninterrupted
    for a, b in zip(uninterrupted_state, resumed_state):
        np.testing.assert_array_equal(a, b)
    # the frozen piece really changed the history (else the test could not tell a lost flag)
    assert whole != uninterrupted and not np.array_equal(whole_state[0], uninterrupted_state[0])


# --------------------------------------------------------------------------- d. trace flushing
@pytest.mark.parametrize("rule", [
    ni.STDP(tau_pre=1 * ms, tau_post=1.7 * ms, a_pre=0.01, a_post=-0.0105),
    ni.TripletSTDP(tau_plus=1 * ms, tau_minus=1.7 * ms, tau_x=2.3 * ms, tau_y=3.1 * ms),
], ids=["pair", "triplet"])
def test_a_single_spikes_trace_is_the_exponential_until_flushed_to_zero(rule):
    """One pre spike, which makes the neuron fire in the next step: each of their traces is
    increment * exp(-k dt/tau) k steps after its spike, then exactly 0 from the first step at which
    that falls below 2**-40 of the increment."""
    net = ni.Network(dt=DT, seed=1)
    s0 = 5
    src = net.add(ni.SpikeSource(2, indices=[1], times=[s0 * DT]))
    pop = net.add(ni.LIFPopulation(1, **dict(LIF, t_ref=50 * ms)))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(np.array([[0.0], [1.0]]) * 1e-6, w_max=1e-6),
                     plasticity=rule)
    spikes = net.monitor_spikes(pop)
    # (attribute, neuron, increment, tau): read anew each step, as packing may rebind the arrays
    if rule.triplet:
        traces = [("_pre_trace", 1, 1.0, rule.tau_plus), ("_pre_trace2", 1, 1.0, rule.tau_x),
                  ("_post_trace", 0, 1.0, rule.tau_minus), ("_post_trace2", 0, 1.0, rule.tau_y)]
    else:
        traces = [("_pre_trace", 1, rule.a_pre, rule.tau_pre), ("_post_trace", 0, rule.a_post, rule.tau_post)]
    n_steps = int(np.ceil(max(40 * np.log(2) * tau for *_, tau in traces) / DT)) + 10
    history = []
    for _ in range(s0 + n_steps):
        net.run(DT, progress=False)
        history.append([getattr(xb, attr)[index] for attr, index, *_ in traces])
    history = np.array(history)
    # the neuron fired once, in the step after the input spike (t_ref keeps it from firing again)
    assert spikes.steps.tolist() == [s0 + 1]
    for col, (_, index, inc, tau) in enumerate(traces):
        start = s0 if index == 1 else s0 + 1  # pre traces start with the input spike, post ones with the output
        got = history[start:, col]
        assert np.all(history[:start, col] == 0.0)
        k = np.arange(got.size)
        exact = inc * np.exp(-k * DT / tau)
        live = np.abs(exact) >= 2.0**-40 * abs(inc)
        # the crossing is not within rounding of a step boundary, so the closed form decides it
        crossing = 40 * np.log(2) * tau / DT
        assert abs(crossing - round(crossing)) > 1e-6
        assert live.sum() == int(np.floor(crossing)) + 1 and not live[-1]
        # k roundings of the product and k times the rounding of exp(-dt/tau) (each <= eps/2), plus the
        # closed form's own (its argument k dt/tau <= 0.1 k): relative error below (k + 2) eps
        err = np.abs(got[live] - exact[live]) / np.abs(exact[live])
        assert np.all(err <= (k[live] + 2) * np.finfo(float).eps)
        assert np.all(got[~live] == 0.0)  # flushed: exactly zero, never subnormal


# --------------------------------------------------------------------------- neuroimc.brian twins
@pytest.mark.parametrize("name", [k for k in TRIPLET_CASES if k != "diehl_cook"])
def test_reference_run_of_a_triplet_adaptive_network_from_mid_run_is_identical(name):
    pytest.importorskip("brian2")
    from neuroimc import brian

    net, _, pop, xb, _ = build(TRIPLET_CASES[name], adapt=ADAPT)
    net.run(0.3 * second, progress=False)
    # the snapshot has live fast and slow traces and an adapted threshold
    assert all(np.abs(t).max() > 0 for t in (xb._pre_trace, xb._post_trace, xb._pre_trace2, xb._post_trace2))
    assert pop.theta.max() > 0
    twin = brian.to_brian2(net)
    S = twin["xb0_inp_to_out"]
    np.testing.assert_array_equal(np.asarray(S.r2_), np.repeat(xb._pre_trace2, N))
    np.testing.assert_array_equal(np.asarray(S.o2_), np.tile(xb._post_trace2, N_IN))
    np.testing.assert_array_equal(np.asarray(twin["out"].theta_), pop.theta)
    run = brian.reference_run(net, 0.7 * second, record_v=N, progress=False)
    ours, theirs = run.neuroimc.populations["out"], run.brian2.populations["out"]
    assert ours.indices.size > 100
    assert pairs_of(ours) == pairs_of(theirs)
    (label,) = run.brian2.weights
    wa, wb = run.neuroimc.weights[label], run.brian2.weights[label]
    assert np.array_equal(wa.final, xb.weights())
    assert np.abs(wb.final - wb.initial).max() > 0.1 * xb.w_max
    np.testing.assert_allclose(wa.final, wb.final, rtol=0, atol=1e-6 * xb.w_max)
    c = brian.compare(*run)
    assert c.identical and c.max_trace_error < 1e-9 and c.max_weight_error <= 1e-6


def pairs_of(record):
    return sorted(zip(np.asarray(record.steps).tolist(), np.asarray(record.indices).tolist()))


def test_reference_run_follows_the_learning_switch_and_the_final_theta():
    b2 = pytest.importorskip("brian2")
    from neuroimc import brian

    net, _, pop, xb, _ = build(ni.TripletSTDP(**DIEHL_COOK), adapt=ADAPT)
    net.run(0.2 * second, progress=False)
    net.learning = False  # test phase: the twin must neither learn nor adapt
    frozen = brian.reference_run(net, 0.3 * second, record_v=2, progress=False)
    c = brian.compare(*frozen)
    assert frozen.neuroimc.populations["out"].indices.size > 30 and c.identical
    (label,) = frozen.brian2.weights
    assert np.array_equal(frozen.brian2.weights[label].final, frozen.brian2.weights[label].initial)
    net.learning = True
    w_frozen = xb.weights()
    twin = brian.to_brian2(net)
    theta0 = pop.theta.copy()
    mon = net.monitor_spikes(pop)
    net.run(0.3 * second, progress=False)
    twin.run(0.3 * b2.second, namespace={})
    step0 = round(0.5 * second / DT)  # the twin's time 0 is the network's time when it was built
    b2_steps = np.round(np.asarray(twin["spikemon_out"].t_) / DT).astype(np.int64) + step0
    assert len(mon) > 30
    assert pairs(mon) == sorted(zip(b2_steps.tolist(), np.asarray(twin["spikemon_out"].i).tolist()))
    assert not np.array_equal(pop.theta, theta0)
    np.testing.assert_allclose(np.asarray(twin["out"].theta_), pop.theta, rtol=0, atol=1e-9)
    # Diehl & Cook's rule has no presynaptic triplet term: the chip keeps no r2, the twin a harmless one
    assert xb._pre_trace2.size == 0 and xb._post_trace2.size == N
    S = twin["xb0_inp_to_out"]
    w_b2 = np.zeros(xb.shape)
    w_b2[np.asarray(S.i[:]), np.asarray(S.j[:])] = np.asarray(S.w_)
    assert np.abs(w_b2 - w_frozen / xb.w_max).max() > 0.01  # learning resumed on both sides
    np.testing.assert_allclose(xb.weights() / xb.w_max, w_b2, rtol=0, atol=1e-6)


def brian2_network(triplet, adaptive):
    """A small hand-written Brian2 network: inputs -> LIF (adaptive threshold or not), triplet STDP or static."""
    b2 = pytest.importorskip("brian2")
    from brian2_reference import ADAPTIVE_LIF_EQS, LIF_EQS, TRIPLET_EQS, triplet_code

    dt = DT * b2.second
    inp = b2.SpikeGeneratorGroup(4, [0, 1], [1, 2] * b2.ms, dt=dt, name="inp")
    if adaptive:
        G = b2.NeuronGroup(3, ADAPTIVE_LIF_EQS, threshold="v > v_thresh + theta",
                           reset="v = v_reset\ntheta += theta_plus", refractory=2 * b2.ms, method="exact", dt=dt,
                           name="out")
        G.theta_plus, G.tau_theta = 2 * b2.mV, 50 * b2.ms
    else:
        G = b2.NeuronGroup(3, LIF_EQS, threshold="v > v_thresh", reset="v = v_reset", refractory=2 * b2.ms,
                           method="exact", dt=dt, name="out")
    G.v_rest = G.v_reset = G.v = -65 * b2.mV
    G.v_thresh, G.r_m, G.tau_m, G.tau_syn = -50 * b2.mV, 100 * b2.Mohm, 20 * b2.ms, 5 * b2.ms
    if triplet:
        on_pre, on_post = triplet_code("additive", "all_to_all")
        S = b2.Synapses(inp, G, TRIPLET_EQS, on_pre=on_pre, on_post=on_post, dt=dt, name="plastic")
    else:
        S = b2.Synapses(inp, G, "w : 1", on_pre="I_syn_post += w * w_scale", dt=dt, name="static")
    S.connect()
    S.w = 0.5
    namespace = dict(w_scale=W_SCALE * b2.amp, w_min=0.0, w_max=1.0, **{k: STRONG[k] for k in STRONG if k[0] == "a"},
                     **{k: STRONG[k] * b2.second for k in STRONG if k.startswith("tau")})
    return b2.Network(inp, G, S), namespace


def test_from_brian2_refuses_triplet_rules_and_adaptive_thresholds():
    pytest.importorskip("brian2")
    from neuroimc import brian

    bnet, ns = brian2_network(triplet=True, adaptive=False)
    with pytest.raises(brian.Brian2MappingError, match=r"\['o1', 'o2', 'r1', 'r2'\].*two \(event-driven\) traces"):
        brian.from_brian2(bnet, namespace=ns)
    bnet, ns = brian2_network(triplet=False, adaptive=True)
    with pytest.raises(brian.Brian2MappingError, match="theta"):
        brian.from_brian2(bnet, namespace=ns)
    bnet, ns = brian2_network(triplet=False, adaptive=False)
    assert brian.from_brian2(bnet, namespace=ns).populations[0].n == 3  # the same network without them maps
