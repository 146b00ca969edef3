"""Energy and latency accounting against closed forms on a tiny crossbar."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.devices import Conductance, DeviceModel, Read, Write
from neuroimc.units import Mohm, mV, ms, pA, uS


def test_energy_closed_form_on_a_tiny_crossbar():
    dev = DeviceModel("tiny", conductance=Conductance(2 * uS, 50 * uS), read=Read(v_read=0.3, t_read=20e-9),
                      write=Write(energy_per_pulse=1e-12, pulse_width=100e-9))
    W = np.array([[10, -5, 0], [20, 0, 15]]) * pA
    xb = ni.Crossbar.from_weights(W, device=dev)
    circuit = ni.energy.load_circuit("digital_lif")
    net = ni.Network(dt=0.1 * ms)
    # row 0 fires 3 times, row 1 twice
    src = net.add(ni.SpikeSource(2, indices=[0, 0, 0, 1, 1], times=np.array([1, 2, 3, 1, 5]) * ms))
    pop = net.add(ni.LIFPopulation(3, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm))
    net.connect(src, pop, xb)
    mon = net.monitor_energy(circuit)
    net.run(10 * ms, progress=False)
    rep = mon.report()

    gp, gm = xb.conductances()
    row_g = (gp + gm).sum(axis=1)  # both devices of every pair conduct during a read
    reads = np.array([3, 2])
    V, t_read = 0.3, 20e-9
    per = circuit.periphery
    expected = {
        "synapse_reads": float((reads * V**2 * t_read * row_g).sum()),
        "row_drivers": 5 * 3 * per.c_wire_per_cell * V**2,
        "columns": 5 * 3 * per.column_energy,
        "adc": 0.0,
        "writes": 0.0,  # deployment happened before the monitor started
        "neuron_updates": 3 * 100 * circuit.neuron.energy_per_update,
        "spikes": 0.0,
    }
    for k, v in expected.items():
        assert rep.breakdown[k] == pytest.approx(v, rel=1e-12, abs=1e-30), k
    assert rep.total == pytest.approx(sum(expected.values()), rel=1e-12)
    assert rep.synaptic_events == 15
    assert rep.sops_per_joule == pytest.approx(15 / rep.total)
    busy_xb = 5 * (t_read + per.t_row)
    assert rep.busy[xb] == pytest.approx(busy_xb)
    assert rep.latency == pytest.approx(max(busy_xb, 3 * 100 * circuit.neuron.t_update))
    assert rep.simulated_time == pytest.approx(10 * ms)


def test_write_pulses_and_adc_conversions_are_charged():
    dev = DeviceModel("w", conductance=Conductance(1 * uS, 11 * uS), write=Write(energy_per_pulse=3e-12))
    xb = ni.Crossbar.from_weights(np.ones((2, 2)) * pA, device=dev, seed=0, adc=ni.ADC(bits=6))
    net = ni.Network(dt=0.1 * ms)
    src = net.add(ni.SpikeSource(2, indices=[0, 1], times=[1 * ms, 1 * ms]))
    pop = net.add(ni.LIFPopulation(2, tau_m=20 * ms, v_rest=0, v_reset=0, v_thresh=1, t_ref=0, tau_syn=5 * ms,
                                   r_m=1.0))
    net.connect(src, pop, xb)
    mon = net.monitor_energy()
    xb.apply_pulses([0, 1, 2], up=True, n=2)
    net.run(2 * ms, progress=False)
    rep = mon.report()
    assert rep.breakdown["writes"] == pytest.approx(6 * 3e-12)
    per = mon.circuit.periphery
    assert rep.breakdown["adc"] == pytest.approx(2 * per.adc_fom * 2**6)  # one tile, one step, 2 columns
    assert rep.breakdown["columns"] == 0.0


def test_circuit_card_errors(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[circuit]\nname="x"\n[neuron]\nenergy_per_update=-1.0\n')
    with pytest.raises(ValueError, match=r"neuron.energy_per_update must be >= 0.0"):
        ni.energy.load_circuit(str(bad))
    with pytest.raises(ValueError, match="circuit 'nope' is not a known card"):
        ni.energy.load_circuit("nope")
