"""Device updates in SIMD lanes (kernels.lanes) against the scalar loop they stand in for."""
import numpy as np
from numba import njit

import neuroimc as ni
from neuroimc.kernels import device as K
from neuroimc.kernels import lanes
from neuroimc.kernels import random as R
from neuroimc.kernels.plasticity import _learn
from neuroimc.kernels.rule import DEPRESS_ROW
from neuroimc.network import plastic_entry
from neuroimc.units import Mohm, mV, ms, pA

N_PRE, N_POST = 6, 300  # rows of more than two chunks of lanes


@njit(cache=True)
def _first_outputs(keys, a, b, c):
    out = np.empty((2, keys.size), np.uint64)
    for q in range(keys.size):
        out[0, q] = R.keyed_first(keys[q], a[q], b[q], c[q])
        out[1, q] = R.next_state(R.keyed_state(keys[q], a[q], b[q], c[q]))[0]
    return out


def test_the_first_output_of_a_keyed_stream_is_the_streams():
    rng = np.random.default_rng(2)
    n = 1000
    keys = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64)
    a, b, c = (np.concatenate([[0, 2**62], rng.integers(0, 2**40, n - 2)]) for _ in range(3))
    first, stream = _first_outputs(keys, a, b, c)
    assert np.array_equal(first, stream)


def test_the_read_cores_without_age_are_the_general_ones():
    """fresh_readout is readout at age 0; steady_noise_std is noise_std for the models that do not age."""
    rng = np.random.default_rng(3)
    for x in np.concatenate([[-1e-6, 0.0], rng.uniform(0, 1e-4, 50)]):
        assert K.fresh_readout(x) == K.readout(x, 0.0, 1e-6, 0.1, 10.0, 0.5, 1.0)
        for model in (K.NOISE_NONE, K.NOISE_GAUSSIAN, K.NOISE_ADDITIVE):
            assert K.steady_noise_std(x, model, 0.03, 9e-6) == K.noise_std(x, 7.0, model, 0.03, 9e-6, 1e-5, 5e-9)


def _entry_pair(card):
    """An RRAM crossbar's entry, and a twin that takes the scalar loop (IR-drop factors of exactly 1, which
    multiply nothing but keep the updates out of the lanes) on a copy of the same devices."""
    net = ni.Network(dt=0.1 * ms, seed=4)
    src = net.add(ni.SpikeSource(N_PRE, indices=[0], times=[0.0]))
    pop = net.add(ni.LIFPopulation(N_POST, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm))
    w0 = np.random.default_rng(5).uniform(0.0, 1.0, (N_PRE, N_POST))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * 60 * pA, device=card, w_max=60 * pA, seed=6),
                     plasticity=ni.STDP(a_pre=0.02, a_post=-0.021))
    entry = plastic_entry(xb, 0, net.dt)
    twin = list(entry)
    twin[6] = tuple(a.copy() for a in entry[6])
    twin[9] = np.ones(2 * N_PRE * N_POST)
    twin[11], twin[12] = entry[11].copy(), lanes.scratch()
    return entry, tuple(twin)


def test_lanes_update_the_devices_as_the_scalar_loop_does():
    """Rows of 300 listed columns (three chunks) take depressions and potentiations on a card with write noise,
    128 levels, stuck devices and endurance limits of ~150 pulses (devices wear out mid-row), and
    traces that ask for zero to several pulses: conductances, write counts, status, weights, read-noise
    deviations and row energies are the scalar loop's, bit for bit."""
    card = ni.devices.replace("rram_hfox", endurance={"cycles_mean": 150.0, "cycles_log_sigma": 0.5})
    entry, twin = _entry_pair(card)
    n = N_PRE * N_POST
    results = []
    for e in (entry, twin):
        rng = np.zeros(5, np.uint64)
        rng[4] = np.uint64(0x5EED)
        w, sd, e_row = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(N_PRE)
        traces = np.random.default_rng(7)
        for step in range(60):
            e[3][:] = traces.exponential(0.6, N_POST) * (traces.random(N_POST) < 0.9)  # post traces, some zero
            factor = 0.021 if step % 3 == 0 else -0.021
            for i in range(N_PRE):
                _learn(e, i, DEPRESS_ROW, factor, step, w, 0, sd, 0, e_row, 0, rng)
        results.append((e[6], w, sd, e_row))
    (state, w, sd, e_row), (state_s, w_s, sd_s, e_row_s) = results
    for a, b in zip(state, state_s):
        np.testing.assert_array_equal(a, b)
    for a, b in ((w, w_s), (sd, sd_s), (e_row, e_row_s)):
        np.testing.assert_array_equal(a, b)
    g, count, status = state[0], state[3], state[4]
    assert entry[12][1][0, lanes.I_FLAG].any() and not twin[12][1].any()  # the lanes ran, for one of them
    assert 20 < (status >= K.WORN_LOW).sum() < n // 2 and ((status == K.STUCK_LOW) | (status == K.STUCK_HIGH)).any()
    assert count.sum() > 20 * n and np.unique(g).size > 100  # many levels reached
