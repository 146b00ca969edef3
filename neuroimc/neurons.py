"""Leaky integrate-and-fire neurons with an exponential synaptic current.

In Brian2 notation the model of :class:`LIFPopulation` is::

    dv/dt     = (v_rest - v + r_m * I_syn) / tau_m  : volt (unless refractory)
    dI_syn/dt = -I_syn / tau_syn                    : amp
    threshold: v > v_thresh        reset: v = v_reset        refractory: t_ref

The membrane (time constant ``tau_m = r_m * C_m``) leaks towards ``v_rest``
and is charged by the synaptic current, which every presynaptic spike bumps by
the crossbar's current jump and which then decays with ``tau_syn``.  The
system is linear, so one time step ``dt`` is integrated exactly (Brian2's
``method='exact'``)::

    v'   = v_rest + (v - v_rest) * exp(-dt/tau_m) + a_vI * I_syn
    I'   = I_syn * exp(-dt/tau_syn)
    a_vI = r_m * tau_syn / (tau_syn - tau_m) * (exp(-dt/tau_syn) - exp(-dt/tau_m))

With ``theta_plus > 0`` the threshold adapts (homeostasis, as in Diehl &
Cook 2015)::

    dtheta/dt = -theta / tau_theta     threshold: v > v_thresh + theta     reset: theta += theta_plus

so a neuron that fires a lot becomes harder to excite; ``theta`` is frozen
(neither decays nor grows) while the network runs with ``learning = False``.

``a_vI`` is evaluated in a form (with ``expm1``) that stays accurate when
``tau_syn`` approaches ``tau_m`` and takes its limit
``r_m * dt/tau_m * exp(-dt/tau_m)`` at equality.  During the refractory period
``v`` is held and ``I_syn`` keeps decaying, as in Brian2.
"""
import numpy as np

from . import _checks

# lastspike of a neuron that never spiked: far enough in the past to never be
# refractory, small enough that step differences cannot overflow int64
NEVER = -(2**40)
#: longest refractory period in steps: shorter than the distance of NEVER to any reachable step
MAX_REF_STEPS = 2**39


def brian2_timestep(t, dt):
    """Brian2's ``timestep(t, dt)``: the step index of time ``t`` (shifted by 1e-3 dt)."""
    return np.asarray((np.asarray(t, dtype=np.float64) + 1e-3 * dt) / dt).astype(np.int64)


