"""Network assembly, running in chunks, reproducibility, event-driven cost and bad input."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import Hz, Mohm, mV, ms, pA, second

DT = 0.1 * ms
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms,
           tau_syn=5 * ms, r_m=100 * Mohm)


def lif(n, **kw):
    return ni.LIFPopulation(n, **{**LIF, **kw})


def feedforward(seed=1, rate=20 * Hz, n_in=200, n_out=50, duration=0.5 * second, chunk=None):
    net = ni.Network(dt=DT, seed=seed)
    if chunk:
        net.chunk_steps = chunk
    src = net.add(ni.PoissonSource(n_in, rate=rate))
    pop = net.add(lif(n_out))
    W = np.random.default_rng(0).uniform(0, 30, (n_in, n_out)) * pA
    xbar = net.connect(src, pop, ni.Crossbar.from_weights(W))
    mon = net.monitor_spikes(pop)
    net.run(duration, progress=False)
    return net, mon, xbar


def spike_set(mon):
    return list(zip(mon.steps.tolist(), mon.indices.tolist()))


def test_same_seed_same_run_and_other_seed_differs():
    _, a, _ = feedforward(seed=5)
    _, b, _ = feedforward(seed=5)
    _, c, _ = feedforward(seed=6)
    assert len(a) > 100
    assert spike_set(a) == spike_set(b)
    assert spike_set(a) != spike_set(c)


def test_chunking_and_split_runs_do_not_change_the_result():
    _, whole, _ = feedforward(chunk=5000)
    _, small, _ = feedforward(chunk=7)
    net = ni.Network(dt=DT, seed=1)
    src = net.add(ni.PoissonSource(200, rate=20 * Hz))
    pop = net.add(lif(50))
    net.connect(src, pop, ni.Crossbar.from_weights(np.random.default_rng(0).uniform(0, 30, (200, 50)) * pA))
    mon = net.monitor_spikes(pop)
    for _ in range(5):
        net.run(0.1 * second, progress=False)
    assert net.t == pytest.approx(0.5)
    assert spike_set(whole) == spike_set(small) == spike_set(mon)


def test_row_reads_scale_with_input_spikes_not_array_size():
    """Event-driven cost: one row read per input spike; doubling the rate doubles the reads."""
    _, _, x1 = feedforward(rate=10 * Hz, n_in=500, duration=1 * second)
    _, _, x2 = feedforward(rate=20 * Hz, n_in=500, duration=1 * second)
    # reads = input spikes ~ Binomial(n_in * n_steps, rate*dt): mean 5000 and 10000
    for xb, mean in ((x1, 5000), (x2, 10000)):
        assert abs(xb.row_reads - mean) < 5 * np.sqrt(mean)
    assert 1.85 < x2.row_reads / x1.row_reads < 2.15
    # reads count spikes, never rows x steps
    assert x2.row_reads < 0.01 * 500 * 10000


def test_row_reads_equal_presynaptic_spikes_on_every_crossbar():
    net = ni.Network(dt=DT, seed=3)
    src = net.add(ni.PoissonSource(100, rate=30 * Hz))
    a = net.add(lif(40))
    b = net.add(lif(30))
    rng = np.random.default_rng(1)
    x_in = net.connect(src, a, ni.Crossbar.from_weights(rng.uniform(0, 40, (100, 40)) * pA))
    x_ab = net.connect(a, b, ni.Crossbar.from_weights(rng.uniform(0, 100, (40, 30)) * pA))
    x_aa = net.connect(a, a, ni.Crossbar.from_weights(rng.uniform(-20, 5, (40, 40)) * pA))
    s_src, s_a = net.monitor_spikes(src), net.monitor_spikes(a)
    net.run(0.5 * second, progress=False)
    assert len(s_a) > 50
    assert x_in.row_reads == len(s_src)
    assert x_ab.row_reads == x_aa.row_reads == len(s_a)
    assert net.synaptic_events == len(s_src) * 40 + len(s_a) * (30 + 40)


def test_separate_groups_equal_one_merged_group():
    """Two populations and two sources give the same spikes as one population and one source
    holding the same neurons and block weight matrices: the packing into global arrays is exact."""
    rng = np.random.default_rng(9)
    n1, n2, m1, m2 = 30, 20, 60, 40
    idx1, t1 = np.nonzero(rng.random((3000, m1)) < 0.004)
    idx2, t2 = np.nonzero(rng.random((3000, m2)) < 0.004)
    W = rng.uniform(-10, 60, (m1 + m2, n1 + n2)) * pA
    R = rng.uniform(-30, 30, (n1 + n2, n1 + n2)) * pA
    thr = rng.uniform(-52, -48, n1 + n2) * mV

    split = ni.Network(dt=DT)
    s1 = split.add(ni.SpikeSource(m1, indices=t1, times=idx1 * DT))
    s2 = split.add(ni.SpikeSource(m2, indices=t2, times=idx2 * DT))
    p1 = split.add(lif(n1, v_thresh=thr[:n1]))
    p2 = split.add(lif(n2, v_thresh=thr[n1:]))
    for si, rows in ((s1, slice(0, m1)), (s2, slice(m1, None))):
        for pj, cols in ((p1, slice(0, n1)), (p2, slice(n1, None))):
            split.connect(si, pj, ni.Crossbar.from_weights(W[rows, cols], w_max=60 * pA))
    for pi, rows in ((p1, slice(0, n1)), (p2, slice(n1, None))):
        for pj, cols in ((p1, slice(0, n1)), (p2, slice(n1, None))):
            split.connect(pi, pj, ni.Crossbar.from_weights(R[rows, cols], w_max=30 * pA))
    m_1, m_2 = split.monitor_spikes(p1), split.monitor_spikes(p2)
    split.run(0.3 * second, progress=False)

    merged = ni.Network(dt=DT)
    s = merged.add(ni.SpikeSource(m1 + m2, indices=np.concatenate([t1, t2 + m1]),
                                  times=np.concatenate([idx1, idx2]) * DT))
    p = merged.add(lif(n1 + n2, v_thresh=thr))
    merged.connect(s, p, ni.Crossbar.from_weights(W, w_max=60 * pA))
    merged.connect(p, p, ni.Crossbar.from_weights(R, w_max=30 * pA))
    m = merged.monitor_spikes(p)
    merged.run(0.3 * second, progress=False)

    joined = sorted(spike_set(m_1) + [(t, i + n1) for t, i in spike_set(m_2)])
    assert len(joined) > 100
    # float sums may be ordered differently; over 0.3 s that must not change any spike
    assert joined == sorted(spike_set(m))


def test_state_is_visible_and_assignable_between_runs():
    net = ni.Network(dt=DT)
    pop = net.add(lif(3))
    net.run(1 * ms, progress=False)
    pop.v = [-40 * mV, -65 * mV, -65 * mV]  # above threshold: fires at the next step
    mon = net.monitor_spikes(pop)
    net.run(1 * ms, progress=False)
    assert mon.indices.tolist() == [0] and mon.steps.tolist() == [10]
    assert pop.v[0] == -65 * mV


def test_adding_after_a_run_keeps_state():
    net = ni.Network(dt=DT, seed=2)
    src = net.add(ni.PoissonSource(50, rate=50 * Hz))
    pop = net.add(lif(10))
    net.connect(src, pop, ni.Crossbar.from_weights(np.full((50, 10), 50 * pA)))
    net.run(20 * ms, progress=False)
    v_before = pop.v.copy()
    extra = net.add(lif(5))
    assert np.array_equal(pop.v, v_before)
    net.connect(pop, extra, ni.Crossbar.from_weights(np.full((10, 5), 100 * pA)))
    net.run(20 * ms, progress=False)
    assert net.t == pytest.approx(40 * ms)


def test_monitors_record_expected_shapes():
    net, mon, _ = feedforward(duration=50 * ms)
    assert mon.counts().shape == (50,)
    assert np.all(np.diff(mon.steps) >= 0)
    pop = net.populations[0]
    tr = net.monitor_state(pop, "I_syn", record=[3, 1])
    net.run(10 * ms, progress=False)
    assert tr.values.shape == (100, 2)
    np.testing.assert_allclose(tr.times, 50 * ms + np.arange(100) * DT)


def test_spike_buffer_grows_when_full():
    net = ni.Network(dt=DT)
    src = net.add(ni.PoissonSource(2000, rate=1 / DT))  # every input, every step
    mon = net.monitor_spikes(src)
    net.run(10 * ms, progress=False)  # 200 000 spikes > initial buffer of 65 536
    assert len(mon) == 2000 * 100


# ---------------------------------------------------------------- bad input
def test_network_arguments():
    with pytest.raises(ValueError, match="dt must be > 0"):
        ni.Network(dt=0.0)
    with pytest.raises(ValueError, match="dt must be finite"):
        ni.Network(dt=np.nan)
    with pytest.raises(TypeError, match="seed must be an integer"):
        ni.Network(seed=1.5)
    net = ni.Network()
    with pytest.raises(ValueError, match="duration must be a whole number of time steps"):
        net.run(0.05 * ms, progress=False)
    with pytest.raises(ValueError, match="duration must be >= 0"):
        net.run(-1.0, progress=False)


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("tau_m", -20 * ms, "tau_m must be > 0"),
        ("tau_syn", 0.0, "tau_syn must be > 0"),
        ("t_ref", -1 * ms, "t_ref must be >= 0"),
        ("r_m", np.inf, "r_m must be finite"),
        ("v_thresh", "high", "v_thresh must be a real number"),
    ],
)
def test_population_arguments(param, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        lif(10, **{param: value})


def test_connect_errors():
    net = ni.Network()
    src = net.add(ni.PoissonSource(10, rate=10 * Hz))
    pop = net.add(lif(5))
    stranger = lif(5)
    xb = ni.Crossbar.from_weights(np.ones((10, 5)) * pA)
    with pytest.raises(ValueError, match=r"crossbar has shape \(10, 5\) but pre has 5 neurons"):
        net.connect(pop, pop, xb)
    with pytest.raises(ValueError, match="not part of this network"):
        net.connect(src, stranger, xb)
    with pytest.raises(TypeError, match="post must be an LIFPopulation"):
        net.connect(pop, src, ni.Crossbar.from_weights(np.ones((5, 10)) * pA))
    with pytest.raises(TypeError, match="crossbar must be a Crossbar"):
        net.connect(src, pop, np.ones((10, 5)))
    net.connect(src, pop, xb)
    with pytest.raises(ValueError, match="already connected"):
        net.connect(src, pop, xb)
    with pytest.raises(ValueError, match="already added"):
        net.add(pop)
    with pytest.raises(TypeError, match="net.add takes"):
        net.add(xb)
    with pytest.raises(ValueError, match="already belongs to another network"):
        ni.Network().add(pop)


def test_monitor_errors():
    net = ni.Network()
    src = net.add(ni.PoissonSource(10, rate=10 * Hz))
    pop = net.add(lif(5))
    with pytest.raises(ValueError, match=r"variable must be one of \['I_syn', 'v'\]"):
        net.monitor_state(pop, "w")
    with pytest.raises(ValueError, match=r"record indices must lie in \[0, 5\)"):
        net.monitor_state(pop, "v", record=[0, 5])
    with pytest.raises(TypeError, match="population must be an LIFPopulation"):
        net.monitor_state(src, "v")
