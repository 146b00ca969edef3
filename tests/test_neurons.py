"""LIF dynamics against closed-form solutions."""
import numpy as np
import pytest

import neuroimc as ni
mpmath = pytest.importorskip("mpmath")
from neuroimc.units import Mohm, mV, ms, pA

DT = 0.1 * ms


def single_input_network(tau_m, tau_syn, w, t_spike=5 * ms, duration=100 * ms):
    net = ni.Network(dt=DT, seed=0)
    src = net.add(ni.SpikeSource(1, indices=[0], times=[t_spike]))
    pop = net.add(ni.LIFPopulation(1, tau_m=tau_m, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=0.0,
                                   t_ref=2 * ms, tau_syn=tau_syn, r_m=100 * Mohm))
    net.connect(src, pop, ni.Crossbar.from_weights(np.array([[w]])))
    v = net.monitor_state(pop, "v", record=[0])
    i = net.monitor_state(pop, "I_syn", record=[0])
    net.run(duration, progress=False)
    return v, i


def psp(s, tau_m, tau_syn, rw):
    """Closed-form PSP in 40-digit arithmetic (the double formula cancels near tau_s = tau_m)."""
    with mpmath.workdps(40):
        s, tm, ts = mpmath.mpf(s), mpmath.mpf(tau_m), mpmath.mpf(tau_syn)
        if tm == ts:
            return rw * (s / tm) * mpmath.exp(-s / tm)
        return rw * ts / (ts - tm) * (mpmath.exp(-s / ts) - mpmath.exp(-s / tm))


@pytest.mark.parametrize("tau_syn", [5 * ms, 20 * ms, 20 * ms * (1 + 1e-9)])
def test_postsynaptic_potential_matches_closed_form(tau_syn):
    """v(t) = v_rest + R w tau_s/(tau_s - tau_m) (e^{-t/tau_s} - e^{-t/tau_m}); its limit at tau_s = tau_m."""
    tau_m, w, t_spike = 20 * ms, 50 * pA, 5 * ms
    v, i = single_input_network(tau_m, tau_syn, w, t_spike)
    # the spike in step k adds w to I_syn after that step's integration (Brian2's
    # schedule), so the jump is present from the sample at t_spike + dt on
    t_arrive = t_spike + DT
    s = np.clip(v.times - t_arrive, 0.0, None)
    expected = np.array([float(psp(x, tau_m, tau_syn, 100 * Mohm * w)) for x in s]) - 65 * mV
    np.testing.assert_allclose(v.values[:, 0], expected, rtol=0, atol=1e-12)
    after = i.times > t_arrive - 1e-3 * DT
    np.testing.assert_allclose(i.values[after, 0], w * np.exp(-(i.times[after] - t_arrive) / tau_syn), rtol=1e-12)
    assert np.all(i.values[~after, 0] == 0.0)
    assert v.values[:, 0].max() > -65 * mV + 0.5 * mV  # a real PSP, not a flat line


def test_tau_syn_equal_tau_m_uses_the_limit():
    a = ni.LIFPopulation(1, tau_m=20 * ms, v_rest=0, v_reset=0, v_thresh=1, t_ref=0, tau_syn=20 * ms, r_m=1.0)
    a_vv, a_vi, a_ii, *_ = a.propagators(DT)
    assert np.isfinite(a_vi).all()
    np.testing.assert_allclose(a_vi, (DT / (20 * ms)) * np.exp(-DT / (20 * ms)), rtol=1e-14)


def test_tonic_firing_period_and_refractoriness():
    """v_rest above threshold: the neuron fires with a period set by the exact discrete climb + t_ref."""
    v_rest, v_reset, v_th, tau_m, t_ref = -45 * mV, -65 * mV, -50 * mV, 20 * ms, 2 * ms
    net = ni.Network(dt=DT, seed=0)
    pop = net.add(ni.LIFPopulation(1, tau_m=tau_m, v_rest=v_rest, v_reset=v_reset, v_thresh=v_th,
                                   t_ref=t_ref, tau_syn=5 * ms, r_m=100 * Mohm, v_init=v_reset))
    spikes = net.monitor_spikes(pop)
    v = net.monitor_state(pop, "v", record=[0])
    net.run(500 * ms, progress=False)
    # from v_reset, the k-th integrated step gives v_rest + (v_reset - v_rest) a^k; spike when > v_th
    a = np.exp(-DT / tau_m)
    k = int(np.ceil(np.log((v_rest - v_th) / (v_rest - v_reset)) / np.log(a) + 1e-12))
    while v_rest + (v_reset - v_rest) * a**k <= v_th:
        k += 1
    ref_steps = int(round(t_ref / DT))
    first = k - 1  # integrates from step 0, so the k-th integration is in step k-1
    period = (ref_steps - 1) + k  # after a spike: held for ref_steps-1 steps, then k integrations
    np.testing.assert_array_equal(spikes.steps, np.arange(first, 5000, period))
    # during the refractory period v is held at v_reset
    s0 = spikes.steps[0]
    np.testing.assert_array_equal(v.values[s0 + 1 : s0 + ref_steps, 0], v_reset)


def test_per_neuron_parameters_broadcast_and_validate():
    pop = ni.LIFPopulation(3, tau_m=[10 * ms, 20 * ms, 30 * ms], v_rest=-65 * mV, v_reset=-65 * mV,
                           v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm)
    assert pop.tau_m.shape == (3,) and pop.v_rest.shape == (3,)
    with pytest.raises(ValueError, match=r"tau_m must be a scalar or have shape \(3,\)"):
        ni.LIFPopulation(3, tau_m=[10 * ms, 20 * ms], v_rest=0, v_reset=0, v_thresh=1, t_ref=0, tau_syn=1, r_m=1)
