"""neuroimc.brian with on-chip STDP: twins that learn, weight comparisons, deploying Brian2 STDP.

Every agreement here is between weights and spikes Brian2 computed with its own
code (event-driven traces, clip) and those the neuroimc kernel computed.
"""
import json
import warnings

import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

import neuroimc as ni  # noqa: E402
from neuroimc import brian  # noqa: E402
from neuroimc.brian import cases  # noqa: E402
from neuroimc.brian.results import PopulationRecord, RunResult, WeightRecord  # noqa: E402
from neuroimc.units import Mohm, mV, ms, pA, second  # noqa: E402

DT = 0.1 * ms
B2S = b2.second
RULES = {
    "additive": ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.01, a_post=-0.0105),
    "soft_bound": ni.STDP(tau_pre=16.8 * ms, tau_post=33.7 * ms, a_pre=0.02, a_post=-0.015, w_max=0.9,
                          w_min=0.05, rule="soft_bound"),
    "nearest": ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.012, a_post=-0.0125, pairing="nearest"),
}


@pytest.fixture(autouse=True)
def numpy_target():
    old = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    yield
    b2.prefs.codegen.target = old


def spike_pairs(indices, steps):
    return sorted(zip(np.asarray(steps).tolist(), np.asarray(indices).tolist()))


def b2_spikes(mon, since=0):
    steps = np.round(np.asarray(mon.t_) / DT).astype(np.int64)
    keep = steps >= since
    return spike_pairs(np.asarray(mon.i)[keep], steps[keep] - since)


def b2_weights(S, weight, scale, shape):
    W = np.zeros(shape)
    W[np.asarray(S.i[:]), np.asarray(S.j[:])] = np.asarray(getattr(S, weight + "_"), np.float64) * scale
    return W


# --------------------------------------------------------------------------- neuroimc -> Brian2
@pytest.mark.parametrize("name", sorted(RULES))
def test_reference_run_of_a_learning_network_from_mid_run_gives_identical_spikes_and_weights(name):
    """The twin starts from the chip's traces and weights after 0.3 s of learning, then both learn for 0.7 s."""
    net, _ = cases.stdp_feedforward(seed=3, n_in=150, n=25, rule=RULES[name])
    xb = net.crossbars[0]
    net.run(0.3 * second, progress=False)
    assert np.abs(xb._pre_trace).max() > 0 and np.abs(xb._post_trace).max() > 0  # the snapshot has live traces
    run = brian.reference_run(net, 0.7 * second, record_v=5, progress=False)
    ours, theirs = run.neuroimc.populations["lif"], run.brian2.populations["lif"]
    assert ours.indices.size > 200
    assert spike_pairs(ours.indices, ours.steps) == spike_pairs(theirs.indices, theirs.steps)
    (label,) = run.brian2.weights
    wa, wb = run.neuroimc.weights[label], run.brian2.weights[label]
    assert wa.w_scale == xb.w_max and np.array_equal(wa.final, xb.weights())
    assert np.abs(wb.final - wb.initial).mean() > 2e-3 * xb.w_max  # learning really moved the weights
    np.testing.assert_allclose(wa.final, wb.final, rtol=1e-6, atol=1e-9 * xb.w_max)
    c = brian.compare(*run)
    assert c.identical and c.max_trace_error < 1e-9
    assert c.max_weight_error <= 1e-6 and c.rms_weight_error <= c.max_weight_error
    assert c.weights[label].change_correlation == pytest.approx(1.0, abs=1e-9)


