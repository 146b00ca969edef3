"""STDP inside the fused loop: traces, row depression, column potentiation, device writes.

Each plastic crossbar is one tuple, laid out as :mod:`kernels.entry` describes.  Ideal
crossbars in canonical pairs learn weight-only (:mod:`kernels.deferred`, which also steps every
crossbar's traces); the others write their devices on every change, here: depression along the
row (at the row's next catch-up for a pair rule, :func:`kernels.deferred.depress_later`; at once
otherwise), potentiation replayed along the row from the log of :mod:`kernels.deferred` (or, for
ageing devices, down the column at each post spike).
"""
import numpy as np
from numba import njit

from ..learning import (P_A_POST, P_A_PRE, P_DEP_PAIR, P_DEP_TRIPLET, P_NEAREST, P_POT_PAIR, P_POT_TRIPLET, P_SOFT,
                        P_STOCHASTIC, P_W_MAX, P_W_MIN)
from .device import EXACT, OK, S_MODEL, noise_std, pulse, pulses, read_card, readout, write, write_card
from .entry import (C_AGE, C_DT, C_E_SCALE, C_N_POST, C_N_PRE, C_P_LTD, C_P_LTP, C_REFERENCE, C_SCALE, C_SIMPLE,
                    C_SPAN)
from . import lanes
from .prefetch import AHEAD, prefetch_synapse
from .random import keyed_state
from .rule import (DEPRESS_ROW, POTENTIATE_COLUMN, REPLAY_ROW, SCALE_COLUMN, changes_nothing, half_pulse,
                   list_changing, new_weight, pulse_count, pulsed_weight)


@njit(cache=True, error_model="numpy", inline="always")
def decay_to(x, s, target, decay, flush_below):
    """A pre trace ``x`` at step ``s`` decayed to step ``target`` (``(x, target)``) by the multiplications and
    flushes of :func:`kernels.deferred.decay_traces`, bit for bit; ``(0.0, step)`` once it is flushed."""
    while s < target:
        x *= decay
        s += 1
        if abs(x) < flush_below:
            return 0.0, s
    return x, s


@njit(cache=True, error_model="numpy")
def _refresh_pair(sk, sm, pk, pm, card, t, span, per_window, rng):
    """A unidirectional pair past 90 % of a window: RESET both, SET the held weight back on one device.

    ``sk``/``sm`` are the states of the positive and negative device, ``pk``/``pm`` their parameters
    (see :mod:`kernels.device`); returns ``(sk, sm, rng)``.
    """
    lo_k, lo_m = pk[0], pm[0]
    top = max((sk[0] - lo_k) / (pk[1] - lo_k), (sm[0] - lo_m) / (pm[1] - lo_m))
    if top < 0.9:
        return sk, sm, rng
    w = (sk[0] - lo_k - (sm[0] - lo_m)) / span
    sk, rng = pulse(sk, False, pk, card, t, rng)
    sm, rng = pulse(sm, False, pm, card, t, rng)
    n, rng = pulse_count(w, per_window, False, rng)
    if w > 0.0:
        sk, rng = pulses(sk, n, True, pk, card, t, rng)
    else:
        sm, rng = pulses(sm, n, True, pm, card, t, rng)
    return sk, sm, rng


@njit(cache=True, error_model="numpy")
def _learn_ideal(line, mode, factor, rule, pre, post, g, count, lo, span, scale, e_scale, n_pre, n_post, reference,
                 w, w0, e_row, e0):
    """``_learn`` for ideal devices (exact writes; no noise, drift, wear, faults or IR drop) whose pairs are
    not canonical; canonical ideal pairs learn and scale weight-only (:mod:`kernels.deferred`).

    Knowing that no device can fail, be offset or age, it skips the status, offsets and read-out
    of :func:`_learn_line`: about twice as fast.  ``tests/test_stdp.py`` checks that both paths learn
    the same.  The line's synapses are taken as views (strided for a column), so that the loop
    indexes with its counter alone: numba checks a computed index for wrap-around on every access.
    """
    n = n_pre * n_post
    if mode == DEPRESS_ROW:
        a, b = line * n_post, (line + 1) * n_post
        p0, p1 = (n + line, n + line + 1) if reference else (n + a, n + b)
        _learn_ideal_line(mode, factor, rule, post, g[a:b], g[p0:p1], count[a:b], count[p0:p1], w[w0 + a:w0 + b],
                          e_row[e0 + line:], False, lo, span, scale, e_scale, reference)
    else:
        j = line
        p0, p1, ps = (n, n + n_pre, 1) if reference else (n + j, 2 * n, n_post)
        _learn_ideal_line(mode, factor, rule, pre, g[j:n:n_post], g[p0:p1:ps], count[j:n:n_post], count[p0:p1:ps],
                          w[w0 + j:w0 + n:n_post], e_row[e0:e0 + n_pre], True, lo, span, scale, e_scale, reference)


