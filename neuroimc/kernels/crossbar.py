"""Crossbar-level kernels: read-out caches, program-and-verify, sampled fabrication.

Devices of a crossbar with ``n = n_pre * n_post`` synapses are numbered
``i * n_post + j`` for the positive (or single) device of synapse ``(i, j)``;
the differential partner is ``n + i * n_post + j``, the reference device of
row ``i`` is ``n + i``.
"""
import numpy as np
from numba import njit

from .device import (EXACT, S_LEVELS, S_MODEL, S_SET_ONLY, device_params, device_state, noise_std, pulse,
                     read_card, read_conductance, read_noise_std, readout, store_state, write, write_card)
from .random import load, normal_state, store

# Every kernel here unpacks the state and parameter tuples once, outside its loop over devices, and
# keeps its random stream in locals (see kernels/device.py for why).


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
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    card = write_card(scalars, offset, t_prog)
    r = load(rng)
    for q in range(devices.size):
        d = devices[q]
        ds, r = write(device_state(d, g, offset, t_prog, count, status), targets[q],
                      device_params(d, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu), card, t, r)
        store_state(d, ds, g, offset, t_prog, count, status)
    store(rng, r)


@njit(cache=True, error_model="numpy")
def pulse_devices(devices, up, t, state, params, scalars, rng):
    """One SET (``up``) or RESET pulse on each listed device."""
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    card = write_card(scalars, offset, t_prog)
    r = load(rng)
    for q in range(devices.size):
        d = devices[q]
        ds, r = pulse(device_state(d, g, offset, t_prog, count, status), up,
                      device_params(d, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu), card, t, r)
        store_state(d, ds, g, offset, t_prog, count, status)
    store(rng, r)


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
    card = write_card(scalars, offset, t_prog)
    ret_tau, ret_beta, t0, noise_model, noise_sigma, g_range, g_max, t_read = read_card(scalars)
    timed = t_prog.size > 1
    exact = scalars[S_MODEL] == EXACT
    levels = scalars[S_LEVELS]
    r = load(rng)
    for q in range(devices.size):
        d = devices[q]
        target = targets[q]
        ds = device_state(d, g, offset, t_prog, count, status)
        dp = device_params(d, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu)
        before = ds[3]
        ok = False
        if exact:
            if readout(ds[0] + ds[1], t - ds[2] if timed else 0.0, dp[0], dp[9], ret_tau, ret_beta, t0) != target:
                ds, r = write(ds, target, dp, card, t, r)
            x = readout(ds[0] + ds[1], t - ds[2] if timed else 0.0, dp[0], dp[9], ret_tau, ret_beta, t0)
            z, r = normal_state(r)
            ok = abs(x + noise_std(x, t - ds[2], noise_model, noise_sigma, g_range, g_max, t_read) * z
                     - target) <= tol
        else:
            span = dp[1] - dp[0]
            coarse = levels >= 2 and span / (levels - 1) > 2.0 * tol and scalars[S_SET_ONLY] == 0.0
            prev = np.nan
            for _ in range(max_pulses + 1):
                x = readout(ds[0] + ds[1], t - ds[2] if timed else 0.0, dp[0], dp[9], ret_tau, ret_beta, t0)
                z, r = normal_state(r)
                err = x + noise_std(x, t - ds[2], noise_model, noise_sigma, g_range, g_max, t_read) * z - target
                if abs(err) <= tol:
                    ok = True
                    break
                if ds[3] - before >= max_pulses:
                    break
                stop = coarse and prev * err < 0.0 and abs(err) > abs(prev)
                # a few-level device that jumped across the target steps back to the nearer level
                ds, r = pulse(ds, err < 0.0, dp, card, t, r)
                if stop:
                    break
                prev = err
        store_state(d, ds, g, offset, t_prog, count, status)
        pulses[q] = ds[3] - before
        converged[q] = ok
    store(rng, r)