def test_to_brian2_plastic_twin_runs_alone_and_its_weight_monitor_follows_the_chip():
    rng = np.random.default_rng(5)
    n_in, n, w_scale = 120, 20, 40 * pA
    idx, steps = np.nonzero((rng.random((5000, n_in)) < 15 * DT).T)
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.SpikeSource(n_in, indices=idx, times=steps * DT, name="inp"))
    pop = net.add(ni.LIFPopulation(n, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm, name="out"))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(rng.uniform(0.2, 0.8, (n_in, n)) * w_scale, w_max=w_scale),
                     plasticity=RULES["soft_bound"])
    spikes = net.monitor_spikes(pop)
    twin = brian.to_brian2(net, record_weights=50 * ms)
    S = twin["xb0_inp_to_out"]
    assert np.asarray(S.w_scale_).item() == xb.w_max and np.asarray(S.taupost_).item() == RULES["soft_bound"].tau_post
    chip = []
    for _ in range(10):  # the chip's weights at the monitor's sample times (it samples before each step)
        chip.append(xb.weights())
        net.run(50 * ms, progress=False)
    twin.run(0.5 * B2S, namespace={})
    assert len(spikes) > 100
    assert spike_pairs(spikes.indices, spikes.steps) == b2_spikes(twin["spikemon_out"])
    mon = twin["weightmon_xb0_inp_to_out"]
    assert np.asarray(mon.w).shape == (n_in * n, 10)
    sampled = np.asarray(mon.w).T.reshape(10, n_in, n) * xb.w_max  # synapses are row-major, as the cells
    np.testing.assert_allclose(sampled, np.array(chip), rtol=1e-6, atol=1e-9 * xb.w_max)
    np.testing.assert_allclose(b2_weights(S, "w", xb.w_max, xb.shape), xb.weights(), rtol=1e-6,
                               atol=1e-9 * xb.w_max)
    assert np.abs(xb.weights() - chip[0]).max() > 0.02 * xb.w_max
    with pytest.raises(ValueError, match="record_weights must be a whole number of time steps"):
        brian.to_brian2(net, record_weights=0.15 * ms)


def test_non_ideal_card_is_measured_against_ideal_brian2_learning():
    """The twin of a plastic crossbar on a real card learns with the ideal rule from the intended weights."""
    card = next(d for d in ni.available_devices() if not ni.load_device(d).is_ideal)
    ideal_net, ideal_w = cases.stdp_feedforward(seed=2, n_in=150, n=25)
    hw_net, hw_w = cases.stdp_feedforward(seed=2, n_in=150, n=25, device=card)
    (W,) = hw_w.values()
    assert np.array_equal(W, next(iter(ideal_w.values())))
    ideal = brian.reference_run(ideal_net, 0.5 * second, weights=ideal_w, progress=False)
    hw = brian.reference_run(hw_net, 0.5 * second, weights=hw_w, progress=False)
    # the reference is ideal learning: the same Brian2 run as for the ideal chip, which the ideal chip matches
    ref, ideal_b2 = hw.brian2.populations["lif"], ideal.brian2.populations["lif"]
    assert spike_pairs(ref.indices, ref.steps) == spike_pairs(ideal_b2.indices, ideal_b2.steps)
    (label,) = hw.brian2.weights
    assert np.array_equal(hw.brian2.weights[label].final, ideal.brian2.weights[label].final)
    assert brian.compare(*ideal).max_weight_error < 1e-6
    c = brian.compare(*hw)
    assert not c.identical and c.max_weight_error > 1e-3  # the hardware's learning is visible
    assert "| max final-weight error (of w_max) |" in c.to_markdown()
    assert len(c.plot().axes) == 4  # rasters, rates, learned weights, traces
    assert hw.brian2.info["plasticity"].startswith("ideal STDP")


# --------------------------------------------------------------------------- compare
def _result(label, weights):
    rec = PopulationRecord("p", 1, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                           np.zeros((10, 0)))
    return RunResult(label, DT, 10 * DT, {"p": rec}, weights=weights)