@njit(cache=True, error_model="numpy", inline="always")
def _ideal_write(gp, gm, dw, mode, soft, w_min, w_max, lo, span, reference):
    """A synapse of conductances ``gp``, ``gm`` (its negative or reference device) takes the rule's change ``dw``:
    ``(new gp, new gm, writes of gp, writes of gm)``.  Scalars only: array arguments would be
    reference-counted on every synapse."""
    w_old = (gp - gm) / span
    w_new = new_weight(w_old, dw, mode, soft, w_min, w_max)
    if w_new == w_old:
        return gp, gm, 0, 0
    if reference:  # the row's reference device is never written
        return gm + w_new * span, gm, 1, 0
    tp = lo + max(w_new, 0.0) * span
    tm = lo + max(-w_new, 0.0) * span
    return tp, tm, int(tp != gp), int(tm != gm)


@njit(cache=True, error_model="numpy")
def _learn_ideal_line(mode, factor, rule, traces, g, pair, count, pair_count, w, e, along_column, lo, span, scale,
                      e_scale, reference):
    """One line of :func:`_learn_ideal`: ``g``/``count``/``w`` hold its synapses, ``pair``/``pair_count`` their
    negative devices (or the rows' reference devices), ``e`` the read energy of the rows (one row, unless
    ``along_column``)."""
    w_min, w_max = rule[P_W_MIN], rule[P_W_MAX]
    soft = rule[P_SOFT] != 0.0
    scaling = mode == SCALE_COLUMN
    de = 0.0
    for q in range(g.size):
        trace = 1.0 if scaling else traces[q]
        if trace == 0.0:  # no learning signal, no write: most synapses, most of the time
            continue
        p = q if along_column or not reference else 0
        gp, gm = g[q], pair[p]
        gp_new, gm_new, np_, nm = _ideal_write(gp, gm, trace * factor, mode, soft, w_min, w_max, lo, span, reference)
        if np_ + nm == 0:
            continue
        g[q], pair[p] = gp_new, gm_new
        count[q] += np_
        pair_count[p] += nm
        w[q] = scale * (gp_new - gm_new)
        change = gp_new - gp if reference else gp_new + gm_new - gp - gm
        if along_column:
            e[q] += e_scale * change
        else:
            de += e_scale * change
    if not along_column:
        e[0] += de


# _nrt=False (here, on _learn_line, on_pre and on_post, and on the per-spike kernels of deferred): kernels that
# neither allocate nor return arrays, compiled without numba's runtime, do not reference-count every array of
# their arguments on each call: about 0.3 us a call for an entry's 23 arrays, a third of a device row update.
@njit(cache=True, error_model="numpy", _nrt=False)
def _learn(entry, line, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng):
    """Change row ``line`` (``DEPRESS_ROW``) or column ``line`` (``POTENTIATE_COLUMN``, ``SCALE_COLUMN``)
    as the rule asks, write the devices of every synapse whose weight changes, refresh their caches.

    Ideal devices take :func:`_learn_ideal`; the others a copy of :func:`_learn_line` compiled for
    exact writes or for pulses (a literal flag: each copy keeps only the code its case runs).
    Parameters shared by all devices are told apart at run time: a further pair of copies for them
    cost 6 s of compilation and gained nothing measurable.
    """
    rule, pre, post = entry[1], entry[2], entry[3]
    state, g_lo, scalars, consts = entry[6], entry[7][0], entry[8], entry[10]
    if consts[C_SIMPLE] != 0.0:
        _learn_ideal(line, mode, factor, rule, pre, post, state[0], state[3], g_lo[0], consts[C_SPAN], consts[C_SCALE],
                     consts[C_E_SCALE], int(consts[C_N_PRE]), int(consts[C_N_POST]), consts[C_REFERENCE] != 0.0, w, w0,
                     e_row, e0)
        return
    if scalars[S_MODEL] == EXACT:
        _learn_line(entry, line, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, True)
    else:
        _learn_line(entry, line, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, False)


