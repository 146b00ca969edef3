"""neuroimc.brian: Brian2 twins, reference runs, comparison reports and deployment.

Brian2 is the independent reference: every agreement claimed here is between
spikes that Brian2 computed with its own code and spikes neuroimc computed.
"""
import math
import warnings

import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

import neuroimc as ni  # noqa: E402
from neuroimc import brian  # noqa: E402
from neuroimc.brian import cases  # noqa: E402
from neuroimc.brian.results import PopulationRecord, RunResult  # noqa: E402
from neuroimc.units import Hz, Mohm, mV, ms, pA, second  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DT = 0.1 * ms
B2S = b2.second  # Brian2 quantities need Brian2 units; neuroimc takes plain SI floats


@pytest.fixture(autouse=True)
def numpy_target():
    """Hand-built Brian2 networks in these tests run with the numpy target (no compiler)."""
    old = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    yield
    b2.prefs.codegen.target = old


def spike_pairs(indices, steps):
    return sorted(zip(np.asarray(steps).tolist(), np.asarray(indices).tolist()))


def b2_spikes(mon):
    return spike_pairs(np.asarray(mon.i), np.round(np.asarray(mon.t_) / DT).astype(np.int64))


# --------------------------------------------------------------------------- to_brian2 / reference_run
def test_feedforward_reference_run_gives_identical_spikes():
    net, _ = cases.feedforward(seed=4, n_in=300, n=100)
    run = brian.reference_run(net, 1.0 * second, record_v=10, progress=False)
    c = brian.compare(*run)
    ours, theirs = run.neuroimc.populations["lif"], run.brian2.populations["lif"]
    assert ours.indices.size > 1000  # an active network, or the comparison proves nothing
    assert spike_pairs(ours.indices, ours.steps) == spike_pairs(theirs.indices, theirs.steps)
    assert c.identical and c.first_divergence is None
    assert c.matched_fraction == 1.0 and c.van_rossum == 0.0
    assert ours.v.shape == theirs.v.shape == (10000, 10)
    assert c.max_trace_error < 1e-9


def test_recurrent_ei_identical_until_divergence_and_rates_within_2_percent():
    """The CUBA topology (160 E + 40 I, dense signed crossbars, Poisson drive), float64, 1 s."""
    net, _ = cases.cuba_ei(seed=3, n_exc=160, n_inh=40, n_in=100)
    run = brian.reference_run(net, 1.0 * second, progress=False)
    c = brian.compare(*run)
    assert sum(p.spikes_b for p in c.populations.values()) > 2000
    first = c.first_divergence
    assert first is None or first >= 0.2 * second
    limit = c.first_divergence_step if first is not None else run.neuroimc.n_steps
    for name in ("exc", "inh"):
        a, b = run.neuroimc.populations[name], run.brian2.populations[name]
        before_a, before_b = a.steps < limit, b.steps < limit
        ours = spike_pairs(a.indices[before_a], a.steps[before_a])
        assert ours == spike_pairs(b.indices[before_b], b.steps[before_b])
        assert c.populations[name].rate_relative_difference <= 0.02
    assert c.max_trace_error_before_divergence < 1e-9


def test_reference_run_from_mid_run_state_carries_refractoriness_and_currents():
    net, _ = cases.cuba_ei(seed=2, n_exc=160, n_inh=40, n_in=100)
    net.run(101.7 * ms, progress=False)
    step = round(net.t / net.dt)
    refractory = sum(int(((step - p._lastspike) < round(p.t_ref[0] / net.dt)).sum()) for p in net.populations)
    assert refractory > 0  # the snapshot must contain refractory neurons for this test to mean anything
    assert all(np.abs(p.I_syn).max() > 0 for p in net.populations)
    c = brian.compare(*brian.reference_run(net, 0.3 * second, progress=False))
    assert sum(p.spikes_b for p in c.populations.values()) > 500
    assert c.identical
    assert c.max_trace_error < 1e-9