def test_weight_comparison_metrics_against_direct_formulas():
    rng = np.random.default_rng(1)
    scale = 30 * pA
    w0 = rng.uniform(0, 1, (6, 4)) * scale
    fb = w0 + rng.normal(0, 0.05, w0.shape) * scale
    fa = fb + rng.normal(0, 0.01, w0.shape) * scale
    a = _result("a", {"x": WeightRecord("x", scale, w0 + 1e-3 * scale, fa)})
    b = _result("b", {"x": WeightRecord("x", scale, w0, fb)})
    c = brian.compare(a, b)
    w = c.weights["x"]
    assert w.max_error == pytest.approx(np.abs(fa - fb).max() / scale)
    assert w.rms_error == pytest.approx(np.sqrt(np.mean((fa - fb) ** 2)) / scale)
    assert c.max_weight_error == w.max_error and c.rms_weight_error == pytest.approx(w.rms_error)
    assert w.mean_change_b == pytest.approx(np.abs(fb - w0).mean() / scale)
    assert w.change_correlation == pytest.approx(np.corrcoef((fa - w0 - 1e-3 * scale).ravel(),
                                                             (fb - w0).ravel())[0, 1])
    assert w.learning_error == pytest.approx(np.sqrt(np.mean((fa - fb) ** 2) / np.mean((fb - w0) ** 2)))
    d = json.loads(json.dumps(c.to_dict()))
    assert d["weights"]["x"]["max_error"] == pytest.approx(w.max_error) and d["weights"]["x"]["shape"] == [6, 4]
    # no weights on one side: nothing to compare; different crossbars: an error
    assert brian.compare(a, _result("b", {})).weights == {}
    assert np.isnan(brian.compare(a, _result("b", {})).max_weight_error)
    with pytest.raises(ValueError, match="same plastic crossbars"):
        brian.compare(a, _result("b", {"y": WeightRecord("y", scale, w0, fb)}))
    with pytest.raises(ValueError, match=r"weights of 'x' have shape \(6, 4\) in a but \(4, 6\) in b"):
        brian.compare(a, _result("b", {"x": WeightRecord("x", scale, w0.T, fb.T)}))


# --------------------------------------------------------------------------- Brian2 -> neuroimc
def brian2_stdp_network(rng, form, n_in=150, n=25):
    """A Brian2 feed-forward STDP network in its own notation (symbol names, units, constants)."""
    dt = DT * B2S
    steps, idx = np.nonzero(rng.random((10000, n_in)) < 15 * DT)
    inp = b2.SpikeGeneratorGroup(n_in, idx, steps * dt, dt=dt, name="sensors")
    G = b2.NeuronGroup(
        n,
        """dV/dt = (E_L - V + R*Isyn)/tau_mem : volt (unless refractory)
        dIsyn/dt = -Isyn/tau_s : amp
        R : ohm (constant)
        tau_s : second (constant, shared)""",
        threshold="V > -50*mV", reset="V = -68*mV", refractory=2 * b2.ms, method="exact", dt=dt, name="neurons",
    )
    G.R, G.tau_s, G.V = 100 * b2.Mohm, 5 * b2.ms, -65 * b2.mV
    ns = dict(E_L=-65 * b2.mV, tau_mem=20 * b2.ms, taupre=16.8 * b2.ms, taupost=33.7 * b2.ms)
    if form == "additive":  # weights in amperes, traces too: Song, Miller & Abbott's rule
        model = "g : amp\ndx/dt = -x/taupre : amp (event-driven)\ndy/dt = -y/taupost : amp (event-driven)"
        on_pre = "Isyn_post += g\nx += dA\ng = clip(g + y, 0*pA, gmax)"
        on_post = "y -= dA*1.05\ng = clip(g + x, 0*pA, gmax)"
        ns.update(dA=0.4 * b2.pA, gmax=40 * b2.pA)
        w0, weight, scale = rng.uniform(8, 32, n_in * n) * b2.pA, "g", 1.0
    elif form == "soft_bound":  # dimensionless weight, a scale, bounds as synaptic constants
        model = ("w : 1\ndApre/dt = -Apre/taupre : 1 (event-driven)\ndApost/dt = -Apost/taupost : 1 (event-driven)\n"
                 "lo : 1 (constant, shared)\nhi : 1 (constant, shared)")
        on_pre = "Isyn_post += w*wscale\nApre += 0.02\nw = clip(w + Apost*(w - lo), lo, hi)"
        on_post = "Apost += -0.015\nw = clip(w + Apre*(hi - w), lo, hi)"
        ns.update(wscale=45 * b2.pA)
        w0, weight, scale = rng.uniform(0.2, 0.8, n_in * n), "w", 45 * pA
    else:  # nearest pairing, traces set rather than accumulated
        model = "w : 1\ndu/dt = -u/taupre : 1 (event-driven)\ndv/dt = -v/taupost : 1 (event-driven)"
        on_pre, on_post = "Isyn_post += 40*pA*w\nu = 0.01\nw = clip(w + v, 0, 1)", "v = -0.0105\nw = clip(w + u, 0, 1)"
        w0, weight, scale = rng.uniform(0.2, 0.8, n_in * n), "w", 40 * pA
    S = b2.Synapses(inp, G, model, on_pre=on_pre, on_post=on_post, dt=dt, name="plastic")
    S.connect()
    setattr(S, weight, w0)
    if form == "soft_bound":
        S.lo, S.hi = 0.05, 0.95
    mon = b2.SpikeMonitor(G)
    return b2.Network(inp, G, S, mon), S, mon, ns, weight, scale


