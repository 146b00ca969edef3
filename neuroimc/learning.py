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
weight re-programmed by SET pulses), every pulse counted.
"""
from dataclasses import dataclass

import numpy as np

from . import _checks
from .units import ms

# rows of the per-crossbar rule table the kernel reads
P_DECAY_PRE, P_DECAY_POST, P_A_PRE, P_A_POST, P_W_MIN, P_W_MAX, P_SOFT, P_NEAREST, P_STOCHASTIC = range(9)
N_RULE = 9


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

    def __post_init__(self):
        _checks.positive("tau_pre", self.tau_pre)
        _checks.positive("tau_post", self.tau_post)
        _checks.real("a_pre", self.a_pre)
        _checks.real("a_post", self.a_post)
        _checks.real("w_max", self.w_max, low=0.0, high=1.0, low_open=True)
        _checks.real("w_min", self.w_min, low=-1.0, high=self.w_max, high_open=True)
        _checks.choice("rule", self.rule, {"additive", "soft_bound"})
        _checks.choice("pairing", self.pairing, {"all_to_all", "nearest"})
        _checks.choice("pulses", self.pulses, {"deterministic", "stochastic"})

    def table(self, dt):
        """The rule as the kernel reads it (decays per step ``dt``)."""
        row = np.zeros(N_RULE)
        row[P_DECAY_PRE] = np.exp(-dt / self.tau_pre)
        row[P_DECAY_POST] = np.exp(-dt / self.tau_post)
        row[P_A_PRE], row[P_A_POST] = self.a_pre, self.a_post
        row[P_W_MIN], row[P_W_MAX] = self.w_min, self.w_max
        row[P_SOFT] = self.rule == "soft_bound"
        row[P_NEAREST] = self.pairing == "nearest"
        row[P_STOCHASTIC] = self.pulses == "stochastic"
        return row
