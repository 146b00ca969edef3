"""On-chip STDP: Brian2 agreement with ideal devices; pulses, wear and energy with real cards."""
import threading

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.devices import Conductance, DeviceModel, Endurance, PulseResponse
from neuroimc.kernels import background
from neuroimc.units import Mohm, mV, ms, pA, second

from brian2_reference import LIF_EQS, poisson_spike_trains

DT = 0.1 * ms
N_IN, N = 200, 30
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100 * Mohm)
W_SCALE = 60 * pA


def build_neuroimc(rule, w0, in_idx, in_times, device="ideal", seed=1):
    net = ni.Network(dt=DT, seed=seed)
    src = net.add(ni.SpikeSource(N_IN, indices=in_idx, times=in_times))
    pop = net.add(ni.LIFPopulation(N, **LIF))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * W_SCALE, device=device, w_max=W_SCALE, seed=seed),
                     plasticity=rule)
    return net, src, pop, xb


def run_brian2(rule, w0, in_idx, in_times, duration):
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    inp = b2.SpikeGeneratorGroup(N_IN, in_idx, in_times * b2.second, dt=DT * b2.second)
    G = b2.NeuronGroup(N, LIF_EQS, threshold="v > v_thresh", reset="v = v_reset", refractory=LIF["t_ref"] * b2.second,
                       method="exact", dt=DT * b2.second)
    for k in ("v_rest", "v_reset", "v_thresh"):
        setattr(G, k, LIF[k] * b2.volt)
    G.r_m, G.tau_m, G.tau_syn = LIF["r_m"] * b2.ohm, LIF["tau_m"] * b2.second, LIF["tau_syn"] * b2.second
    G.v = LIF["v_rest"] * b2.volt
    pre_trace = "apre = a_pre" if rule.pairing == "nearest" else "apre += a_pre"
    post_trace = "apost = a_post" if rule.pairing == "nearest" else "apost += a_post"
    if rule.rule == "additive":
        dep, pot = "w = clip(w + apost, w_min, w_max)", "w = clip(w + apre, w_min, w_max)"
    else:
        dep = "w = clip(w + apost * (w - w_min), w_min, w_max)"
        pot = "w = clip(w + apre * (w_max - w), w_min, w_max)"
    S = b2.Synapses(inp, G, """w : 1
                    dapre/dt = -apre / tau_pre : 1 (event-driven)
                    dapost/dt = -apost / tau_post : 1 (event-driven)""",
                    on_pre=f"I_syn_post += w * w_scale\n{pre_trace}\n{dep}",
                    on_post=f"{post_trace}\n{pot}",
                    namespace=dict(a_pre=rule.a_pre, a_post=rule.a_post, w_min=rule.w_min, w_max=rule.w_max,
                                   tau_pre=rule.tau_pre * b2.second, tau_post=rule.tau_post * b2.second,
                                   w_scale=W_SCALE * b2.amp), dt=DT * b2.second)
    ii, jj = np.nonzero(np.ones((N_IN, N), bool))
    S.connect(i=ii, j=jj)
    S.w = w0[ii, jj]
    mon = b2.SpikeMonitor(G)
    b2.Network(inp, G, S, mon).run(duration * b2.second)
    w = np.zeros((N_IN, N))
    w[np.asarray(S.i), np.asarray(S.j)] = np.asarray(S.w)
    steps = np.round(np.asarray(mon.t / b2.second) / DT).astype(np.int64)
    return sorted(zip(steps.tolist(), np.asarray(mon.i).tolist())), w


