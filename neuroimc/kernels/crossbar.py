"""Crossbar-level kernels: read-out caches, program-and-verify, sampled fabrication.

Devices of a crossbar with ``n = n_pre * n_post`` synapses are numbered
``i * n_post + j`` for the positive (or single) device of synapse ``(i, j)``;
the differential partner is ``n + i * n_post + j``, the reference device of
row ``i`` is ``n + i``.
"""
import numpy as np
from numba import njit

from .device import EXACT, S_LEVELS, S_MODEL, S_SET_ONLY, apply_pulse, at, read_conductance, read_noise_std, write_exact
from .random import normal


@njit(cache=True, error_model="numpy")
def _partner(i, j, n, n_post, reference):
    return n + i if reference else n + i * n_post + j


@njit(cache=True, error_model="numpy")
def refresh_readout(n_pre, n_post, reference, t, state, params, scalars, ir_factor, scale, e_scale,
                    w, sd, sd_ref, e_row):
    """Recompute the mean current jump ``w``, read-noise std ``sd`` (amperes) and read energy per row.

    ``scale = V_read * gain`` turns siemens into amperes of current jump;
    ``e_scale = V_read**2 * t_read`` turns a row's summed conductance into the
    energy of one read pulse on it.  ``ir_factor`` (length 1 = none) scales each
    device's read-out for the IR drop along its wires.
    """
    n = n_pre * n_post
    for i in range(n_pre):
        row_g = 0.0
        if reference:
            gr = read_conductance(n + i, t, state, params, scalars)
            if sd_ref.size:
                sd_ref[i] = scale * read_noise_std(gr, n + i, t, state, scalars)
            row_g += gr
        for j in range(n_post):
            k = i * n_post + j
            gp = read_conductance(k, t, state, params, scalars)
            row_g += gp
            sp = read_noise_std(gp, k, t, state, scalars)
            fp = ir_factor[k] if ir_factor.size > 1 else 1.0
            if reference:
                w[k] = scale * (gp * fp - gr * (ir_factor[n + i] if ir_factor.size > 1 else 1.0))
                if sd.size:
                    sd[k] = scale * sp * fp
            else:
                gm = read_conductance(n + k, t, state, params, scalars)
                row_g += gm
                fm = ir_factor[n + k] if ir_factor.size > 1 else 1.0
                w[k] = scale * (gp * fp - gm * fm)
                if sd.size:
                    sm = read_noise_std(gm, n + k, t, state, scalars)
                    sd[k] = scale * np.sqrt((sp * fp) ** 2 + (sm * fm) ** 2)
        e_row[i] = e_scale * row_g


@njit(cache=True, error_model="numpy")
def _noisy_read(d, t, state, params, scalars, rng):
    x = read_conductance(d, t, state, params, scalars)
    return x + read_noise_std(x, d, t, state, scalars) * normal(rng)


@njit(cache=True, error_model="numpy")
def program_verify(devices, targets, tol, max_pulses, t, state, params, scalars, rng, pulses, converged):
    """Program-and-verify each device towards its target conductance.

    Loop per device: read it (with read noise); if within ``tol`` (siemens) of
    the target, stop; otherwise apply one SET or RESET pulse in the needed
    direction, up to ``max_pulses``.  For a ``set_only`` device that
    overshoots, a RESET returns it to the bottom of its window and SETs climb
    again.  Exact devices take one write.  Records the pulses used and whether
    the device converged.
    """
    count = state[3]
    for q in range(devices.size):
        d = devices[q]
        before = count[d]
        ok = False
        if scalars[S_MODEL] == EXACT:
            if abs(read_conductance(d, t, state, params, scalars) - targets[q]) > 0.0:
                write_exact(d, targets[q], state, params, scalars, rng, t)
            ok = abs(_noisy_read(d, t, state, params, scalars, rng) - targets[q]) <= tol
        else:
            levels = scalars[S_LEVELS]
            span = at(params[1], d) - at(params[0], d)
            coarse = levels >= 2 and span / (levels - 1) > 2.0 * tol and scalars[S_SET_ONLY] == 0.0
            prev = np.nan
            for _ in range(max_pulses + 1):
                err = _noisy_read(d, t, state, params, scalars, rng) - targets[q]
                if abs(err) <= tol:
                    ok = True
                    break
                if count[d] - before >= max_pulses:
                    break
                if coarse and prev * err < 0.0 and abs(err) > abs(prev):
                    # a few-level device jumped across the target: the previous level was the closest
                    # reachable one; step back and stop
                    apply_pulse(d, err < 0.0, state, params, scalars, rng, t)
                    break
                apply_pulse(d, err < 0.0, state, params, scalars, rng, t)
                prev = err
        pulses[q] = count[d] - before
        converged[q] = ok


@njit(cache=True, error_model="numpy")
def pulse_devices(devices, up, t, state, params, scalars, rng):
    """One SET (``up``) or RESET pulse on each listed device."""
    for q in range(devices.size):
        apply_pulse(devices[q], up, state, params, scalars, rng, t)


@njit(cache=True, error_model="numpy")
def readout_all(t, state, params, scalars, out):
    """Mean read-out conductance of every device at device time ``t``."""
    for d in range(out.size):
        out[d] = read_conductance(d, t, state, params, scalars)
