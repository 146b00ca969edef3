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
C_SIMPLE = 10  # 1: ideal devices, take the scalar-only path
N_CONSTS = 11


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


@njit(cache=True, error_model="numpy", inline="always")
def _new_weight(w_old, trace, rule, potentiate):
    w_min, w_max = rule[P_W_MIN], rule[P_W_MAX]
    if rule[P_SOFT] != 0.0:
        dw = trace * (w_max - w_old) if potentiate else trace * (w_old - w_min)
    else:
        dw = trace
    return min(max(w_old + dw, w_min), w_max)


@njit(cache=True, error_model="numpy", inline="always")
def _refresh_pair(k, partner, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                  lin_dn, limit, scalars, consts, rng, t):
    """A unidirectional pair past 90 % of a window: RESET both, SET the held weight back on one device."""
    top = max((g[k] - at(g_lo, k)) / (at(g_hi, k) - at(g_lo, k)),
              (g[partner] - at(g_lo, partner)) / (at(g_hi, partner) - at(g_lo, partner)))
    if top < 0.9:
        return
    w = (g[k] - at(g_lo, k) - (g[partner] - at(g_lo, partner))) / consts[C_SPAN]
    apply_pulse(k, False, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn,
                limit, scalars, rng, t)
    apply_pulse(partner, False, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                lin_dn, limit, scalars, rng, t)
    side = k if w > 0.0 else partner
    for _ in range(_pulses(w, consts[C_P_LTP], False, rng)):
        apply_pulse(side, True, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                    lin_dn, limit, scalars, rng, t)


@njit(cache=True, error_model="numpy")
def _learn_ideal(line, potentiate, rule, pre, post, g, count, lo, span, scale, e_scale, n_pre, n_post, reference, w,
                 w0, e_row, e0):
    """``_learn`` for ideal devices (exact writes; no noise, drift, wear, faults or IR drop), scalars only.

    Numba reference-counts array arguments of every helper it inlines, which
    costs more than the update itself; this loop touches arrays directly.
    """
    n = n_pre * n_post
    w_min, w_max = rule[P_W_MIN], rule[P_W_MAX]
    soft = rule[P_SOFT] != 0.0
    length = n_pre if potentiate else n_post
    for q in range(length):
        if potentiate:
            i, j, trace = q, line, pre[q]
        else:
            i, j, trace = line, q, post[q]
        k = i * n_post + j
        partner = n + i if reference else n + k
        gp, gm = g[k], g[partner]
        w_old = (gp - gm) / span
        if soft:
            dw = trace * (w_max - w_old) if potentiate else trace * (w_old - w_min)
        else:
            dw = trace
        w_new = min(max(w_old + dw, w_min), w_max)
        if w_new == w_old:
            continue
        if reference:
            g[k] = gm + w_new * span
            count[k] += 1
            new_own = g[k]
            old_own = gp
        else:
            tp = lo + max(w_new, 0.0) * span
            tm = lo + max(-w_new, 0.0) * span
            if tp != gp:
                g[k] = tp
                count[k] += 1
            if tm != gm:
                g[partner] = tm
                count[partner] += 1
            new_own = g[k] + g[partner]
            old_own = gp + gm
        w[w0 + k] = scale * (g[k] - g[partner])
        e_row[e0 + i] += e_scale * (new_own - old_own)


