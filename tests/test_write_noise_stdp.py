"""Write noise through on-chip STDP: the statistics of learnt conductances match the card.

A plastic input drives 100 postsynaptic neurons through a linear-device crossbar; a teacher
input (a separate, ideal crossbar) makes every neuron fire 1.1 ms after each pairing's input
spikes, 200 ms apart.  With nearest-spike pairing, ``a_post = 0`` (no depression) and ``a_pre``
chosen so that each pairing asks for a weight change of about 2.2 pulses, every synapse of a
row receives exactly 2 SET pulses per pairing it takes part in.  Rows are split into groups that
take part in 1, 2, 4 or 8 pairings, so their synapses receive n = 2, 4, 8 or 16 pulses from the
same start, mid-window.

Linear pulses move ``G`` by ``span / P`` each, plus the card's noise:

* cycle-to-cycle noise ``N(0, (c2c_sigma * span)**2)`` is added to the state at every pulse and
  accumulates: after n pulses ``G - G0 - n span / P ~ N(0, n (c2c_sigma * span)**2)``;
* programming noise leaves the read-out ``N(0, (program_sigma * span)**2)`` off the state after
  each write and is redrawn by the next: the read-out's spread is ``program_sigma * span`` for
  every n.

Each group holds 1000 synapses; means are checked to ``Z`` standard errors and variances with a
chi-square interval whose two tails each hold ``ALPHA`` (a correct implementation fails a check
with probability < 1e-6).
"""
import numpy as np
from scipy import stats

import neuroimc as ni
from neuroimc.units import Mohm, mV, ms, nA, pA

DT = 0.1 * ms
P = 200  # pulses that sweep the window
PAIRINGS = (1, 2, 4, 8)  # pairings each row group takes part in
PULSES_PER_PAIRING = 2
ROWS_PER_GROUP, N_POST = 10, 100
GAP = 200 * ms  # between pairings: the pre trace decays by exp(-10) in between
W0 = 0.3  # initial normalised weight, mid-window
Z = 5.0
ALPHA = 5e-7
LIF = dict(tau_m=10 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=0.2 * ms,
           r_m=100 * Mohm)


def linear_card(**write):
    return ni.devices.replace("ideal", pulse={"model": "linear", "n_pulses_ltp": P, "n_pulses_ltd": P},
                              write=write)


def learn(device, seed=3):
    """Run the pairings; return (crossbar, pulses given, pulses expected per synapse, row groups, output spikes)."""
    n_groups = len(PAIRINGS)
    n_pre = n_groups * ROWS_PER_GROUP
    group = np.repeat(np.arange(n_groups), ROWS_PER_GROUP)
    k_max = max(PAIRINGS)
    pre_idx, pre_t = [], []
    for k in range(k_max):
        rows = np.flatnonzero(np.asarray(PAIRINGS)[group] > k)
        pre_idx.append(rows)
        pre_t.append(np.full(rows.size, (k + 1) * GAP))
    net = ni.Network(dt=DT, seed=seed)
    src = net.add(ni.SpikeSource(n_pre, indices=np.concatenate(pre_idx), times=np.concatenate(pre_t)))
    teacher = net.add(ni.SpikeSource(1, indices=np.zeros(k_max, int), times=(np.arange(k_max) + 1) * GAP + 1 * ms))
    pop = net.add(ni.LIFPopulation(N_POST, **LIF))
    # tau_pre = 20 ms: at the post spike 1.1 ms after a pre spike its trace is a_pre * 0.947; a_pre P = 2.3
    # then asks for 2.18 pulses, which round to 2
    rule = ni.STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=(PULSES_PER_PAIRING + 0.3) / P, a_post=0.0,
                   pairing="nearest")
    xb = net.connect(src, pop, ni.Crossbar.from_weights(np.full((n_pre, N_POST), W0 * pA), device=device,
                                                        w_max=1 * pA, seed=seed), plasticity=rule)
    net.connect(teacher, pop, ni.Crossbar.from_weights(np.full((1, N_POST), 20 * nA)))
    out = net.monitor_spikes(pop)
    deployed = xb.pulse_counts("plus").copy()
    net.run((k_max + 1) * GAP, progress=False)
    expected = np.broadcast_to((PULSES_PER_PAIRING * np.asarray(PAIRINGS)[group])[:, None], (n_pre, N_POST))
    return xb, xb.pulse_counts("plus") - deployed, expected, group, out


