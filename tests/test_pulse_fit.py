"""fit_pulse_response recovers known parameters, and the Gong 2018 card reproduces the measured curve."""
import os

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.devices import Conductance, DeviceModel, PulseResponse, Write
from neuroimc.characterize import pulse_response
from neuroimc.devices import fit_pulse_response
from neuroimc.units import uS

DATA = os.environ.get("NEUROIMC_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
GONG = os.path.join(DATA, "devices", "gong2018_reram_pulse_response", "gong_et_al.csv")


def test_fit_recovers_a_synthetic_device():
    truth = DeviceModel("truth", conductance=Conductance(2 * uS, 12 * uS),
                        pulse=PulseResponse("neurosim", n_pulses_ltp=300, n_pulses_ltd=300, nl_ltp=1.5, nl_ltd=3.0),
                        write=Write(c2c_sigma=0.002, program_sigma=0.03))
    trace = pulse_response(truth, 300, 300, 1, seed=3)[:, 0]
    fit = fit_pulse_response(trace, n_up=300)
    assert fit_pulse_response(np.column_stack([trace[:300], trace[300:]])).nl_ltd == pytest.approx(fit.nl_ltd)
    assert fit.g_min == pytest.approx(2 * uS, abs=0.03 * 10 * uS)
    assert fit.g_max == pytest.approx(12 * uS, abs=0.03 * 10 * uS)
    assert fit.nl_ltp == pytest.approx(1.5, abs=0.4)
    assert fit.nl_ltd == pytest.approx(3.0, abs=0.4)
    assert fit.reading_sigma == pytest.approx(0.03, rel=0.2)
    assert fit.c2c_sigma < 0.01


def test_fit_rejects_short_curves():
    with pytest.raises(ValueError, match="at least 10 readings"):
        fit_pulse_response(np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match=r"curve must be 1-d or have shape \(n, 2\)"):
        fit_pulse_response(np.zeros((4, 3)))


def smooth(x, width=51):
    pad = np.pad(x, (width // 2, width // 2), mode="edge")
    return np.convolve(pad, np.ones(width) / width, mode="valid")


@pytest.mark.skipif(not os.path.exists(GONG), reason=f"measured data not found at {GONG} (set NEUROIMC_DATA)")
def test_gong2018_card_reproduces_the_measured_curve():
    g = np.loadtxt(GONG, delimiter=",", encoding="utf-8-sig")
    fit = fit_pulse_response(g)
    card = ni.load_device("reram_gong2018")
    assert card.pulse.nl_ltd == pytest.approx(fit.nl_ltd, abs=0.01)  # the shipped card is this fit
    assert card.write.program_sigma == pytest.approx(fit.reading_sigma, abs=1e-4)
    # simulate the card without device-to-device spread (one device measured), many c2c realisations
    one = ni.devices.replace(card, variability={"g_min_sigma": 0.0, "g_max_sigma": 0.0})
    sim = pulse_response(one, 1000, 1000, 200, start=float(fit.normalised(fit.g_start)))
    lo, hi = one.g_min, one.g_max
    sim_norm = (sim - lo) / (hi - lo)
    measured = fit.normalised(np.concatenate([smooth(g[:, 0]), smooth(g[:, 1])]))
    rms_mean = np.sqrt(np.mean((sim_norm.mean(axis=1) - measured) ** 2))
    assert rms_mean < 0.05, f"simulated mean vs measured (51-pulse running mean): {rms_mean:.2%} of range"
    # single traces: the pulse-to-pulse scatter matches the measurement's
    raw = fit.normalised(np.concatenate([g[:, 0], g[:, 1]]))
    step_measured = np.std(np.diff(raw[:1000]))
    step_sim = np.std(np.diff(sim_norm[:1000], axis=0))
    assert step_sim == pytest.approx(step_measured, rel=0.15)
