"""Random numbers inside numba kernels: xoshiro256** streams.

Each stochastic object (a Poisson source, later each crossbar) owns one
stream: four ``uint64`` words, seeded from the network's
``numpy.random.SeedSequence``.  Keeping the state in a plain array (instead of
numba's global generator) makes a run reproducible bit for bit, independent of
what else ran in the process, and lets the state be saved and restored.

Reference: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number
generators", ACM TOMS 47 (2021); https://prng.di.unimi.it/xoshiro256starstar.c
"""
import numpy as np
from numba import njit

_5 = np.uint64(5)
_7 = np.uint64(7)
_9 = np.uint64(9)
_11 = np.uint64(11)
_17 = np.uint64(17)
_45 = np.uint64(45)
_64 = np.uint64(64)
_2_POW_M53 = 1.0 / 9007199254740992.0


def new_stream(seed_sequence):
    """A fresh stream state (``uint64[4]``, never all zero) from a SeedSequence."""
    state = seed_sequence.generate_state(4, dtype=np.uint64)
    if not state.any():
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state


@njit(cache=True, inline="always", error_model="numpy")
def _rotl(x, k):
    return (x << k) | (x >> (_64 - k))


# A kernel that draws in a loop keeps its stream in four local words, a tuple ``(s0, s1, s2, s3)``
# (``load`` once, ``store`` once): a call with the array would reference-count it on every draw, and
# locals stay in registers.  The ``*_state`` functions are the generator; the array functions below
# run them on the array, so both give the same sequence.
@njit(cache=True, inline="always", error_model="numpy")
def load(s):
    """The stream ``s`` (``uint64[4]``) as a tuple of four words."""
    return s[0], s[1], s[2], s[3]


@njit(cache=True, inline="always", error_model="numpy")
def store(s, state):
    """Write a tuple state back into the stream array ``s``."""
    s[0], s[1], s[2], s[3] = state


@njit(cache=True, error_model="numpy")
def next_state(state):
    """xoshiro256** step on a tuple state: ``(64-bit output, next state)``."""
    s0, s1, s2, s3 = state
    result = _rotl(s1 * _5, _7) * _9
    t = s1 << _17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _45)
    return result, (s0, s1, s2, s3)


@njit(cache=True, error_model="numpy")
def uniform_state(state):
    """``(u, next state)``: a double uniform on [0, 1) with 53 random bits."""
    bits, state = next_state(state)
    return float(bits >> _11) * _2_POW_M53, state


# P. J. Acklam's rational approximation of the inverse normal CDF (relative error < 1.15e-9):
# coefficients of the central region (a / b) and of the tails (c / d), split at p = 0.02425.
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
      -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
      4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
_P_LOW = 0.02425


@njit(cache=True, error_model="numpy", inline="always")
def _tail(p):
    q = np.sqrt(-2.0 * np.log(p))
    return ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
            / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))


@njit(cache=True, error_model="numpy")
def inverse_normal_cdf(p):
    """The standard normal quantile of ``p`` in (0, 1), relative error below 1.15e-9.

    Acklam's algorithm: a rational function of ``p - 1/2`` in the centre, of ``sqrt(-2 log p)`` in
    the tails (5 % of draws), so that most deviates cost no transcendental function.
    """
    if p < _P_LOW:
        return _tail(p)
    if p > 1.0 - _P_LOW:
        return -_tail(1.0 - p)
    q = p - 0.5
    r = q * q
    return ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))


@njit(cache=True, error_model="numpy")
def normal_state(state):
    """``(z, next state)``: a standard normal deviate, by inversion of one uniform (Acklam).

    About 6 ns a deviate against 21 ns for Box-Muller's log, sqrt and cos: write noise draws one
    per programming pulse.  The uniform is the midpoint of one of 2**53 equal cells, never 0 or 1.
    """
    bits, state = next_state(state)
    return inverse_normal_cdf((float(bits >> _11) + 0.5) * _2_POW_M53), state


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's Weyl increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_27 = np.uint64(27)
_30 = np.uint64(30)
_31 = np.uint64(31)


@njit(cache=True, error_model="numpy")
def splitmix_fill(key, out, mask):
    """``out[j] = mix(key + (j + 1) * golden) & mask``: ``out.size`` outputs of SplitMix64 seeded with ``key``.

    Each output is a function of its index alone, so the loop vectorises (AVX-512) where a
    sequential generator cannot: 0.2 ns an output.  Reference: G. Steele, D. Lea, C. Flood,
    "Fast splittable pseudorandom number generators", OOPSLA 2014 (the mixer is Stafford's
    variant 13, as in java.util.SplittableRandom).
    """
    for j in range(out.size):
        h = key + np.uint64(j + 1) * _GOLDEN
        h = (h ^ (h >> _30)) * _MIX1
        h = (h ^ (h >> _27)) * _MIX2
        out[j] = (h ^ (h >> _31)) & mask


@njit(cache=True, error_model="numpy", inline="always")
def _mix(h):
    h = (h ^ (h >> _30)) * _MIX1
    h = (h ^ (h >> _27)) * _MIX2
    return h ^ (h >> _31)


@njit(cache=True, error_model="numpy", inline="always")
def keyed_state(key, a, b, c):
    """A tuple state (see :func:`next_state`) that is a function of ``key`` and the integers ``a``, ``b``,
    ``c`` alone: its four words are SplitMix64 outputs of their hash.

    A stream per event instead of one per object: a crossbar's learning seeds one per synapse update
    from (synapse, step and kind of the update, writes so far), so that the noise a device receives
    does not depend on the order in which updates of different synapses are computed.
    """
    h = _mix(_mix(_mix(key + np.uint64(a) * _GOLDEN) + np.uint64(b) * _GOLDEN) + np.uint64(c) * _GOLDEN)
    return (_mix(h + _GOLDEN), _mix(h + np.uint64(2) * _GOLDEN), _mix(h + np.uint64(3) * _GOLDEN),
            _mix(h + np.uint64(4) * _GOLDEN))


def stream_key(seed_sequence):
    """A ``uint64`` key for :func:`keyed_state`, from a SeedSequence (independent of :func:`new_stream`'s)."""
    return seed_sequence.spawn(1)[0].generate_state(1, dtype=np.uint64)[0]


@njit(cache=True, error_model="numpy")
def next_u64(s):
    """Advance stream ``s`` in place and return the next 64-bit output."""
    result, state = next_state(load(s))
    store(s, state)
    return result


@njit(cache=True, error_model="numpy")
def uniform(s):
    """A double uniform on [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _11) * _2_POW_M53


@njit(cache=True, error_model="numpy")
def normal(s):
    """A standard normal deviate (see :func:`normal_state`), advancing stream ``s`` in place."""
    z, state = normal_state(load(s))
    store(s, state)
    return z


@njit(cache=True, error_model="numpy")
def geometric_failures(s, log1m_p):
    """Bernoulli failures before the next success, for success probability p.

    ``log1m_p`` is ``log(1 - p)`` (``-inf`` for p = 1).  Inverse-CDF sampling:
    ``floor(log U / log(1 - p))`` with U uniform on (0, 1].  Capped at 2**62 so
    that callers can add to it without overflow.
    """
    if log1m_p == 0.0:  # p = 0: never
        return np.int64(4611686018427387904)
    u = 1.0 - uniform(s)
    k = np.floor(np.log(u) / log1m_p)  # p = 1: log1m_p = -inf gives 0
    if not k <= 4.611686018427388e18:
        return np.int64(4611686018427387904)
    return np.int64(k)
