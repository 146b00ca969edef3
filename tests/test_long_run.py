"""A long run to wear-out: 1e6 steps of a small learning network on a low-endurance card."""
import numpy as np

import neuroimc as ni
from neuroimc.units import Hz, Mohm, mV, ms, pA, second


def test_a_million_steps_of_learning_until_most_devices_fail():
    card = ni.devices.replace("rram_hfox", endurance={"cycles_mean": 300.0, "cycles_log_sigma": 0.5},
                              faults={"stuck_low_rate": 0.0, "stuck_high_rate": 0.0})
    net = ni.Network(dt=0.1 * ms, seed=5)
    src = net.add(ni.PoissonSource(20, rate=40 * Hz))
    pop = net.add(ni.LIFPopulation(8, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm))
    W = np.random.default_rng(1).uniform(0.3, 0.9, (20, 8)) * 200 * pA
    xb = net.connect(src, pop, ni.Crossbar.from_weights(W, device=card, w_max=200 * pA),
                     plasticity=ni.STDP(a_pre=0.05, a_post=-0.05, pulses="stochastic"))
    spikes = net.monitor_spikes(pop)
    energy = net.monitor_energy()
    net.run(100 * second, progress=False)  # 1e6 steps
    assert net._step == 1_000_000
    for arr in (pop.v, pop.I_syn, xb.weights(), xb._pre_trace, xb._post_trace):
        assert np.isfinite(arr).all()
    assert xb.failed().mean() > 0.5  # most synapses have a worn-out device
    counts = np.concatenate([xb.pulse_counts("plus").ravel(), xb.pulse_counts("minus").ravel()])
    worn = xb.status() >= ni.kernels.device.WORN_LOW
    np.testing.assert_array_equal(worn, counts > xb.device_parameters()["endurance"])
    report = energy.report()
    assert np.isfinite(report.total) and report.breakdown["writes"] > 0
    assert len(spikes) > 0
