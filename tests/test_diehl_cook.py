"""Synaptic scaling on the devices, and the Diehl & Cook (2015) network learning digits."""
import json

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.devices import Conductance, DeviceModel, PulseResponse
from neuroimc.diehl_cook import DiehlCook2015
from neuroimc.readout import accuracy, assign_labels, predict
from neuroimc.units import mV, ms

LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100e6)


def plastic_crossbar(W, device="ideal", rule=None, seed=3):
    net = ni.Network(dt=0.5 * ms, seed=seed)
    src = net.add(ni.PoissonSource(W.shape[0], rate=0.0))
    pop = net.add(ni.LIFPopulation(W.shape[1], **LIF))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(W * 1e-10, device=device, w_max=1e-10, seed=seed),
                     plasticity=rule or ni.STDP())
    return net, xb


def test_normalize_columns_scales_ideal_weights_exactly():
    W = np.random.default_rng(0).uniform(0, 0.3, (50, 7))
    W[:, 3] = 0.0  # an empty column cannot be scaled: left alone
    net, xb = plastic_crossbar(W)
    before = xb.programmed_weights()
    factors = xb.normalize_columns(5.0)
    after = xb.programmed_weights()
    live = [0, 1, 2, 4, 5, 6]
    np.testing.assert_allclose(after[:, live].sum(axis=0), 5.0, rtol=1e-12)
    np.testing.assert_allclose(after[:, live], before[:, live] * factors[live], rtol=1e-12)
    assert factors[3] == 1.0 and not after[:, 3].any()
    np.testing.assert_allclose(xb.weights(), after * xb.w_max, rtol=1e-12, atol=1e-25)  # the read-out follows
    writes = xb.pulse_counts()
    assert writes[:, live].min() >= 1 and writes[:, 3].max() == 0  # one counted write per changed synapse
    assert np.all(xb.normalize_columns(5.0)[live] == 1.0)  # already normalised: nothing written
    assert np.array_equal(xb.pulse_counts(), writes)


def test_normalize_columns_clips_at_the_rule_bounds():
    W = np.full((4, 2), 0.2)
    net, xb = plastic_crossbar(W, rule=ni.STDP(w_max=0.5))
    xb.normalize_columns(3.0)  # asks for 0.75 per synapse
    np.testing.assert_allclose(xb.programmed_weights(), 0.5)


def test_normalize_columns_on_pulsed_devices_rounds_to_whole_pulses():
    # linear device, 100 pulses across the window: a weight change dw is round(|dw| * 100) pulses
    dev = DeviceModel(name="linear100", conductance=Conductance(g_min=1e-6, g_max=101e-6),
                      pulse=PulseResponse(model="linear", n_pulses_ltp=100, n_pulses_ltd=100))
    W = np.random.default_rng(1).integers(5, 30, (40, 5)) / 100.0  # on the pulse grid
    net, xb = plastic_crossbar(W, device=dev)
    before, counts = xb.programmed_weights(), xb.pulse_counts()  # counts so far: the deployment's writes
    factors = xb.normalize_columns(4.0)
    after = xb.programmed_weights()
    expected = np.round(np.abs(before * factors - before) * 100)
    np.testing.assert_array_equal(xb.pulse_counts() - counts, expected)
    np.testing.assert_allclose(after, before + np.sign(factors - 1) * expected / 100, atol=1e-12)
    assert np.all(np.abs(after.sum(axis=0) - 4.0) <= 0.5 * 40 / 100 + 1e-9)  # each synapse within half a pulse


def test_normalize_columns_refuses_bad_input():
    net, xb = plastic_crossbar(np.full((3, 2), 0.1))
    with pytest.raises(ValueError, match="total must be > 0"):
        xb.normalize_columns(0.0)
    fixed = ni.Crossbar.from_weights(np.full((3, 2), 1e-10))
    net2 = ni.Network()
    a, b = net2.add(ni.PoissonSource(3, rate=1.0)), net2.add(ni.LIFPopulation(2, **LIF))
    net2.connect(a, b, fixed)
    with pytest.raises(ValueError, match="needs a learning crossbar"):
        fixed.normalize_columns(1.0)


