"""Weight <-> conductance mapping and device cards."""
import numpy as np
import pytest

import neuroimc as ni
from neuroimc.units import pA, uS


def test_from_weights_round_trips_with_ideal_devices():
    W = np.random.default_rng(0).uniform(-20, 20, (30, 7)) * pA
    xb = ni.Crossbar.from_weights(W, device="ideal")
    np.testing.assert_allclose(xb.weights(), W, rtol=1e-13, atol=1e-30)
    dev = xb.device
    # conductances stay in the device window and one side of each pair sits at g_min
    for g in (xb.g_plus, xb.g_minus):
        assert g.min() >= dev.g_min and g.max() <= dev.g_max
    assert np.all(np.minimum(xb.g_plus, xb.g_minus) == dev.g_min)
    # the largest |W| is one fully programmed device: w_max = V_read * gain * (g_max - g_min)
    assert xb.w_max == pytest.approx(np.abs(W).max(), rel=1e-14)
    assert xb.g_plus.max() == pytest.approx(dev.g_max) or xb.g_minus.max() == pytest.approx(dev.g_max)


def test_explicit_w_max_sets_the_scale():
    W = np.array([[10.0, -5.0]]) * pA
    xb = ni.Crossbar.from_weights(W, w_max=40 * pA)
    assert xb.w_max == pytest.approx(40 * pA)
    assert xb.g_plus[0, 0] == pytest.approx(0.25 * xb.device.g_range + xb.device.g_min)
    assert xb.g_minus[0, 1] == pytest.approx(0.125 * xb.device.g_range + xb.device.g_min)
    with pytest.raises(ValueError, match="exceeds w_max"):
        ni.Crossbar.from_weights(W, w_max=5 * pA)


def test_ohm_and_kirchhoff():
    """A read of row i gives V_read * (G+ - G-) * gain per column."""
    gp = np.array([[50, 0], [20, 30]]) * uS
    gm = np.array([[10, 40], [20, 0]]) * uS
    xb = ni.Crossbar(gp, gm, device="ideal", v_read=0.1, gain=1e-3)
    np.testing.assert_allclose(xb.weights(), 0.1 * 1e-3 * (gp - gm))


def test_conductances_are_read_only_and_set_atomically():
    xb = ni.Crossbar.from_weights(np.ones((2, 2)) * pA)
    with pytest.raises(ValueError):
        xb.g_plus[0, 0] = 0.0
    with pytest.raises(ValueError, match="device window"):
        xb.set_conductances(np.full((2, 2), 1.0), np.zeros((2, 2)))
    before = xb.weights().copy()
    assert np.array_equal(xb.weights(), before)  # failed set left the state untouched
    xb.set_conductances(np.zeros((2, 2)), np.full((2, 2), 10 * uS))
    assert np.all(xb.weights() < 0)


@pytest.mark.parametrize(
    "W, kwargs, error, message",
    [
        (np.array([[1.0, np.nan]]), {}, ValueError, r"W must be finite, found nan at index \(0, 1\)"),
        (np.ones(3), {}, ValueError, "W must be 2-dimensional"),
        (np.zeros((2, 2)), {}, ValueError, "w_max cannot be inferred from an all-zero W"),
        (np.ones((2, 2)), {"device": "unobtainium"}, ValueError, "device 'unobtainium' is not a known card"),
        (np.ones((2, 2)), {"device": 3}, TypeError, "device must be a card name"),
        (np.ones((2, 2)), {"w_max": -1.0}, ValueError, "w_max must be > 0"),
        (np.zeros((0, 2)), {}, ValueError, "at least one row"),
        (np.array([["a"]]), {}, TypeError, "W must hold real numbers"),
    ],
)
def test_from_weights_errors(W, kwargs, error, message):
    with pytest.raises(error, match=message):
        ni.Crossbar.from_weights(W, **kwargs)


def test_ideal_card_loads():
    dev = ni.load_device("ideal")
    assert "ideal" in ni.available_devices()
    assert dev.g_max > dev.g_min >= 0 and dev.v_read > 0
    assert ni.load_device(dev) is dev


@pytest.mark.parametrize(
    "body, message",
    [
        ('[device]\nname="x"\ntechnology="t"\n[conductance]\ng_min=0.0\ng_max=1e-4\n[read]\nv_read=0.2\nv_raed=1\n',
         r"unknown key read.v_raed; allowed in \[read\]: \['noise_model', 'noise_sigma', 't_read', 'v_read'\]"),
        ('[device]\nname="x"\ntechnology="t"\n[conductance]\ng_min=0.0\ng_max=-1e-4\n[read]\nv_read=0.2\n',
         r"conductance.g_max must be > 0.0, got -0.0001"),
        ('[device]\nname="x"\ntechnology="t"\n[conductance]\ng_min=2e-4\ng_max=1e-4\n[read]\nv_read=0.2\n',
         "g_max must be > g_min"),
        ('[device]\nname="x"\n[conductance]\ng_min=0.0\ng_max=1e-4\n[read]\nv_read=0.2\n',
         r"missing required keys \['technology'\] in \[device\]"),
        ('[devise]\nname="x"\n', r"unknown section \[devise\]"),
        ('[device\n', "not valid TOML"),
        ('[device]\nname="x"\ntechnology="t"\n[conductance]\ng_min=0.0\ng_max="big"\n[read]\nv_read=0.2\n',
         "conductance.g_max must be a real number"),
    ],
)
def test_card_errors_name_key_value_and_file(tmp_path, body, message):
    card = tmp_path / "broken.toml"
    card.write_text(body)
    with pytest.raises(ValueError, match=message) as info:
        ni.load_device(card)
    assert str(card) in str(info.value)


@pytest.mark.parametrize("mapping", ["differential", "reference"])
def test_ideal_deployment_and_readout_in_numpy_match_the_device_kernels(mapping):
    """Ideal crossbars deploy and read out in numpy; the general kernels must give the same state and caches."""
    from neuroimc.kernels.crossbar import refresh_readout, write_all_exact

    W = np.random.default_rng(4).uniform(-3, 3, (9, 6)) * pA
    W[0, :3] = 0.0  # devices left at g_min: not written
    xb = ni.Crossbar.from_weights(W, mapping=mapping)
    assert xb._simple()
    g0 = np.broadcast_to(xb._params[0], xb._target.shape).copy()
    state = (g0, np.zeros(1), np.zeros(1), np.zeros(g0.size, np.int64), np.zeros(g0.size, np.int8))
    todo = np.flatnonzero(xb._target != g0)
    write_all_exact(todo, xb._target[todo], 0.0, state, xb._params, xb._scalars, xb._rng.copy())
    np.testing.assert_array_equal(xb._state[0], state[0])
    np.testing.assert_array_equal(xb._state[3], state[3])
    w, e_row = np.zeros(W.size), np.zeros(W.shape[0])
    refresh_readout(*W.shape, mapping == "reference", 0.0, state, xb._params, xb._scalars, xb._ir_factor,
                    xb.v_read * xb.gain, xb.v_read**2 * xb.device.read.t_read, w, np.zeros(0), np.zeros(0), e_row)
    np.testing.assert_array_equal(xb._w_eff.ravel(), w)
    np.testing.assert_allclose(xb._e_row, e_row, rtol=1e-14)
