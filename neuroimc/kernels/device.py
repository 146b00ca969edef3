"""Device physics inside numba: programming pulses, wear-out and read-out.

A crossbar's physical devices are numbered ``d``.  Their state is the tuple
of arrays ``state = (g, offset, t_prog, count, status)``:

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

Each piece of physics is one function of numbers only (the *scalar cores*):
:func:`pulse_step`, :func:`quantise`, :func:`worn_out`, :func:`pulse`,
:func:`write`, :func:`readout`, :func:`noise_std`.  They work on one device
at a time, whose state is the tuple ``(g, offset, t_prog, count, status)`` of
numbers and whose parameters are the tuple ``(g_lo, g_hi, sat_up, k_up,
lin_up, sat_dn, k_dn, lin_dn, limit, nu)``; the card's write settings are the
tuple of :func:`write_card`, a random stream the tuple of
:func:`kernels.random.load`.  Numba reference-counts every array argument of
every call (and does not inline calls with many arguments), which costs more
than the physics; so the kernels load a device into numbers once, run the
cores on them and store once, touching arrays only in their own loops
(:func:`device_state`, :func:`device_params` and :func:`store_state` are
inlined where they are used).  :func:`read_conductance` and
:func:`read_noise_std` read one device of the arrays through the same cores.
"""
import numpy as np
from numba import njit

from .random import normal_state

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


# ---------------------------------------------------------------- card settings, once per kernel call
@njit(cache=True, error_model="numpy")
def write_card(scalars, offset, t_prog):
    """What a write needs from the card: ``(levels, c2c, prog, set_only, fail_mode, has_offset, timed)``.

    ``has_offset``/``timed``: the state keeps a programming offset / a write
    time per device (length-1 arrays when the card has no such noise or ageing).
    """
    return (int(scalars[S_LEVELS]), scalars[S_C2C], scalars[S_PROG], scalars[S_SET_ONLY] != 0.0,
            int(scalars[S_FAIL_MODE]), offset.size > 1, t_prog.size > 1)


@njit(cache=True, error_model="numpy")
def read_card(scalars):
    """What a read needs from the card:
    ``(ret_tau, ret_beta, t0, noise_model, noise_sigma, g_range, g_max, t_read)``."""
    return (scalars[S_RET_TAU], scalars[S_RET_BETA], scalars[S_T0], int(scalars[S_NOISE_MODEL]),
            scalars[S_NOISE_SIGMA], scalars[S_G_RANGE], scalars[S_G_MAX], scalars[S_T_READ])


# ---------------------------------------------------------------- scalar cores: writing
@njit(cache=True, error_model="numpy")
def quantise(x, lo, hi, levels):
    """Snap ``x`` to the nearest of ``levels`` equally spaced conductances of ``[lo, hi]`` (< 2: continuous)."""
    if levels < 2:
        return x
    # x waits on the pulse and its noise; the division does not (it would add ~15 cycles to every pulse's chain)
    per_siemens = (levels - 1) / (hi - lo)
    return lo + np.floor((x - lo) * per_siemens + 0.5) * ((hi - lo) / (levels - 1))


@njit(cache=True, error_model="numpy")
def pulse_step(x, up, lo, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, set_only):
    """Deterministic conductance after one SET (``up``) or RESET pulse from ``x`` (before noise and bounds)."""
    if up:
        return x + ((sat_up - x) * k_up + lin_up)
    if set_only:
        return lo  # abrupt RESET of a unidirectional (PCM) device
    return x - ((x - sat_dn) * k_dn + lin_dn)


@njit(cache=True, error_model="numpy")
def worn_out(fail_mode, lo, hi):
    """``(g, status)`` a device is left in by the pulse that exceeds its endurance."""
    if fail_mode == 0:
        return lo, WORN_LOW
    if fail_mode == 1:
        return hi, WORN_HIGH
    return 0.5 * (lo + hi), WORN_CLOSED  # high and low states merge


@njit(cache=True, error_model="numpy")
def _wear(ds, dp, card):
    """Count one pulse: ``(state, programmable)``; a stuck or just worn-out device is not programmed."""
    g, off, tp, cnt, st = ds
    fail_mode, has_off = card[4], card[5]
    cnt += 1
    if st != OK:
        return (g, off, tp, cnt, st), False
    if cnt > dp[8]:
        g, st = worn_out(fail_mode, dp[0], dp[1])
        if has_off:
            off = 0.0
        return (g, off, tp, cnt, st), False
    return (g, off, tp, cnt, st), True


@njit(cache=True, error_model="numpy")
def _settle(x, ds, dp, card, t, rng):
    """Finish a write at ``x``: clip to the device window, snap to levels, draw the write's offset, stamp the time."""
    levels, prog, has_off, timed = card[0], card[2], card[5], card[6]
    lo, hi = dp[0], dp[1]
    g = quantise(min(max(x, lo), hi), lo, hi, levels)
    off = ds[1]
    if has_off:
        z, rng = normal_state(rng)
        off = prog * (hi - lo) * z
    tp = t if timed else ds[2]
    return (g, off, tp, ds[3], ds[4]), rng


