"""Device physics inside numba: programming pulses, wear-out and read-out.

A crossbar's physical devices are numbered ``d``.  Their state is the tuple
``state = (g, offset, t_prog, count, status)``:

* ``g`` — internal conductance (siemens); c2c write noise accumulates here;
* ``offset`` — programming noise of the last write (read-out = ``g + offset``);
* ``t_prog`` — device time of the last write (drift and retention age);
* ``count`` — programming pulses received (endurance);
* ``status`` — :data:`OK`, fabrication stuck-at, or worn out (see codes).

Their sampled parameters are ``params = (g_lo, g_hi, sat_up, k_up, lin_up,
sat_dn, k_dn, lin_dn, limit, nu)``.  Every pulse model is one step towards an
asymptote plus a constant: ``dG_up = (sat_up - G) k_up + lin_up`` and
``dG_down = (G - sat_dn) k_dn + lin_dn`` (linear: ``k = 0``; soft bounds:
``sat`` at the window edge; NeuroSim: ``sat`` beyond it).  A parameter array
of length 1 holds a value shared by all devices (no device-to-device spread),
so uniform parameters cost no memory.  ``scalars`` is a float64 array indexed
by the ``S_*`` constants.
"""
import numpy as np
from numba import njit

from .random import normal

# status codes
OK = 0
STUCK_LOW = 1  # fabrication faults
STUCK_HIGH = 2
WORN_LOW = 3  # endurance failures
WORN_HIGH = 4
WORN_CLOSED = 5

# pulse models
EXACT = 0
LINEAR = 1
NEUROSIM = 2
SOFT_BOUNDS = 3

# read-noise models
NOISE_NONE = 0
NOISE_GAUSSIAN = 1
NOISE_PCM_1F = 2
NOISE_ADDITIVE = 3

# indices into the scalars array
S_MODEL = 0
S_LEVELS = 1
S_C2C = 2
S_PROG = 3
S_SET_ONLY = 4
S_FAIL_MODE = 5  # 0 stuck_low, 1 stuck_high, 2 window_closing
S_NOISE_MODEL = 6
S_NOISE_SIGMA = 7
S_T_READ = 8
S_T0 = 9
S_RET_TAU = 10
S_RET_BETA = 11
S_G_MAX = 12  # nominal g_max (pcm_1f normalisation)
S_G_RANGE = 13  # nominal g_max - g_min (additive noise)
N_SCALARS = 14


@njit(cache=True, inline="always")
def at(a, d):
    """Device ``d``'s value of a per-device parameter (length 1: shared by all)."""
    return a[d] if a.size > 1 else a[0]


# The per-device functions below take arrays one by one, never the state/params tuples: unpacking a
# tuple of arrays inside a loop costs a reference-count update per array per device (~150 ns), so
# every loop over devices unpacks once, outside the loop.


@njit(cache=True, error_model="numpy", inline="always")
def quantise(x, lo, hi, levels):
    if levels < 2:
        return x
    step = (hi - lo) / (levels - 1)
    return lo + np.floor((x - lo) / step + 0.5) * step


@njit(cache=True, error_model="numpy", inline="always")
def wear(d, g, offset, count, status, g_lo, g_hi, limit, fail_mode):
    """Count one pulse on device ``d``; return False if it cannot be programmed (stuck or worn out)."""
    count[d] += 1
    if status[d] != OK:
        return False
    if count[d] > at(limit, d):
        lo, hi = at(g_lo, d), at(g_hi, d)
        if fail_mode == 0:
            g[d], status[d] = lo, WORN_LOW
        elif fail_mode == 1:
            g[d], status[d] = hi, WORN_HIGH
        else:
            g[d], status[d] = 0.5 * (lo + hi), WORN_CLOSED
        if offset.size > 1:
            offset[d] = 0.0
        return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def finish_write(d, x, lo, hi, g, offset, t_prog, scalars, rng, t_now):
    """Clip to the device window, snap to levels, draw the write's offset, stamp the time."""
    x = min(max(x, lo), hi)
    g[d] = quantise(x, lo, hi, int(scalars[S_LEVELS]))
    if offset.size > 1:
        offset[d] = scalars[S_PROG] * (hi - lo) * normal(rng)
    if t_prog.size > 1:
        t_prog[d] = t_now


