"""Single-precision crossbar read-out: the benchmark network's spikes agree with double precision."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import ms

DT, RATE = 0.1 * ms, 20.0
LIF = dict(tau_m=20 * ms, v_rest=-65e-3, v_reset=-65e-3, v_thresh=-50e-3, t_ref=2 * ms, tau_syn=5 * ms, r_m=100e6)


def benchmark_network(precision, n_in=1000, n_out=100, seed=7):
    """The network of benchmarks/bench_vs_brian2.py (w ~ U(0, 1), mean drive 1 mV above threshold)."""
    net = ni.Network(dt=DT, seed=seed, precision=precision)
    src = net.add(ni.PoissonSource(n_in, rate=RATE))
    pop = net.add(ni.LIFPopulation(n_out, **LIF))
    scale = 16e-3 / (LIF["r_m"] * 0.5 * n_in * RATE * LIF["tau_syn"])
    W = np.random.default_rng(seed).uniform(0.0, 1.0, (n_in, n_out)) * scale
    xb = net.connect(src, pop, ni.Crossbar.from_weights(W, w_max=scale))
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


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision must be one of"):
        ni.Network(precision="float16")
