"""Device characterisation by simulation: what a lab would measure on a test chip.

* :func:`pulse_response` — conductance after each pulse of an up/down train;
* :func:`drift_curve` — mean read-out of programmed devices versus time.
"""
import numpy as np

from . import _checks
from .crossbar import Crossbar
from .devices import load_device


def _test_array(device, n_devices, start, seed):
    dev = load_device(device)
    frac = np.full((1, n_devices), _checks.real("start", start, low=0.0, high=1.0))
    return Crossbar.from_weights(frac, device=dev, w_max=1.0, seed=seed), dev


def pulse_response(device, n_up=None, n_down=None, n_devices=1, start=0.0, seed=0):
    """Conductance (siemens) after each of ``n_up`` SET then ``n_down`` RESET pulses.

    ``n_devices`` devices of one chip instance start at fraction ``start`` of
    the window; defaults sweep the card's full range each way.  Returns an
    array of shape ``(n_up + n_down, n_devices)``.
    """
    xb, dev = _test_array(device, _checks.integer("n_devices", n_devices, low=1), start, seed)
    n_up = dev.pulse.n_pulses_ltp if n_up is None else _checks.integer("n_up", n_up, low=0)
    n_down = dev.pulse.n_pulses_ltd if n_down is None else _checks.integer("n_down", n_down, low=0)
    devices = np.arange(n_devices)
    trace = np.empty((n_up + n_down, n_devices))
    for k in range(n_up + n_down):
        xb.apply_pulses(devices, up=k < n_up)
        trace[k] = xb.conductances()[0][0]
    return trace


def drift_curve(device, times, level=0.5, n_devices=200, seed=0):
    """Mean read-out (siemens) of devices programmed to ``level`` of the window, at each of ``times`` (s).

    Returns ``(mean, std)`` across devices, each of shape ``(len(times),)``.
    """
    times = _checks.real_array("times", times, ndim=1, low=0.0)
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be non-decreasing")
    xb, dev = _test_array(device, _checks.integer("n_devices", n_devices, low=1), level, seed)
    mean, std = np.empty(times.size), np.empty(times.size)
    t_now = 0.0
    for k, t in enumerate(times):
        xb.wait(t - t_now)
        t_now = t
        g = xb.read_conductances()[0][0]
        mean[k], std[k] = g.mean(), g.std()
    return mean, std