@pytest.mark.parametrize("rule", [
    ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.01, a_post=-0.0105, w_max=1.0),
    ni.STDP(tau_pre=16.8 * ms, tau_post=33.7 * ms, a_pre=0.02, a_post=-0.015, w_max=0.8, rule="soft_bound"),
    ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.01, a_post=-0.0105, w_max=1.0, pairing="nearest"),
], ids=["additive", "soft_bound", "nearest"])
def test_stdp_matches_brian2_with_ideal_devices(rule):
    pytest.importorskip("brian2")
    duration = 1.0 * second
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, duration, DT, seed=31)
    w0 = np.random.default_rng(32).uniform(0.2, 0.8, (N_IN, N))
    net, src, pop, xb = build_neuroimc(rule, w0, in_idx, in_times)
    spikes = net.monitor_spikes(pop)
    net.run(duration, progress=False)
    b2_spikes, b2_w = run_brian2(rule, w0, in_idx, in_times, duration)
    ours = sorted(zip(spikes.steps.tolist(), spikes.indices.tolist()))
    assert len(ours) > 200  # active enough for learning to matter
    assert ours == b2_spikes
    w = xb.weights() / W_SCALE
    assert np.abs(w - w0).max() > 0.05  # the weights really moved
    np.testing.assert_allclose(w, b2_w, rtol=1e-6, atol=1e-9)


def replay_pulses(rule, w0, pre_spikes, post_spikes, n_steps, P, w_minus=0.0, frozen=None):
    """Independent replay of the rule on a linear, noiseless device: expected pulses and final weights.

    The negative devices hold ``w_minus`` (in units of the window: stuck ones), and the positive
    devices of ``frozen`` pairs are stuck (their pulses counted, without effect).  An update moves
    a weight towards ``[w_min, w_max]`` no further than it asks, and never against it.
    """
    decay_pre, decay_post = np.exp(-DT / rule.tau_pre), np.exp(-DT / rule.tau_post)
    x, y = np.zeros(w0.shape[0]), np.zeros(w0.shape[1])
    w = w0.copy()
    frozen = np.zeros(w0.shape, bool) if frozen is None else frozen
    minus = np.broadcast_to(w_minus, w0.shape)
    pulses = np.zeros(w0.shape, np.int64)
    pre_at = {t: [] for t in range(n_steps)}
    post_at = {t: [] for t in range(n_steps)}
    for t, i in pre_spikes:
        pre_at[t].append(i)
    for t, j in post_spikes:
        post_at[t].append(j)

    def program(i, j, dw):
        free = w[i, j] + dw
        target = min(max(np.clip(free, rule.w_min, rule.w_max), min(free, w[i, j])), max(free, w[i, j]))
        n = int(np.floor(abs(target - w[i, j]) * P + 0.5))
        pulses[i, j] += n
        if not frozen[i, j]:
            w[i, j] = np.clip(w[i, j] + minus[i, j] + np.sign(target - w[i, j]) * n / P, 0.0, 1.0) - minus[i, j]

    for t in range(n_steps):
        x *= decay_pre
        y *= decay_post
        for i in pre_at[t]:
            x[i] += rule.a_pre
            for j in range(w.shape[1]):
                program(i, j, y[j])
        for j in post_at[t]:
            y[j] += rule.a_post
            for i in range(w.shape[0]):
                program(i, j, x[i])
    return pulses, w


# grid 10: input spikes on a 1 ms grid, so that most steps with one have several (the rows of one step share
# the list of columns they can depress)
@pytest.mark.parametrize("grid", [1, 10])
def test_pulse_counts_equal_what_the_rule_asked_for(grid):
    P = 50
    dev = DeviceModel("lin", conductance=Conductance(0.0, 50e-6),
                      pulse=PulseResponse("linear", n_pulses_ltp=P, n_pulses_ltd=P))
    rule = ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.05, a_post=-0.05)
    n_in, duration = 40, 0.5 * second
    in_idx, in_times = poisson_spike_trains(n_in, 30.0, duration, grid * DT, seed=41)
    w0 = np.random.default_rng(42).integers(10, 40, (n_in, N)) / P  # on the pulse grid
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(n_in, indices=in_idx, times=in_times))
    pop = net.add(ni.LIFPopulation(N, **LIF))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * 2 * W_SCALE, device=dev, w_max=2 * W_SCALE, seed=1),
                     plasticity=rule)
    deployed = xb.pulse_counts("plus").copy()
    s_in, s_out = net.monitor_spikes(src), net.monitor_spikes(pop)
    net.run(duration, progress=False)
    assert len(s_out) > 100
    expected, w_expected = replay_pulses(rule, w0, zip(s_in.steps, s_in.indices), zip(s_out.steps, s_out.indices),
                                         int(round(duration / DT)), P)
    assert expected.sum() > 1000
    np.testing.assert_array_equal(xb.pulse_counts("plus") - deployed, expected)
    np.testing.assert_allclose(xb.weights() / (2 * W_SCALE), w_expected, atol=1e-9)
    assert np.all(xb.pulse_counts("minus") == 0)  # a bidirectional device learns on G+ alone