# pulse and pulses are inlined where they are called: a call passes their ~26 numbers through memory, about 8 % of
# a pulsed synapse on the RRAM card; inlining the other cores too cost 5 s more of first compile, for the same speed
@njit(cache=True, error_model="numpy", inline="always")
def pulse(ds, up, dp, card, t, rng):
    """One SET (``up``) or RESET pulse at device time ``t``: wear, nonlinear step, c2c noise, bounds, levels.

    ``ds`` device state, ``dp`` its parameters, ``card`` :func:`write_card`,
    ``rng`` a stream tuple; returns ``(state, rng)``.
    """
    ds, ok = _wear(ds, dp, card)
    if not ok:
        return ds, rng
    c2c, set_only = card[1], card[3]
    lo, hi = dp[0], dp[1]
    x = pulse_step(ds[0], up, lo, dp[2], dp[3], dp[4], dp[5], dp[6], dp[7], set_only)
    if c2c > 0.0:
        z, rng = normal_state(rng)
        x += c2c * (hi - lo) * z
    return _settle(x, ds, dp, card, t, rng)


@njit(cache=True, error_model="numpy", inline="always")
def pulses(ds, n, up, dp, card, t, rng):
    """``n`` identical pulses (see :func:`pulse`); a stuck or worn-out device only counts them."""
    for q in range(n):
        if ds[4] != OK:
            return (ds[0], ds[1], ds[2], ds[3] + (n - q), ds[4]), rng
        ds, rng = pulse(ds, up, dp, card, t, rng)
    return ds, rng


@njit(cache=True, error_model="numpy")
def write(ds, target, dp, card, t, rng):
    """Ideal programming (model ``exact``): ``target`` in one counted write (levels and offset still apply)."""
    ds, ok = _wear(ds, dp, card)
    if not ok:
        return ds, rng
    return _settle(target, ds, dp, card, t, rng)


# ---------------------------------------------------------------- scalar cores: reading
@njit(cache=True, error_model="numpy")
def readout(x, age, lo, nu, ret_tau, ret_beta, t0):
    """Mean read-out of a device programmed to ``x`` (``g + offset``) ``age`` seconds ago: retention loss,
    then drift.  ``age = 0`` (a fresh write, or a card without ageing) reads ``x`` itself, clipped at 0."""
    if ret_tau > 0.0 and age > 0.0:
        x = lo + (x - lo) * np.exp(-((age / ret_tau) ** ret_beta))
    if nu > 0.0 and age > t0:
        x *= (age / t0) ** (-nu)
    return fresh_readout(x)


@njit(cache=True, error_model="numpy", inline="always")
def fresh_readout(x):
    """:func:`readout` at age 0 (``t0 > 0``), where nothing has yet relaxed or drifted: ``x`` clipped at 0.
    Without the powers, which a vectorised loop would compute in every lane."""
    return max(x, 0.0)


@njit(cache=True, error_model="numpy")
def noise_std(x, age, model, sigma, g_range, g_max, t_read):
    """Standard deviation (siemens) of one read of a device whose mean read-out is ``x``, ``age`` s after its write."""
    if model == NOISE_PCM_1F:
        arg = (age + t_read) / (2.0 * t_read)
        if arg <= 1.0:
            return 0.0
        q_s = min(sigma / max((x / g_max) ** 0.65, 1e-3), 0.2)
        return x * q_s * np.sqrt(np.log(arg))
    return steady_noise_std(x, model, sigma, g_range)


@njit(cache=True, error_model="numpy", inline="always")
def steady_noise_std(x, model, sigma, g_range):
    """:func:`noise_std` for the models that do not depend on age (none, gaussian, additive)."""
    if model == NOISE_GAUSSIAN:
        return sigma * x
    if model == NOISE_ADDITIVE:
        return sigma * g_range
    return 0.0


# ---------------------------------------------------------------- one device of the arrays
@njit(cache=True, inline="always")
def device_state(d, g, offset, t_prog, count, status):
    """Device ``d``'s state as numbers (offset 0 and write time 0 when the arrays keep none)."""
    return (g[d], offset[d] if offset.size > 1 else 0.0, t_prog[d] if t_prog.size > 1 else 0.0, count[d],
            np.int64(status[d]))


@njit(cache=True, inline="always")
def store_state(d, ds, g, offset, t_prog, count, status):
    g[d] = ds[0]
    if offset.size > 1:
        offset[d] = ds[1]
    if t_prog.size > 1:
        t_prog[d] = ds[2]
    count[d] = ds[3]
    status[d] = ds[4]


@njit(cache=True, inline="always")
def device_params(d, g_lo, g_hi, sat_up, k_up, lin_up, sat_dn, k_dn, lin_dn, limit, nu):
    """Device ``d``'s parameters as numbers."""
    return (at(g_lo, d), at(g_hi, d), at(sat_up, d), at(k_up, d), at(lin_up, d), at(sat_dn, d), at(k_dn, d),
            at(lin_dn, d), at(limit, d), at(nu, d))


@njit(cache=True, inline="always")
def read_conductance(d, t, g, offset, t_prog, g_lo, nu, scalars):
    """Mean read-out conductance of device ``d`` at device time ``t`` (see :func:`readout`)."""
    x = g[d] + (offset[d] if offset.size > 1 else 0.0)
    age = t - t_prog[d] if t_prog.size > 1 else 0.0
    return readout(x, age, at(g_lo, d), at(nu, d), scalars[S_RET_TAU], scalars[S_RET_BETA], scalars[S_T0])


@njit(cache=True, inline="always")
def read_noise_std(x, d, t, t_prog, scalars):
    """Standard deviation (siemens) of one read of device ``d`` whose mean read-out is ``x`` (see :func:`noise_std`)."""
    return noise_std(x, t - (t_prog[d] if t_prog.size > 1 else 0.0), int(scalars[S_NOISE_MODEL]),
                     scalars[S_NOISE_SIGMA], scalars[S_G_RANGE], scalars[S_G_MAX], scalars[S_T_READ])
