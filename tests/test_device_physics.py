"""Every device non-ideality measured against its card, with tolerances derived from sample size."""
import dataclasses

import numpy as np
import pytest

import neuroimc as ni
import neuroimc.devices
from neuroimc.devices import (Conductance, DeviceModel, Drift, Endurance, Faults, PulseResponse, Read, Retention,
                              Variability, Write, nl_to_a)
from neuroimc.kernels import device as K
from neuroimc.units import Mohm, mV, ms, pA, uS

Z = 5.0  # z-score bound: a correct implementation fails a check with probability < 1e-6


def card(**sections):
    sections.setdefault("conductance", Conductance(g_min=1 * uS, g_max=11 * uS))
    return DeviceModel("test", "synthetic", **sections)


def crossbar(device, shape=(1, 1), frac=None, seed=0, **kw):
    frac = np.zeros(shape) if frac is None else frac
    return ni.Crossbar.from_weights(frac * 1 * pA, device=device, w_max=1 * pA, seed=seed, **kw)


def test_nl_to_a_matches_neurosim_table():
    """NeuroSim's getParamA table (MLP_NeuroSim V3.0 formula.cpp), a few published entries."""
    for nl, a in [(0.01, 126.268958), (0.10, 12.625807), (1.00, 1.251653), (2.40, 0.499181),
                  (3.01, 0.385310), (4.51, 0.226626), (4.88, 0.200303), (9.00, 0.022810)]:
        assert nl_to_a(nl) == pytest.approx(a, rel=1e-4)


def test_neurosim_steps_follow_the_closed_form():
    """From g_min, P SET pulses give G(P) = B (1 - exp(-P/A)) + g_min; RESETs mirror it from g_max."""
    dev = card(pulse=PulseResponse("neurosim", n_pulses_ltp=97, n_pulses_ltd=100, nl_ltp=2.4, nl_ltd=4.88))
    xb = crossbar(dev)
    g_min, g_max, span = dev.g_min, dev.g_max, dev.g_range
    for up, nl, P in ((True, 2.4, 97), (False, 4.88, 100)):
        A = nl_to_a(nl) * P
        B = span / (1 - np.exp(-P / A))
        got = []
        for _ in range(P):
            xb.apply_pulses([0], up=up)
            got.append(xb.conductances()[0][0, 0])
        k = np.arange(1, P + 1)
        expected = g_min + B * (1 - np.exp(-k / A)) if up else g_max - B * (1 - np.exp(-k / A))
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        assert got[-1] == pytest.approx(g_max if up else g_min, rel=1e-9)


def test_soft_bounds_and_linear_steps():
    soft = crossbar(card(pulse=PulseResponse("soft_bounds", n_pulses_ltp=10, n_pulses_ltd=20)))
    soft.apply_pulses([0], up=True)
    assert soft.conductances()[0][0, 0] == pytest.approx(1 * uS + 10 * uS / 10)
    soft.apply_pulses([0], up=False)
    assert soft.conductances()[0][0, 0] == pytest.approx(2 * uS - 1 * uS / 20)
    lin = crossbar(card(pulse=PulseResponse("linear", n_pulses_ltp=4, n_pulses_ltd=4)))
    lin.apply_pulses([0], up=True, n=3)
    assert lin.conductances()[0][0, 0] == pytest.approx(1 * uS + 0.75 * 10 * uS)
    lin.apply_pulses([0], up=True, n=5)  # bounded
    assert lin.conductances()[0][0, 0] == pytest.approx(11 * uS)


def test_cycle_to_cycle_noise_statistics():
    """One linear pulse from mid-window: steps ~ N(span/P, (c2c span)^2) over many devices."""
    c2c, P, n = 0.01, 1000, 4000
    dev = card(pulse=PulseResponse("linear", n_pulses_ltp=P, n_pulses_ltd=P), write=Write(c2c_sigma=c2c))
    xb = crossbar(dev, shape=(1, n), frac=np.full((1, n), 0.5))
    before = xb.conductances()[0].ravel().copy()
    xb.apply_pulses(np.arange(n), up=True)
    step = xb.conductances()[0].ravel() - before
    span = dev.g_range
    assert abs(step.mean() - span / P) < Z * c2c * span / np.sqrt(n)
    assert abs(step.std(ddof=1) / (c2c * span) - 1) < Z / np.sqrt(2 * (n - 1))