def test_pairs_held_out_of_bounds_by_stuck_devices_are_not_pulled_back():
    """A pair whose negative device is stuck high holds a weight below ``w_min``; one whose positive device is
    stuck holds it wherever the fault put it.  Learning pulses them by spike timing alone: potentiation
    SETs, depression RESETs, each by what the rule asks, never clipped back against it (the clip would
    SET a pair below ``w_min`` at every depression).  Pulse counts and weights equal the independent replay."""
    P = 50
    dev = DeviceModel("lin", conductance=Conductance(0.0, 50e-6),
                      pulse=PulseResponse("linear", n_pulses_ltp=P, n_pulses_ltd=P),
                      faults=ni.devices.Faults(stuck_low_rate=0.15, stuck_high_rate=0.15))
    rule = ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.05, a_post=-0.05)
    n_in, duration = 40, 0.3 * second
    in_idx, in_times = poisson_spike_trains(n_in, 30.0, duration, DT, seed=43)
    w0 = np.random.default_rng(44).integers(10, 40, (n_in, N)) / P
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(n_in, indices=in_idx, times=in_times))
    pop = net.add(ni.LIFPopulation(N, **LIF))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * 2 * W_SCALE, device=dev, w_max=2 * W_SCALE, seed=1),
                     plasticity=rule)
    status = xb.status().reshape(2, n_in, N)
    low, high = ni.kernels.device.STUCK_LOW, ni.kernels.device.STUCK_HIGH
    plus = np.where(status[0] == high, 1.0, np.where(status[0] == low, 0.0, w0))  # in units of the window
    minus = np.where(status[1] == high, 1.0, 0.0)
    window = dev.conductance.g_max - dev.conductance.g_min
    np.testing.assert_allclose(xb.g_plus, dev.conductance.g_min + plus * window)
    np.testing.assert_allclose(xb.g_minus, dev.conductance.g_min + minus * window)
    below = (status[1] == high) & (status[0] == 0)
    assert below.sum() > 50 and np.all(plus[below] - minus[below] < 0)
    deployed = xb.pulse_counts("plus").copy()
    s_in, s_out = net.monitor_spikes(src), net.monitor_spikes(pop)
    net.run(duration, progress=False)
    assert len(s_out) > 50
    expected, w_expected = replay_pulses(rule, plus - minus, zip(s_in.steps, s_in.indices),
                                         zip(s_out.steps, s_out.indices), int(round(duration / DT)), P,
                                         w_minus=minus, frozen=status[0] != 0)
    np.testing.assert_array_equal(xb.pulse_counts("plus") - deployed, expected)
    np.testing.assert_allclose(xb.weights() / (2 * W_SCALE), w_expected, atol=1e-9)
    assert np.all(w_expected[below] > plus[below] - minus[below])  # potentiation raised them, by timing


def test_learning_wears_devices_out_exactly_at_their_limits():
    dev = DeviceModel("weak", conductance=Conductance(0.0, 50e-6),
                      pulse=PulseResponse("linear", n_pulses_ltp=20, n_pulses_ltd=20),
                      endurance=Endurance(cycles_mean=60, cycles_log_sigma=0.3, failure_mode="stuck_low"))
    rule = ni.STDP(a_pre=0.05, a_post=-0.05)
    in_idx, in_times = poisson_spike_trains(N_IN, 30.0, 0.5, DT, seed=51)
    w0 = np.full((N_IN, N), 0.5)
    net, src, pop, xb = build_neuroimc(rule, w0, in_idx, in_times, device=dev)
    energy = net.monitor_energy()
    pulses_before = xb.write_pulses
    net.run(0.5 * second, progress=False)
    limits = xb.device_parameters()["endurance"]
    counts = np.concatenate([xb.pulse_counts("plus").ravel(), xb.pulse_counts("minus").ravel()])
    worn = xb.status() >= ni.kernels.device.WORN_LOW
    np.testing.assert_array_equal(worn, counts > limits)
    assert 0.05 < xb.failed().mean() < 1.0
    assert energy.report().breakdown["writes"] == pytest.approx(
        (xb.write_pulses - pulses_before) * dev.write.energy_per_pulse)


