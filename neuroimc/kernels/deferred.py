"""Weight-only STDP on ideal crossbars, with potentiation deferred to each row's next read.

An ideal device is its conductance, and a synapse of ideal devices is its weight: after any
write the pair is ``G+ = G_min + max(w, 0) span``, ``G- = G_min + max(-w, 0) span`` (or
``G+ = G_ref + w span`` against a row reference), and nothing wears, drifts or fails.  While an
ideal crossbar learns, the kernels therefore keep per synapse only the current jump the engine
reads (4 bytes in float32) and a count of writes (4 bytes), against Brian2's 8-byte weight.
The conductances and device write counts are rebuilt from them when Python next looks at the
devices (:meth:`neuroimc.Crossbar._sync_devices`).

A post spike would potentiate a column: in row-major weights, one cache line per synapse.  It
is logged instead (step, column, factor), and each row applies the entries it has not yet seen,
in order, just before it is next read (:func:`catch_up`) or when the chunk ends (:func:`flush`).
Between two pre spikes of row ``i`` its pre trace only decays, so the trace at each logged step
is replayed with the same multiplications and flushes as :func:`plasticity.decay_traces`, bit for
bit, and each synapse takes its changes in the order the eager rule applies them: where the
chunks end does not change the weights.  The work is that of the column walks, done on a row
that is in cache.

The crossbar's entry (see :mod:`kernels.entry`) ends with the tuple ``lazy``::

    (trace, trace_step, cursor, log_step, log_post, log_factor, log_len, writes, scratch)

``trace[i]`` is row ``i``'s pre trace at step ``trace_step[i]`` (advanced as the log is replayed),
``cursor[i]`` the first log entry row ``i`` has not applied, ``writes`` the write
counts of the positive devices (row 0) and, where weights can be negative, of the negative ones
(row 1) since the last rebuild, ``scratch`` the counts of one row's catch-up (zero in between).
"""
import numpy as np
from numba import njit

from ..learning import P_DECAY_PRE, P_FLUSH_PRE, P_SOFT, P_W_MAX, P_W_MIN
from .entry import C_E_SCALE, C_N_POST, C_REFERENCE, C_SCALE, C_SPAN

TRACE, TRACE_STEP, CURSOR, LOG_STEP, LOG_POST, LOG_FACTOR, LOG_LEN, WRITES, SCRATCH = range(9)


LOG_MIN = 1 << 14  # log entries at least, and per post neuron: a full log makes every row catch up
LOG_PER_NEURON = 16


def new_lazy(n_pre, n_post, writes):
    """The ``lazy`` tuple of an ``(n_pre, n_post)`` crossbar: scratch arrays, the log, and the crossbar's
    ``writes`` (int32, one or two rows of one count per synapse)."""
    log_capacity = max(LOG_MIN, LOG_PER_NEURON * n_post)
    return (np.zeros(n_pre), np.zeros(n_pre, np.int64), np.zeros(n_pre, np.int64), np.zeros(log_capacity, np.int64),
            np.zeros(log_capacity, np.int64), np.zeros(log_capacity), np.zeros(1, np.int64), writes,
            np.zeros((writes.shape[0], n_post), np.int32))


@njit(cache=True, error_model="numpy", inline="always")
def _new_weight(wq, dw, potentiate, soft, lo, hi, k):
    """The rule's new current jump: ``dw`` (trace x factor, in normalised weight) applied additively or
    soft-bounded; ``lo``/``hi`` are the bounds and ``k`` one unit of normalised weight, in amperes."""
    if soft:
        wn = wq + dw * ((hi - wq) if potentiate else (wq - lo))
    else:
        wn = wq + dw * k
    return min(max(wn, lo), hi)


@njit(cache=True, error_model="numpy")
def start(entry, step0):
    """A chunk begins at ``step0``: every row's pre trace is known at ``step0 - 1``; the log is empty."""
    lazy = entry[11]
    lazy[TRACE][:] = entry[2]
    lazy[TRACE_STEP][:] = step0 - 1
    lazy[CURSOR][:] = 0
    lazy[LOG_LEN][0] = 0


# The entry points taking the entry are inlined into the engine: a call that takes the entry tuple
# reference-counts its ~30 arrays (about 0.5 us a spike); the loops get the arrays they use.
@njit(cache=True, error_model="numpy", inline="always")
def depress_row(entry, i, step, factor, w, w0, e_row, e0):
    """Pre spike on row ``i`` (after its read): every synapse takes ``factor * post[j]``; then the row's
    pre trace (already stepped by the caller) is remembered at ``step``."""
    rule, post, consts, lazy = entry[1], entry[3], entry[10], entry[11]
    n_post = int(consts[C_N_POST])
    k = consts[C_SCALE] * consts[C_SPAN]  # amperes of jump per unit of normalised weight
    a, b = i * n_post, (i + 1) * n_post
    writes = lazy[WRITES]
    de = _depress(w[w0 + a:w0 + b], post, factor, rule[P_SOFT] != 0.0, rule[P_W_MIN] * k, rule[P_W_MAX] * k, k,
                  writes[0, a:b], writes[writes.shape[0] - 1, a:b], writes.shape[0] == 2, consts[C_REFERENCE] != 0.0)
    e_row[e0 + i] += consts[C_E_SCALE] / consts[C_SCALE] * de  # joules per read, per ampere of jump
    lazy[TRACE][i] = entry[2][i]
    lazy[TRACE_STEP][i] = step