@njit(cache=True, error_model="numpy", _nrt=False)
def _learn_line(entry, line, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, exact, log=None, thread=0):
    """:func:`_learn` for exact writes or pulses (``exact``).

    Per synapse, the loop loads the two devices' states and parameters into numbers, runs the
    device physics on them (scalar functions of :mod:`kernels.device`) and stores back those it can
    write.  Per synapse, arrays are touched only here: a call with array arguments would
    reference-count each of them.  Each update draws its noise from its own stream, seeded by the
    synapse, the step and kind of the update and the writes so far of the devices it can write: the
    same whichever update is computed first.

    ``REPLAY_ROW``: row ``line`` applies the log entries ``log = (order, steps, posts, factors, x,
    energy)`` in the sequence ``order``, entry ``e`` as the post spike of column ``posts[e]`` at
    ``steps[e]`` would have, with the row's pre trace ``x[e]``, and leaves its change of the row's
    read energy in ``energy[e]`` (see :func:`kernels.deferred.catch_up_devices`).  ``DEPRESS_ROW`` with a
    ``log``: a depression deferred to the row's catch-up, its listed columns as entries (``posts``), each with
    the post trace of its column at the spike (``x``; :func:`kernels.deferred.depress_later`).
    Replays are compiled as copies of their own (``log`` is not ``None``): one loop for both ran
    10-20 % slower.

    A depression's listed columns and a replay's entries go through :mod:`kernels.lanes` in chunks,
    where the card allows, on the scratch of ``thread``; the loop here takes the updates the lanes
    leave to it, and a depression's energy changes are added up in the row's order all the same.
    """
    x, rule, pre, post, pre2, post2, state, params, scalars, ir, consts, columns, lane_scratch = entry
    g, offset, t_prog, count, status = state
    g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu = params
    n_pre, n_post = int(consts[C_N_PRE]), int(consts[C_N_POST])
    n = n_pre * n_post
    reference = consts[C_REFERENCE] != 0.0
    stochastic = rule[P_STOCHASTIC] != 0.0
    soft = rule[P_SOFT] != 0.0
    w_min, w_max = rule[P_W_MIN], rule[P_W_MAX]
    span, scale, e_scale = consts[C_SPAN], consts[C_SCALE], consts[C_E_SCALE]
    t = step * consts[C_DT] + consts[C_AGE]
    card = write_card(scalars, offset, t_prog)
    set_only, has_off, timed = card[3], card[5], card[6]
    ret_tau, ret_beta, t0, noise_model, noise_sigma, g_range, g_max, t_read = read_card(scalars)
    p_ltp, p_ltd = consts[C_P_LTP], consts[C_P_LTD]
    below_half = half_pulse(rule, consts, exact) if mode != SCALE_COLUMN else 0.0
    has_ir = ir.size > 1
    with_sd = sd0 >= 0
    # a parameter array of length 1 is shared by all devices: decide once which ones are
    p0 = (g_lo[0], g_hi[0], sat_up[0], k_up[0], lin_up[0], sat_dn[0], k_dn[0], lin_dn[0], limit[0], nu[0])
    e_lo, e_hi, e_sup, e_kup, e_lup = g_lo.size > 1, g_hi.size > 1, sat_up.size > 1, k_up.size > 1, lin_up.size > 1
    e_sdn, e_kdn, e_ldn, e_lim, e_nu = sat_dn.size > 1, k_dn.size > 1, lin_dn.size > 1, limit.size > 1, nu.size > 1

    def params_of(d, pulsed):  # inlined by numba; the endurance limit is read only for a device that may be pulsed
        return (g_lo[d] if e_lo else p0[0], g_hi[d] if e_hi else p0[1], sat_up[d] if e_sup else p0[2],
                k_up[d] if e_kup else p0[3], lin_up[d] if e_lup else p0[4], sat_dn[d] if e_sdn else p0[5],
                k_dn[d] if e_kdn else p0[6], lin_dn[d] if e_ldn else p0[7], limit[d] if e_lim and pulsed else p0[8],
                nu[d] if e_nu else p0[9])

    # Bidirectional pulses write the positive device of a pair alone: its partner's write count, status and
    # endurance are neither read nor stored (an unchanged store still dirties a cache line, which memory then
    # writes back), nor prefetched.  At 1000 x 1000 these were 4 of a pulsed synapse's 9 cache lines.
    both = exact or set_only
    key = rng[4]  # the write noise of each update comes from its own stream (random.keyed_state)
    r = keyed_state(key, 0, 0, 0)

    def stream_of(k, partner, code):  # inlined by numba; seeded by the writes so far of the devices it can write
        return keyed_state(key, k, code, count[k] + (count[partner] if both else 0))
    along_column = mode == POTENTIATE_COLUMN or mode == SCALE_COLUMN
    # The rows that spike in one step see the same post traces: the first lists the columns they can change
    # (most columns' traces ask for less than half a pulse), the others walk that list.  Not for triplet rules,
    # whose factor differs from row to row.
    listed = log is None and not along_column and pre2.size == 0
    if listed:
        if columns[0] != step:
            columns[0], columns[1] = step, list_changing(post, factor, below_half, columns[2:], None)
        length = columns[1]
    elif log is None:
        length = n_pre if along_column else n_post
    else:
        log_order, log_step, log_post, log_factor, log_x, log_energy = log
        length = log_order.size
    per_device_pulses = e_lo or e_hi or e_sup or e_kup or e_lup or e_sdn or e_kdn or e_ldn
    in_lanes = (listed or log is not None) and lanes.fits(exact, stochastic, soft, set_only, reference, has_off, timed,
                                                          has_ir, per_device_pulses, noise_model)
    lf, li = lane_scratch[0][thread], lane_scratch[1][thread]
    chunk = lanes.LANES if in_lanes else max(length, 1)
    update, f_q, t_q = mode, factor, t
    call_step, each = step, POTENTIATE_COLUMN if mode == REPLAY_ROW else mode
    for c0 in range(0, length, chunk):
        c1 = min(c0 + chunk, length)
        todo = c1 - c0
        if in_lanes:
            lanes.gather(c0, c1, length, line, n_post, n, columns, post, factor, call_step, each, log, g, count, status,
                         limit, w, w0, sd, sd0, lf, li)
            lanes.compute(c1 - c0, key, each, below_half, w_min, w_max, span, p_ltp, p_ltd, p0[0], p0[1], p0[2], p0[3],
                          p0[4], p0[5], p0[6], p0[7], card[1], card[0], scale, e_scale, noise_model, noise_sigma, g_range,
                          lf, li)
            todo = lanes.scatter(c1 - c0, c0, log, g, count, w, w0, sd, sd0, lf, li)
        for s in range(todo):
            q = li[lanes.I_SCALAR, s] if in_lanes else c0 + s
            if log is not None:
                e = log_order[q]
                i, j, trace = line, log_post[e], log_x[e]
                update, f_q, step = each, log_factor[e], log_step[e]
                t_q = step * consts[C_DT] + consts[C_AGE]
            elif along_column:
                i, j = q, line
                trace = pre[q] if mode == POTENTIATE_COLUMN else 1.0
            else:
                j = columns[2 + q] if listed else q
                i, trace = line, post[j]
            # a few synapses ahead along the row, whose devices are a cache miss each: their lines start to load
            if q + AHEAD < length and (listed or log is not None) and not in_lanes:
                if log is not None:
                    ahead = line * n_post + log_post[log_order[q + AHEAD]]
                else:
                    ahead = line * n_post + columns[2 + AHEAD + q]
                prefetch_synapse(ahead, n + line if reference else n + ahead, g, count, status, limit, w, w0, sd, sd0,
                                 both)
            if changes_nothing(trace, f_q, below_half):
                continue
            k = i * n_post + j
            partner = n + i if reference else n + k
            gk, gm_ = g[k], g[partner]
            ok_ = offset[k] if has_off else 0.0
            om_ = offset[partner] if has_off else 0.0
            w_old = ((gk + ok_) - (gm_ + om_)) / span  # the programmed weight (no drift, noise or IR drop)
            w_new = pulsed_weight(w_old, trace * f_q, update, soft, w_min, w_max)
            if w_new == w_old:
                continue
            seeded = exact or not stochastic
            if not seeded:
                r = stream_of(k, partner, 3 * step + update)
            if not exact:  # pulses: a change that rounds to none writes nothing
                dw = w_new - w_old
                bidirectional = dw > 0.0 or not set_only or reference
                up = dw > 0.0 or not bidirectional
                if not stochastic and abs(dw) * (p_ltd if bidirectional and not up else p_ltp) < 0.5:
                    continue  # rounds to no pulse (and draws nothing)
                n_pulses, r = pulse_count(dw, p_ltd if bidirectional and not up else p_ltp, stochastic, r)
                if n_pulses == 0:
                    continue
            if seeded:
                r = stream_of(k, partner, 3 * step + update)
            sk = (gk, ok_, t_prog[k] if timed else 0.0, count[k], np.int64(status[k]))
            sm = (gm_, om_, t_prog[partner] if timed else 0.0, count[partner] if both else 0,
                  np.int64(status[partner]) if both else OK)
            pk, pm = params_of(k, True), params_of(partner, both)
            gp0 = readout(gk + ok_, t_q - sk[2] if timed else 0.0, pk[0], pk[9], ret_tau, ret_beta, t0)
            gm0 = 0.0 if reference else readout(gm_ + om_, t_q - sm[2] if timed else 0.0, pm[0], pm[9], ret_tau,
                                                ret_beta, t0)
            if exact:
                if reference:
                    sk, r = write(sk, gm_ + w_new * span, pk, card, t_q, r)
                else:
                    tp = pk[0] + max(w_new, 0.0) * span
                    tm = pm[0] + max(-w_new, 0.0) * span
                    if tp != gk:
                        sk, r = write(sk, tp, pk, card, t_q, r)
                    if tm != gm_:
                        sm, r = write(sm, tm, pm, card, t_q, r)
            else:
                if bidirectional:
                    sk, r = pulses(sk, n_pulses, up, pk, card, t_q, r)
                else:  # unidirectional devices depress a synapse by SETting its negative device
                    sm, r = pulses(sm, n_pulses, True, pm, card, t_q, r)
                if set_only and not reference:
                    sk, sm, r = _refresh_pair(sk, sm, pk, pm, card, t_q, span, p_ltp, r)
            g[k], count[k], status[k] = sk[0], sk[3], sk[4]
            if has_off:
                offset[k] = sk[1]
            if timed:
                t_prog[k] = sk[2]
            if both and not reference:  # the row's reference device is never written
                g[partner], count[partner], status[partner] = sm[0], sm[3], sm[4]
                if has_off:
                    offset[partner] = sm[1]
                if timed:
                    t_prog[partner] = sm[2]
            # the engine's caches for this synapse
            gp = readout(sk[0] + sk[1], t_q - sk[2] if timed else 0.0, pk[0], pk[9], ret_tau, ret_beta, t0)
            gm = readout(sm[0] + sm[1], t_q - sm[2] if timed else 0.0, pm[0], pm[9], ret_tau, ret_beta, t0)
            fp = ir[k] if has_ir else 1.0
            fm = ir[partner] if has_ir else 1.0
            w[w0 + k] = scale * (gp * fp - gm * fm)
            if with_sd:
                sp = noise_std(gp, t_q - sk[2], noise_model, noise_sigma, g_range, g_max, t_read) * fp
                if reference:
                    sd[sd0 + k] = scale * sp
                else:
                    sm_std = noise_std(gm, t_q - sm[2], noise_model, noise_sigma, g_range, g_max, t_read) * fm
                    sd[sd0 + k] = scale * np.sqrt(sp * sp + sm_std * sm_std)
            own = gp if reference else gp + gm  # the reference device is not written
            if log is not None:
                log_energy[e] = e_scale * (own - gp0 - gm0)
            elif in_lanes:
                lf[lanes.F_ENERGY, q - c0] = e_scale * (own - gp0 - gm0)
            else:
                e_row[e0 + i] += e_scale * (own - gp0 - gm0)
        if in_lanes and log is None:
            for s in range(c1 - c0):
                e_row[e0 + line] += lf[lanes.F_ENERGY, s]