@pytest.mark.parametrize("form", ["additive", "soft_bound", "nearest"])
def test_round_trip_brian2_stdp_to_neuroimc_gives_brian2_spikes_and_weights(form):
    bnet, S, mon, ns, weight, scale = brian2_stdp_network(np.random.default_rng(21), form)
    net = brian.from_brian2(bnet, device="ideal", namespace=ns)
    (xb,) = net.crossbars
    rule = xb.plasticity
    assert rule.rule == ("soft_bound" if form == "soft_bound" else "additive")
    assert rule.pairing == ("nearest" if form == "nearest" else "all_to_all")
    assert rule.w_max == 1.0 and rule.tau_pre == pytest.approx(16.8 * ms) and rule.tau_post == pytest.approx(33.7 * ms)
    spikes = net.monitor_spikes(net.populations[0])
    W0 = xb.weights()
    net.run(1.0 * second, progress=False)
    bnet.run(1 * B2S, namespace=ns)
    assert len(mon) > 300
    assert spike_pairs(spikes.indices, spikes.steps) == b2_spikes(mon)
    W = b2_weights(S, weight, scale, xb.shape)
    assert np.abs(W - W0).mean() > 2e-3 * xb.w_max
    np.testing.assert_allclose(xb.weights(), W, rtol=1e-6, atol=1e-9 * xb.w_max)


def test_deploying_a_learning_network_brian2_has_run_continues_its_learning():
    """Traces stored at each synapse's last update carry over: the deployment continues Brian2's run exactly."""
    bnet, S, mon, ns, weight, scale = brian2_stdp_network(np.random.default_rng(22), "nearest")
    bnet.run(0.2017 * B2S, namespace=ns)
    net = brian.from_brian2(bnet, namespace=ns)
    xb = net.crossbars[0]
    assert np.abs(xb._pre_trace).max() > 0 and np.abs(xb._post_trace).max() > 0
    spikes = net.monitor_spikes(net.populations[0])
    net.run(0.5 * second, progress=False)
    bnet.run(0.5 * B2S, namespace=ns)
    later = b2_spikes(mon, since=2017)
    assert len(later) > 150
    assert spike_pairs(spikes.indices, spikes.steps) == later
    np.testing.assert_allclose(xb.weights(), b2_weights(S, weight, scale, xb.shape), rtol=1e-6,
                               atol=1e-9 * xb.w_max)


def test_deployed_stdp_reference_run_is_the_brian2_model_itself():
    """On a real card, reference_run's twin learns exactly as the Brian2 model did (from its own weights)."""
    card = next(d for d in ni.available_devices() if not ni.load_device(d).is_ideal)
    bnet, S, mon, ns, weight, scale = brian2_stdp_network(np.random.default_rng(24), "soft_bound", n_in=100, n=20)
    net = brian.from_brian2(bnet, device=card, namespace=ns, seed=3)
    xb = net.crossbars[0]
    run = brian.reference_run(net, 0.5 * second, progress=False)
    bnet.run(0.5 * B2S, namespace=ns)
    twin = run.brian2.populations["neurons"]
    assert len(mon) > 100 and spike_pairs(twin.indices, twin.steps) == b2_spikes(mon)
    (label,) = run.brian2.weights
    np.testing.assert_allclose(run.brian2.weights[label].final, b2_weights(S, weight, scale, xb.shape), rtol=1e-6,
                               atol=1e-9 * xb.w_max)
    assert brian.compare(*run).max_weight_error > 1e-3  # while the card learned otherwise
    # once the chip has learned, its deployed weights are no longer a target: the twin starts from the chip
    before = xb.weights()
    later = brian.reference_run(net, 0.1 * second, progress=False)
    assert np.array_equal(later.brian2.weights[label].initial, before)