def test_stdp_rule_validation():
    with pytest.raises(ValueError, match="tau_pre must be > 0"):
        ni.STDP(tau_pre=0.0)
    with pytest.raises(ValueError, match=r"rule must be one of \['additive', 'soft_bound'\]"):
        ni.STDP(rule="hebbian")
    with pytest.raises(ValueError, match="w_max must be <= 1.0"):
        ni.STDP(w_max=2.0)
    net = ni.Network()
    src = net.add(ni.PoissonSource(3, rate=10.0))
    pop = net.add(ni.LIFPopulation(2, **LIF))
    with pytest.raises(TypeError, match="plasticity must be an STDP or TripletSTDP rule"):
        net.connect(src, pop, ni.Crossbar.from_weights(np.ones((3, 2)) * pA), plasticity="stdp")


@pytest.mark.parametrize("case", ["pair", "reference", "two_sided", "triplet", "short_log", "non_canonical"])
def test_weight_only_learning_equals_the_general_device_path(case, monkeypatch):
    """Ideal crossbars learn weight-only, potentiation deferred to each row's next read
    (kernels.deferred). An exact card that is not formally ideal (finite but unreachable endurance)
    takes the general per-device path, column walks included; both must give the same spikes, write
    counts and read energy, and weights and conductances equal to rounding (one keeps the weight in
    amperes of jump, the other in siemens). Runs are cut in chunks and runs, and "short_log" forces
    the logs to fill and every row to catch up mid-chunk. "non_canonical" pairs (both devices above
    g_min) are not a weight's only state: the ideal card then writes its devices on the scalar-only
    path, which must equal the general one bit for bit."""
    rule = ni.STDP(a_pre=0.01, a_post=-0.0105)
    mapping, w_lo = "differential", 0.2
    if case == "reference":
        mapping = "reference"
    elif case == "two_sided":
        rule, w_lo = ni.STDP(a_pre=0.01, a_post=-0.0105, w_min=-0.5), -0.3
    elif case == "triplet":
        rule = ni.TripletSTDP(w_max=1.0)
    elif case == "short_log":  # a log of 8 entries, and depression log halves of one step's listed columns
        monkeypatch.setattr(ni.kernels.deferred, "LOG_MIN", 8)
        monkeypatch.setattr(ni.kernels.deferred, "LOG_PER_NEURON", 0)
        monkeypatch.setattr(ni.kernels.deferred, "DEP_PER_NEURON", 1)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.5, DT, seed=61)
    w0 = np.random.default_rng(62).uniform(w_lo, 0.8, (N_IN, N))
    almost = ni.devices.replace("ideal", endurance={"cycles_mean": 1e15})
    assert not almost.is_ideal
    results = []
    for device in ("ideal", almost):
        net = ni.Network(dt=DT, seed=1)
        net.chunk_steps = 700  # chunk ends inside runs, and runs end inside chunks
        src = net.add(ni.SpikeSource(N_IN, indices=in_idx, times=in_times))
        pop = net.add(ni.LIFPopulation(N, **LIF))
        if case == "non_canonical":
            card = ni.devices.load_device(device)
            g_minus = np.full(w0.shape, card.g_min + 0.1 * card.g_range)
            bar = ni.Crossbar(g_minus + w0 * card.g_range, g_minus, device=device, seed=1,
                              gain=W_SCALE / (card.v_read * card.g_range))
        else:
            bar = ni.Crossbar.from_weights(w0 * W_SCALE, device=device, w_max=W_SCALE, seed=1, mapping=mapping)
        xb = net.connect(src, pop, bar, plasticity=rule)
        mon = net.monitor_spikes(pop)
        energy = net.monitor_energy()
        net.run(0.2 * second, progress=False)
        assert xb._learns_weight_only() == (device == "ideal" and case != "non_canonical")
        net.run(0.3 * second, progress=False)
        other = "minus" if mapping == "differential" else "reference"
        results.append(dict(steps=mon.steps.copy(), idx=mon.indices.copy(), w=xb.weights(),
                            g=np.concatenate([a.ravel() for a in xb.conductances()]), plus=xb.pulse_counts("plus"),
                            minus=xb.pulse_counts(other), reads=energy.report().breakdown["synapse_reads"]))
    ideal, general = results
    assert len(ideal["steps"]) > 100
    for key in ("steps", "idx", "plus", "minus"):
        np.testing.assert_array_equal(ideal[key], general[key], err_msg=key)
    assert ideal["plus"].sum() > 10 * N_IN * N  # learning wrote
    if case == "two_sided":
        assert ideal["minus"].sum() > 100
    if case == "non_canonical":
        np.testing.assert_array_equal(ideal["w"], general["w"])
    np.testing.assert_allclose(ideal["w"], general["w"], rtol=1e-12, atol=1e-12 * W_SCALE)
    np.testing.assert_allclose(ideal["g"], general["g"], rtol=1e-12, atol=1e-12 * general["g"].max())
    assert ideal["reads"] == pytest.approx(general["reads"], rel=1e-12)
    assert not np.array_equal(ideal["w"], w0 * W_SCALE)


