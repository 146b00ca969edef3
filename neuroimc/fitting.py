"""Fit a device card to a measured potentiation/depression curve.

A pulse-response measurement is the conductance read after each of ``n_up``
identical potentiation pulses followed by ``n_down`` depression pulses.  We
fit NeuroSim's nonlinear model (see :class:`neuroimc.devices.PulseResponse`):
the deterministic trajectory ``x_{k+1} = x_k + (sat_up - x_k) k_up`` (then the
mirrored depression) through the window ``[g_min, g_max]`` with nonlinearity
labels ``NL_up``/``NL_down``, by least squares on every reading.

The scatter around it has two parts: noise that does not carry over to the
next reading (``s_w``: programming/read noise) and noise that accumulates from
pulse to pulse (c2c, ``s_c``).  Residual differences at lag ``L`` have variance
``2 s_w**2 + L s_c**2`` for small ``L``, so the intercept of a line through
``L = 1..3`` gives ``s_w``.  Measured traces revert to their mean curve faster
than a random walk (the lag variance plateaus), so the slope overstates what
the model's accumulating c2c should be; instead ``s_c`` is set so that the
residual variance not explained by ``s_w`` equals the mean variance of a
random walk along a branch of ``n`` pulses, ``s_c**2 n / 2``.  (For Gong et
al. 2018 this gives 0.3 % and 5.6 % of the window, close to aihwkit's own fit
of the same data, 0.34 % and 5.1 %.)
"""
import numpy as np
from numba import njit

from . import _checks
from ._io import write_atomic
from .devices import nl_to_a


def _trajectory(params, n_up, n_down):
    lo, hi, nl_up, nl_dn, x0 = params
    span = hi - lo

    def branch(nl, n):
        if nl <= 1e-3:
            return 0.0, 0.0, span / n
        A = nl_to_a(min(nl, 9.0)) * n
        B = span / -np.expm1(-n / A)
        return B, -np.expm1(-1.0 / A), 0.0

    return _walk(lo, hi, x0, n_up, n_down, *branch(nl_up, n_up), *branch(nl_dn, n_down))


@njit(cache=True)
def _walk(lo, hi, x, n_up, n_down, B_up, k_up, lin_up, B_dn, k_dn, lin_dn):
    out = np.empty(n_up + n_down)
    for k in range(n_up):
        x = min(max(x + (lo + B_up - x) * k_up + lin_up, lo), hi)
        out[k] = x
    for k in range(n_down):
        x = min(max(x - ((x - (hi - B_dn)) * k_dn + lin_dn), lo), hi)
        out[n_up + k] = x
    return out


def fit_pulse_response(curve, down=None, n_up=None):
    """Fit window, nonlinearity labels and noise to a measured up/down pulse response.

    Parameters
    ----------
    curve : array_like
        Conductance (any unit: siemens or normalised) read after each pulse:
        an ``(n, 2)`` array whose columns are the potentiation and the
        depression trains (the layout of the Gong et al. file), or a 1-D trace
        of ``n_up`` potentiation readings followed by the depression readings
        (``n_up`` defaults to half), or the potentiation readings with the
        depression readings passed as ``down``.

    Returns
    -------
    PulseResponseFit
        ``g_min``, ``g_max``, ``g_start`` (state before the first pulse; data units), ``nl_ltp``, ``nl_ltd``,
        ``n_pulses_ltp``/``ltd``, ``c2c_sigma`` and ``reading_sigma`` as fractions
        of the window, the fitted mean ``curve`` and the ``rms`` residual.
    """
    from scipy.optimize import least_squares

    up, down = _split(curve, down, n_up)
    if up.size < 10 or down.size < 10:
        raise ValueError(f"up and down need at least 10 readings each, got {up.size} and {down.size}")
    data = np.concatenate([up, down])
    lo0, hi0 = np.percentile(data, 2), np.percentile(data, 98)

    def residual(p):
        return _trajectory(p, up.size, down.size) - data

    best = None
    for nl_up in (0.5, 2.0):
        for nl_dn in (0.5, 2.0, 4.0):
            start = [lo0, hi0, nl_up, nl_dn, np.mean(up[:10])]
            res = least_squares(residual, start, bounds=([-np.inf, -np.inf, 0, 0, -np.inf],
                                                         [np.inf, np.inf, 9, 9, np.inf]), x_scale="jac")
            if best is None or res.cost < best.cost:
                best = res
    lo, hi, nl_up, nl_dn, x0 = best.x
    span = hi - lo
    curve = _trajectory(best.x, up.size, down.size)
    r = data - curve
    lags = np.arange(1, 4)
    var = [np.var(np.concatenate([r[L : up.size] - r[: up.size - L], r[up.size + L :] - r[up.size : -L]]))
           for L in lags]  # within each branch: the pulse direction is constant inside a difference
    _, intercept = np.polyfit(lags, var, 1)
    s_w2 = max(intercept, 0.0) / 2.0
    s_c2 = 2.0 * max(np.var(r) - s_w2, 0.0) / (0.5 * (up.size + down.size))
    c2c = np.sqrt(s_c2) / span
    reading = np.sqrt(s_w2) / span
    return PulseResponseFit(lo, hi, nl_up, nl_dn, up.size, down.size, c2c, reading, curve, data,
                            float(np.sqrt(np.mean(r**2)) / span), x0)