@njit(cache=True, error_model="numpy")
def _learn(entry, line, potentiate, step, w, w0, sd, sd0, e_row, e0, rng):
    """Apply the rule along row ``line`` (a pre spike: depression) or down column ``line`` (a post spike:
    potentiation), write the devices of every synapse whose weight changes, refresh their caches.

    The per-synapse work is written out in this one loop: a call per synapse would reference-count
    every array argument (~1 us), more than the update itself.
    """
    x, rule, pre, post, state, params, scalars, ir, consts = entry
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    n_pre, n_post = int(consts[C_N_PRE]), int(consts[C_N_POST])
    n = n_pre * n_post
    reference = consts[C_REFERENCE] != 0.0
    exact = scalars[S_MODEL] == EXACT
    set_only = scalars[S_SET_ONLY] != 0.0
    stochastic = rule[P_STOCHASTIC] != 0.0
    span, scale, e_scale = consts[C_SPAN], consts[C_SCALE], consts[C_E_SCALE]
    t = step * consts[C_DT] + consts[C_AGE]
    has_ir = ir.size > 1
    length = n_pre if potentiate else n_post
    if consts[C_SIMPLE] != 0.0:
        _learn_ideal(line, potentiate, rule, pre, post, g, count, g_lo[0], span, scale, e_scale, n_pre, n_post,
                     reference, w, w0, e_row, e0)
        return
    for q in range(length):
        i, j = (q, line) if potentiate else (line, q)
        trace = pre[i] if potentiate else post[j]
        k = i * n_post + j
        partner = n + i if reference else n + k
        w_old = _weight(k, partner, g, offset, span)
        w_new = _new_weight(w_old, trace, rule, potentiate)
        if w_new == w_old:
            continue
        gp0 = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
        gm0 = 0.0 if reference else read_conductance(partner, t, g, offset, t_prog, g_lo, nu, scalars)
        if exact:
            if reference:
                write_exact(k, g[partner] + w_new * span, g, offset, t_prog, count, status, g_lo, g_hi, limit,
                            scalars, rng, t)
            else:
                tp = at(g_lo, k) + max(w_new, 0.0) * span
                tm = at(g_lo, partner) + max(-w_new, 0.0) * span
                if tp != g[k]:
                    write_exact(k, tp, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)
                if tm != g[partner]:
                    write_exact(partner, tm, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t)
        else:
            dw = w_new - w_old
            if dw > 0.0 or not set_only or reference:
                d, up = k, dw > 0.0
                n_pulses = _pulses(dw, consts[C_P_LTP] if up else consts[C_P_LTD], stochastic, rng)
            else:  # unidirectional devices depress a synapse by SETting its negative device
                d, up = partner, True
                n_pulses = _pulses(dw, consts[C_P_LTP], stochastic, rng)
            for _ in range(n_pulses):
                apply_pulse(d, up, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn,
                            lin_dn, limit, scalars, rng, t)
            if set_only and not reference:
                _refresh_pair(k, partner, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up,
                              sat_dn, k_dn, lin_dn, limit, scalars, consts, rng, t)
        # the engine's caches for this synapse
        gp = read_conductance(k, t, g, offset, t_prog, g_lo, nu, scalars)
        gm = read_conductance(partner, t, g, offset, t_prog, g_lo, nu, scalars)
        fp = ir[k] if has_ir else 1.0
        fm = ir[partner] if has_ir else 1.0
        w[w0 + k] = scale * (gp * fp - gm * fm)
        if sd0 >= 0:
            sp = read_noise_std(gp, k, t, t_prog, scalars) * fp
            if reference:
                sd[sd0 + k] = scale * sp
            else:
                sm = read_noise_std(gm, partner, t, t_prog, scalars) * fm
                sd[sd0 + k] = scale * np.sqrt(sp * sp + sm * sm)
        own = gp if reference else gp + gm  # the reference device is not written
        e_row[e0 + i] += e_scale * (own - gp0 - gm0)


@njit(cache=True, error_model="numpy")
def on_pre(entry, i, step, w, w0, sd, sd0, e_row, e0, rng):
    """Presynaptic spike on row ``i``: ``apre += a_pre``; ``w = clip(w + apost)`` along the row."""
    rule, pre = entry[1], entry[2]
    if rule[P_NEAREST] != 0.0:
        pre[i] = rule[P_A_PRE]
    else:
        pre[i] += rule[P_A_PRE]
    _learn(entry, i, False, step, w, w0, sd, sd0, e_row, e0, rng)


@njit(cache=True, error_model="numpy")
def on_post(entry, j, step, w, w0, sd, sd0, e_row, e0, rng):
    """Postsynaptic spike of column ``j``: ``apost += a_post``; ``w = clip(w + apre)`` down the column."""
    rule, post = entry[1], entry[3]
    if rule[P_NEAREST] != 0.0:
        post[j] = rule[P_A_POST]
    else:
        post[j] += rule[P_A_POST]
    _learn(entry, j, True, step, w, w0, sd, sd0, e_row, e0, rng)
