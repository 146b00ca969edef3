"""On-chip spike-timing-dependent plasticity.

A rule sees *normalised* weights ``w``: a synapse's current jump divided by its
crossbar's ``w_max`` (the jump of one fully programmed device).  Trace-based
pair STDP, in Brian2 notation with ``w_scale`` the crossbar's ``w_max``::

    dapre/dt  = -apre / tau_pre        dapost/dt = -apost / tau_post
    on_pre:   I_post += w * w_scale;   apre += a_pre;   w = clip(w + apost, w_min, w_max)
    on_post:  apost += a_post;         w = clip(w + apre, w_min, w_max)

``rule="soft_bound"`` makes the change weight-dependent (van Rossum et al.,
J. Neurosci. 20, 8812, 2000): potentiation ``apre * (w_max - w)``, depression
``apost * (w - w_min)`` (with ``a_post < 0``).  ``pairing="nearest"`` resets a
trace to ``a_pre``/``a_post`` at each spike instead of accumulating (only the
nearest spike pair counts).

On hardware every change is written to the devices of the synapse.  Exact
(ideal) devices take the new weight as is.  Otherwise the change ``dw`` becomes
``n = |dw| * n_pulses`` programming pulses (``n_pulses`` sweep the device's
window), rounded (``pulses="deterministic"``) or rounded up with probability
equal to the fraction (``"stochastic"``, unbiased on average); each pulse goes
through the device model — nonlinear step, write noise, bounds, levels,
endurance — so the weight the network then reads is what the devices became.
Potentiation SETs the positive device of the pair; depression RESETs it, or
for unidirectional (``set_only``, PCM) devices SETs the negative one, and a pair
whose device climbs past 90 % of its window is refreshed (both RESET, the
weight re-programmed by SET pulses), every pulse counted.  A pair that a stuck
device holds outside ``[w_min, w_max]`` is not clipped back: an update moves it
no further than it asks, and never against it (the circuit pulses by spike
timing; it does not repair faults).

:class:`TripletSTDP` (Pfister & Gerstner 2006) adds a slow trace on each side;
the kernel runs both rules as one: a pre spike changes row ``i`` by
``post_fast[j] * (dep_pair + dep_triplet * pre_slow[i])`` and a post spike
column ``j`` by ``pre_fast[i] * (pot_pair + pot_triplet * post_slow[j])``
(slow traces read before the spike's own increment).  Pair STDP is the case
``pot_pair = dep_pair = 1`` with the traces stepped by ``a_pre``/``a_post``.

A trace that decays below ``2**-40`` of its increment is set to zero: its
contribution is far below any device's resolution, the update loops skip
synapses whose trace is zero, and no trace ever reaches the slow subnormal
range of floating point.
"""
from dataclasses import dataclass

import numpy as np

from . import _checks
from .units import ms

# rows of the per-crossbar rule table the kernel reads
(P_DECAY_PRE, P_DECAY_POST, P_A_PRE, P_A_POST, P_W_MIN, P_W_MAX, P_SOFT, P_NEAREST, P_STOCHASTIC, P_DECAY_PRE2,
 P_DECAY_POST2, P_POT_PAIR, P_POT_TRIPLET, P_DEP_PAIR, P_DEP_TRIPLET, P_FLUSH_PRE, P_FLUSH_POST) = range(17)
N_RULE = 17
_FLUSH = 2.0**-40


def _check_common(rule):
    _checks.real("w_max", rule.w_max, low=0.0, high=1.0, low_open=True)
    _checks.real("w_min", rule.w_min, low=-1.0, high=rule.w_max, high_open=True)
    _checks.choice("rule", rule.rule, {"additive", "soft_bound"})
    _checks.choice("pairing", rule.pairing, {"all_to_all", "nearest"})
    _checks.choice("pulses", rule.pulses, {"deterministic", "stochastic"})