@pytest.mark.parametrize("case", ["rram", "stochastic", "reference", "two_sided", "triplet", "short_log",
                                  "two_crossbars"])
def test_logged_potentiation_on_devices_equals_the_column_walks(case, monkeypatch):
    """Crossbars that write their devices log each post spike's potentiation and each pre spike's
    depression (pair rules) and apply them row by row at the row's next catch-up (kernels.deferred,
    DEVICES); the row and column walks at each spike are the reference. The RRAM card has every
    non-ideality on (write noise, faults, endurance, read noise), and every update draws its noise
    from its own keyed stream, so both orders must give the same spikes, conductances, pulse counts,
    failures and read energy bit for bit, over chunk ends, runs, (short_log) logs that fill mid-chunk
    and (two_crossbars) a second, narrower plastic crossbar."""
    rule, mapping, w_lo = ni.STDP(a_pre=0.02, a_post=-0.021), "differential", 0.2
    if case == "stochastic":
        rule = ni.STDP(a_pre=0.02, a_post=-0.021, pulses="stochastic")
    elif case == "reference":
        mapping = "reference"
    elif case == "two_sided":
        rule, w_lo = ni.STDP(a_pre=0.02, a_post=-0.021, w_min=-0.5), -0.3
    elif case == "triplet":
        rule = ni.TripletSTDP(w_max=1.0)
    elif case == "short_log":  # a log of 8 entries, and depression log halves of one step's listed columns
        monkeypatch.setattr(ni.kernels.deferred, "LOG_MIN", 8)
        monkeypatch.setattr(ni.kernels.deferred, "LOG_PER_NEURON", 0)
        monkeypatch.setattr(ni.kernels.deferred, "DEP_PER_NEURON", 1)
    card = ni.devices.replace("rram_hfox", endurance={"cycles_mean": 300.0, "cycles_log_sigma": 0.5})
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.5, DT, seed=63)
    w0 = np.random.default_rng(64).uniform(w_lo, 0.8, (N_IN, N))
    results = []
    for logged in (True, False):
        monkeypatch.setattr(ni.Crossbar, "_defers_potentiation", lambda self, logged=logged: logged)
        net = ni.Network(dt=DT, seed=3)
        net.chunk_steps = 700
        src = net.add(ni.SpikeSource(N_IN, indices=in_idx, times=in_times))
        pop = net.add(ni.LIFPopulation(N, **LIF))
        xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * W_SCALE, device=card, w_max=W_SCALE, mapping=mapping),
                         plasticity=rule)
        xbs = [xb]
        if case == "two_crossbars":
            narrow = net.add(ni.LIFPopulation(4, **LIF))
            xbs.append(net.connect(src, narrow, ni.Crossbar.from_weights(w0[:, :4] * W_SCALE, device=card,
                                                                         w_max=W_SCALE), plasticity=rule))
        mon = net.monitor_spikes(pop)
        energy = net.monitor_energy()
        net.run(0.2 * second, progress=False)
        net.run(0.3 * second, progress=False)
        mode = net._packed["plastic_consts"][0][1][ni.kernels.entry.C_LAZY]
        assert mode == (ni.kernels.entry.DEVICES if logged else ni.kernels.entry.EAGER)
        results.append(dict(steps=mon.steps.copy(), idx=mon.indices.copy(), w=xb.weights(),
                            g=np.concatenate([a.ravel() for b in xbs for a in b.conductances()]),
                            pulses=xb.pulse_counts(), failed=xb.failed(),
                            reads=energy.report().breakdown["synapse_reads"]))
    logged, walked = results
    assert len(walked["steps"]) > 100
    for key in logged:
        np.testing.assert_array_equal(logged[key], walked[key], err_msg=key)
    assert walked["failed"].any() and walked["pulses"].sum() > 10 * N_IN * N


