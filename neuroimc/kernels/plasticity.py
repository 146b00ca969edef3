"""STDP inside the fused loop: traces, row depression, column potentiation, device writes.

Each plastic crossbar is one entry of a numba typed list (all entries share one
tuple type, whatever the card):

    (x, rule, pre_trace, post_trace, state, params, scalars, ir_factor, consts)

``x`` is the crossbar's index in the synapse tables, ``rule`` its row of
:func:`neuroimc.learning.STDP.table`, ``state``/``params``/``scalars`` its
device arrays (see :mod:`kernels.device`), ``consts`` the float64 array
indexed by the ``C_*`` constants.  Tuples are unpacked once per row or column
update, never per synapse.
"""
import numpy as np
from numba import njit

from ..learning import P_A_POST, P_A_PRE, P_DECAY_POST, P_DECAY_PRE, P_NEAREST, P_SOFT, P_STOCHASTIC, P_W_MAX, P_W_MIN
from .device import EXACT, S_MODEL, S_SET_ONLY, apply_pulse, at, read_conductance, read_noise_std, write_exact
from .random import uniform

C_SCALE = 0  # V_read * gain: siemens -> amperes of current jump
C_E_SCALE = 1  # V_read**2 * t_read: siemens -> joules per read
C_SPAN = 2  # conductance of one unit of normalised weight
C_AGE = 3  # device time minus network time
C_P_LTP = 4  # pulses that sweep the window up / down
C_P_LTD = 5
C_REFERENCE = 6
C_N_PRE = 7
C_N_POST = 8
C_DT = 9
N_CONSTS = 10


@njit(cache=True, error_model="numpy")
def decay_traces(plastic):
    for p in range(len(plastic)):
        entry = plastic[p]
        rule, pre, post = entry[1], entry[2], entry[3]
        a, b = rule[P_DECAY_PRE], rule[P_DECAY_POST]
        for i in range(pre.size):
            pre[i] *= a
        for j in range(post.size):
            post[j] *= b


@njit(cache=True, error_model="numpy", inline="always")
def _pulses(dw, per_window, stochastic, rng):
    n_real = abs(dw) * per_window
    n = np.floor(n_real)
    frac = n_real - n
    if stochastic:
        if uniform(rng) < frac:
            n += 1.0
    elif frac >= 0.5:
        n += 1.0
    return int(n)


@njit(cache=True, error_model="numpy", inline="always")
def _weight(k, partner, g, offset, span):
    """Programmed normalised weight of the synapse whose devices are ``k`` and ``partner``."""
    gp = g[k] + (offset[k] if offset.size > 1 else 0.0)
    gm = g[partner] + (offset[partner] if offset.size > 1 else 0.0)
    return (gp - gm) / span


@njit(cache=True, error_model="numpy")
def _write(k, partner, w_old, w_new, rule, state, params, scalars, consts, rng, t):
    """Program synapse (device ``k``, partner ``partner``) from ``w_old`` towards ``w_new``."""
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    reference = consts[C_REFERENCE] != 0.0
    if scalars[S_MODEL] == EXACT:
        if reference:
            write_exact(k, g[partner] + w_new * consts[C_SPAN], g, offset, t_prog, count, status, g_lo, g_hi, limit,
                        scalars, rng, t)
            return
        tp = at(g_lo, k) + max(w_new, 0.0) * consts[C_SPAN]
        tm = at(g_lo, partner) + max(-w_new, 0.0) * consts[C_SPAN]
        if tp != g[k]:
            write_exact(k, tp, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)
        if tm != g[partner]:
            write_exact(partner, tm, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)
        return
    dw = w_new - w_old
    if dw == 0.0:
        return
    stochastic = rule[P_STOCHASTIC] != 0.0
    set_only = scalars[S_SET_ONLY] != 0.0
    if dw > 0.0 or not set_only or reference:
        n = _pulses(dw, consts[C_P_LTP] if dw > 0.0 else consts[C_P_LTD], stochastic, rng)
        for _ in range(n):
            apply_pulse(k, dw > 0.0, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn,
                        k_dn, lin_dn, limit, scalars, rng, t)
    else:  # unidirectional devices depress a synapse by SETting its negative device
        n = _pulses(dw, consts[C_P_LTP], stochastic, rng)
        for _ in range(n):
            apply_pulse(partner, True, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn,
                        k_dn, lin_dn, limit, scalars, rng, t)
    if set_only and not reference:
        _refresh_pair(k, partner, state, params, scalars, consts, rng, t)


@njit(cache=True, error_model="numpy")
def _refresh_pair(k, partner, state, params, scalars, consts, rng, t):
    """A unidirectional pair past 90 % of a window: RESET both, SET the held weight back on one device."""
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    top = max((g[k] - at(g_lo, k)) / (at(g_hi, k) - at(g_lo, k)),
              (g[partner] - at(g_lo, partner)) / (at(g_hi, partner) - at(g_lo, partner)))
    if top < 0.9:
        return
    w = (g[k] - at(g_lo, k) - (g[partner] - at(g_lo, partner))) / consts[C_SPAN]
    for d in (k, partner):
        apply_pulse(d, False, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                    lin_dn, limit, scalars, rng, t)
    side = k if w > 0.0 else partner
    for _ in range(_pulses(w, consts[C_P_LTP], False, rng)):
        apply_pulse(side, True, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                    lin_dn, limit, scalars, rng, t)