def _table(rule, dt, decays, increments, factors):
    row = np.zeros(N_RULE)
    row[[P_DECAY_PRE, P_DECAY_POST, P_DECAY_PRE2, P_DECAY_POST2]] = np.exp(-dt / np.asarray(decays))
    row[P_A_PRE], row[P_A_POST] = increments
    row[P_FLUSH_PRE], row[P_FLUSH_POST] = _FLUSH * abs(increments[0]), _FLUSH * abs(increments[1])
    row[[P_POT_PAIR, P_POT_TRIPLET, P_DEP_PAIR, P_DEP_TRIPLET]] = factors
    row[P_W_MIN], row[P_W_MAX] = rule.w_min, rule.w_max
    row[P_SOFT] = rule.rule == "soft_bound"
    row[P_NEAREST] = rule.pairing == "nearest"
    row[P_STOCHASTIC] = rule.pulses == "stochastic"
    return row


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP with traces (see the module docstring for the equations).

    Parameters
    ----------
    tau_pre, tau_post : float
        Time constants of the pre- and postsynaptic traces, seconds.
    a_pre : float
        Pre trace increment (potentiation when a post spike follows), in units of ``w``.
    a_post : float
        Post trace increment (negative: depression when a pre spike follows).
    w_max, w_min : float
        Bounds of the normalised weight (``w_max <= 1``: one fully programmed device).
    rule : {"additive", "soft_bound"}
    pairing : {"all_to_all", "nearest"}
    pulses : {"deterministic", "stochastic"}
        How a weight change becomes a whole number of programming pulses.
    """

    tau_pre: float = 20 * ms
    tau_post: float = 20 * ms
    a_pre: float = 0.01
    a_post: float = -0.0105
    w_max: float = 1.0
    w_min: float = 0.0
    rule: str = "additive"
    pairing: str = "all_to_all"
    pulses: str = "deterministic"

    #: slow traces per side (none: pair rule)
    triplet = False

    def __post_init__(self):
        _checks.positive("tau_pre", self.tau_pre)
        _checks.positive("tau_post", self.tau_post)
        _checks.real("a_pre", self.a_pre)
        _checks.real("a_post", self.a_post)
        _check_common(self)

    def table(self, dt):
        """The rule as the kernel reads it (decays per step ``dt``)."""
        return _table(self, dt, [self.tau_pre, self.tau_post, np.inf, np.inf], (self.a_pre, self.a_post),
                      (1.0, 0.0, 1.0, 0.0))


@dataclass(frozen=True)
class TripletSTDP:
    """Triplet STDP (Pfister & Gerstner, J. Neurosci. 26, 9673, 2006), on normalised weights.

    Each presynaptic neuron keeps a fast trace ``r1`` (``tau_plus``) and a slow
    one ``r2`` (``tau_x``), each postsynaptic neuron ``o1`` (``tau_minus``) and
    ``o2`` (``tau_y``); every spike steps its neuron's two traces by 1 (or sets
    them to 1 with ``pairing="nearest"``) after the weight change it causes::

        on_pre:  w = clip(w - o1 * (a2_minus + a3_minus * r2), w_min, w_max);  r1 += 1;  r2 += 1
        on_post: w = clip(w + r1 * (a2_plus + a3_plus * o2), w_min, w_max);    o1 += 1;  o2 += 1

    ``rule="soft_bound"`` multiplies potentiation by ``(w_max - w)`` and
    depression by ``(w - w_min)``.  Defaults are the paper's all-to-all fit to
    visual-cortex data (its Table 4); the nearest-spike fit is ``a2_plus=7.5e-10,
    a3_plus=9.3e-3`` with the same depression.  Diehl & Cook's (2015) rule is the
    nearest-spike form with ``a2_plus = a3_minus = 0``, ``a3_plus = 0.01``,
    ``a2_minus = 1e-4``, ``tau_plus = tau_minus = 20 ms``, ``tau_y = 40 ms``.
    Weight changes become device pulses exactly as for :class:`STDP`.
    """

    tau_plus: float = 16.8 * ms
    tau_minus: float = 33.7 * ms
    tau_x: float = 101 * ms
    tau_y: float = 125 * ms
    a2_plus: float = 5e-10
    a3_plus: float = 6.2e-3
    a2_minus: float = 7e-3
    a3_minus: float = 2.3e-4
    w_max: float = 1.0
    w_min: float = 0.0
    rule: str = "additive"
    pairing: str = "all_to_all"
    pulses: str = "deterministic"

    triplet = True

    def __post_init__(self):
        for name in ("tau_plus", "tau_minus", "tau_x", "tau_y"):
            _checks.positive(name, getattr(self, name))
        for name in ("a2_plus", "a3_plus", "a2_minus", "a3_minus"):
            _checks.real(name, getattr(self, name), low=0.0)
        _check_common(self)

    def table(self, dt):
        """The rule as the kernel reads it (decays per step ``dt``)."""
        return _table(self, dt, [self.tau_plus, self.tau_minus, self.tau_x, self.tau_y], (1.0, 1.0),
                      (self.a2_plus, self.a3_plus, -self.a2_minus, -self.a3_minus))


#: the plasticity rules a crossbar accepts
RULES = (STDP, TripletSTDP)
