"""Single-precision crossbar read-out: the benchmark network's spikes agree with double precision."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import ms

DT, RATE = 0.1 * ms, 20.0
LIF = dict(tau_m=20 * ms, v_rest=-65e-3, v_reset=-65e-3, v_thresh=-50e-3, t_ref=2 * ms, tau_syn=5 * ms, r_m=100e6)


def benchmark_network(precision, n_in=1000, n_out=100, seed=7, plasticity=None):
    """The network of benchmarks/bench_vs_brian2.py (w ~ U(0, 1), mean drive 1 mV above threshold)."""
    net = ni.Network(dt=DT, seed=seed, precision=precision)
    src = net.add(ni.PoissonSource(n_in, rate=RATE))
    pop = net.add(ni.LIFPopulation(n_out, **LIF))
    scale = 16e-3 / (LIF["r_m"] * 0.5 * n_in * RATE * LIF["tau_syn"])
    W = np.random.default_rng(seed).uniform(0.0, 1.0, (n_in, n_out)) * scale
    xb = net.connect(src, pop, ni.Crossbar.from_weights(W, w_max=scale), plasticity=plasticity)
    return net, xb, net.monitor_spikes(pop), net.monitor_state(pop, "v")


def test_float32_readout_agrees_with_float64_on_the_benchmark():
    runs = {}
    for precision in ("float64", "float32"):
        net, xb, spikes, v = benchmark_network(precision)
        net.run(0.5, progress=False)
        runs[precision] = (set(zip(spikes.indices.tolist(), spikes.steps.tolist())), v.values, xb)
    s64, v64, xb64 = runs["float64"]
    s32, v32, xb32 = runs["float32"]
    assert xb32._w_eff.dtype == np.float32 and xb64._w_eff.dtype == np.float64
    # weights are rounded to float32 (relative 2**-24), not changed otherwise
    np.testing.assert_allclose(xb32.weights(), xb64.weights(), rtol=2.0**-24, atol=0)
    assert len(s64) > 500  # the neurons fire (~15-20 Hz each)
    # rounding moves v by ~1e-9 V per step; a spike can only move where v grazes the threshold
    agree = len(s64 & s32) / len(s64 | s32)
    assert agree > 0.99, agree
    assert abs(len(s32) - len(s64)) <= 0.01 * len(s64)


def test_float32_learning_agrees_with_float64_on_the_benchmark():
    """Ideal crossbars learn on the weights the engine reads (kernels.deferred), so in float32 each update
    is rounded to float32: the benchmark's STDP run must still agree on spikes and weights."""
    runs = {}
    for precision in ("float64", "float32"):
        net, xb, spikes, _ = benchmark_network(precision, plasticity=ni.STDP(a_pre=0.01, a_post=-0.0105))
        net.run(0.5, progress=False)
        runs[precision] = (set(zip(spikes.indices.tolist(), spikes.steps.tolist())), xb.weights() / xb.w_max)
    (s64, w64), (s32, w32) = runs["float64"], runs["float32"]
    assert len(s64) > 500
    untrained = benchmark_network("float64")[1]
    assert np.abs(w64 - untrained.weights() / untrained.w_max).max() > 0.05  # learning moved them
    agree = len(s64 & s32) / len(s64 | s32)
    assert agree > 0.98, agree
    # ~100 updates per synapse, each rounded by at most 2**-24 (6e-8) of w_max (measured: 4e-7 at most)
    np.testing.assert_allclose(w32, w64, rtol=0, atol=1e-5)
    assert np.abs(w32 - w64).mean() < 1e-6


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision must be one of"):
        ni.Network(precision="float16")