@pytest.fixture(scope="module")
def digits():
    images, labels = ni.datasets.load_digits()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]


def test_diehl_cook_learns_digits_and_freezes_for_testing(digits):
    images, labels = digits
    train, test = slice(0, 400), slice(1500, 1797)
    kw = dict(seed=2, full_scale=16.0, inhibition=13.6 * mV)  # the demo's setting for the 8x8 digits

    def evaluate(model):
        r_lab, _ = model.present(images[train], learn=False, progress=False)
        assignments = assign_labels(r_lab, labels[train], 10)
        r_test, _ = model.present(images[test], learn=False, progress=False)
        return accuracy(labels[test], predict(r_test, assignments, 10))

    trained = DiehlCook2015(64, 30, **kw)
    trained.present(images[train], learn=True, progress=False)
    responses, attempts = trained.present(images[train], learn=True, progress=False)  # two passes
    assert responses.shape == (400, 30) and attempts.min() >= 1
    assert np.all(responses[attempts <= trained.schedule.max_attempts].sum(axis=1) >= 5)  # the protocol held
    assert trained.exc.theta.max() > 0  # homeostasis acted
    np.testing.assert_allclose(trained.receptive_fields().sum(axis=1), 6.4, rtol=0.05)  # scaled before each image

    theta, w = trained.exc.theta.copy(), trained.synapses.programmed_weights()
    acc_trained = evaluate(trained)
    assert np.array_equal(trained.exc.theta, theta)  # labelling and testing are frozen
    assert np.array_equal(trained.synapses.programmed_weights(), w)

    untrained = DiehlCook2015(64, 30, **kw)  # same initial weights, never learned
    acc_untrained = evaluate(untrained)
    # 297 test images: the standard error of an accuracy between 0.2 and 0.5 is at most 0.029;
    # demand a gain of five of them (measured: 0.42 against 0.18)
    assert acc_trained > acc_untrained + 0.145, (acc_trained, acc_untrained)


def test_diehl_cook_on_a_device_card_wears_it(digits):
    images, _ = digits
    model = DiehlCook2015(64, 10, seed=1, device="pcm_gst", full_scale=16.0)
    model.present(images[:20], learn=True, progress=False)
    assert model.synapses.pulse_counts().sum() > 0


def test_diehl_cook_refuses_bad_input():
    with pytest.raises(ValueError, match="n_neurons must be >= 2"):
        DiehlCook2015(64, 1)
    with pytest.raises(TypeError, match="rule must be an STDP or TripletSTDP"):
        DiehlCook2015(64, 5, rule="stdp")
    model = DiehlCook2015(64, 5)
    with pytest.raises(ValueError, match=r"images must have shape \(n, 64\)"):
        model.present(np.zeros((2, 7, 7)))


def test_stdp_digits_demo_runs_and_writes_results(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "demos" / "stdp_digits.py"
    spec = importlib.util.spec_from_file_location("stdp_digits", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    out = tmp_path / "figs"
    result = demo.main(["--neurons", "10", "--epochs", "1", "--train", "60", "--test", "30", "--label", "60", "--window", "20",
                        "--device", "rram_hfox", "--pulses", "stochastic", "--out", str(out), "--json",
                        str(tmp_path / "r.json"), "--quiet"])
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["test_images"] == 30 and saved["train_images"] == 60 and 0.0 <= saved["test_accuracy"] <= 1.0
    assert saved["total_pulses"] == result["total_pulses"] > 0
    assert saved["training_energy"]["breakdown_J"]["writes"] > 0
    assert len(saved["running_accuracy"]["images"]) == 2
    assert {p.name for p in out.iterdir()} == {f"digits_rram_hfox_N10_{k}.png" for k in ("fields", "accuracy", "wear")}