def test_perturbed_twin_is_detected():
    """Negative control: a twin with 5 % larger input weights must be reported as different."""
    net, weights = cases.feedforward(seed=5, n_in=300, n=100)
    (xb, W), = weights.items()
    run = brian.reference_run(net, 0.5 * second, weights={xb: 1.05 * W}, progress=False)
    c = brian.compare(*run)
    assert not c.identical
    assert c.first_divergence is not None and 0 < c.first_divergence < 0.5
    assert c.matched_fraction < 1.0
    p = c.populations["lif"]
    assert p.count_difference.sum() == p.spikes_a - p.spikes_b < 0  # stronger input in Brian2: more spikes
    assert c.van_rossum > 0 and c.max_trace_error > 1e-6


def test_to_brian2_twin_runs_alone_and_mirrors_monitors():
    rng = np.random.default_rng(8)
    idx, steps = np.nonzero((rng.random((3000, 200)) < 20 * Hz * DT).T)
    times = steps * DT + rng.uniform(0, 0.4, steps.size) * DT  # off-grid times, binned like Brian2
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(n=200, indices=idx, times=times, name="recorded input"))
    pop = net.add(ni.LIFPopulation(50, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm, name="out"))
    net.connect(src, pop, ni.Crossbar.from_weights(rng.uniform(-10, 40, (200, 50)) * pA))
    spikes = net.monitor_spikes(pop)
    trace = net.monitor_state(pop, "I_syn", record=[0, 7])
    twin = brian.to_brian2(net)
    names = {o.name for o in twin.objects}
    assert {"recorded_input", "out", "spikemon_out", "statemon_out_I_syn"} <= names
    net.run(0.3 * second, progress=False)
    twin.run(0.3 * B2S, namespace={})
    assert len(spikes) > 100
    assert spike_pairs(spikes.indices, spikes.steps) == b2_spikes(twin["spikemon_out"])
    assert np.max(np.abs(trace.values - np.asarray(twin["statemon_out_I_syn"].I_syn_).T)) < 1e-18


def test_to_brian2_poisson_without_recorded_spikes_warns():
    net, _ = cases.feedforward(seed=1, n_in=20, n=5)
    with pytest.warns(UserWarning, match="Poisson sources .*input.* no recorded spikes"):
        twin = brian.to_brian2(net)
    assert isinstance(twin["input"], b2.PoissonGroup)


def test_pathway_order_follows_neuroimc_summation_order():
    """Brian2 sorts pathways by name: the twin's names must put populations before sources."""
    net, _ = cases.cuba_ei(seed=1, n_exc=8, n_inh=2, n_in=4)
    twin = brian.to_brian2(net, source_spikes={net.sources[0]: (np.zeros(0, int), np.zeros(0))})
    paths = sorted((o for o in twin.objects if isinstance(o, b2.Synapses)), key=lambda s: s.pre.name)
    pre = [s.source.name for s in paths]
    assert pre == ["exc", "exc", "inh", "inh", "input", "input"]


def test_reference_run_rejects_bad_arguments():
    net, weights = cases.feedforward(seed=1, n_in=10, n=5)
    with pytest.raises(TypeError, match="net must be a neuroimc Network"):
        brian.reference_run("net", 0.1)
    with pytest.raises(ValueError, match="duration must be a whole number of time steps"):
        brian.reference_run(net, 0.00015)
    with pytest.raises(ValueError, match="duration must be >= 0"):
        brian.reference_run(net, -1.0)
    (xb, W), = weights.items()
    with pytest.raises(ValueError, match=r"must have shape \(10, 5\)"):
        brian.reference_run(net, 0.01, weights={xb: W[:5]}, progress=False)
    with pytest.raises(ValueError, match="weights must be 'effective', 'target'"):
        brian.reference_run(net, 0.01, weights="ideal", progress=False)
    with pytest.raises(TypeError, match="record_v must be True"):
        brian.reference_run(net, 0.01, record_v="all", progress=False)
    with pytest.raises(ValueError, match="target must be one of Brian2's code-generation targets"):
        brian.reference_run(net, 0.01, target="fortran", progress=False)


# --------------------------------------------------------------------------- compare
def record(name, n, pairs, n_steps=1000, v=None, v_record=()):
    pairs = sorted(pairs)
    steps = np.array([s for s, _ in pairs], np.int64)
    idx = np.array([i for _, i in pairs], np.int64)
    v = np.zeros((n_steps, len(v_record))) if v is None else v
    return PopulationRecord(name, n, idx, steps, np.asarray(v_record, np.int64), v)


