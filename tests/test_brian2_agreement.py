"""With ideal devices a neuroimc network must reproduce Brian2 spike for spike."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import Mohm, mV, ms, pA, second

from brian2_reference import poisson_spike_trains, run_brian2

pytest.importorskip("brian2")

DT = 0.1 * ms
DURATION = 1.0 * second
N_IN, N = 300, 100


def population_parameters(seed):
    """A population with per-neuron heterogeneity, to exercise per-neuron parameters."""
    rng = np.random.default_rng(seed)
    return dict(
        n=N,
        tau_m=rng.uniform(15, 25, N) * ms,
        v_rest=np.full(N, -65 * mV),
        v_reset=rng.uniform(-70, -65, N) * mV,
        v_thresh=rng.uniform(-52, -48, N) * mV,
        t_ref=2 * ms,
        tau_syn=5 * ms,
        r_m=100 * Mohm,
    )


def run_neuroimc(pop_params, in_idx, in_times, projections, record_v):
    net = ni.Network(dt=DT, seed=3)
    src = net.add(ni.SpikeSource(n=N_IN, indices=in_idx, times=in_times))
    p = {k: v for k, v in pop_params.items() if k != "n"}
    pop = net.add(ni.LIFPopulation(pop_params["n"], **p))
    for source, W in projections:
        net.connect(src if source == "input" else pop, pop, ni.Crossbar.from_weights(W, device="ideal"))
    spikes = net.monitor_spikes(pop)
    trace = net.monitor_state(pop, "v", record=record_v)
    net.run(DURATION, progress=False)
    return spikes, trace


def assert_same_spikes(ni_spikes, b2_idx, b2_steps):
    ours = sorted(zip(ni_spikes.steps.tolist(), ni_spikes.indices.tolist()))
    theirs = sorted(zip(b2_steps.tolist(), b2_idx.tolist()))
    assert len(ours) == len(theirs), f"{len(ours)} spikes in neuroimc, {len(theirs)} in Brian2"
    first_diff = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
    assert first_diff is None, f"first differing spike: neuroimc {ours[first_diff]}, Brian2 {theirs[first_diff]}"


def check_agreement(projections, pop_params, in_idx, in_times, min_spikes):
    record = [0, 17, 42, 99]
    ni_spikes, ni_trace = run_neuroimc(pop_params, in_idx, in_times, projections, record)
    b2_idx, b2_steps, b2_v = run_brian2(DT, DURATION, N_IN, in_idx, in_times, pop_params, projections, record)
    # the test is only meaningful if the network is active
    assert len(ni_spikes) >= min_spikes
    assert_same_spikes(ni_spikes, b2_idx, b2_steps)
    assert ni_trace.values.shape == b2_v.shape
    assert np.max(np.abs(ni_trace.values - b2_v)) < 1e-9


def test_feedforward_matches_brian2():
    """300 recorded Poisson inputs -> 100 LIF through excitatory and inhibitory weights."""
    in_idx, in_times = poisson_spike_trains(N_IN, 20.0, DURATION, DT, seed=11)
    W = np.random.default_rng(12).uniform(-20, 35, (N_IN, N)) * pA
    assert (W < 0).any() and (W > 0).any()
    check_agreement([("input", W)], population_parameters(13), in_idx, in_times, min_spikes=1000)


def test_recurrent_excitatory_inhibitory_matches_brian2():
    """Inputs drive an E/I population (80 E, 20 I) connected to itself through one crossbar."""
    in_idx, in_times = poisson_spike_trains(N_IN, 20.0, DURATION, DT, seed=21)
    rng = np.random.default_rng(22)
    W_in = rng.uniform(-10, 30, (N_IN, N)) * pA
    W_rec = np.zeros((N, N))
    W_rec[:80] = rng.uniform(0, 60, (80, N)) * pA  # excitatory rows
    W_rec[80:] = -rng.uniform(0, 240, (20, N)) * pA  # inhibitory rows
    np.fill_diagonal(W_rec, 0.0)
    check_agreement(
        [("pop", W_rec), ("input", W_in)], population_parameters(23), in_idx, in_times, min_spikes=1000
    )