def test_from_brian2_stdp_units_w_max_and_target_weights():
    bnet, S, mon, ns, weight, scale = brian2_stdp_network(np.random.default_rng(23), "additive", n_in=20, n=5)
    net = brian.from_brian2(bnet, namespace=ns, w_max=80 * pA, learning_pulses="stochastic")
    xb = net.crossbars[0]
    # one device is 80 pA: the rule's bound (40 pA) is half of it, the trace steps (0.4 pA) 1/200
    assert xb.w_max == pytest.approx(80 * pA)
    assert xb.plasticity.w_max == pytest.approx(0.5) and xb.plasticity.a_pre == pytest.approx(0.4 / 80)
    assert xb.plasticity.a_post == pytest.approx(-1.05 * 0.4 / 80) and xb.plasticity.pulses == "stochastic"
    np.testing.assert_allclose(brian.target_weights(xb), b2_weights(S, "g", 1.0, xb.shape))
    with pytest.raises(ValueError, match="Synapses 'plastic': its STDP rule does not fit w_max = 2e-11"):
        brian.from_brian2(bnet, namespace=ns, w_max=20 * pA)
    with pytest.raises(ValueError, match="learning_pulses must be one of"):
        brian.from_brian2(bnet, namespace=ns, learning_pulses="random")


def _lif(name, n=3):
    return b2.NeuronGroup(n, "dv/dt = (-65*mV - v + 1e8*ohm*I)/(20*ms) : volt (unless refractory)\n"
                             "dI/dt = -I/(5*ms) : amp", threshold="v > -50*mV", reset="v = -65*mV",
                          refractory=2 * b2.ms, method="exact", dt=DT * B2S, name=name)


STDP_MODEL = "w : 1\ndapre/dt = -apre/(20*ms) : 1 (event-driven)\ndapost/dt = -apost/(20*ms) : 1 (event-driven)"
ON_PRE = "I_post += w*pA\napre += 0.01\nw = clip(w + apost, 0, 1)"
ON_POST = "apost += -0.01\nw = clip(w + apre, 0, 1)"


def _stdp(model=STDP_MODEL, on_pre=ON_PRE, on_post=ON_POST, pre=None, post=None, connect=None, setup=None):
    S = b2.Synapses(pre if pre is not None else _lif("A"), post if post is not None else _lif("B"), model,
                    on_pre=on_pre, on_post=on_post, dt=DT * B2S, name="S")
    S.connect(**(connect or {}))
    if setup:
        setup(S)
    return [S]


def _from_subgroup():
    A = _lif("A", n=6)  # a subgroup holds its group only weakly: keep it
    return _stdp(pre=A[:3]) + [A]


def _random_traces(S):
    S.apre = np.linspace(0, 0.01, len(S))


