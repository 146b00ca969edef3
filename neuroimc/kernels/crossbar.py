"""Crossbar-level kernels: read-out caches, program-and-verify, sampled fabrication.

Devices of a crossbar with ``n = n_pre * n_post`` synapses are numbered
``i * n_post + j`` for the positive (or single) device of synapse ``(i, j)``;
the differential partner is ``n + i * n_post + j``, the reference device of
row ``i`` is ``n + i``.
"""
import numpy as np
from numba import njit

from .device import (EXACT, S_LEVELS, S_MODEL, S_SET_ONLY, apply_pulse, at, read_conductance, read_noise_std,
                     write_exact)
from .random import normal

# Every kernel here unpacks the state and parameter tuples once, outside its loop over devices
# (see kernels/device.py for why).


@njit(cache=True, error_model="numpy")
def refresh_readout(n_pre, n_post, reference, t, state, params, scalars, ir_factor, scale, e_scale,
                    w, sd, sd_ref, e_row):
    """Recompute the mean current jump ``w``, read-noise std ``sd`` (amperes) and read energy per row.

    ``scale = V_read * gain`` turns siemens into amperes of current jump;
    ``e_scale = V_read**2 * t_read`` turns a row's summed conductance into the
    energy of one read pulse on it.  ``ir_factor`` (length 1 = none) scales each
    device's read-out for the IR drop along its wires.
    """
    g, offset, t_prog, count, status = state
    g_lo, nu = params[0], params[9]
    n = n_pre * n_post
    ir = ir_factor.size > 1
    for i in range(n_pre):
        row_g = 0.0
        gr = 0.0
        if reference:
            gr = read_conductance(n + i, t, g, offset, t_prog, g_lo, nu, scalars)
            if sd_ref.size:
                sd_ref[i] = scale * read_noise_std(gr, n + i, t, t_prog, scalars)
            row_g += gr
            if ir:
                gr *= ir_factor[n + i]
        for j in range(n_post):
            k = i * n_post + j
            gp = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
            row_g += gp
            sp = read_noise_std(gp, k, t, t_prog, scalars)
            fp = ir_factor[k] if ir else 1.0
            if reference:
                w[k] = scale * (gp * fp - gr)
                if sd.size:
                    sd[k] = scale * sp * fp
            else:
                gm = read_conductance(n + k, t, g, offset, t_prog, g_lo, nu, scalars)
                row_g += gm
                fm = ir_factor[n + k] if ir else 1.0
                w[k] = scale * (gp * fp - gm * fm)
                if sd.size:
                    sm = read_noise_std(gm, n + k, t, t_prog, scalars)
                    sd[k] = scale * np.sqrt((sp * fp) ** 2 + (sm * fm) ** 2)
        e_row[i] = e_scale * row_g


@njit(cache=True, error_model="numpy")
def write_all_exact(devices, targets, t, state, params, scalars, rng):
    """One ideal write per listed device (deployment of offline targets)."""
    g, offset, t_prog, count, status = state
    g_lo, g_hi, limit = params[0], params[1], params[8]
    for q in range(devices.size):
        write_exact(devices[q], targets[q], g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)


@njit(cache=True, error_model="numpy")
def pulse_devices(devices, up, t, state, params, scalars, rng):
    """One SET (``up``) or RESET pulse on each listed device."""
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    for q in range(devices.size):
        apply_pulse(devices[q], up, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn,
                    k_dn, lin_dn, limit, scalars, rng, t)


@njit(cache=True, error_model="numpy")
def readout_all(t, state, params, scalars, out):
    """Mean read-out conductance of every device at device time ``t``."""
    g, offset, t_prog, count, status = state
    g_lo, nu = params[0], params[9]
    for d in range(out.size):
        out[d] = read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars)


@njit(cache=True, error_model="numpy")
def program_verify(devices, targets, tol, max_pulses, t, state, params, scalars, rng, pulses, converged):
    """Program-and-verify each device towards its target conductance.

    Loop per device: read it (with read noise); if within ``tol`` (siemens) of
    the target, stop; otherwise apply one SET or RESET pulse in the needed
    direction, up to ``max_pulses``.  For a ``set_only`` device that
    overshoots, a RESET returns it to the bottom of its window and SETs climb
    again; a few-level device that jumps across its target steps back to the
    nearer level and stops.  Exact devices take one write.  Records the pulses
    used and whether the device converged.
    """
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    for q in range(devices.size):
        d = devices[q]
        target = targets[q]
        before = count[d]
        ok = False
        if scalars[S_MODEL] == EXACT:
            if read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars) != target:
                write_exact(d, target, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)
            x = read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars)
            ok = abs(x + read_noise_std(x, d, t, t_prog, scalars) * normal(rng) - target) <= tol
        else:
            levels = scalars[S_LEVELS]
            span = at(g_hi, d) - at(g_lo, d)
            coarse = levels >= 2 and span / (levels - 1) > 2.0 * tol and scalars[S_SET_ONLY] == 0.0
            prev = np.nan
            for _ in range(max_pulses + 1):
                x = read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars)
                err = x + read_noise_std(x, d, t, t_prog, scalars) * normal(rng) - target
                if abs(err) <= tol:
                    ok = True
                    break
                if count[d] - before >= max_pulses:
                    break
                stop = coarse and prev * err < 0.0 and abs(err) > abs(prev)
                # a few-level device that jumped across the target steps back to the nearer level
                apply_pulse(d, err < 0.0, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up,
                            sat_dn, k_dn, lin_dn, limit, scalars, rng, t)
                if stop:
                    break
                prev = err
        pulses[q] = count[d] - before
        converged[q] = ok