@njit(cache=True, error_model="numpy", inline="always")
def _learn_simple(entry, line, mode, factor, w, w0, e_row, e0):
    """:func:`_learn_ideal` straight from the entry, taking out only what it reads (a spike's fast path)."""
    consts = entry[10]
    _learn_ideal(line, mode, factor, entry[1], entry[2], entry[3], entry[6][0], entry[6][3], entry[7][0][0],
                 consts[C_SPAN], consts[C_SCALE], consts[C_E_SCALE], int(consts[C_N_PRE]), int(consts[C_N_POST]),
                 consts[C_REFERENCE] != 0.0, w, w0, e_row, e0)


@njit(cache=True, error_model="numpy", inline="always")
def _step_traces(fast, slow, k, rule, inc, nearest):
    if nearest:
        fast[k] = inc
        if slow.size:
            slow[k] = inc
    else:
        fast[k] += inc
        if slow.size:
            slow[k] += inc


@njit(cache=True, error_model="numpy", _nrt=False)
def on_pre(entry, i, step, w, w0, sd, sd0, e_row, e0, rng, devices):
    """Presynaptic spike on row ``i``: depress along the row by the post traces, then step the pre traces.

    ``devices`` is ``None`` when every plastic crossbar of the network is ideal: numba then prunes
    the device learning path before typing and never compiles it (5 s).
    """
    rule, pre, pre2 = entry[1], entry[2], entry[4]
    factor = rule[P_DEP_PAIR] + (rule[P_DEP_TRIPLET] * pre2[i] if pre2.size else 0.0)
    if devices is None:
        _learn_simple(entry, i, DEPRESS_ROW, factor, w, w0, e_row, e0)
    elif entry[10][C_SIMPLE] != 0.0:
        _learn_simple(entry, i, DEPRESS_ROW, factor, w, w0, e_row, e0)
    else:
        _learn(entry, i, DEPRESS_ROW, factor, step, w, w0, sd, sd0, e_row, e0, rng)
    _step_traces(pre, pre2, i, rule, rule[P_A_PRE], rule[P_NEAREST] != 0.0)