def test_a_replay_orders_its_entries_by_column_stably():
    """kernels.deferred._by_column against numpy's stable argsort, over columns spanning several words of
    its bitmap (bits 0 and 63 included); its lists and bitmap are left empty for the next replay."""
    rng = np.random.default_rng(7)
    n_post = 200
    head, columns = np.full(n_post, -1, np.int64), np.zeros((n_post + 63) // 64, np.int64)
    for size in (0, 1, 5, 300):
        posts = rng.integers(0, n_post, size)
        edges = np.array([63, 127, 0, n_post - 1])[:size]  # the highest bits of two words, the first, the last
        posts[:edges.size] = edges
        nxt, order = np.zeros(size, np.int64), np.zeros(size, np.int64)
        got = ni.kernels.deferred._by_column(posts, head, nxt, order, columns)
        np.testing.assert_array_equal(got, np.argsort(posts, kind="stable"))
        assert np.all(head == -1) and not columns.any()


def test_weight_only_crossbars_write_their_devices_at_least_every_sync_steps(monkeypatch):
    """Write counts of weight-only learning are int32 until written to the devices: a long run writes them
    every ``Network.sync_steps`` steps by itself, and that changes nothing the run computes."""
    rule = ni.STDP(a_pre=0.01, a_post=-0.0105)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.3, DT, seed=71)
    w0 = np.random.default_rng(72).uniform(0.2, 0.8, (N_IN, N))
    results = []
    for sync_steps in (2**30, 1000):
        monkeypatch.setattr(ni.Network, "sync_steps", sync_steps)
        net, src, pop, xb = build_neuroimc(rule, w0, in_idx, in_times)
        net.chunk_steps = 500
        mon = net.monitor_spikes(pop)
        net.run(0.3 * second, progress=False)
        assert xb._stale == (sync_steps > 3000)  # 3000 steps: the small sync_steps has just written them
        assert xb._writes.any() == (sync_steps > 3000)
        results.append((mon.steps.copy(), xb.weights(), xb.pulse_counts(), xb.conductances()[0]))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert results[0][2].sum() > 10 * N_IN * N