def test_programming_noise_does_not_accumulate():
    """program_sigma: each write leaves an offset redrawn at the next write (no random walk)."""
    sigma, n = 0.02, 3000
    dev = card(pulse=PulseResponse("linear", n_pulses_ltp=1000, n_pulses_ltd=1000), write=Write(program_sigma=sigma))
    xb = crossbar(dev, shape=(1, n), frac=np.full((1, n), 0.5))
    for _ in range(50):
        xb.apply_pulses(np.arange(n), up=True)
        xb.apply_pulses(np.arange(n), up=False)
    dev_from_mid = xb.conductances()[0].ravel() - (1 * uS + 0.5 * dev.g_range)
    # after 100 writes the spread is still one write's: sigma * span (a walk would be 10x)
    assert abs(dev_from_mid.std(ddof=1) / (sigma * dev.g_range) - 1) < Z / np.sqrt(2 * (n - 1))


def test_quantised_levels():
    dev = card(conductance=Conductance(g_min=1 * uS, g_max=11 * uS, n_levels=5),
               pulse=PulseResponse("linear", n_pulses_ltp=7, n_pulses_ltd=7))
    xb = crossbar(dev, shape=(4, 4), frac=np.random.default_rng(1).uniform(0, 1, (4, 4)))
    levels = 1 * uS + np.arange(5) * 2.5 * uS
    for _ in range(3):
        xb.apply_pulses(np.arange(16), up=True)
        g = xb.conductances()[0].ravel()
        assert np.all(np.min(np.abs(g[:, None] - levels[None, :]), axis=1) < 1e-15)


def test_device_to_device_spreads_match_card():
    n = 100 * 100
    dev = card(variability=Variability(g_min_sigma=0.05, g_max_sigma=0.1),
               endurance=Endurance(cycles_mean=1e6, cycles_log_sigma=0.5),
               drift=Drift(nu_mean=0.05, nu_std=0.01, t0=1.0))
    p = crossbar(dev, shape=(100, 100)).device_parameters()
    for key, nominal, rel in (("g_min", 1 * uS, 0.05), ("g_max", 11 * uS, 0.1)):
        x = p[key]
        assert x.size == 2 * n
        assert abs(x.mean() / nominal - 1) < Z * rel / np.sqrt(x.size)
        assert abs(x.std(ddof=1) / (rel * nominal) - 1) < Z / np.sqrt(2 * (x.size - 1))
    log_end = np.log(p["endurance"])
    assert abs(log_end.std(ddof=1) / 0.5 - 1) < Z / np.sqrt(2 * (log_end.size - 1))
    # lognormal with mean cycles_mean: E[ln N] = ln(mean) - sigma^2/2
    assert abs(log_end.mean() - (np.log(1e6) - 0.125)) < Z * 0.5 / np.sqrt(log_end.size) + 1 / 1e5
    assert abs(p["nu"].mean() - 0.05) < Z * 0.01 / np.sqrt(2 * n)
    assert abs(p["nu"].std(ddof=1) / 0.01 - 1) < Z / np.sqrt(2 * (2 * n - 1))