def result(label, *recs, n_steps=1000):
    return RunResult(label, DT, n_steps * DT, {r.name: r for r in recs})


def test_compare_counts_matches_within_tolerance_and_first_divergence():
    a = [(10, 0), (20, 0), (30, 1), (40, 1), (50, 2)]
    b = [(10, 0), (21, 0), (32, 1), (40, 1), (60, 3), (61, 3)]
    c = brian.compare(result("x", record("p", 4, a)), result("y", record("p", 4, b)))
    # within one step: (10,0)(10,0), (20,0)(21,0), (40,1)(40,1); (30,1)-(32,1) is 2 steps apart
    assert c.populations["p"].matched == 3
    assert c.matched_fraction == pytest.approx(2 * 3 / (5 + 6))
    assert c.first_divergence_step == 20 and c.first_divergence == pytest.approx(20 * DT)
    assert c.populations["p"].count_difference.tolist() == [0, 0, 1, -2]
    c2 = brian.compare(result("x", record("p", 4, a)), result("y", record("p", 4, b)), tolerance=2 * DT)
    assert c2.populations["p"].matched == 4


def test_van_rossum_matches_numerical_integration():
    tau = 10 * ms
    x, y = [100, 180, 400], [105, 390, 700]
    ra, rb = record("p", 1, [(s, 0) for s in x]), record("p", 1, [(s, 0) for s in y])
    c = brian.compare(result("x", ra), result("y", rb), tau=tau)
    # independent: filter both trains on a fine grid and integrate (2/tau) * int (f - g)^2 dt
    t = np.arange(0, 0.3, 1e-6)
    f = sum(np.where(t >= s * DT, np.exp(-(t - s * DT) / tau), 0.0) for s in x)
    g = sum(np.where(t >= s * DT, np.exp(-(t - s * DT) / tau), 0.0) for s in y)
    expected = math.sqrt(2 / tau * np.sum((f - g) ** 2) * 1e-6)
    assert c.populations["p"].van_rossum[0] == pytest.approx(expected, rel=1e-3)
    lone = brian.compare(result("x", record("p", 1, [(5, 0)])), result("y", record("p", 1, [])))
    assert lone.van_rossum == pytest.approx(1.0)


def test_rate_correlation_and_trace_errors():
    rng = np.random.default_rng(3)
    pairs_a = [(int(s), int(i)) for i in range(20) for s in rng.choice(1000, size=i + 1, replace=False)]
    pairs_b = [(int(s), int(i)) for i in range(20) for s in rng.choice(1000, size=rng.integers(1, 25), replace=False)]
    va, vb = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
    ra = record("p", 20, pairs_a, v=va, v_record=[3, 9])
    rb = record("p", 20, pairs_b, v=vb, v_record=[3, 9])
    c = brian.compare(result("x", ra), result("y", rb))
    assert c.rate_correlation == pytest.approx(np.corrcoef(ra.counts(), rb.counts())[0, 1])
    assert c.max_trace_error == pytest.approx(np.abs(va - vb).max())
    div = c.first_divergence_step
    assert c.max_trace_error_before_divergence == pytest.approx(np.abs(va[:div] - vb[:div]).max())


