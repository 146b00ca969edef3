"""A learning rule's arithmetic for one synapse: the new weight, the pulses it takes, the changes too small to
write.  Shared by the scalar row and column walks (:mod:`kernels.plasticity`), the SIMD lanes
(:mod:`kernels.lanes`) and the deferred depression (:mod:`kernels.deferred`)."""
import numpy as np
from numba import njit

from ..learning import P_SOFT, P_STOCHASTIC
from .entry import C_P_LTD, C_P_LTP
from .random import uniform_state

# what a call of _learn does to its line
DEPRESS_ROW = np.int64(0)  # a pre spike: row i, dw = factor * post[j]
POTENTIATE_COLUMN = np.int64(1)  # a post spike: column j, dw = factor * pre[i]
SCALE_COLUMN = np.int64(2)  # synaptic scaling: column j, w -> factor * w
REPLAY_ROW = np.int64(3)  # row i applies logged potentiations (kernels.deferred), each as POTENTIATE_COLUMN would


@njit(cache=True, error_model="numpy", inline="always")
def pulse_count(dw, per_window, stochastic, rng):
    """Whole pulses for a weight change ``dw`` (``per_window`` pulses sweep one unit): ``(n, rng)``.

    Deterministic: the nearest whole number; stochastic: the fraction becomes one more pulse with
    that probability (unbiased on average).
    """
    n_real = abs(dw) * per_window
    n = np.floor(n_real)
    frac = n_real - n
    if stochastic:
        u, rng = uniform_state(rng)
        if u < frac:
            n += 1.0
    elif frac >= 0.5:
        n += 1.0
    return int(n), rng


@njit(cache=True, error_model="numpy", inline="always")
def _unclipped(w_old, dw, mode, soft, w_min, w_max):
    if mode == SCALE_COLUMN:
        w = w_old * dw
    elif soft:
        w = w_old + (dw * (w_max - w_old) if mode == POTENTIATE_COLUMN else dw * (w_old - w_min))
    else:
        w = w_old + dw
    return w


@njit(cache=True, error_model="numpy", inline="always")
def new_weight(w_old, dw, mode, soft, w_min, w_max):
    """The rule's new weight: ``dw`` (trace x factor) applied additively or soft-bounded; scaling multiplies;
    clipped to ``[w_min, w_max]``.

    Any unit of weight will do if ``w_min``, ``w_max`` and an additive ``dw`` are in it."""
    return min(max(_unclipped(w_old, dw, mode, soft, w_min, w_max), w_min), w_max)


@njit(cache=True, error_model="numpy", inline="always")
def pulsed_weight(w_old, dw, mode, soft, w_min, w_max):
    """:func:`new_weight` for a pair of real devices: clipped, but never moved further than the rule asks,
    nor against it.

    Within the bounds that is the clip.  A pair that its devices hold outside them (a stuck
    device) is not pulled back in one step by every update, depressions included: the learning
    circuit sends SET pulses to potentiate and RESET pulses to depress, by spike timing.  (The
    clip did so: on the RRAM card, three pulses in five went to the 5 % of pairs whose negative
    device is stuck high.)  Ideal pairs hold their weights within the bounds and take the clip:
    the two extra operations cost their row loops a sixth of their time."""
    w = _unclipped(w_old, dw, mode, soft, w_min, w_max)
    return min(max(min(max(w, w_min), w_max), min(w, w_old)), max(w, w_old))


@njit(cache=True, error_model="numpy", inline="always")
def half_pulse(rule, consts, exact):
    """A change ``|trace * factor|`` of an additive rule below which pulses rounded to the nearest whole
    number leave a synapse alone (0.0 where no such bound holds: exact writes, stochastic rounding, soft
    bounds).  :func:`pulsed_weight` never moves a weight further than asked; the margin covers the
    rounding of ``w_old + dw``.  Most synapses of a row, most of the time: their devices are not loaded."""
    if exact or rule[P_STOCHASTIC] != 0.0 or rule[P_SOFT] != 0.0:
        return 0.0
    return (0.5 - 1e-9) / max(consts[C_P_LTP], consts[C_P_LTD])


@njit(cache=True, error_model="numpy", inline="always")
def changes_nothing(trace, factor, bound):
    """Whether an update of ``trace * factor`` leaves a synapse alone: no learning signal, or a change below
    ``bound`` (:func:`half_pulse`)."""
    return trace == 0.0 or abs(trace * factor) < bound


@njit(cache=True, error_model="numpy", inline="always")
def list_changing(traces, factor, bound, columns, kept):
    """A depression's columns: those ``q`` whose ``traces[q] * factor`` changes something (:func:`changes_nothing`),
    listed in ``columns`` in ascending order, with their traces in ``kept`` (unless None); their number."""
    c = 0
    for q in range(traces.size):
        trace = traces[q]
        if not changes_nothing(trace, factor, bound):
            columns[c] = q
            if kept is not None:
                kept[c] = trace
            c += 1
    return c