def test_same_seed_same_chip_and_other_seed_another_chip():
    dev = card(variability=Variability(g_max_sigma=0.1))
    a, b, c = (crossbar(dev, shape=(5, 5), seed=s).device_parameters()["g_max"] for s in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_endurance_failures_exactly_at_sampled_limits():
    """A device fails on the pulse that takes its count past its own limit, never before; then it stays."""
    dev = card(pulse=PulseResponse("linear", n_pulses_ltp=10, n_pulses_ltd=10),
               endurance=Endurance(cycles_mean=20, cycles_log_sigma=0.5, failure_mode="stuck_low"))
    xb = crossbar(dev, shape=(10, 10), frac=np.full((10, 10), 0.5))
    limits = xb.device_parameters()["endurance"]
    devices = np.arange(xb.n_devices)
    deployed = xb.pulse_counts("plus").ravel().copy()  # deployment wrote the G+ side once
    counts = np.concatenate([deployed, np.zeros(100, np.int64)])
    for k in range(80):
        xb.apply_pulses(devices, up=bool(k % 2))
        counts += 1
        worn = xb.status() >= K.WORN_LOW
        np.testing.assert_array_equal(worn, counts > limits)
    assert worn.mean() > 0.5  # the test reached the limits of most devices
    g = xb.conductances()
    g_all = np.concatenate([g[0].ravel(), g[1].ravel()])
    assert np.all(g_all[worn] == 1 * uS)  # stuck low, and stays there


@pytest.mark.parametrize("mode, value", [("stuck_high", 11 * uS), ("window_closing", 6 * uS)])
def test_failure_modes(mode, value):
    dev = card(pulse=PulseResponse("linear", n_pulses_ltp=10, n_pulses_ltd=10),
               endurance=Endurance(cycles_mean=3, failure_mode=mode))
    xb = crossbar(dev)
    xb.apply_pulses([0], up=True, n=10)
    assert xb.failed()[0, 0]
    assert xb.conductances()[0][0, 0] == pytest.approx(value)


def test_stuck_at_fault_rates():
    n_low, n_high = 0.05, 0.02
    dev = card(pulse=PulseResponse("linear", n_pulses_ltp=10, n_pulses_ltd=10),
               faults=Faults(stuck_low_rate=n_low, stuck_high_rate=n_high))
    xb = crossbar(dev, shape=(100, 100), frac=np.full((100, 100), 0.5))
    status = xb.status()
    n = status.size
    for code, rate in ((K.STUCK_LOW, n_low), (K.STUCK_HIGH, n_high)):
        frac = np.mean(status == code)
        assert abs(frac - rate) < Z * np.sqrt(rate * (1 - rate) / n)
    g = np.concatenate([c.ravel() for c in xb.conductances()])
    before = g.copy()
    xb.apply_pulses(np.arange(n), up=True, n=3)
    after = np.concatenate([c.ravel() for c in xb.conductances()])
    stuck = status != K.OK
    assert np.all(after[status == K.STUCK_LOW] == 1 * uS) and np.all(after[status == K.STUCK_HIGH] == 11 * uS)
    assert np.array_equal(after[stuck], before[stuck])


def test_drift_follows_the_power_law_per_device():
    dev = DeviceModel("d", conductance=Conductance(0.0, 25 * uS), drift=Drift(nu_mean=0.05, nu_std=0.02, t0=20.0))
    frac = np.random.default_rng(0).uniform(0.2, 1.0, (20, 20))
    xb = crossbar(dev, shape=(20, 20), frac=frac)
    w0 = xb.weights()
    nu = xb.device_parameters()["nu"][:400].reshape(20, 20)
    xb.wait(10.0)
    np.testing.assert_allclose(xb.weights(), w0)  # before t0 nothing drifts
    xb.wait(3590.0)
    np.testing.assert_allclose(xb.weights(), w0 * (3600.0 / 20.0) ** -nu, rtol=1e-12)


def test_retention_is_a_stretched_exponential():
    dev = card(retention=Retention(tau=1000.0, beta=0.5))
    xb = crossbar(dev, shape=(1, 3), frac=np.array([[0.2, 0.6, 1.0]]))
    g0 = xb.conductances()[0].ravel() - 1 * uS
    xb.wait(250.0)
    g = xb.weights().ravel() / xb.w_max * dev.g_range
    np.testing.assert_allclose(g, g0 * np.exp(-(0.25**0.5)), rtol=1e-12)


def _jumps(xb, n_reads=400, rows=(0,)):
    """Current jumps of every column for ``n_reads`` reads of ``rows``, all in the same step (one read every 5 steps)."""
    net = ni.Network(dt=0.1 * ms, seed=0)
    times = np.repeat(np.arange(n_reads) * 0.5 * ms, len(rows))
    src = net.add(ni.SpikeSource(xb.shape[0], indices=np.tile(rows, n_reads), times=times))
    pop = net.add(ni.LIFPopulation(xb.shape[1], tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=1.0,
                                   t_ref=0.0, tau_syn=5 * ms, r_m=100 * Mohm))
    net.connect(src, pop, xb)
    mon = net.monitor_state(pop, "I_syn")
    net.run(n_reads * 0.5 * ms + 0.1 * ms, progress=False)
    I = mon.values
    decay = np.exp(-0.1 * ms / (5 * ms))
    steps = np.arange(n_reads) * 5  # read in step s shows in the sample of step s + 1
    return I[steps + 1] - I[steps] * decay


@pytest.mark.parametrize("model, sigma", [("gaussian", 0.05), ("additive", 0.02)])
def test_read_noise_statistics(model, sigma):
    dev = card(read=Read(noise_model=model, noise_sigma=sigma))
    frac = np.linspace(-1, 1, 40)[None, :]
    xb = crossbar(dev, shape=(1, 40), frac=frac)
    jumps = _jumps(xb)
    gp, gm = (c.ravel() for c in xb.conductances())
    scale = xb.v_read * xb.gain
    sd = scale * sigma * (np.sqrt(gp**2 + gm**2) if model == "gaussian" else np.sqrt(2) * dev.g_range)
    n = jumps.shape[0]
    z_mean = (jumps.mean(axis=0) - xb.weights().ravel()) / (sd / np.sqrt(n))
    assert np.all(np.abs(z_mean) < Z)
    ratio = jumps.var(axis=0, ddof=1) / sd**2
    assert np.all(np.abs(ratio - 1) < Z * np.sqrt(2 / (n - 1)))
    # independent devices: columns uncorrelated
    c = np.corrcoef(jumps.T)[np.triu_indices(40, 1)]
    assert np.abs(c).max() < Z / np.sqrt(n) + 0.05


@pytest.mark.parametrize("model, sigma", [("gaussian", 0.05), ("additive", 0.02)])
def test_read_noise_of_rows_read_together_adds_in_variance(model, sigma):
    """Three rows read in the same step: each column's jump has the summed mean and the summed variance."""
    dev = card(read=Read(noise_model=model, noise_sigma=sigma))
    frac = np.random.default_rng(3).uniform(-1, 1, (3, 30))
    xb = crossbar(dev, shape=(3, 30), frac=frac)
    jumps = _jumps(xb, n_reads=500, rows=(0, 1, 2))
    gp, gm = xb.conductances()
    scale = xb.v_read * xb.gain
    var = scale**2 * sigma**2 * ((gp**2 + gm**2) if model == "gaussian" else 2 * dev.g_range**2 * np.ones(gp.shape))
    sd = np.sqrt(var.sum(axis=0))
    n = jumps.shape[0]
    z_mean = (jumps.mean(axis=0) - xb.weights().sum(axis=0)) / (sd / np.sqrt(n))
    assert np.all(np.abs(z_mean) < Z)
    ratio = jumps.var(axis=0, ddof=1) / sd**2
    assert np.all(np.abs(ratio - 1) < Z * np.sqrt(2 / (n - 1)))
    c = np.corrcoef(jumps.T)[np.triu_indices(30, 1)]
    assert np.abs(c).max() < Z / np.sqrt(n) + 0.05


def test_reference_mapping_shares_the_reference_read_noise():
    dev = card(read=Read(noise_model="additive", noise_sigma=0.02))
    xb = crossbar(dev, shape=(1, 20), frac=np.zeros((1, 20)), mapping="reference")
    jumps = _jumps(xb, n_reads=600)
    sd = xb.v_read * xb.gain * 0.02 * dev.g_range  # each of G and G_ref
    n = jumps.shape[0]
    assert abs(jumps.var(ddof=1) / (2 * sd**2) - 1) < Z * np.sqrt(2 / (n - 1))
    # the shared reference makes columns correlated by 1/2
    c = np.corrcoef(jumps.T)[np.triu_indices(20, 1)]
    assert abs(c.mean() - 0.5) < Z * 0.6 / np.sqrt(n)


def test_reference_mapping_round_trips_with_ideal_devices():
    W = np.random.default_rng(2).uniform(-3, 3, (6, 4)) * pA
    xb = ni.Crossbar.from_weights(W, mapping="reference")
    np.testing.assert_allclose(xb.weights(), W, rtol=1e-12, atol=1e-27)
    g, g_ref = xb.conductances()
    assert np.allclose(g_ref, 0.5 * (xb.device.g_min + xb.device.g_max))


def test_pcm_1f_read_noise_formula():
    dev = ni.load_device("pcm_gst")
    xb = crossbar(dev)
    t, x = 3600.0, 12.5 * uS
    q_s = min(0.0088 / (x / dev.g_max) ** 0.65, 0.2)
    expected = x * q_s * np.sqrt(np.log((t + 250e-9) / (2 * 250e-9)))
    t_prog = np.zeros(2)  # programmed at t = 0
    assert K.read_noise_std(x, 0, t, t_prog, xb._scalars) == pytest.approx(expected, rel=1e-12)


def test_adc_quantises_the_summed_column_current_once_per_tile_and_step():
    """Two rows read in the same step: one conversion of the sum, unless they sit in different tiles."""
    adc = ni.ADC(bits=4, full_scale=8 * pA)  # lsb = 1 pA
    W = np.array([[0.6], [0.6]]) * pA  # each alone rounds to 1 pA, the sum 1.2 pA rounds to 1 pA

    def jump(tile):
        net = ni.Network(dt=0.1 * ms)
        src = net.add(ni.SpikeSource(2, indices=[0, 1], times=[1 * ms, 1 * ms]))
        pop = net.add(ni.LIFPopulation(1, tau_m=20 * ms, v_rest=0, v_reset=0, v_thresh=1, t_ref=0, tau_syn=1e6,
                                       r_m=1.0))
        xb = net.connect(src, pop, ni.Crossbar.from_weights(W, w_max=1 * pA, adc=adc, tile=tile))
        net.run(2 * ms, progress=False)
        return pop.I_syn[0], xb
    together, xb = jump(None)
    apart, xb2 = jump((1, 1))
    lsb = 1 * pA
    assert together == pytest.approx(1 * lsb, rel=1e-6)
    assert apart == pytest.approx(2 * lsb, rel=1e-6)
    assert xb._conversions[0] == 1 and xb2._conversions[0] == 2


def test_program_and_verify_reaches_tolerance_and_counts_pulses():
    dev = card(pulse=PulseResponse("neurosim", n_pulses_ltp=100, n_pulses_ltd=100, nl_ltp=1.0, nl_ltd=1.0),
               write=Write(c2c_sigma=0.005, energy_per_pulse=2e-12), read=Read(noise_model="gaussian",
                                                                                 noise_sigma=0.002))
    xb = crossbar(dev, shape=(16, 16))
    W = np.random.default_rng(5).uniform(-1, 1, (16, 16)) * pA
    counts_before = xb.pulse_counts().sum()
    rep = xb.program(W, tolerance=0.02, max_pulses=300)
    assert rep.pulses == xb.pulse_counts().sum() - counts_before > 0
    assert rep.energy == pytest.approx(rep.pulses * 2e-12)
    assert rep.converged_fraction > 0.95
    assert rep.rms_weight_error < 0.03


def test_pcm_pair_refresh_keeps_the_weight_and_counts_pulses():
    dev = ni.devices.replace("pcm_gst", drift={"nu_mean": 0.0, "nu_std": 0.0}, read={"noise_model": "none"},
                             write={"program_sigma": 0.0, "c2c_sigma": 0.0}, variability={"g_max_sigma": 0.0},
                             endurance={"cycles_mean": 0.0})
    xb = crossbar(dev, shape=(4, 4))
    g = dev.g_min + np.array([0.95, 0.4]) * dev.g_range
    xb.set_conductances(np.full((4, 4), g[0]), np.full((4, 4), g[1]))
    w_before = xb.weights()
    pulses_before = xb.write_pulses
    assert xb.refresh_pairs(threshold=0.9, tolerance=0.01) == 16
    np.testing.assert_allclose(xb.weights(), w_before, atol=0.02 * xb.w_max)
    gp, gm = xb.conductances()
    assert np.all(gm == dev.g_min) and np.all(gp < dev.g_min + 0.9 * dev.g_range)
    assert xb.write_pulses - pulses_before >= 16 * 2  # at least the two RESETs per pair


def test_nonideal_runs_are_reproducible_from_the_seed():
    def run(seed):
        net = ni.Network(seed=seed)
        src = net.add(ni.PoissonSource(100, rate=30.0))
        pop = net.add(ni.LIFPopulation(20, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                       t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm))
        W = np.random.default_rng(0).uniform(0, 1, (100, 20)) * 40 * pA
        net.connect(src, pop, ni.Crossbar.from_weights(W, device="rram_hfox", w_max=40 * pA))
        mon = net.monitor_spikes(pop)
        net.run(0.3, progress=False)
        return list(zip(mon.steps.tolist(), mon.indices.tolist()))
    a, b, c = run(1), run(1), run(2)
    assert len(a) > 50 and a == b and a != c


def test_card_replace_and_validation():
    with pytest.raises(ValueError, match=r"pulse.nl_ltp must be <= 9.0"):
        card(pulse=PulseResponse("neurosim", nl_ltp=12.0))
    with pytest.raises(ValueError, match=r"read.noise_model must be one of"):
        card(read=Read(noise_model="pink"))
    dev = ni.devices.replace("rram_hfox", read={"noise_sigma": 0.0})
    assert dev.read.noise_sigma == 0.0 and dev.pulse == ni.load_device("rram_hfox").pulse
    assert dataclasses.replace(dev, name="x").name == "x"


def test_program_and_verify_on_a_binary_device_ends_at_the_nearest_level():
    dev = DeviceModel("mtj", conductance=Conductance(40 * uS, 120 * uS, n_levels=2),
                      pulse=PulseResponse("linear", n_pulses_ltp=1, n_pulses_ltd=1))
    W = np.array([[0.2, 0.45, 0.55, 0.9]]) * pA
    xb = ni.Crossbar.from_weights(W, device=dev, w_max=1 * pA, seed=0, deploy="verify")
    np.testing.assert_allclose(xb.weights(), np.array([[0, 0, 1, 1]]) * pA, atol=1e-20)
    assert xb.deployment.max_pulses_per_device <= 3


def test_ir_drop_in_runs_matches_the_exact_nodal_solve_per_tile():
    """The engine's read of a row equals the nodal solution of the tile's resistive network."""
    from neuroimc import wires

    dev = card(array=ni.devices.ArrayGeometry(r_wire=2.0))
    frac = np.random.default_rng(4).uniform(-1, 1, (12, 8))
    xb = crossbar(dev, shape=(12, 8), frac=frac, tile=(6, 4), ir_drop="exact")
    gp, gm = xb.conductances()
    v = np.zeros(6)
    v[2] = xb.v_read  # read row 2 of the tile at rows 6..11, columns 4..7
    blk = (slice(6, 12), slice(4, 8))
    i_plus = wires.column_currents_exact(gp[blk], v, 2.0, 2.0)
    i_minus = wires.column_currents_exact(gm[blk], v, 2.0, 2.0)
    np.testing.assert_allclose(xb.weights()[8, 4:8], xb.gain * (i_plus - i_minus), rtol=1e-9)
    # the fast model is close for these small devices, and IR drop only ever attenuates
    fast = crossbar(dev, shape=(12, 8), frac=frac, tile=(6, 4))
    np.testing.assert_allclose(fast.weights(), xb.weights(), rtol=0.01, atol=1e-3 * xb.w_max)
    ideal = crossbar(card(), shape=(12, 8), frac=frac)
    assert np.all(np.abs(xb.weights()) <= np.abs(ideal.weights()) * (1 + 1e-12) + 1e-3 * xb.w_max)