def test_compare_report_markdown_and_plot(tmp_path):
    net, _ = cases.cuba_ei(seed=1, n_exc=40, n_inh=10, n_in=40)
    c = brian.compare(*brian.reference_run(net, 0.2 * second, progress=False))
    md = c.to_markdown("E/I")
    assert md.startswith("### E/I")
    for text in ("matched within 0.1 ms", "first divergence", "firing-rate correlation", "van Rossum",
                 "max membrane-trace error", "| exc | 40 |", "| inh | 10 |"):
        assert text in md
    assert f"{100 * c.matched_fraction:.3f} %" in md
    fig = c.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    from neuroimc.brian.report import save_figure

    path = save_figure(fig, str(tmp_path / "cmp.png"))
    assert (tmp_path / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.endswith("cmp.png")
    d = c.to_dict()
    assert d["populations"]["exc"]["spikes"] == [c.populations["exc"].spikes_a, c.populations["exc"].spikes_b]


def test_compare_rejects_mismatched_runs():
    a = result("x", record("p", 3, []))
    with pytest.raises(ValueError, match="same populations"):
        brian.compare(a, result("y", record("q", 3, [])))
    with pytest.raises(ValueError, match="same duration"):
        brian.compare(a, result("y", record("p", 3, []), n_steps=10))
    with pytest.raises(ValueError, match="has 3 neurons in a but 4 in b"):
        brian.compare(a, result("y", record("p", 4, [])))
    with pytest.raises(TypeError, match="b must be a RunResult"):
        brian.compare(a, "b")
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        brian.compare(a, a, tolerance=-1.0)


# --------------------------------------------------------------------------- from_brian2
def hand_built_network(rng, n_in=150, n=80):
    """Renamed symbols, external constants, per-neuron and shared parameters, sparse synapses."""
    E_L, tau = -65 * b2.mV, 20 * b2.ms
    inp_steps, inp_idx = np.nonzero(rng.random((10000, n_in)) < 20 * Hz * DT)
    inp = b2.SpikeGeneratorGroup(n_in, inp_idx, inp_steps * DT * B2S, dt=DT * B2S, name="sensors")
    G = b2.NeuronGroup(
        n,
        """dV/dt = (E_L - V + R*Isyn)/tau : volt (unless refractory)
        dIsyn/dt = -Isyn/tau_s : amp
        R : ohm (constant)
        tau_s : second (constant, shared)
        V_th : volt""",
        threshold="V > V_th", reset="V = -70*mV", refractory=2 * b2.ms, method="exact", dt=DT * B2S,
        name="neurons",
    )
    G.R = 100 * b2.Mohm
    G.tau_s = 5 * b2.ms
    G.V_th = rng.uniform(-52, -48, n) * b2.mV
    G.V = rng.uniform(-70, -55, n) * b2.mV
    S = b2.Synapses(inp, G, "w : amp", on_pre="Isyn_post += w", dt=DT * B2S, name="syn")
    conn = rng.random((n_in, n)) < 0.6
    S.connect(i=np.nonzero(conn)[0], j=np.nonzero(conn)[1])
    S.w = rng.uniform(-10, 60, len(S)) * b2.pA
    return inp, G, S, dict(E_L=E_L, tau=tau)


def test_round_trip_brian2_to_neuroimc_gives_brian2_spikes():
    rng = np.random.default_rng(11)
    inp, G, S, ns = hand_built_network(rng)
    mon = b2.SpikeMonitor(G)
    bnet = b2.Network(inp, G, S, mon)
    net = brian.from_brian2(bnet, device="ideal", namespace=ns)
    pop = net.populations[0]
    assert pop.name == "neurons" and net.sources[0].name == "sensors"
    assert np.allclose(pop.tau_m, 20 * ms) and np.allclose(pop.r_m, 100 * Mohm) and np.allclose(pop.v_rest, -65 * mV)
    assert np.allclose(pop.v_thresh, np.asarray(G.V_th_)) and np.allclose(pop.v_reset, -70 * mV)
    spikes = net.monitor_spikes(pop)
    net.run(1.0 * second, progress=False)
    bnet.run(1 * B2S, namespace=ns)
    assert len(mon) > 1000
    assert spike_pairs(spikes.indices, spikes.steps) == b2_spikes(mon)


def test_deploying_a_network_brian2_has_already_run_continues_it():
    """Time 0 of the deployment is Brian2's current time: state, refractoriness and pending input carry over."""
    rng = np.random.default_rng(13)
    inp, G, S, ns = hand_built_network(rng)
    mon = b2.SpikeMonitor(G)
    bnet = b2.Network(inp, G, S, mon)
    bnet.run(0.2017 * B2S, namespace=ns)
    net = brian.from_brian2(bnet, namespace=ns)
    pop = net.populations[0]
    assert (pop._lastspike > -round(2 * ms / DT)).sum() > 0  # some neurons are refractory at the hand-over
    assert np.array_equal(pop.v, np.asarray(G.V_)) and np.array_equal(pop.I_syn, np.asarray(G.Isyn_))
    assert net.sources[0].times.min() >= 0
    spikes = net.monitor_spikes(pop)
    net.run(0.3 * second, progress=False)
    bnet.run(0.3 * B2S, namespace=ns)
    later = [(s - 2017, i) for s, i in b2_spikes(mon) if s >= 2017]
    assert len(later) > 300
    assert spike_pairs(spikes.indices, spikes.steps) == later


def test_poisson_groups_become_poisson_sources():
    P = b2.PoissonGroup(6, np.arange(6) * 5 * b2.Hz, dt=DT * B2S, name="noise")
    S = syn(P, lif("B"))
    S.w = 1 * b2.pA
    net = brian.from_brian2([S], namespace={})
    src = net.sources[0]
    assert isinstance(src, ni.PoissonSource) and src.name == "noise"
    assert np.allclose(src.rate, np.arange(6) * 5 * Hz)
    varying = b2.PoissonGroup(3, rates="5*Hz*(1 + i)", dt=DT * B2S, name="varying")
    with pytest.raises(brian.Brian2MappingError, match="rates '5\\*Hz\\*\\(1 \\+ i\\)' of PoissonGroup 'varying'"):
        brian.from_brian2([varying], namespace={})


def test_round_trip_cuba_style_subgroups_volt_current_and_constants():
    """CUBA's notation (current in volts, ge += we with external constants, E/I subgroups)."""
    rng = np.random.default_rng(7)
    taum, taus, El, Vt, Vr = 20 * b2.ms, 5 * b2.ms, -60 * b2.mV, -50 * b2.mV, -60 * b2.mV  # noqa: F841 (used by Brian2)
    we, wi = 1.62 * b2.mV, 9 * b2.mV  # noqa: F841
    dt = DT * B2S
    P = b2.NeuronGroup(200, "dv/dt = (El - v + ge)/taum : volt (unless refractory)\ndge/dt = -ge/taus : volt",
                       threshold="v > Vt", reset="v = Vr", refractory=5 * b2.ms, method="exact", dt=dt, name="P")
    P.v = rng.uniform(-60, -50, 200) * b2.mV
    Pe, Pi = P[:160], P[160:]
    Ce = b2.Synapses(Pe, P, on_pre="ge += we", dt=dt, name="ce")
    ii, jj = np.nonzero(rng.random((160, 200)) < 0.1)
    Ce.connect(i=ii, j=jj)
    Ci = b2.Synapses(Pi, P, on_pre="ge -= wi", dt=dt, name="ci")
    ii, jj = np.nonzero(rng.random((40, 200)) < 0.1)
    Ci.connect(i=ii, j=jj)
    st, si = np.nonzero(rng.random((10000, 100)) < 10 * Hz * DT)
    inp = b2.SpikeGeneratorGroup(100, si, st * dt, dt=dt, name="inp")
    Cin = b2.Synapses(inp, P, "w : volt", on_pre="ge += w", dt=dt, name="cin")
    Cin.connect()
    Cin.w = rng.uniform(0, 6, len(Cin)) * b2.mV
    mon = b2.SpikeMonitor(P)
    bnet = b2.Network(P, Ce, Ci, inp, Cin, mon)
    net = brian.from_brian2(bnet)  # constants come from this function's locals, as in brian2.run
    assert [xb.shape for xb in net.crossbars] == [(200, 200), (200, 200), (100, 200)]
    W_inh = brian.target_weights(net.crossbars[1])
    assert np.all(W_inh[:160] == 0) and np.all(W_inh[160:] <= 0) and W_inh.min() == pytest.approx(-9e-3)
    spikes = net.monitor_spikes(net.populations[0])
    net.run(1.0 * second, progress=False)
    bnet.run(1 * B2S)
    assert len(mon) > 2000
    assert spike_pairs(spikes.indices, spikes.steps) == b2_spikes(mon)


def test_deployed_network_reference_run_shows_the_hardware_effect():
    """reference_run on a deployment compares the hardware with the Brian2 model's own weights."""
    rng = np.random.default_rng(12)
    inp, G, S, ns = hand_built_network(rng, n_in=150, n=40)
    mon = b2.SpikeMonitor(G)
    bnet = b2.Network(inp, G, S, mon)
    cards = [d for d in ni.available_devices() if d != "ideal"]
    card = cards[0] if cards else "ideal"
    net = brian.from_brian2(bnet, device=card, namespace=ns)
    W = brian.target_weights(net.crossbars[0])
    run = brian.reference_run(net, 0.5 * second, progress=False)
    bnet.run(0.5 * B2S, namespace=ns)
    twin = run.brian2.populations["neurons"]
    # the reference is the Brian2 model itself, whatever the devices do
    assert spike_pairs(twin.indices, twin.steps) == b2_spikes(mon)
    assert len(mon) > 200
    effective = net.crossbars[0].weights()
    if card != "ideal" and not np.allclose(effective, W, rtol=1e-9, atol=0):
        assert not brian.compare(*run).identical


def lif(name="G", eqs=None, threshold="v > -50*mV", reset="v = -65*mV", refractory=2 * b2.ms, n=3, **kw):
    eqs = eqs or "dv/dt = (-65*mV - v + 1e8*ohm*I)/(20*ms) : volt (unless refractory)\ndI/dt = -I/(5*ms) : amp"
    return b2.NeuronGroup(n, eqs, threshold=threshold, reset=reset, refractory=refractory, method="exact",
                          dt=DT * B2S, name=name, **kw)


def syn(pre, post, model="w : amp", on_pre="I_post += w", name="S", **kw):
    S = b2.Synapses(pre, post, model, on_pre=on_pre, dt=DT * B2S, name=name, **kw)
    S.connect()
    return S


UNMAPPABLE = {
    "non-linear": (
        lambda: [lif(eqs="dv/dt = (ge*(-0.1*volt - v) + (-65*mV - v))/(20*ms) : volt (unless refractory)\n"
                     "dge/dt = -ge/(5*ms) : 1")],
        "non-linear term",
    ),
    "several currents": (
        lambda: [lif(eqs="dv/dt = (-49*mV - v + ge + gi)/(20*ms) : volt (unless refractory)\n"
                     "dge/dt = -ge/(5*ms) : volt\ndgi/dt = -gi/(10*ms) : volt")],
        r"several synaptic currents \['ge', 'gi'\]",
    ),
    "delta synapse": (
        lambda: [lif(eqs="dv/dt = (-65*mV - v)/(20*ms) : volt (unless refractory)")],
        "no synaptic current",
    ),
    "time-dependent": (
        lambda: [lif(eqs="dv/dt = (-65*mV - v + 1e8*ohm*I + sin(t/ms)*mV)/(20*ms) : volt (unless refractory)\n"
                     "dI/dt = -I/(5*ms) : amp")],
        "time-dependent term 't'",
    ),
    "stochastic": (
        lambda: [lif(eqs="dv/dt = (-65*mV - v + 1e8*ohm*I)/(20*ms) + mV*xi/sqrt(ms) : volt (unless refractory)\n"
                     "dI/dt = -I/(5*ms) : amp")],
        "stochastic term",
    ),
    "current drive": (
        lambda: [lif(eqs="dv/dt = (-65*mV - v + 1e8*ohm*I)/(20*ms) : volt (unless refractory)\n"
                     "dI/dt = (1*pA - I)/(5*ms) : amp")],
        "constant term",
    ),
    "non-strict threshold": (lambda: [lif(threshold="v >= -50*mV")], "non-strict comparison"),
    "relative reset": (lambda: [lif(reset="v -= 5*mV")], "reset 'v -= 5\\*mV'"),
    "reset of the current": (lambda: [lif(reset="v = -65*mV\nI = 0*amp")], "must be the single statement"),
    "refractory condition": (lambda: [lif(refractory="v > -60*mV")], "refractoriness given as a condition"),
    "no refractory flag": (
        lambda: [lif(eqs="dv/dt = (-65*mV - v + 1e8*ohm*I)/(20*ms) : volt\ndI/dt = -I/(5*ms) : amp")],
        r"without the flag \(unless refractory\)",
    ),
    "delays": (lambda: [syn(lif("A"), lif("B"), delay=1 * b2.ms)], "delays of Synapses 'S'"),
    "heterogeneous delays": (lambda: _with_delays(), "delays of Synapses 'S'"),
    "summed variable": (
        lambda: [syn(lif("A"), lif("B", eqs="dv/dt = (-65*mV - v + 1e8*ohm*I + 1e8*ohm*Is)/(20*ms) : volt "
                                          "(unless refractory)\ndI/dt = -I/(5*ms) : amp\nIs : amp"),
                     model="w : amp\nIs_post = w : amp (summed)")],
        r"summed variables \['Is_post'\]",
    ),
    "plasticity": (
        lambda: [syn(lif("A"), lif("B"), model="w : amp\ndapre/dt = -apre/(20*ms) : 1 (event-driven)",
                     on_pre="I_post += w\napre += 1")],
        r"synaptic differential equations \['apre'\]",
    ),
    "on_post": (
        lambda: [syn(lif("A"), lif("B"), on_post="w += 1*pA")],
        "on_post pathway 'S_post'",
    ),
    "membrane jump": (lambda: [syn(lif("A"), lif("B"), model="w : volt", on_pre="v_post += w")], "writes 'v_post'"),
    "multiplicative": (lambda: [syn(lif("A"), lif("B"), on_pre="I_post *= 2")], "uses '\\*='"),
    "state-dependent weight": (
        lambda: [syn(lif("A"), lif("B"), on_pre="I_post += w*v_pre/mV")], "'v_pre' in the on_pre code"),
    "PoissonInput": (
        lambda: [lif("A"), b2.PoissonInput(lif("B"), "I", 10, 5 * b2.Hz, weight=1 * b2.pA)],
        "PoissonInput",
    ),
    "periodic generator": (
        lambda: [syn(b2.SpikeGeneratorGroup(2, [0, 1], [1, 2] * b2.ms, period=5 * b2.ms, dt=DT * B2S, name="gen"),
                     lif("B"))],
        "period 0.005 s of SpikeGeneratorGroup 'gen'",
    ),
    "network operation": (lambda: [lif("A"), b2.NetworkOperation(lambda: None, name="op")], "NetworkOperation 'op'"),
}


def _with_delays():
    S = syn(lif("A"), lif("B"))
    S.delay = "i * ms"
    return [S]


@pytest.mark.parametrize("case", sorted(UNMAPPABLE))
def test_unmappable_constructs_raise_errors_naming_them(case):
    build, pattern = UNMAPPABLE[case]
    with pytest.raises(brian.Brian2MappingError, match=pattern) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            brian.from_brian2(build(), namespace={})
    assert isinstance(info.value, ValueError) and info.value.construct


def test_from_brian2_accepts_a_single_synapses_and_reports_the_mapping():
    A = lif("A", n=4)
    B = lif("B", eqs="dv/dt = (El - v + Rm*I)/taum : volt (unless refractory)\ndI/dt = -I/taus : amp\n"
            "El : volt (constant)\ntaum : second", n=5)
    B.El = np.linspace(-70, -60, 5) * b2.mV
    B.taum = np.linspace(10, 30, 5) * b2.ms
    S = syn(A, B, on_pre="I_post += w * scale")
    S.w = np.arange(20) * b2.pA
    net = brian.from_brian2(S, namespace={"Rm": 50 * b2.Mohm, "taus": 3 * b2.ms, "scale": 2.0})
    pa, pb = net.populations
    assert [p.name for p in net.populations] == ["A", "B"]
    assert np.allclose(pb.v_rest, np.linspace(-70, -60, 5) * mV) and np.allclose(pb.tau_m, np.linspace(10, 30, 5) * ms)
    assert np.allclose(pb.r_m, 50 * Mohm) and np.allclose(pb.tau_syn, 3 * ms)
    assert np.allclose(brian.target_weights(net.crossbars[0]), 2.0 * np.arange(20).reshape(4, 5) * pA)
    with pytest.raises(brian.Brian2MappingError, match="identifier 'Rm' .* is not defined"):
        brian.from_brian2(S, namespace={})
    with pytest.raises(TypeError, match="synapses_or_network must be"):
        brian.from_brian2("S")
    ref = brian.from_brian2(S, namespace={"Rm": 50 * b2.Mohm, "taus": 3 * b2.ms, "scale": 2.0}, mapping="reference")
    assert ref.crossbars[0].mapping == "reference"
    assert np.allclose(ref.crossbars[0].weights(), 2.0 * np.arange(20).reshape(4, 5) * pA, rtol=1e-9, atol=1e-24)