@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_interrupted_between_chunks_leaves_weight_only_crossbars_up_to_date(threads, monkeypatch):
    """Weight-only crossbars keep their potentiation log open from chunk to chunk of a run. A run
    interrupted between chunks (Ctrl-C) still applies it: the weights and write counts equal those of
    a run that stopped at the same step; with a background catch-up thread too, which then stops (once its
    kernel is loaded, if it was still loading it)."""
    rule = ni.STDP(a_pre=0.01, a_post=-0.0105)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.3, DT, seed=91)
    w0 = np.random.default_rng(92).uniform(0.2, 0.8, (N_IN, N))
    results = []
    for interrupt in (True, False):
        net, src, pop, xb = build_neuroimc(rule, w0, in_idx, in_times)
        net.chunk_steps = 400
        net.threads, net.background_work = threads, 0
        if interrupt:
            calls = []
            refresh = ni.Network._steps_to_next_refresh

            def interrupting(self):  # asked before each chunk: the fourth is never run
                calls.append(1)
                if len(calls) == 4:
                    raise KeyboardInterrupt
                return refresh(self)

            monkeypatch.setattr(ni.Network, "_steps_to_next_refresh", interrupting)
            with pytest.raises(KeyboardInterrupt):
                net.run(0.3 * second, progress=False)
            monkeypatch.undo()
        else:
            net.run(1200 * DT, progress=False)
        assert net._step == 1200
        background.join_left(timeout=60)  # one still loading its kernel when the run ended stops once loaded
        assert not any(t.name == "neuroimc-catch-up" for t in threading.enumerate())
        results.append((xb.weights(), xb.pulse_counts(), xb._read_energy.copy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(results[0][0], w0 * W_SCALE)


def test_weight_only_and_device_learning_side_by_side_in_one_network():
    """Two plastic crossbars from one source into two equal populations, one ideal (weight-only, from
    the flat tables) and one exact but not formally ideal (device writes): one kernel runs both paths,
    and they learn the same."""
    rule = ni.STDP(a_pre=0.01, a_post=-0.0105)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.4, DT, seed=81)
    w0 = np.random.default_rng(82).uniform(0.2, 0.8, (N_IN, N))
    almost = ni.devices.replace("ideal", endurance={"cycles_mean": 1e15})
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(N_IN, indices=in_idx, times=in_times))
    xbs, mons = [], []
    for device in (almost, "ideal"):
        pop = net.add(ni.LIFPopulation(N, **LIF))
        xbs.append(net.connect(src, pop, ni.Crossbar.from_weights(w0 * W_SCALE, device=device, w_max=W_SCALE, seed=1),
                               plasticity=rule))
        mons.append(net.monitor_spikes(pop))
    net.run(0.4 * second, progress=False)
    assert [xb._learns_weight_only() for xb in xbs] == [False, True]
    assert len(mons[0]) > 100
    np.testing.assert_array_equal(mons[0].steps, mons[1].steps)
    np.testing.assert_array_equal(mons[0].indices, mons[1].indices)
    np.testing.assert_allclose(xbs[1].weights(), xbs[0].weights(), rtol=1e-12, atol=1e-12 * W_SCALE)
    np.testing.assert_array_equal(xbs[1].pulse_counts(), xbs[0].pulse_counts())
    assert not np.array_equal(xbs[1].weights(), w0 * W_SCALE)


def test_synaptic_scaling_of_weight_only_crossbars_equals_the_device_path():
    """normalize_columns on a weight-only crossbar scales the weights and counts the writes without
    touching the devices (kernels.deferred.scale_columns): factors, weights, write counts and read
    energy must equal those of the general device path on an exact card, also after more learning."""
    rule = ni.STDP(a_pre=0.01, a_post=-0.0105, w_max=0.9)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.4, DT, seed=91)
    w0 = np.random.default_rng(92).uniform(0.2, 0.8, (N_IN, N))
    w0[:, 0], w0[:5, 0] = 0.3, 0.85  # column 0 scales up, its five large weights into the bound
    almost = ni.devices.replace("ideal", endurance={"cycles_mean": 1e15})
    results = []
    for device in ("ideal", almost):
        net, src, pop, xb = build_neuroimc(rule, w0, in_idx, in_times, device=device)
        energy = net.monitor_energy()
        f1 = xb.normalize_columns(N_IN * 0.6)
        np.testing.assert_allclose(xb.weights()[:5, 0], 0.9 * W_SCALE, rtol=1e-12)  # clipped at the rule's w_max
        net.run(0.2 * second, progress=False)
        f2 = xb.normalize_columns(N_IN * 0.5)
        net.run(0.2 * second, progress=False)
        assert xb._learns_weight_only() == (device == "ideal")
        results.append((f1, f2, xb.weights(), xb.pulse_counts(), energy.report().breakdown["synapse_reads"]))
    (f1, f2, w, p, e), (g1, g2, v, q, d) = results
    assert np.all(f1 != 1.0) and np.all(f2 != 1.0)
    np.testing.assert_allclose(f1, g1, rtol=1e-12)
    np.testing.assert_allclose(f2, g2, rtol=1e-12)
    np.testing.assert_allclose(w, v, rtol=1e-12, atol=1e-12 * W_SCALE)
    np.testing.assert_array_equal(p, q)
    assert e == pytest.approx(d, rel=1e-12)