@njit(cache=True, error_model="numpy", inline="always")
def apply_pulse(d, up, g, offset, t_prog, count, status, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn,
                limit, scalars, rng, t_now):
    """One SET (``up``) or RESET pulse on device ``d``: wear, nonlinear step, c2c noise, bounds, levels."""
    if not wear(d, g, offset, count, status, g_lo, g_hi, limit, int(scalars[S_FAIL_MODE])):
        return
    lo, hi, x = at(g_lo, d), at(g_hi, d), g[d]
    if up:
        x += (at(sat_up, d) - x) * at(k_up, d) + at(lin_up, d)
    elif scalars[S_SET_ONLY] != 0.0:
        x = lo  # abrupt RESET of a unidirectional (PCM) device
    else:
        x -= (x - at(sat_dn, d)) * at(k_dn, d) + at(lin_dn, d)
    if scalars[S_C2C] > 0.0:
        x += scalars[S_C2C] * (hi - lo) * normal(rng)
    finish_write(d, x, lo, hi, g, offset, t_prog, scalars, rng, t_now)


@njit(cache=True, error_model="numpy", inline="always")
def write_exact(d, target, g, offset, t_prog, count, status, g_lo, g_hi, limit, scalars, rng, t_now):
    """Ideal programming (model ``exact``): set device ``d`` to ``target`` in one counted write."""
    if not wear(d, g, offset, count, status, g_lo, g_hi, limit, int(scalars[S_FAIL_MODE])):
        return
    finish_write(d, target, at(g_lo, d), at(g_hi, d), g, offset, t_prog, scalars, rng, t_now)


@njit(cache=True, error_model="numpy", inline="always")
def read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars):
    """Mean read-out conductance of device ``d`` at device time ``t``: retention loss, then drift."""
    x = g[d] + (offset[d] if offset.size > 1 else 0.0)
    if t_prog.size > 1:
        age = t - t_prog[d]
        tau = scalars[S_RET_TAU]
        if tau > 0.0 and age > 0.0:
            lo = at(g_lo, d)
            x = lo + (x - lo) * np.exp(-((age / tau) ** scalars[S_RET_BETA]))
        nu_d = at(nu, d)
        t0 = scalars[S_T0]
        if nu_d > 0.0 and age > t0:
            x *= (age / t0) ** (-nu_d)
    return max(x, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def read_noise_std(x, d, t, t_prog, scalars):
    """Standard deviation (siemens) of one read of a device whose mean read-out is ``x``."""
    model = int(scalars[S_NOISE_MODEL])
    if model == NOISE_GAUSSIAN:
        return scalars[S_NOISE_SIGMA] * x
    if model == NOISE_ADDITIVE:
        return scalars[S_NOISE_SIGMA] * scalars[S_G_RANGE]
    if model == NOISE_PCM_1F:
        age = t - (t_prog[d] if t_prog.size > 1 else 0.0)
        t_read = scalars[S_T_READ]
        arg = (age + t_read) / (2.0 * t_read)
        if arg <= 1.0:
            return 0.0
        q_s = min(scalars[S_NOISE_SIGMA] / max((x / scalars[S_G_MAX]) ** 0.65, 1e-3), 0.2)
        return x * q_s * np.sqrt(np.log(arg))
    return 0.0


# --- fast normal deviates for read noise ------------------------------------------------------
# Every read of every device draws one deviate, so this is on the hot path.  A table of the 2**16
# midpoint quantiles of N(0, 1), rescaled to unit variance, indexed by 16 random bits (four per
# xoshiro output) costs a table load instead of a log, sqrt and cos.  It is exactly the normal
# distribution discretised to 65536 equiprobable values (tails cut at 4.3 sigma), which is far
# below the resolution of any measured read-noise distribution.
def normal_table():
    from scipy.special import ndtri

    z = ndtri((np.arange(1 << 16) + 0.5) / (1 << 16))
    return (z / np.sqrt(np.mean(z**2))).astype(np.float64)
