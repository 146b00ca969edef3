"""Spike sources: Poisson statistics with tolerances from the sample size, recorded replay."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import Hz, ms, second

DT = 0.1 * ms
Z = 5.0  # z-score bound: a correct generator fails a check with probability < 1e-6


def poisson_run(rate, n, duration=1 * second, seed=0):
    net = ni.Network(dt=DT, seed=seed)
    src = net.add(ni.PoissonSource(n, rate=rate))
    mon = net.monitor_spikes(src)
    net.run(duration, progress=False)
    return mon, int(round(duration / DT))


def test_poisson_counts_are_binomial_per_input():
    """Each input's count ~ Binomial(n_steps, rate*dt); check the total and the spread across inputs."""
    n, rate = 400, 30 * Hz
    mon, n_steps = poisson_run(rate, n)
    p = rate * DT
    mean, var = n_steps * p, n_steps * p * (1 - p)
    total = len(mon)
    assert abs(total - n * mean) < Z * np.sqrt(n * var)
    counts = mon.counts()
    # sample variance of n binomial counts: relative std of the estimate ~ sqrt(2/(n-1))
    assert abs(counts.var(ddof=1) / var - 1) < Z * np.sqrt(2 / (n - 1))


def test_poisson_one_spike_per_input_per_step_and_geometric_intervals():
    n, rate = 50, 200 * Hz
    mon, n_steps = poisson_run(rate, n, duration=2 * second, seed=4)
    pairs = np.stack([mon.steps, mon.indices], axis=1)
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    p = rate * DT
    isis = np.concatenate([np.diff(mon.steps[mon.indices == i]) for i in range(n)])
    # inter-spike steps are geometric on {1, 2, ...}: mean 1/p, variance (1-p)/p^2
    assert abs(isis.mean() - 1 / p) < Z * np.sqrt((1 - p) / p**2 / isis.size)
    assert isis.min() >= 1


def test_poisson_spikes_spread_uniformly_over_steps():
    """Counts per step ~ Binomial(n, p): a chi-square on the histogram of per-step counts."""
    from scipy import stats

    n, rate = 200, 50 * Hz
    mon, n_steps = poisson_run(rate, n, duration=2 * second, seed=7)
    per_step = np.bincount(mon.steps, minlength=n_steps)
    p = rate * DT
    k = np.arange(0, 6)
    expected = stats.binom.pmf(k, n, p) * n_steps
    observed = np.array([(per_step == kk).sum() for kk in k[:-1]] + [(per_step >= k[-1]).sum()])
    expected[-1] = stats.binom.sf(k[-1] - 1, n, p) * n_steps
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=len(k) - 1) > 1e-6


def test_heterogeneous_rates_by_thinning():
    # 100, 40 and 5 Hz fall in octave classes 0, 1 and 4; 0.3 Hz (2**-8.4 of the top) in the last one
    rates = np.repeat([0.0, 0.3, 5.0, 40.0, 100.0], 100) * Hz
    mon, n_steps = poisson_run(rates, rates.size, duration=2 * second, seed=2)
    counts = mon.counts()
    for r in np.unique(rates):
        c = counts[rates == r]
        p = r * DT
        mean, sd = n_steps * p * c.size, np.sqrt(n_steps * p * (1 - p) * c.size)
        assert abs(c.sum() - mean) <= Z * sd + 1e-9
    assert counts[rates == 0].sum() == 0


def test_zero_and_maximal_rates():
    mon, n_steps = poisson_run(1 / DT, 3, duration=10 * ms)  # p = 1: every step
    assert len(mon) == 3 * n_steps
    mon, _ = poisson_run(0.0, 3)
    assert len(mon) == 0


def test_rate_above_one_spike_per_step_is_rejected():
    net = ni.Network(dt=DT)
    net.add(ni.PoissonSource(3, rate=20000 * Hz))
    with pytest.raises(ValueError, match=r"rate .* rate \* dt <= 1"):
        net.run(1 * ms, progress=False)


def test_spike_source_bins_like_brian2_and_replays_exactly():
    times = np.array([0.0, 0.1, 0.2999999999, 1.05, 0.35]) * ms  # 0.3-eps rounds up as in Brian2
    idx = np.array([0, 1, 2, 1, 0])
    net = ni.Network(dt=DT)
    src = net.add(ni.SpikeSource(3, indices=idx, times=times))
    mon = net.monitor_spikes(src)
    net.run(2 * ms, progress=False)
    assert sorted(zip(mon.steps.tolist(), mon.indices.tolist())) == [(0, 0), (1, 1), (3, 0), (3, 2), (10, 1)]


def test_spike_source_rejects_two_spikes_of_one_input_in_one_step():
    src = ni.SpikeSource(2, indices=[1, 0, 1], times=[1.00 * ms, 1.02 * ms, 1.04 * ms])
    net = ni.Network(dt=DT)
    net.add(src)
    with pytest.raises(ValueError, match="input 1 fires twice in time step 10"):
        net.run(1 * ms, progress=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=3, indices=[0, 3], times=[0.0, 0.1]), r"indices must lie in \[0, 3\)"),
        (dict(n=3, indices=[0, 1], times=[0.0]), "times must have the same length"),
        (dict(n=3, indices=[0], times=[-1.0]), "times must be >= 0"),
        (dict(n=3, indices=[0], times=[np.nan]), "times must be finite"),
        (dict(n=3, indices=[0.5], times=[0.0]), "indices must be integers"),
        (dict(n=0, indices=[], times=[]), "n must be >= 1"),
    ],
)
def test_spike_source_errors_name_the_parameter(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ni.SpikeSource(**kwargs)


def test_changing_a_poisson_rate_between_runs_takes_effect():
    net = ni.Network(dt=DT, seed=3)
    src = net.add(ni.PoissonSource(500, rate=10 * Hz))
    mon = net.monitor_spikes(src)
    net.run(1 * second, progress=False)
    n_first = len(mon)
    src.rate = 40 * Hz  # after packing: must reach the kernel
    net.run(1 * second, progress=False)
    n_second = len(mon) - n_first
    for count, rate in ((n_first, 10 * Hz), (n_second, 40 * Hz)):
        mean = 500 * 10000 * rate * DT
        assert abs(count - mean) < Z * np.sqrt(mean)
    with pytest.raises(ValueError, match=r"rate \* dt <= 1"):
        src.rate = 1e5 * Hz
    assert np.all(src.rate == 40 * Hz)  # a rejected change leaves the source as it was
    with pytest.raises(ValueError):
        src.rate[0] = 1.0  # read-only view: no silent bypass of validation
