"""Save and load: exact resume, atomic saves, clear errors for damaged files."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import Hz, Mohm, mV, ms, pA, second

LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100 * Mohm)


def build(seed=7):
    """A network with every kind of state: Poisson and recorded inputs, two populations, STDP on a
    noisy, wearing card, a column ADC, and a drifting PCM crossbar."""
    rng = np.random.default_rng(0)
    net = ni.Network(dt=0.1 * ms, seed=seed)
    poisson = net.add(ni.PoissonSource(120, rate=rng.uniform(10, 30, 120) * Hz, name="poisson"))
    idx, t = np.nonzero(rng.random((40, 6000)) < 0.003)
    recorded = net.add(ni.SpikeSource(40, indices=idx, times=t * 0.1 * ms, name="recorded"))
    a = net.add(ni.LIFPopulation(30, **LIF, name="a"))
    b = net.add(ni.LIFPopulation(10, **LIF, name="b"))
    low_endurance = ni.devices.replace("rram_hfox", endurance={"cycles_mean": 400.0})
    net.connect(poisson, a, ni.Crossbar.from_weights(rng.uniform(0, 1, (120, 30)) * 40 * pA, device=low_endurance,
                                                     w_max=40 * pA), plasticity=ni.STDP(a_pre=0.02, a_post=-0.021))
    net.connect(recorded, a, ni.Crossbar.from_weights(rng.uniform(0, 1, (40, 30)) * 60 * pA, w_max=60 * pA,
                                                      adc=ni.ADC(bits=6)))
    pcm = ni.Crossbar.from_weights(rng.uniform(0, 1, (30, 10)) * 80 * pA, device="pcm_gst", w_max=80 * pA)
    net.connect(a, b, pcm)
    pcm.wait(100.0)  # already drifting
    return net


def snapshot(net):
    xbs = net.crossbars
    return {
        "v": [p.v.copy() for p in net.populations],
        "I": [p.I_syn.copy() for p in net.populations],
        "w": [xb.weights() for xb in xbs],
        "pulses": [xb.pulse_counts() for xb in xbs],
        "status": [xb.status() for xb in xbs],
        "traces": [xb._pre_trace.copy() for xb in xbs if xb.plasticity],
        "energy": [float(xb._read_energy[0]) for xb in xbs],
    }


def test_run_save_load_run_equals_one_long_run(tmp_path):
    whole = build()
    mons = [whole.monitor_spikes(p) for p in whole.populations]
    whole.run(0.6 * second, progress=False)

    first = build()
    first.run(0.3 * second, progress=False)
    path = first.save(tmp_path / "net.npz")
    resumed = ni.load(path)
    assert resumed.t == pytest.approx(0.3)
    later = [resumed.monitor_spikes(p) for p in resumed.populations]
    resumed.run(0.3 * second, progress=False)

    for full, half in zip(mons, later):
        tail = full.steps >= 3000
        assert len(half) > 20
        np.testing.assert_array_equal(full.steps[tail], half.steps)
        np.testing.assert_array_equal(full.indices[tail], half.indices)
    a, b = snapshot(whole), snapshot(resumed)
    for key in a:
        for x, y in zip(a[key], b[key]):
            np.testing.assert_array_equal(x, y, err_msg=key)
    assert whole.crossbars[0].failed().any()  # the wear was part of what had to survive


def test_loaded_network_keeps_parameters_and_devices(tmp_path):
    net = build()
    net.run(10 * ms, progress=False)
    back = ni.load(net.save(tmp_path / "s.npz"))
    assert [p.name for p in back.populations] == ["a", "b"]
    assert back.crossbars[0].device == net.crossbars[0].device
    assert back.crossbars[0].plasticity == net.crossbars[0].plasticity
    assert back.crossbars[1].adc == net.crossbars[1].adc
    for k in ("g_min", "g_max", "endurance", "nu"):
        np.testing.assert_array_equal(back.crossbars[0].device_parameters()[k],
                                      net.crossbars[0].device_parameters()[k])


def test_a_state_saved_before_learning_had_its_own_noise_key_still_loads_and_learns(tmp_path):
    """States written before a crossbar's random stream carried the key of its learning noise (four
    words, not five) load with a key derived from the stream: the same on every load."""
    net = build()
    net.run(10 * ms, progress=False)
    path = net.save(tmp_path / "new.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    keys = [k for k in arrays if k.endswith("/_rng")]
    assert keys and all(arrays[k].size == 5 for k in keys)
    for k in keys:
        arrays[k] = arrays[k][:4]
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = [ni.load(tmp_path / "old.npz") for _ in range(2)]
    for a, b in zip(loaded[0].crossbars, loaded[1].crossbars):
        assert a._rng.size == 5 and a._rng[4] == b._rng[4]
    for back in loaded:
        back.run(0.1 * second, progress=False)
    for a, b in zip(loaded[0].crossbars, loaded[1].crossbars):
        np.testing.assert_array_equal(a.pulse_counts(), b.pulse_counts())
    assert loaded[0].crossbars[0].pulse_counts().sum() > net.crossbars[0].pulse_counts().sum()


def test_a_killed_save_leaves_the_previous_file_intact(tmp_path):
    good = tmp_path / "state.npz"
    build().save(good)
    script = textwrap.dedent(f"""
        import numpy as np, neuroimc as ni
        net = ni.Network(seed=1)
        src = net.add(ni.PoissonSource(3000, rate=10.0))
        pop = net.add(ni.LIFPopulation(3000, tau_m=0.02, v_rest=0, v_reset=0, v_thresh=1, t_ref=0,
                                       tau_syn=0.005, r_m=1.0))
        net.connect(src, pop, ni.Crossbar.from_weights(np.ones((3000, 3000)) * 1e-12))
        print("ready", flush=True)
        while True:
            net.save({str(good)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    # kill while a large save is being written (each takes well over the wait)
    import time
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    net = ni.load(good)  # whichever complete version is there: never a half-written one
    assert net.populations[0].n in (30, 3000)
    leftovers = [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the interrupted temporary file


def test_damaged_files_give_a_clear_error(tmp_path):
    path = build().save(tmp_path / "s.npz")
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated.npz.* is truncated or corrupted"):
        ni.load(truncated)
    corrupted = tmp_path / "corrupted.npz"
    damaged = bytearray(raw)
    for k in range(len(raw) // 3, len(raw) // 3 + 64):
        damaged[k] ^= 0xFF
    corrupted.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="corrupted.npz.* is truncated or corrupted"):
        ni.load(corrupted)
    with pytest.raises(ValueError, match="does not exist"):
        ni.load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="no readable manifest"):
        ni.load(other)