@njit(cache=True, error_model="numpy", _nrt=False)
def on_post(entry, j, step, w, w0, sd, sd0, e_row, e0, rng, devices):
    """Postsynaptic spike of column ``j``: potentiate down the column by the pre traces, then step the post traces."""
    rule, post, post2 = entry[1], entry[3], entry[5]
    factor = rule[P_POT_PAIR] + (rule[P_POT_TRIPLET] * post2[j] if post2.size else 0.0)
    if devices is None:
        _learn_simple(entry, j, POTENTIATE_COLUMN, factor, w, w0, e_row, e0)
    elif entry[10][C_SIMPLE] != 0.0:
        _learn_simple(entry, j, POTENTIATE_COLUMN, factor, w, w0, e_row, e0)
    else:
        _learn(entry, j, POTENTIATE_COLUMN, factor, step, w, w0, sd, sd0, e_row, e0, rng)
    _step_traces(post, post2, j, rule, rule[P_A_POST], rule[P_NEAREST] != 0.0)


@njit(cache=True, error_model="numpy")
def scale_columns(entry, factors, step, w, sd, e_row, rng):
    """Synaptic scaling: multiply every weight of column ``j`` by ``factors[j]`` (skipped where it is 1),
    written to the devices like any learning update."""
    for j in range(factors.size):
        if factors[j] != 1.0:
            _learn(entry, j, SCALE_COLUMN, factors[j], step, w, 0, sd, 0 if sd.size else -1, e_row, 0, rng)
