"""A row's single-pulse device updates, computed eight at a time in SIMD lanes.

Most updates of a learning row on a bidirectional card are one pulse on one device.  In the scalar
loop of :func:`kernels.plasticity._learn_line` each costs ~40 ns of branches and dependent
arithmetic (RRAM, in cache).  Here a chunk of ``LANES`` updates of a row (a depression's listed
columns, or a replay's log entries in column order) goes through three loops:

1. :func:`gather` loads what each update reads into the thread's scratch (its trace and factor, the
   pair's conductances, the pulsed device's write count, status and endurance), prefetching ahead;
2. :func:`compute` runs the physics of one pulse on all of them without a branch: the weight change
   and its pulse count, the first output of the update's keyed stream and the ziggurat's first try,
   the pulse step, write noise, window and levels, the read-outs, the read-noise deviation and the
   change of read energy.  It calls the same scalar cores (:mod:`kernels.device`,
   :mod:`kernels.rule`) in the same order as the scalar loop, so every number is the same to the
   bit; numba (LLVM) vectorises the loop (AVX-512 here: ~5 ns an update);
3. :func:`scatter` stores the updates done and lists for the scalar loop those it must do: several
   pulses, a device wearing out, a ziggurat try outside its rectangle (2.8 % of tries), a second
   update of one synapse within a replay's chunk.  Two pulses in the lanes as well (the stream's
   second output, a second step) ran no faster: the work added to every lane cost what the scalar
   loop saved.

A stuck or worn-out device takes its pulses here too: it only counts them.  Cards whose updates
need more than this (exact writes, stochastic rounding, soft bounds, unidirectional pairs,
reference columns, programming offsets, ageing devices, IR drop, per-device pulse parameters, PCM
read noise) keep the scalar loop (:func:`fits`).

Each thread has its own scratch (the entry's ``lanes``: float64 ``(2, N_F, LANES)`` and int64
``(2, N_I, LANES)``): replays run on both threads (:mod:`kernels.background`).
"""
import numpy as np
from numba import njit

from .device import NOISE_ADDITIVE, NOISE_GAUSSIAN, NOISE_NONE, OK, fresh_readout, pulse_step, quantise, \
    steady_noise_std
from .prefetch import prefetch_synapse
from .random import keyed_first, zig_try
from .rule import changes_nothing, pulse_count, pulsed_weight

LANES = 128  # updates per chunk: the chunk's scratch (15 KB) stays in the L1 cache
AHEAD = 8  # updates ahead whose devices the gather prefetches: 16 and 32 were slower (RRAM, 1000 rows)

# rows of the float scratch
F_TRACE, F_FACTOR, F_G, F_G_PARTNER, F_G_NEW, F_W, F_SD, F_ENERGY = range(8)
N_F = 8
# rows of the int scratch
I_K, I_CODE, I_COUNT, I_STATUS, I_LIMIT, I_FLAG, I_SCALAR = range(7)
N_I = 7

NO_STREAM = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))  # pulse_count's stream, unused when rounding

# what compute decided for an update
NOTHING = 0  # no pulse
STORED = 1  # done here
SCALAR = 2  # for the scalar loop


def scratch():
    """One crossbar's lane scratch, both threads'."""
    return np.zeros((2, N_F, LANES)), np.zeros((2, N_I, LANES), np.int64)


@njit(cache=True, error_model="numpy", inline="always")
def fits(exact, stochastic, soft, set_only, reference, has_off, timed, has_ir, per_device_pulses, noise_model):
    """Whether a crossbar's updates can take the lanes: see the module's docstring."""
    return not (exact or stochastic or soft or set_only or reference or has_off or timed or has_ir
                or per_device_pulses) and (noise_model == NOISE_NONE or noise_model == NOISE_GAUSSIAN
                                           or noise_model == NOISE_ADDITIVE)


