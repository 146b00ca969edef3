"""Potentiation deferred to each row's next read; weight-only STDP on ideal crossbars.

Crossbars that write their devices use the same log, replayed on the devices (see the end of
this module).

An ideal device is its conductance, and a synapse of ideal devices is its weight: after any
write the pair is ``G+ = G_min + max(w, 0) span``, ``G- = G_min + max(-w, 0) span`` (or
``G+ = G_ref + w span`` against a row reference), and nothing wears, drifts or fails.  While an
ideal crossbar learns, the kernels therefore keep per synapse only the current jump the engine
reads (4 bytes in float32) and a count of writes (4 bytes), against Brian2's 8-byte weight.
The conductances and device write counts are rebuilt from them when Python next looks at the
devices (:meth:`neuroimc.Crossbar._sync_devices`).

A post spike would potentiate a column: in row-major weights, one cache line per synapse.  It
is logged instead (step, column, factor), and each row applies the entries it has not yet seen,
in order, just before it is next read (:func:`catch_up`), or when the log is full or closed at the
end of a run (:func:`flush`).
Between two pre spikes of row ``i`` its pre trace only decays, so the trace at each logged step
is replayed with the same multiplications and flushes as :func:`plasticity.decay_traces`, bit for
bit, and each synapse takes its changes in the order the eager rule applies them: where the
chunks end does not change the weights.  The work is that of the column walks, done on a row
that is in cache.

The state of all plastic crossbars lives in flat tables (:func:`pack`), unpacked once per chunk:
a spike must not touch the crossbar's entry tuple, whose ~30 arrays are reference-counted each
time it is bound (about 0.4 us a spike).  Crossbar ``p`` (its index among the plastic ones) owns
row ``p`` of ``rules`` and ``consts`` (see :mod:`kernels.entry`) and the slices of ``f`` (float64),
``n`` (int64) and ``c`` (int32) that row ``p`` of ``off`` points to, by the ``O_*`` columns: its
traces (views of which the crossbar and its entry hold), each row's pre trace ``trace`` at step
``trace_step`` (advanced as the log is replayed), each row's ``cursor`` (first log entry not yet
applied), the log (``log_step``, ``log_post``, ``log_factor``, ``log_len``), the write counts since
the last rebuild (``writes``: the positive devices, then the negative ones where weights can be
negative) and ``scratch``, one row's counts during a catch-up (zero in between); for crossbars that
write their devices, the scratch of a replay (``replay_x``, ``replay_energy``, ``replay_next``,
``replay_head``, ``replay_order``, ``replay_columns``: :func:`catch_up_devices`); every scratch
twice, one per thread (the engine's and the background catch-ups' of :mod:`kernels.background`),
whose row locks, dirty flags and pending depressions are ``lock``; for weight-only crossbars, each
row's read energy less its weights' part (``e_base``, :func:`settle`); for crossbars that write their
devices with a pair rule, the depression log (``dep_col``, ``dep_x``, its end ``dep_len``, and
``dep_cur``: the step listed last, its list's start and length, and the end of the half being
filled; :func:`depress_later`).
"""
import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from ..learning import (N_RULE, P_A_POST, P_A_PRE, P_DECAY_POST, P_DECAY_POST2, P_DECAY_PRE, P_DECAY_PRE2, P_DEP_PAIR,
                        P_DEP_TRIPLET, P_FLUSH_POST, P_FLUSH_PRE, P_NEAREST, P_POT_PAIR, P_POT_TRIPLET, P_SOFT, P_W_MAX,
                        P_W_MIN)
from .atomic import store_release
from .device import EXACT, S_MODEL
from .entry import C_E_SCALE, C_LAZY, C_REFERENCE, C_SCALE, C_SPAN, DEVICES, N_CONSTS, WEIGHT_ONLY
from .plasticity import _learn_line, decay_to
from .rule import (DEPRESS_ROW, POTENTIATE_COLUMN, REPLAY_ROW, SCALE_COLUMN, changes_nothing, half_pulse,
                   list_changing, new_weight)

LOG_MIN = 1 << 14  # log entries at least, and per post neuron: a full log makes every row catch up
LOG_PER_NEURON = 64

# columns of ``off``: where a crossbar's arrays start in f, n and c, and its sizes
(O_PRE, O_POST, O_PRE2, O_POST2, O_TRACE, O_FACTOR, O_STEP, O_CURSOR, O_LOG_STEP, O_LOG_POST, O_LOG_LEN, O_OPEN,
 O_WRITES, O_SCRATCH, O_N_PRE, O_N_POST, O_N_PRE2, O_N_POST2, O_CAP, O_ROWS, O_XB, O_REPLAY_X, O_REPLAY_ENERGY,
 O_REPLAY_NEXT, O_REPLAY_HEAD, O_REPLAY_ORDER, O_LOCK, O_E_BASE, O_REPLAY_COLUMNS, O_DEP_CAP, O_DEP_COL, O_DEP_X,
 O_DEP_LEN, O_DEP_CUR) = range(34)