# reassociation lets the row's sum of changes vectorise (in partial sums); nothing else in the loop reassociates
@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _depress(row, post, factor, soft, lo, hi, k, wp, wm, two_sided, reference):
    """One row of :func:`depress_row`, branch-free so that it vectorises; returns the change of the row's
    summed conductance, in amperes of jump."""
    de = 0.0
    for q in range(row.size):
        tr = post[q]
        wo = row[q]
        wn = _new_weight(wo, factor * tr, False, soft, lo, hi, k)
        row[q] = wn if tr != 0.0 else wo  # no learning signal, no write
        wn = row[q]  # as stored
        if reference:
            wp[q] += wn != wo
            de += wn - wo
        else:
            wp[q] += max(wn, 0.0) != max(wo, 0.0)
            if two_sided:
                wm[q] += min(wn, 0.0) != min(wo, 0.0)
            de += abs(wn) - abs(wo)
    return de


@njit(cache=True, error_model="numpy", inline="always")
def log_post(entry, j, step, factor, w, w0, e_row, e0):
    """Post spike of column ``j``: log the potentiation (``factor * pre[i]`` for every row ``i``)."""
    lazy = entry[11]
    n = lazy[LOG_LEN][0]
    if n == lazy[LOG_STEP].size:
        flush(entry, w, w0, e_row, e0)
        n = 0
    lazy[LOG_STEP][n] = step
    lazy[LOG_POST][n] = j
    lazy[LOG_FACTOR][n] = factor
    lazy[LOG_LEN][0] = n + 1


@njit(cache=True, error_model="numpy", inline="always")
def catch_up(entry, i, w, w0, e_row, e0):
    """Apply to row ``i`` the logged potentiations it has not seen, in order."""
    lazy = entry[11]
    cursor = lazy[CURSOR]
    n_log = lazy[LOG_LEN][0]
    first = cursor[i]
    if first >= n_log:
        return
    cursor[i] = n_log
    trace = lazy[TRACE]
    if trace[i] == 0.0:
        return
    rule, consts = entry[1], entry[10]
    n_post = int(consts[C_N_POST])
    k = consts[C_SCALE] * consts[C_SPAN]
    a = i * n_post
    de = _catch_up_row(i, w[w0 + a:w0 + a + n_post], lazy[WRITES], lazy[SCRATCH], trace, lazy[TRACE_STEP],
                       lazy[LOG_STEP][first:n_log], lazy[LOG_POST][first:n_log], lazy[LOG_FACTOR][first:n_log],
                       rule[P_DECAY_PRE], rule[P_FLUSH_PRE], rule[P_SOFT] != 0.0, rule[P_W_MIN] * k, rule[P_W_MAX] * k,
                       k, consts[C_REFERENCE] != 0.0)
    e_row[e0 + i] += consts[C_E_SCALE] / consts[C_SCALE] * de


@njit(cache=True, error_model="numpy")
def _catch_up_row(i, row, writes, scratch, trace, trace_step, log_step, log_post, log_factor, decay, flush, soft, lo,
                  hi, k, reference):
    """:func:`catch_up` on row ``i``'s weights ``row``; returns the change of the row's summed conductance
    (amperes of jump).

    The row is out of cache and the entries hit it at random: it is first summed in order (which
    brings it in, and gives the change of read energy), and the writes are counted in a scratch
    row that stays in L1, then added to the counts in order.
    """
    before = _row_sum(row, reference)
    two_sided = writes.shape[0] == 2
    x, s = trace[i], trace_step[i]
    for e in range(log_step.size):
        while s < log_step[e]:  # the trace's decay, step by step, as decay_traces does it
            x *= decay
            s += 1
            if abs(x) < flush:
                x = 0.0
                break
        if x == 0.0:  # flushed: no later entry changes the row
            break
        j = log_post[e]
        wo = row[j]
        row[j] = _new_weight(wo, log_factor[e] * x, True, soft, lo, hi, k)
        wn = row[j]
        if reference:
            scratch[0, j] += wn != wo
        else:
            scratch[0, j] += max(wn, 0.0) != max(wo, 0.0)
            if two_sided:
                scratch[1, j] += min(wn, 0.0) != min(wo, 0.0)
    trace[i], trace_step[i] = x, s
    a = i * row.size
    _add_counts(writes[0, a:a + row.size], scratch[0])
    if two_sided:
        _add_counts(writes[1, a:a + row.size], scratch[1])
    return _row_sum(row, reference) - before


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
def flush(entry, w, w0, e_row, e0):
    """Every row applies the whole log, which is then emptied."""
    lazy = entry[11]
    for i in range(lazy[CURSOR].size):
        catch_up(entry, i, w, w0, e_row, e0)
    lazy[CURSOR][:] = 0
    lazy[LOG_LEN][0] = 0