def _split(curve, down, n_up):
    curve = _checks.real_array("curve", curve)
    if down is not None:
        return _checks.real_array("curve", curve, ndim=1), _checks.real_array("down", down, ndim=1)
    if curve.ndim == 2 and curve.shape[1] == 2:
        return curve[:, 0].copy(), curve[:, 1].copy()
    if curve.ndim != 1:
        raise ValueError(f"curve must be 1-d or have shape (n, 2), got shape {curve.shape}")
    n_up = curve.size // 2 if n_up is None else _checks.integer("n_up", n_up, low=1, high=curve.size - 1)
    return curve[:n_up].copy(), curve[n_up:].copy()


class PulseResponseFit:
    """Result of :func:`fit_pulse_response` (window in data units, noises as fractions of it)."""

    def __init__(self, g_min, g_max, nl_ltp, nl_ltd, n_pulses_ltp, n_pulses_ltd, c2c_sigma, reading_sigma,
                 curve, data, rms, g_start):
        self.g_min, self.g_max = float(g_min), float(g_max)
        self.nl_ltp, self.nl_ltd = float(nl_ltp), float(nl_ltd)
        self.n_pulses_ltp, self.n_pulses_ltd = int(n_pulses_ltp), int(n_pulses_ltd)
        self.c2c_sigma, self.reading_sigma = float(c2c_sigma), float(reading_sigma)
        self.curve, self.data = curve, data
        self.rms = rms  # residual of the mean curve against every reading, fraction of the window
        self.g_start = float(g_start)  # state before the first pulse

    def normalised(self, values):
        """Map data-unit conductances onto [0, 1] of the fitted window."""
        return (np.asarray(values) - self.g_min) / (self.g_max - self.g_min)

    def write_card(self, path, name, technology, g_min, g_max, source, notes=None, description="", **sections):
        """Write a device card (atomically) with the fitted pulse response and noise.

        ``g_min``/``g_max`` are the absolute window in siemens (a normalised
        measurement does not carry it).  ``sections`` add or override card
        sections, e.g. ``write={"pulse_width": 50e-9}``; ``notes`` maps
        ``"section.key"`` to the source comment written after that number (fitted
        numbers get one automatically).
        """
        notes = dict(notes or {})
        for key in ("pulse.nl_ltp", "pulse.nl_ltd", "pulse.n_pulses_ltp", "pulse.n_pulses_ltd"):
            notes.setdefault(key, f"fitted to {source}")
        notes.setdefault("write.c2c_sigma", "fitted: accumulating per-pulse noise, fraction of the window")
        notes.setdefault("write.program_sigma", "fitted: per-reading (non-accumulating) noise, fraction of the window")
        g_min = _checks.non_negative("g_min", g_min)
        g_max = _checks.positive("g_max", g_max)
        fitted = {
            "conductance": {"g_min": g_min, "g_max": g_max, "n_levels": 0},
            "pulse": {"model": "neurosim", "n_pulses_ltp": self.n_pulses_ltp, "n_pulses_ltd": self.n_pulses_ltd,
                      "nl_ltp": round(self.nl_ltp, 3), "nl_ltd": round(self.nl_ltd, 3)},
            "write": {"c2c_sigma": round(self.c2c_sigma, 5), "program_sigma": round(self.reading_sigma, 5)},
        }
        for section, values in sections.items():
            fitted.setdefault(section, {}).update(values)
        lines = [f"# Fitted by neuroimc.fitting.fit_pulse_response to {source}.",
                 f"# Mean-curve RMS residual against every reading: {self.rms:.2%} of the window;",
                 "# c2c (accumulating) and per-reading (non-accumulating) noise separated by lag.", "",
                 "[device]", f'name = "{name}"', f'technology = "{technology}"', f'description = "{description}"', ""]
        for section, values in fitted.items():
            lines.append(f"[{section}]")
            for key, value in values.items():
                text = f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"'
                note = notes.get(f"{section}.{key}")
                lines.append(f"{text:<28} # {note}" if note else text)
            lines.append("")
        write_atomic(path, "\n".join(lines))
        return path