def test_every_synapse_receives_the_pulses_its_pairings_ask_for():
    xb, pulses, expected, group, out = learn(linear_card(c2c_sigma=0.01))
    # each neuron fired once per pairing, one step after the teacher's spike: the pulse counts are known
    k_max = max(PAIRINGS)
    teacher_steps = np.round(((np.arange(k_max) + 1) * GAP + 1 * ms) / DT).astype(np.int64)
    np.testing.assert_array_equal(out.steps, np.repeat(teacher_steps + 1, N_POST))
    np.testing.assert_array_equal(out.indices, np.tile(np.arange(N_POST), k_max))
    np.testing.assert_array_equal(pulses, expected)
    assert np.all(xb.pulse_counts("minus") == 0)  # potentiation only: the negative devices are never written


def chi2_bounds(dof):
    return stats.chi2.ppf(ALPHA, dof), stats.chi2.ppf(1 - ALPHA, dof)


def test_cycle_to_cycle_noise_accumulates_with_the_pulses():
    c2c = 0.01
    dev = linear_card(c2c_sigma=c2c)
    xb, pulses, expected, group, _ = learn(dev)
    np.testing.assert_array_equal(pulses, expected)
    span = dev.g_range
    g = xb.conductances()[0]
    total = 0.0
    for grp, k in enumerate(PAIRINGS):
        n = PULSES_PER_PAIRING * k
        dev_g = (g[group == grp] - (dev.g_min + W0 * span) - n * span / P).ravel()  # off the noiseless model
        sigma = np.sqrt(n) * c2c * span  # n independent steps of variance (c2c span)^2
        N = dev_g.size
        assert abs(dev_g.mean()) < Z * sigma / np.sqrt(N), f"n = {n}: mean off the noiseless pulse model"
        lo, hi = chi2_bounds(N - 1)
        assert lo < (N - 1) * dev_g.var(ddof=1) / sigma**2 < hi, f"n = {n}: variance is not n (c2c span)^2"
        total += np.sum((dev_g / sigma) ** 2)
    # all groups together, around the known mean: chi-square with as many degrees of freedom as synapses
    lo, hi = chi2_bounds(g.size)
    assert lo < total < hi
    # and not the spread of a single pulse: the variance of the 16-pulse group is 8x the 2-pulse group's
    first = g[group == 0].var(ddof=1)
    last = g[group == len(PAIRINGS) - 1].var(ddof=1)
    ratio = PAIRINGS[-1] / PAIRINGS[0]
    f_lo, f_hi = stats.f.ppf(ALPHA, g[group == 0].size - 1, g[group == 0].size - 1), \
        stats.f.ppf(1 - ALPHA, g[group == 0].size - 1, g[group == 0].size - 1)
    assert f_lo < (last / ratio) / first < f_hi


def test_programming_noise_does_not_accumulate_over_pulses():
    sigma_prog = 0.02
    dev = linear_card(program_sigma=sigma_prog)
    xb, pulses, expected, group, _ = learn(dev)
    np.testing.assert_array_equal(pulses, expected)
    span = dev.g_range
    g = xb.conductances()[0]  # read-out: internal state + the last write's offset
    sigma = sigma_prog * span
    lo, hi = chi2_bounds(ROWS_PER_GROUP * N_POST - 1)
    for grp, k in enumerate(PAIRINGS):
        n = PULSES_PER_PAIRING * k
        offset = (g[group == grp] - (dev.g_min + W0 * span) - n * span / P).ravel()
        N = offset.size
        assert abs(offset.mean()) < Z * sigma / np.sqrt(N), f"n = {n}: mean off the noiseless pulse model"
        assert lo < (N - 1) * offset.var(ddof=1) / sigma**2 < hi, f"n = {n}: spread is not program_sigma * span"


def test_without_write_noise_learning_is_the_noiseless_pulse_model():
    """The reference the statistics are taken against: a noiseless card lands exactly on it."""
    dev = linear_card()
    xb, pulses, expected, group, _ = learn(dev)
    span = dev.g_range
    target = dev.g_min + W0 * span + np.asarray(PAIRINGS)[group][:, None] * PULSES_PER_PAIRING * span / P
    np.testing.assert_allclose(xb.conductances()[0], np.broadcast_to(target, pulses.shape), rtol=1e-12,
                               atol=1e-12 * span)
    np.testing.assert_array_equal(pulses, expected)