N_OFF = 34
# int64 words per row lock (a cache line each): the row's lock, its dirty flag, then its pending depression (the
# step, and where its listed columns start and how many there are in the depression log: depress_later)
LOCK_STRIDE = 8
L_DIRTY, L_DEP_STEP, L_DEP_START, L_DEP_LEN = 1, 2, 3, 4
DEP_PER_NEURON = 256  # depression log entries per post neuron, in two halves filled in turn (next_depression_half)
# words of a crossbar's dep_cur: the step listed last, where its list starts and how long it is, the end of the half
# being filled
D_STEP, D_START, D_LEN, D_END = 0, 1, 2, 3
_TRACES = (("_pre_trace", O_PRE, O_N_PRE), ("_post_trace", O_POST, O_N_POST), ("_pre_trace2", O_PRE2, O_N_PRE2),
           ("_post_trace2", O_POST2, O_N_POST2))


def pack(crossbars, indices, dt):
    """The flat tables of the plastic ``crossbars`` (``indices``: theirs in the synapse tables), their
    rules tabulated at ``dt``: ``(rules, consts, f, n, c, off)``.

    The crossbars' traces and write counts become views into them (their values copied), so the
    entries, the crossbars and the kernels share one state.  ``consts`` is left for the caller.
    """
    off = np.zeros((len(crossbars), N_OFF), np.int64)
    sizes = [0, 0, 0]  # of f, n, c
    heads = []  # the replays' lists per column, all empty (-1) at rest
    for p, xb in enumerate(crossbars):
        n_pre, n_post = xb.shape
        o = off[p]
        o[O_XB], o[O_N_PRE], o[O_N_POST] = indices[p], n_pre, n_post
        o[O_N_PRE2], o[O_N_POST2] = xb._pre_trace2.size, xb._post_trace2.size
        o[O_CAP] = max(LOG_MIN, LOG_PER_NEURON * n_post)
        o[O_ROWS] = xb._writes.shape[0]
        simple = xb._simple()
        # scratch per thread (the engine's, 0, and the background catch-ups', 1: kernels.background); only
        # crossbars that write devices replay (catch_up_devices), only weight-only ones settle their energy
        replay = 0 if simple else 2 * _replay_stride.py_func(o)  # entries of replay scratch, both threads'
        # the depression log of crossbars that write their devices with a pair rule (a triplet rule's factor
        # differs from row to row: those depress at once)
        o[O_DEP_CAP] = 0 if simple or o[O_N_PRE2] else 2 * max(LOG_MIN // 2, DEP_PER_NEURON // 2 * n_post, n_post)
        layout = ((0, O_PRE, n_pre), (0, O_POST, n_post), (0, O_PRE2, o[O_N_PRE2]), (0, O_POST2, o[O_N_POST2]),
                  (0, O_TRACE, n_pre), (0, O_FACTOR, o[O_CAP]), (1, O_STEP, n_pre), (1, O_CURSOR, n_pre),
                  (1, O_LOG_STEP, o[O_CAP]), (1, O_LOG_POST, o[O_CAP]), (1, O_LOG_LEN, 1), (1, O_OPEN, 1),
                  (2, O_WRITES, o[O_ROWS] * n_pre * n_post), (2, O_SCRATCH, 2 * o[O_ROWS] * n_post),
                  (0, O_REPLAY_X, replay), (0, O_REPLAY_ENERGY, replay), (1, O_REPLAY_NEXT, replay),
                  (1, O_REPLAY_HEAD, 2 * n_post if replay else 0), (1, O_REPLAY_ORDER, replay),
                  (1, O_LOCK, LOCK_STRIDE * n_pre), (0, O_E_BASE, n_pre if simple else 0),
                  (1, O_REPLAY_COLUMNS, 2 * _words.py_func(n_post) if replay else 0), (1, O_DEP_COL, o[O_DEP_CAP]),
                  (0, O_DEP_X, o[O_DEP_CAP]), (1, O_DEP_LEN, 1), (1, O_DEP_CUR, D_END + 1))
        for table, col, size in layout:
            o[col] = sizes[table]
            sizes[table] += size
        heads.append((o[O_REPLAY_HEAD], 2 * n_post if replay else 0))
    f, n, c = np.zeros(sizes[0]), np.zeros(sizes[1], np.int64), np.zeros(sizes[2], np.int32)
    for p, xb in enumerate(crossbars):
        o = off[p]
        for attr, col, size_col in _TRACES:
            view = f[o[col]:o[col] + o[size_col]]
            view[...] = getattr(xb, attr)
            setattr(xb, attr, view)
        writes = c[o[O_WRITES]:o[O_WRITES] + xb._writes.size].reshape(xb._writes.shape)
        writes[...] = xb._writes
        xb._writes = writes
    for start, size in heads:
        n[start:start + size] = -1
    for o in off:
        _empty_depression_log.py_func(o, n)
    rules = np.array([xb.plasticity.table(dt) for xb in crossbars]).reshape(len(crossbars), N_RULE)
    return rules, np.zeros((len(crossbars), N_CONSTS)), f, n, c, off


@njit(cache=True, error_model="numpy", inline="always")
def _decay(trace, a, flush_below):
    for i in range(trace.size):
        x = trace[i] * a
        trace[i] = x if abs(x) >= flush_below else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def decay_traces(rules, off, f):
    """One step of every plastic crossbar's traces (weight-only or not): decay, and zero below the flush
    threshold (:mod:`neuroimc.learning`)."""
    for p in range(off.shape[0]):
        o, rule = off[p], rules[p]
        _decay(f[o[O_PRE]:o[O_PRE] + o[O_N_PRE]], rule[P_DECAY_PRE], rule[P_FLUSH_PRE])
        _decay(f[o[O_POST]:o[O_POST] + o[O_N_POST]], rule[P_DECAY_POST], rule[P_FLUSH_POST])
        _decay(f[o[O_PRE2]:o[O_PRE2] + o[O_N_PRE2]], rule[P_DECAY_PRE2], rule[P_FLUSH_PRE])
        _decay(f[o[O_POST2]:o[O_POST2] + o[O_N_POST2]], rule[P_DECAY_POST2], rule[P_FLUSH_POST])


@njit(cache=True, error_model="numpy", inline="always")
def start(step0, consts, off, f, n, w, xb_w0, e_row, xb_e0):
    """A chunk begins at ``step0``.  A log that is not open opens: every row's pre trace is known at
    ``step0 - 1``, and the log is empty.  An open one (the run goes on) is kept.

    A weight-only crossbar's rows also remember the part of their read energy that is not their
    weights' (:func:`settle`)."""
    for p in range(off.shape[0]):
        o = off[p]
        if consts[p, C_LAZY] == 0.0 or n[o[O_OPEN]] != 0:
            continue
        for i in range(o[O_N_PRE]):  # loops, not slice assignments: those take a second each to compile
            f[o[O_TRACE] + i] = f[o[O_PRE] + i]
            n[o[O_STEP] + i] = step0 - 1
            n[o[O_CURSOR] + i] = 0
        n[o[O_LOG_LEN]] = 0
        n[o[O_OPEN]] = 1
        if consts[p, C_LAZY] == WEIGHT_ONLY:
            x, m, cs = o[O_XB], o[O_N_POST], consts[p]
            for i in range(o[O_N_PRE]):
                row = w[xb_w0[x] + i * m:xb_w0[x] + (i + 1) * m]
                e = xb_e0[x] + i
                f[o[O_E_BASE] + i] = e_row[e] - cs[C_E_SCALE] / cs[C_SCALE] * _row_sum(row, cs[C_REFERENCE] != 0.0)
                n[o[O_LOCK] + LOCK_STRIDE * i + L_DIRTY] = 0


@njit(cache=True, error_model="numpy", inline="always")
def finish(close, xb_w0, w, e_row, xb_e0, rules, consts, off, f, n, c):
    """A chunk ends.  If ``close`` (the run ends, or Python will look at the weights), every weight-only
    crossbar applies its whole log, so that every weight is up to date, and closes it.  Otherwise the
    log stays open into the next chunk: closing it would make every row catch up (a sixth of the
    run time at 1000 x 1000 with chunks of 2000 steps)."""
    if not close:
        return
    for p in range(off.shape[0]):
        if consts[p, C_LAZY] == WEIGHT_ONLY and n[off[p, O_OPEN]] != 0:
            x = off[p, O_XB]
            flush(p, w, xb_w0[x], e_row, xb_e0[x], rules, consts, off, f, n, c)
            n[off[p, O_OPEN]] = 0


@njit(cache=True, error_model="numpy", inline="always")
def _step_trace(f, fast, slow, k, inc, nearest):
    """A spike of neuron ``k`` steps its fast trace at ``f[fast + k]`` (and slow one, ``slow >= 0``)."""
    if nearest:
        f[fast + k] = inc
        if slow >= 0:
            f[slow + k] = inc
    else:
        f[fast + k] += inc
        if slow >= 0:
            f[slow + k] += inc


@njit(cache=True, error_model="numpy", _nrt=False)
def pre_spike(p, i, step, w, w0, e_row, e0, rules, consts, off, f, n, c):
    """Pre spike on row ``i`` (after its read): step the pre traces, then every synapse of the row takes
    ``factor * post[j]``, and the row remembers its pre trace at ``step``."""
    o, rule, cs = off[p], rules[p], consts[p]
    slow = o[O_PRE2] if o[O_N_PRE2] else -1
    factor = rule[P_DEP_PAIR] + (rule[P_DEP_TRIPLET] * f[slow + i] if slow >= 0 else 0.0)
    _step_trace(f, o[O_PRE], slow, i, rule[P_A_PRE], rule[P_NEAREST] != 0.0)
    f[o[O_TRACE] + i] = f[o[O_PRE] + i]
    n[o[O_STEP] + i] = step
    n_post = o[O_N_POST]
    k = cs[C_SCALE] * cs[C_SPAN]  # amperes of jump per unit of normalised weight
    de = _depress(i, w[w0:w0 + o[O_N_PRE] * n_post], f[o[O_POST]:o[O_POST] + n_post], factor, rule[P_SOFT] != 0.0,
                  rule[P_W_MIN] * k, rule[P_W_MAX] * k, k, c[o[O_WRITES]:o[O_WRITES] + o[O_ROWS] * o[O_N_PRE] * n_post],
                  o[O_ROWS] == 2, cs[C_REFERENCE] != 0.0)
    e_row[e0 + i] += cs[C_E_SCALE] / cs[C_SCALE] * de  # joules per read, per ampere of jump


# reassociation lets the row's sum of changes vectorise (in partial sums); nothing else in the loop reassociates
@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz"}, _nrt=False)
def _depress(i, w, post, factor, soft, lo, hi, k, writes, two_sided, reference):
    """Row ``i`` of the weights ``w`` takes ``factor * post[j]``, branch-free so that it vectorises;
    returns the change of the row's summed conductance, in amperes of jump."""
    m = post.size
    row = w[i * m:(i + 1) * m]
    wp = writes[i * m:(i + 1) * m]
    wm = writes[w.size + i * m:w.size + (i + 1) * m] if two_sided else wp
    unit = 1.0 if soft else k  # an additive change in amperes; soft bounds scale by the distance to them
    de = 0.0
    for q in range(m):
        tr = post[q]
        wo = row[q]
        wn = new_weight(wo, factor * tr * unit, DEPRESS_ROW, soft, lo, hi)
        row[q] = wn if tr != 0.0 else wo  # no learning signal, no write
        wn = row[q]  # as stored
        # the writes of a canonical pair (against a row reference only G+ is written) and the change of its
        # summed conductance (G+ + G- = 2 G_min + |G+ - G-|); written out in each loop, as in catch_up and
        # scale_columns: scalar helpers for it slowed the row loops by 12 %
        if reference:
            wp[q] += wn != wo
            de += wn - wo
        else:
            wp[q] += max(wn, 0.0) != max(wo, 0.0)
            if two_sided:
                wm[q] += min(wn, 0.0) != min(wo, 0.0)
            de += abs(wn) - abs(wo)
    return de


@njit(cache=True, error_model="numpy", _nrt=False)
def post_spike(p, j, step, rules, off, f, n):
    """Post spike of column ``j``: log the potentiation (``factor * pre[i]`` for every row ``i``), then step
    the post traces."""
    o, rule = off[p], rules[p]
    slow = o[O_POST2] if o[O_N_POST2] else -1
    factor = rule[P_POT_PAIR] + (rule[P_POT_TRIPLET] * f[slow + j] if slow >= 0 else 0.0)
    m = n[o[O_LOG_LEN]]  # < O_CAP: the engine empties a full log first (log_full)
    n[o[O_LOG_STEP] + m] = step
    n[o[O_LOG_POST] + m] = j
    f[o[O_FACTOR] + m] = factor
    store_release(n, o[O_LOG_LEN], m + 1)  # the entry is written before a background catch-up can see it
    _step_trace(f, o[O_POST], slow, j, rule[P_A_POST], rule[P_NEAREST] != 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def _take_unseen(o, i, last, f, n):
    """Row ``i``'s log entries not yet applied, ``first`` to ``last``, now marked applied, and its pre trace."""
    first = n[o[O_CURSOR] + i]
    if first < last:
        n[o[O_CURSOR] + i] = last
    return first, last, f[o[O_TRACE] + i]


@njit(cache=True, error_model="numpy", inline="always")
def log_len(p, off, n):
    return n[off[p, O_LOG_LEN]]


@njit(cache=True, error_model="numpy", inline="always")
def catch_up_row(p, i, w, w0, e_row, e0, rules, consts, off, f, n, c):
    """Row ``i`` of weight-only crossbar ``p`` applies the logged potentiations it has not seen (:func:`catch_up`)
    and its read energy is brought up to date (:func:`settle`)."""
    o = off[p]
    # thread 0 (the engine's scratch), not a literal: that would compile a copy of catch_up of its own
    applied = catch_up(p, i, n[o[O_LOG_LEN]], np.int64(0), w, w0, rules, consts, off, f, n, c)
    settle(p, i, applied, w, w0, e_row, e0, consts, off, f, n)


@njit(cache=True, error_model="numpy", _nrt=False)
def catch_up(p, i, last, thread, w, w0, rules, consts, off, f, n, c):
    """Apply to row ``i`` the logged potentiations before ``last`` that it has not seen, in order; the
    number applied (0 when there were none, or the row's pre trace is 0 and changes nothing).

    The entries hit the row at random; the writes are counted in a scratch row of counts (the
    ``thread``'s own), which stays in L1, then added to the counts in order.  The read energy is left
    to :func:`settle`.
    """
    o = off[p]
    first, last, x = _take_unseen(o, i, last, f, n)
    if first >= last or x == 0.0:  # nothing to apply, or a pre trace that changes nothing
        return 0
    rule, cs = rules[p], consts[p]
    m = o[O_N_POST]
    row = w[w0 + i * m:w0 + (i + 1) * m]
    reference = cs[C_REFERENCE] != 0.0
    k = cs[C_SCALE] * cs[C_SPAN]
    soft, lo, hi = rule[P_SOFT] != 0.0, rule[P_W_MIN] * k, rule[P_W_MAX] * k
    unit = 1.0 if soft else k
    decay, flush_below = rule[P_DECAY_PRE], rule[P_FLUSH_PRE]
    two_sided = o[O_ROWS] == 2
    scratch = o[O_SCRATCH] + thread * o[O_ROWS] * m
    sp = c[scratch:scratch + m]
    sm = c[scratch + m:scratch + 2 * m] if two_sided else sp
    log_step = n[o[O_LOG_STEP] + first:o[O_LOG_STEP] + last]
    log_post = n[o[O_LOG_POST] + first:o[O_LOG_POST] + last]
    log_factor = f[o[O_FACTOR] + first:o[O_FACTOR] + last]
    s = n[o[O_STEP] + i]
    for e in range(log_step.size):
        x, s = decay_to(x, s, log_step[e], decay, flush_below)
        if x == 0.0:  # flushed: no later entry changes the row
            break
        j = log_post[e]
        wo = row[j]
        row[j] = new_weight(wo, log_factor[e] * x * unit, POTENTIATE_COLUMN, soft, lo, hi)
        wn = row[j]
        if reference:  # the writes, as in _depress
            sp[j] += wn != wo
        else:
            sp[j] += max(wn, 0.0) != max(wo, 0.0)
            if two_sided:
                sm[j] += min(wn, 0.0) != min(wo, 0.0)
    f[o[O_TRACE] + i], n[o[O_STEP] + i] = x, s
    a = o[O_WRITES] + i * m
    _add_counts(c[a:a + m], sp)
    if two_sided:
        a += o[O_N_PRE] * m
        _add_counts(c[a:a + m], sm)
    return last - first


@njit(cache=True, error_model="numpy", inline="always")
def settle(p, i, applied, w, w0, e_row, e0, consts, off, f, n):
    """Row ``i``'s read energy after its catch-ups: its base at the log's opening (:func:`start`) plus its
    weights' part, when entries were applied (``applied``) or the row is marked dirty (by
    :mod:`kernels.background`).  Recomputed, not accumulated, so that it does not depend on how the
    entries were split between catch-ups: the value is the same whichever thread applied them."""
    o = off[p]
    dirty = o[O_LOCK] + LOCK_STRIDE * i + L_DIRTY
    if applied == 0 and n[dirty] == 0:
        return
    n[dirty] = 0
    cs = consts[p]
    m = o[O_N_POST]
    row = w[w0 + i * m:w0 + (i + 1) * m]
    e_row[e0 + i] = f[o[O_E_BASE] + i] + cs[C_E_SCALE] / cs[C_SCALE] * _row_sum(row, cs[C_REFERENCE] != 0.0)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _row_sum(row, reference):
    """What the row's read energy is proportional to, less a constant: ``sum(w)`` against a reference
    column, ``sum(|w|)`` for canonical differential pairs (``G+ + G- = 2 G_min + |G+ - G-|``)."""
    total = 0.0
    if reference:
        for q in range(row.size):
            total += row[q]
    else:
        for q in range(row.size):
            total += abs(row[q])
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _add_counts(counts, scratch):
    for q in range(counts.size):
        counts[q] += scratch[q]
        scratch[q] = 0


@njit(cache=True, error_model="numpy")
def flush(p, w, w0, e_row, e0, rules, consts, off, f, n, c):
    """Every row of crossbar ``p`` applies the whole log, which is then emptied."""
    o = off[p]
    for i in range(o[O_N_PRE]):
        catch_up_row(p, i, w, w0, e_row, e0, rules, consts, off, f, n, c)
        n[o[O_CURSOR] + i] = 0
    n[o[O_LOG_LEN]] = 0


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def scale_columns(w, writes, factors, lo, hi, reference, e_row, e_per_amp):
    """Synaptic scaling of a weight-only crossbar: column ``j`` of the current jumps ``w`` (``(n_pre, n_post)``)
    becomes ``factors[j] * w`` within ``[lo, hi]`` (amperes), the writes counted in ``writes`` and each row's
    read energy changed by ``e_per_amp`` joules per ampere of summed jump (row by row: it vectorises)."""
    n_pre, m = w.shape
    two_sided = writes.shape[0] == 2
    for i in range(n_pre):
        row = w[i]
        wp = writes[0, i * m:(i + 1) * m]
        wm = writes[1, i * m:(i + 1) * m] if two_sided else wp
        de = 0.0
        for j in range(m):
            wo = row[j]
            wn = new_weight(wo, factors[j], SCALE_COLUMN, False, lo, hi)
            row[j] = wn if factors[j] != 1.0 else wo
            wn = row[j]
            if reference:  # the writes and the change of summed conductance, as in _depress
                wp[j] += wn != wo
                de += wn - wo
            else:
                wp[j] += max(wn, 0.0) != max(wo, 0.0)
                if two_sided:
                    wm[j] += min(wn, 0.0) != min(wo, 0.0)
                de += abs(wn) - abs(wo)
        e_row[i] += e_per_amp * de


# ---------------------------------------------------------------- crossbars that write their devices
# Their potentiation is logged like that of weight-only crossbars (post_spike) and replayed row by
# row, on the devices (plasticity._learn_line, REPLAY_ROW), where the column walk took one cache
# line per device read or written.  Every update draws its write noise from a stream of its own
# (random.keyed_state), so the devices end the same whichever row replays first: bit for bit the
# column walks' result.
#
# A pair rule's depression is deferred too (depress_later): a pre spike lists, once per step, the
# columns whose post trace asks for at least half a pulse, with those traces, in a depression log,
# and the row remembers that list.  Nothing else changes the row's devices before its next catch-up,
# which applies the depression first, then the potentiation logged since (catch_up_devices): the
# order of the row walk at the spike.  Whichever thread catches the row up then does both, one
# after the other on one core: with the depression done at the spike on the network's thread and the
# replays on the other, each found the row's devices in the other core's cache.


@njit(cache=True, error_model="numpy", inline="always")
def rebase(p, i, step, off, f, n):
    """Row ``i`` spiked at ``step`` (its pre traces already stepped): replays start from its trace now."""
    o = off[p]
    f[o[O_TRACE] + i] = f[o[O_PRE] + i]
    n[o[O_STEP] + i] = step


@njit(cache=True, error_model="numpy", inline="always")
def log_full(p, off, n):
    o = off[p]
    return n[o[O_LOG_LEN]] == o[O_CAP]


@njit(cache=True, error_model="numpy", _nrt=False)
def catch_up_devices(entry, p, i, last, thread, w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n):
    """Row ``i`` of a crossbar that writes its devices applies its pending depression (:func:`depress_later`), then
    the logged potentiations before ``last`` that it has not seen; the number of updates applied (listed columns
    and log entries; ``thread`` picks the scratch, as in :func:`catch_up`).

    The row's pre trace is replayed first, in time order; the entries are then applied column by
    column, each column's in time order (the only order that matters, as every update has its own
    noise stream).  The row's devices are then visited in ascending order, which the hardware
    prefetcher follows: at random, cache misses took a third of the replay (RRAM, 1000 x 1000).
    The changes of the row's read energy are added up in time order, as the column walks add them: the
    same additions in the same order, however the entries are split between catch-ups.
    """
    o = off[p]
    done = _depress_pending(entry, p, i, thread, w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n)
    first, last, x = _take_unseen(o, i, last, f, n)
    if first >= last or x == 0.0:  # nothing to apply, or a pre trace that changes nothing
        return done
    rule = rules[p]
    steps = n[o[O_LOG_STEP] + first:o[O_LOG_STEP] + last]
    posts = n[o[O_LOG_POST] + first:o[O_LOG_POST] + last]
    words = _words(o[O_N_POST])
    a, h, b = _replay_stride(o) * thread, o[O_N_POST] * thread, words * thread  # the thread's scratch
    xs = f[o[O_REPLAY_X] + a:o[O_REPLAY_X] + a + steps.size]
    energy = f[o[O_REPLAY_ENERGY] + a:o[O_REPLAY_ENERGY] + a + steps.size]
    factors = f[o[O_FACTOR] + first:o[O_FACTOR] + last]
    s = n[o[O_STEP] + i]  # the step of the trace x
    exact = entry[8][S_MODEL] == EXACT
    # with a factor the same for all entries, the trace only decays: once an entry asks for less than half a
    # pulse, so do the later ones (the row's trace is kept at that step, for its next catch-up)
    cut = half_pulse(rule, entry[10], exact) if rule[P_POT_TRIPLET] == 0.0 else 0.0
    live = 0
    for e in range(steps.size):
        x, s = decay_to(x, s, steps[e], rule[P_DECAY_PRE], rule[P_FLUSH_PRE])
        if changes_nothing(x, factors[e], cut):  # flushed, or too small: no later entry changes the row
            break
        xs[e] = x
        energy[e] = 0.0
        live += 1
    order = _by_column(posts[:live], n[o[O_REPLAY_HEAD] + h:o[O_REPLAY_HEAD] + h + o[O_N_POST]],
                       n[o[O_REPLAY_NEXT] + a:o[O_REPLAY_NEXT] + a + live],
                       n[o[O_REPLAY_ORDER] + a:o[O_REPLAY_ORDER] + a + live],
                       n[o[O_REPLAY_COLUMNS] + b:o[O_REPLAY_COLUMNS] + b + words])
    _apply(entry, i, REPLAY_ROW, 0.0, s, w, w0, sd, sd0, e_row, e0, rng, (order, steps, posts, factors, xs,
                                                                        energy[:live]), thread)
    f[o[O_TRACE] + i], n[o[O_STEP] + i] = x, s
    return done + last - first


@njit(cache=True, error_model="numpy", inline="always")
def _apply(entry, i, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, log, thread):
    """Row ``i`` applies the updates of ``log`` (:func:`plasticity._learn_line`: ``REPLAY_ROW``, or a deferred
    ``DEPRESS_ROW``), then adds their changes of its read energy, ``log[5]``, one by one in the log's order."""
    if entry[8][S_MODEL] == EXACT:  # a literal flag: each copy keeps only the code its case runs
        _learn_line(entry, i, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, True, log, thread)
    else:
        _learn_line(entry, i, mode, factor, step, w, w0, sd, sd0, e_row, e0, rng, False, log, thread)
    energy = log[5]
    for e in range(energy.size):
        e_row[e0 + i] += energy[e]


@njit(cache=True, error_model="numpy", inline="always")
def _replay_stride(o):
    """Entries of one thread's replay scratch: a whole log, or a depression's listed columns."""
    return max(o[O_CAP], o[O_N_POST])


@njit(cache=True, error_model="numpy", inline="always")
def _words(n_post):
    """64-bit words of a bitmap of ``n_post`` columns."""
    return (n_post + 63) // 64


@njit(cache=True, error_model="numpy", inline="always")
def _by_column(posts, head, nxt, order, columns):
    """The entries ``0..posts.size-1`` ordered by column ``posts[e]``, stably: a list per column (``head``, all
    -1 before and after, and ``nxt``), prepended from the last entry, then read out column by column in
    ascending order, the columns present found in the bitmap ``columns`` (all 0 before and after): a replay
    of a few entries does not walk every column's head (a third of a replay at 1000 columns)."""
    for e in range(posts.size - 1, -1, -1):
        j = posts[e]
        nxt[e] = head[j]
        head[j] = e
        columns[j >> 6] |= np.int64(1) << (j & 63)
    c = 0
    for k in range(columns.size):
        word = columns[k]
        columns[k] = 0
        while word != 0:
            j = k * 64 + trailing_zeros(word)
            word &= word - 1
            e = head[j]
            head[j] = -1
            while e >= 0:
                order[c] = e
                c += 1
                e = nxt[e]
    return order


@njit(cache=True, error_model="numpy", _nrt=False)
def flush_devices(entry, p, w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n):
    """Every row of crossbar ``p`` (which writes its devices) applies the whole log and its pending depression; both
    logs are then emptied."""
    o = off[p]
    for i in range(o[O_N_PRE]):
        catch_up_devices(entry, p, i, n[o[O_LOG_LEN]], np.int64(0), w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n)
        n[o[O_CURSOR] + i] = 0
    n[o[O_LOG_LEN]] = 0
    _empty_depression_log(o, n)


@njit(cache=True, error_model="numpy", inline="always")
def _empty_depression_log(o, n):
    """The depression log of the crossbar of ``off`` row ``o`` holds no list: no step listed, its first half
    to fill."""
    n[o[O_DEP_LEN]] = 0
    n[o[O_DEP_CUR] + D_STEP] = -1
    n[o[O_DEP_CUR] + D_END] = o[O_DEP_CAP] // 2


@njit(cache=True, error_model="numpy", inline="always")
def defers_depression(p, off):
    """Whether crossbar ``p`` logs its depression (it writes its devices, with a pair rule)."""
    return off[p, O_DEP_CAP] != 0


@njit(cache=True, error_model="numpy", inline="always")
def depression_full(p, step, off, n):
    """Whether a pre spike of crossbar ``p`` at ``step`` may find no room for the step's listed columns in the half
    of the depression log being filled: the engine then turns to the other half (:func:`next_depression_half`)."""
    o = off[p]
    return n[o[O_DEP_CUR] + D_STEP] != step and n[o[O_DEP_LEN]] + o[O_N_POST] > n[o[O_DEP_CUR] + D_END]


@njit(cache=True, error_model="numpy", _nrt=False)
def next_depression_half(entry, p, w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n):
    """The depression log of crossbar ``p`` goes on in its other half, once the rows whose pending depression is
    listed there have caught up (the background thread paused).  A half holds many steps' lists, and the
    background thread applies a depression soon after its spike: there are few such rows, and the rest go on
    without catching up.  (Emptying both logs instead, every row catching up on the network's thread, left the
    1000 x 1000 RRAM run at 144-168 ms, against 129-135 ms; best of three, a few runs each.)"""
    o = off[p]
    cur, half = o[O_DEP_CUR], o[O_DEP_CAP] // 2
    lo = 0 if n[cur + D_END] == o[O_DEP_CAP] else half  # the half to fill next
    for i in range(o[O_N_PRE]):
        row = o[O_LOCK] + LOCK_STRIDE * i
        if n[row + L_DEP_LEN] != 0 and lo <= n[row + L_DEP_START] < lo + half:
            catch_up_devices(entry, p, i, n[o[O_LOG_LEN]], np.int64(0), w, w0, sd, sd0, e_row, e0, rng, rules, off,
                             f, n)
    n[o[O_DEP_LEN]], n[cur + D_STEP], n[cur + D_END] = lo, -1, lo + half


@njit(cache=True, error_model="numpy", _nrt=False)
def depress_later(entry, p, i, step, rules, off, f, n):
    """Pre spike on row ``i`` (after its read) of a crossbar that logs its depression: the row's depression by
    ``factor * post[j]`` waits for its next catch-up (:func:`catch_up_devices`); then the pre trace steps and
    replays start from it.

    The columns whose trace asks for at least half a pulse (all those with a trace, where no such bound
    holds) are listed once per step, with their traces, as the row walk lists them (:func:`rule.list_changing`):
    the rows that spike in one step share the list."""
    o, rule = off[p], rules[p]
    cur = o[O_DEP_CUR]
    if n[cur + D_STEP] != step:  # the step's first pre spike: list (room checked by depression_full)
        start = n[o[O_DEP_LEN]]
        cut = half_pulse(rule, entry[10], entry[8][S_MODEL] == EXACT)
        c = list_changing(f[o[O_POST]:o[O_POST] + o[O_N_POST]], rule[P_DEP_PAIR], cut, n[o[O_DEP_COL] + start:],
                          f[o[O_DEP_X] + start:])
        n[o[O_DEP_LEN]] = start + c
        n[cur + D_STEP], n[cur + D_START], n[cur + D_LEN] = step, start, c
    row = o[O_LOCK] + LOCK_STRIDE * i
    n[row + L_DEP_STEP], n[row + L_DEP_START], n[row + L_DEP_LEN] = step, n[cur + D_START], n[cur + D_LEN]
    _step_trace(f, o[O_PRE], -1, i, rule[P_A_PRE], rule[P_NEAREST] != 0.0)
    rebase(p, i, step, off, f, n)


@njit(cache=True, error_model="numpy", inline="always")
def _depress_pending(entry, p, i, thread, w, w0, sd, sd0, e_row, e0, rng, rules, off, f, n):
    """Row ``i`` applies its pending depression, if any, as a replay of its listed columns (each a depression at
    the step of the spike); the number of columns.  Its read energy takes the changes in the row's order, as the
    row walk adds them."""
    o = off[p]
    row = o[O_LOCK] + LOCK_STRIDE * i
    m = n[row + L_DEP_LEN]
    if m == 0:
        return 0
    n[row + L_DEP_LEN] = 0
    step, start = n[row + L_DEP_STEP], n[row + L_DEP_START]
    factor = rules[p][P_DEP_PAIR]
    a = _replay_stride(o) * thread  # the thread's replay scratch
    order = n[o[O_REPLAY_ORDER] + a:o[O_REPLAY_ORDER] + a + m]
    steps = n[o[O_REPLAY_NEXT] + a:o[O_REPLAY_NEXT] + a + m]
    factors = f[o[O_REPLAY_X] + a:o[O_REPLAY_X] + a + m]
    energy = f[o[O_REPLAY_ENERGY] + a:o[O_REPLAY_ENERGY] + a + m]
    for e in range(m):
        order[e], steps[e], factors[e], energy[e] = e, step, factor, 0.0
    log = (order, steps, n[o[O_DEP_COL] + start:o[O_DEP_COL] + start + m], factors,
           f[o[O_DEP_X] + start:o[O_DEP_X] + start + m], energy)
    _apply(entry, i, DEPRESS_ROW, factor, step, w, w0, sd, sd0, e_row, e0, rng, log, thread)
    return m


@njit(cache=True, error_model="numpy", inline="always")
def finish_devices(close, entries, xb_w0, w, sd, xb_sd0, e_row, xb_e0, xb_rng, rules, consts, off, f, n):
    """:func:`finish` for the crossbars that write their devices."""
    if not close:
        return
    for p in range(off.shape[0]):
        if consts[p, C_LAZY] == DEVICES and n[off[p, O_OPEN]] != 0:
            x = off[p, O_XB]
            flush_devices(entries[p], p, w, xb_w0[x], sd, xb_sd0[x], e_row, xb_e0[x], xb_rng[x], rules, off, f, n)
            n[off[p, O_OPEN]] = 0