@njit(cache=True, error_model="numpy", _nrt=False)
def gather(c0, c1, length, line, n_post, n, columns, post, factor, step, update, log, g, count, status, limit, w, w0, sd,
           sd0, lf, li):
    """Load updates ``c0..c1-1`` (of ``length``) of row ``line`` into the scratch ``lf``/``li``: a depression's
    listed ``columns`` (``log`` None; all with ``factor`` at ``step``) or a replay's entries (``log``, as in
    :func:`kernels.plasticity._learn_line`).  An entry of the replay's column before it goes to the
    scalar loop."""
    for q in range(c0, c1):
        s = q - c0
        if log is None:
            j = columns[2 + q]
            trace, f, st, again = post[j], factor, step, False
        else:
            order, steps, posts, factors, xs = log[0], log[1], log[2], log[3], log[4]
            e = order[q]
            j = posts[e]
            trace, f, st = xs[e], factors[e], steps[e]
            again = q > c0 and posts[order[q - 1]] == j
        if q + AHEAD < length:
            ahead = line * n_post + (columns[2 + AHEAD + q] if log is None else log[2][log[0][q + AHEAD]])
            prefetch_synapse(ahead, n + ahead, g, count, status, limit, w, w0, sd, sd0, False)
        k = line * n_post + j
        lf[F_TRACE, s], lf[F_FACTOR, s], lf[F_G, s], lf[F_G_PARTNER, s] = trace, f, g[k], g[n + k]
        li[I_K, s], li[I_CODE, s], li[I_COUNT, s], li[I_STATUS, s] = k, 3 * st + update, count[k], status[k]
        li[I_LIMIT, s] = limit[k] if limit.size > 1 else limit[0]
        li[I_FLAG, s] = again


@njit(cache=True, error_model="numpy", _nrt=False)
def compute(m, key, update, below_half, w_min, w_max, span, p_ltp, p_ltd, lo, hi, sat_up, k_up, lin_up, sat_dn, k_dn,
            lin_dn, c2c, levels, scale, e_scale, noise_model, noise_sigma, g_range, lf, li):
    """One pulse on each of the ``m`` gathered updates, and its flag (``NOTHING``, ``STORED``, ``SCALAR``):
    the scalar loop's operations, one lane per update (see the module's docstring)."""
    trace_, factor_, g_, partner_ = lf[F_TRACE], lf[F_FACTOR], lf[F_G], lf[F_G_PARTNER]
    g_new_, w_, sd_, energy_ = lf[F_G_NEW], lf[F_W], lf[F_SD], lf[F_ENERGY]
    k_, code_, count_, status_, limit_, flag_ = li[I_K], li[I_CODE], li[I_COUNT], li[I_STATUS], li[I_LIMIT], li[I_FLAG]
    for s in range(m):
        trace, f, gk, gm = trace_[s], factor_[s], g_[s], partner_[s]
        w_old = ((gk + 0.0) - (gm + 0.0)) / span
        w_new = pulsed_weight(w_old, trace * f, update, False, w_min, w_max)
        dw = w_new - w_old
        up = dw > 0.0
        per_window = p_ltp if up else p_ltd
        n, _ = pulse_count(dw, per_window, False, NO_STREAM)  # to the nearest whole pulse: no draw
        nothing = changes_nothing(trace, f, below_half) or n == 0  # n == 0 also where w_new == w_old
        cnt = count_[s]
        healthy = status_[s] == OK
        z, _, _, accepted = zig_try(keyed_first(key, k_[s], code_[s], cnt))
        x = pulse_step(gk, up, lo, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, False)
        if c2c > 0.0:
            x += c2c * (hi - lo) * z
        g_new = quantise(min(max(x, lo), hi), lo, hi, levels) if healthy else gk
        gp0, gm0, gp = fresh_readout(gk + 0.0), fresh_readout(gm + 0.0), fresh_readout(g_new + 0.0)
        sp = steady_noise_std(gp, noise_model, noise_sigma, g_range)
        sm = steady_noise_std(gm0, noise_model, noise_sigma, g_range)
        scalar = flag_[s] != 0 or (healthy and (n != 1 or cnt + 1 > limit_[s] or (c2c > 0.0 and not accepted)))
        flag_[s] = NOTHING if nothing else (SCALAR if scalar else STORED)
        g_new_[s] = g_new
        count_[s] = cnt + n
        w_[s] = scale * (gp - gm0)
        sd_[s] = scale * np.sqrt(sp * sp + sm * sm)
        energy_[s] = 0.0 if nothing or scalar else e_scale * ((gp + gm0) - gp0 - gm0)


@njit(cache=True, error_model="numpy", _nrt=False)
def scatter(m, c0, log, g, count, w, w0, sd, sd0, lf, li):
    """Store the ``m`` updates flagged ``STORED`` (a replay's energy changes into its log), list those
    flagged ``SCALAR`` (their positions in the row's sequence) in ``li[I_SCALAR]``; their number."""
    listed = 0
    for s in range(m):
        flag = li[I_FLAG, s]
        if flag == STORED:
            k = li[I_K, s]
            g[k], count[k], w[w0 + k] = lf[F_G_NEW, s], li[I_COUNT, s], lf[F_W, s]
            if sd0 >= 0:
                sd[sd0 + k] = lf[F_SD, s]
            if log is not None:
                log[5][log[0][c0 + s]] = lf[F_ENERGY, s]
        elif flag == SCALAR:
            li[I_SCALAR, listed] = c0 + s
            listed += 1
    return listed