NOT_STDP = {
    "clock-driven traces": (
        lambda: _stdp(model=STDP_MODEL.replace("(event-driven)", "(clock-driven)")),
        r"synaptic differential equations \['apost', 'apre'\] of Synapses 'S'.*clock-driven",
    ),
    "three traces": (
        lambda: _stdp(model=STDP_MODEL + "\ndz/dt = -z/(5*ms) : 1 (event-driven)"),
        r"synaptic differential equations \['apost', 'apre', 'z'\]",
    ),
    "non-linear decay": (
        lambda: _stdp(model=STDP_MODEL.replace("-apre/(20*ms)", "-apre**2/(20*ms)")),
        "must decay linearly",
    ),
    "unbounded update": (lambda: _stdp(on_post="apost += -0.01\nw += apre"), "statement 'w \\+= apre'"),
    "other multiplicative rule": (
        lambda: _stdp(on_pre="I_post += w*pA\napre += 0.01\nw = clip(w + apost*w*w, 0, 1)"),
        "the change must be 'apost' \\(additive\\) or 'apost \\* \\(w - 0\\)' \\(soft-bound\\)",
    ),
    "own trace on pre": (
        lambda: _stdp(on_pre="I_post += w*pA\napre += 0.01\nw = clip(w + apre, 0, 1)"), "the change must be 'apost'"),
    "mixed pairing": (lambda: _stdp(on_post="apost = -0.01\nw = clip(w + apre, 0, 1)"), "both traces must accumulate"),
    "mixed rules": (
        lambda: _stdp(on_post="apost += -0.01\nw = clip(w + apre*(1 - w), 0, 1)"),
        "must both be additive or both soft-bound",
    ),
    "different bounds": (lambda: _stdp(on_post="apost += -0.01\nw = clip(w + apre, 0, 0.5)"), "weight bounds"),
    "learn before delivering": (
        lambda: _stdp(on_pre="apre += 0.01\nw = clip(w + apost, 0, 1)\nI_post += w*pA"),
        "updates the weight before delivering it",
    ),
    "no delivery": (lambda: _stdp(on_pre="apre += 0.01\nw = clip(w + apost, 0, 1)"), "must add the weight"),
    "inhibitory plasticity": (
        lambda: _stdp(on_pre="I_post -= w*pA\napre += 0.01\nw = clip(w + apost, 0, 1)"), "inhibitory plasticity"),
    "trace-dependent delivery": (
        lambda: _stdp(on_pre="I_post += w*apre*pA\napre += 0.01\nw = clip(w + apost, 0, 1)"),
        "'apre' in the factor of 'w'",
    ),
    "per-synapse time constants": (
        lambda: _stdp(model=STDP_MODEL.replace("(20*ms) : 1 (event-driven)\ndapost", "taup : 1 (event-driven)\n"
                                               "dapost") + "\ntaup : second",
                      setup=lambda S: setattr(S, "taup", np.linspace(10, 30, len(S)) * b2.ms)),
        "differs between synapses",
    ),
    "one trace stepped on both sides": (
        lambda: _stdp(on_post="apre += -0.01\nw = clip(w + apre, 0, 1)"), "trace 'apre' of Synapses 'S': is stepped"),
    "sparse plastic synapses": (lambda: _stdp(connect={"condition": "i != j"}), "connectivity of plastic Synapses 'S'"),
    "plastic subgroup": (lambda: _from_subgroup(), "plastic Synapses 'S' between subgroups"),
    "per-synapse traces": (lambda: _stdp(setup=_random_traces), "trace 'apre' of Synapses 'S'.*differs between"),
}


@pytest.mark.parametrize("case", sorted(NOT_STDP))
def test_plasticity_other_than_pair_stdp_raises_errors_naming_it(case):
    build, pattern = NOT_STDP[case]
    with pytest.raises(brian.Brian2MappingError, match=pattern) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            brian.from_brian2(build(), namespace={})
    assert info.value.construct


# --------------------------------------------------------------------------- validation suite
def test_suite_stdp_cases_pass_on_ideal_devices_and_report_hardware_learning(tmp_path):
    card = next(d for d in ni.available_devices() if not ni.load_device(d).is_ideal)
    suite = brian.run_suite(out=str(tmp_path), cases=["stdp"], devices=["ideal", card], duration=0.5 * second,
                            progress=False)
    results = json.loads((tmp_path / "results.json").read_text())
    assert [c["name"] for c in results["cases"]] == ["stdp", f"stdp:{card}"]
    ideal, hw = results["cases"]
    assert ideal["passed"] and ideal["comparison"]["identical"]
    assert ideal["comparison"]["max_weight_error"] <= 1e-6
    descriptions = [c["description"] for c in ideal["checks"]]
    assert any("final weights agree within 1e-06 w_max" in d for d in descriptions)
    assert any("learning moved the weights" in d for d in descriptions)
    assert all(c["passed"] is None for c in hw["checks"][1:])  # hardware learning is reported, not judged
    assert hw["comparison"]["max_weight_error"] > 1e-3
    assert suite.passed
    report = (tmp_path / "report.md").read_text()
    assert "## stdp" in report and f"## stdp:{card}" in report and "max final-weight error" in report
    assert (tmp_path / "stdp.png").read_bytes()[:4] == b"\x89PNG"