class LIFPopulation:
    """A population of ``n`` current-based LIF neurons.

    Parameters (SI units; each may be a scalar or one value per neuron)
    ----------
    n : int
        Number of neurons.
    tau_m : float
        Membrane time constant, seconds (``r_m * C_m``).
    v_rest, v_reset, v_thresh : float
        Resting, reset and threshold potentials, volts.
    t_ref : float
        Absolute refractory period, seconds (``v`` is clamped, ``I_syn`` decays).
    tau_syn : float
        Decay time constant of the synaptic current, seconds.
    r_m : float
        Membrane resistance, ohms: a current ``I`` holds ``v`` at ``v_rest + r_m*I``.
    v_init : float, optional
        Initial membrane potential, volts (default ``v_rest``).
    theta_plus : float, optional
        Threshold increment per spike, volts (default 0: a fixed threshold).
    tau_theta : float, optional
        Decay time constant of the threshold adaptation, seconds (default ``inf``: no decay).
    name : str, optional
        Label used in monitors and plots.
    """

    def __init__(self, n, tau_m, v_rest, v_reset, v_thresh, t_ref, tau_syn, r_m, v_init=None, name=None, *,
                 theta_plus=0.0, tau_theta=np.inf):
        self.n = _checks.integer("n", n, low=1, high=2**40)
        self.tau_m = _checks.per_neuron("tau_m", tau_m, self.n, low=0.0, low_open=True)
        self.v_rest = _checks.per_neuron("v_rest", v_rest, self.n)
        self.v_reset = _checks.per_neuron("v_reset", v_reset, self.n)
        self.v_thresh = _checks.per_neuron("v_thresh", v_thresh, self.n)
        self.t_ref = _checks.per_neuron("t_ref", t_ref, self.n, low=0.0)
        self.tau_syn = _checks.per_neuron("tau_syn", tau_syn, self.n, low=0.0, low_open=True)
        self.r_m = _checks.per_neuron("r_m", r_m, self.n, low=0.0, low_open=True)
        self.theta_plus = _checks.per_neuron("theta_plus", theta_plus, self.n, low=0.0)
        self.tau_theta = _checks.per_neuron("tau_theta", tau_theta, self.n, low=0.0, low_open=True, allow_inf=True)
        v0 = self.v_rest if v_init is None else _checks.per_neuron("v_init", v_init, self.n)
        self.name = name or f"lif{self.n}"
        # state; the network rebinds these to views of its contiguous arrays
        self._v = np.array(v0, dtype=np.float64)
        self._I_syn = np.zeros(self.n)
        self._lastspike = np.full(self.n, NEVER, dtype=np.int64)
        self._theta = np.zeros(self.n)

    @property
    def adaptive(self):
        """Whether the threshold adapts (some ``theta_plus > 0``)."""
        return bool(np.any(self.theta_plus > 0.0))

    @property
    def theta(self):
        """Threshold adaptation, volts (the threshold is ``v_thresh + theta``; assign to set it)."""
        return self._theta

    @theta.setter
    def theta(self, value):
        self._theta[...] = _checks.per_neuron("theta", value, self.n)

    @property
    def v(self):
        """Membrane potentials, volts (assign to set them)."""
        return self._v

    @v.setter
    def v(self, value):
        self._v[...] = _checks.per_neuron("v", value, self.n)

    @property
    def I_syn(self):
        """Synaptic currents, amperes (assign to set them)."""
        return self._I_syn

    @I_syn.setter
    def I_syn(self, value):
        self._I_syn[...] = _checks.per_neuron("I_syn", value, self.n)

    @property
    def lastspike(self):
        """Step index of each neuron's last spike (``-2**40`` if it never spiked); assignable."""
        return self._lastspike

    @lastspike.setter
    def lastspike(self, value):
        steps = np.asarray(value)
        if steps.shape not in ((), (self.n,)) or not np.issubdtype(steps.dtype, np.integer):
            raise TypeError(f"lastspike must be integer step indices, a scalar or shape ({self.n},), got {value!r}")
        self._lastspike[...] = np.maximum(steps, NEVER)

    def propagators(self, dt):
        """Exact one-step propagator of the linear system for time step ``dt``.

        Returns ``(a_vv, a_vI, a_II, ref_steps, a_theta)``: per-neuron arrays such that
        ``v' = v_rest + (v - v_rest)*a_vv + a_vI*I``, ``I' = a_II*I`` and
        ``theta' = a_theta*theta``, and the refractory period in whole steps
        (Brian2's ``timestep(t_ref, dt)``).
        """
        tm, ts = self.tau_m, self.tau_syn
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            y = dt / tm  # may be inf for tau_m << dt: exp(-inf) = 0 is then right
            a_vv = np.exp(-y)
            a_ii = np.exp(-dt / ts)
            # x = dt (ts - tm)/(tm ts), written without the product tm*ts, which can leave the double range
            x = y - dt / ts
            # a_vI = r_m ts/(ts - tm) (a_ii - a_vv) in two forms, each accurate where the other is not:
            # near ts = tm, r_m (dt/tm) e^{-dt/tm} expm1(x)/x (no cancellation, limit 1 at x = 0);
            # elsewhere the difference itself (no expm1 overflow when tau_m << dt).  nan x (both dt/tau
            # infinite) takes the far form.
            near = np.abs(x) < 0.5
            safe_x = np.where(near & (x != 0.0), x, 1.0)
            ratio = np.where(x == 0.0, 1.0, np.expm1(safe_x) / safe_x)
            y_avv = np.where(np.isinf(y), 0.0, y * a_vv)  # y e^{-y} -> 0 as y -> inf
            near_form = self.r_m * (y_avv * ratio)
            far_form = self.r_m * ((ts / (ts - np.where(near, 0.0, tm))) * (a_ii - a_vv))
            # far apart with equal exponentials means both underflowed: so does a_vI
            far_form = np.where(a_ii == a_vv, 0.0, far_form)
            a_vi = np.where(near, near_form, far_form)
            # a step count beyond MAX_REF_STEPS would make a neuron that never spiked (lastspike = NEVER)
            # look refractory, and beyond int64 wraps negative; capped, it means "for ever" either way
            ref_steps = np.minimum((self.t_ref + 1e-3 * dt) / dt, MAX_REF_STEPS).astype(np.int64)
            a_theta = np.exp(-dt / self.tau_theta)
        return a_vv, a_vi, a_ii, ref_steps, a_theta

    def __repr__(self):
        return f"LIFPopulation({self.n}, name={self.name!r})"