@njit(cache=True, error_model="numpy", inline="always")
def _readout(k, partner, i, t, state, params, scalars, ir, consts, w, wk, sd, sdk, e_row, ei, g_before):
    """Refresh the engine's caches for one synapse after its devices were written."""
    g, offset, t_prog, count, status = state
    g_lo, nu = params[0], params[9]
    gp = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
    gm = read_conductance(partner, t, g, offset, t_prog, g_lo, nu, scalars)
    fp = ir[k] if ir.size > 1 else 1.0
    fm = ir[partner] if ir.size > 1 else 1.0
    w[wk] = consts[C_SCALE] * (gp * fp - gm * fm)
    if sdk >= 0:
        sp = read_noise_std(gp, k, t, t_prog, scalars) * fp
        if consts[C_REFERENCE] != 0.0:
            sd[sdk] = consts[C_SCALE] * sp
        else:
            sm = read_noise_std(gm, partner, t, t_prog, scalars) * fm
            sd[sdk] = consts[C_SCALE] * np.sqrt(sp * sp + sm * sm)
    own = gp if consts[C_REFERENCE] != 0.0 else gp + gm  # the reference device is not written
    e_row[ei] += consts[C_E_SCALE] * (own - g_before)


@njit(cache=True, error_model="numpy", inline="always")
def _new_weight(w_old, trace, rule, potentiate):
    w_min, w_max = rule[P_W_MIN], rule[P_W_MAX]
    if rule[P_SOFT] != 0.0:
        dw = trace * (w_max - w_old) if potentiate else trace * (w_old - w_min)
    else:
        dw = trace
    return min(max(w_old + dw, w_min), w_max)


@njit(cache=True, error_model="numpy")
def on_pre(entry, i, step, w, w0, sd, sd0, e_row, e0, rng):
    """Presynaptic spike on row ``i``: ``apre += a_pre``; ``w = clip(w + apost)`` along the row."""
    x, rule, pre, post, state, params, scalars, ir, consts = entry
    if rule[P_NEAREST] != 0.0:
        pre[i] = rule[P_A_PRE]
    else:
        pre[i] += rule[P_A_PRE]
    g, offset = state[0], state[1]
    g_lo, nu, t_prog = params[0], params[9], state[2]
    n_pre, n_post = int(consts[C_N_PRE]), int(consts[C_N_POST])
    n = n_pre * n_post
    reference = consts[C_REFERENCE] != 0.0
    t = step * consts[C_DT] + consts[C_AGE]
    for j in range(n_post):
        k = i * n_post + j
        partner = n + i if reference else n + k
        w_old = _weight(k, partner, g, offset, consts[C_SPAN])
        w_new = _new_weight(w_old, post[j], rule, False)
        if w_new == w_old:
            continue
        before = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
        if not reference:
            before += read_conductance(partner, t, g, offset, t_prog, g_lo, nu, scalars)
        _write(k, partner, w_old, w_new, rule, state, params, scalars, consts, rng, t)
        _readout(k, partner, i, t, state, params, scalars, ir, consts, w, w0 + k, sd, sd0 + k if sd0 >= 0 else -1,
                 e_row, e0 + i, before)


@njit(cache=True, error_model="numpy")
def on_post(entry, j, step, w, w0, sd, sd0, e_row, e0, rng):
    """Postsynaptic spike of column ``j``: ``apost += a_post``; ``w = clip(w + apre)`` down the column."""
    x, rule, pre, post, state, params, scalars, ir, consts = entry
    if rule[P_NEAREST] != 0.0:
        post[j] = rule[P_A_POST]
    else:
        post[j] += rule[P_A_POST]
    g, offset = state[0], state[1]
    g_lo, nu, t_prog = params[0], params[9], state[2]
    n_pre, n_post = int(consts[C_N_PRE]), int(consts[C_N_POST])
    n = n_pre * n_post
    reference = consts[C_REFERENCE] != 0.0
    t = step * consts[C_DT] + consts[C_AGE]
    for i in range(n_pre):
        k = i * n_post + j
        partner = n + i if reference else n + k
        w_old = _weight(k, partner, g, offset, consts[C_SPAN])
        w_new = _new_weight(w_old, pre[i], rule, True)
        if w_new == w_old:
            continue
        before = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
        if not reference:
            before += read_conductance(partner, t, g, offset, t_prog, g_lo, nu, scalars)
        _write(k, partner, w_old, w_new, rule, state, params, scalars, consts, rng, t)
        _readout(k, partner, i, t, state, params, scalars, ir, consts, w, w0 + k, sd, sd0 + k if sd0 >= 0 else -1,
                 e_row, e0 + i, before)
