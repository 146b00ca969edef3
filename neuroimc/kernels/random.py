"""Random numbers inside numba kernels: xoshiro256** streams.

Each stochastic object (a Poisson source, later each crossbar) owns one
stream: four ``uint64`` words, seeded from the network's
``numpy.random.SeedSequence``.  Keeping the state in a plain array (instead of
numba's global generator) makes a run reproducible bit for bit, independent of
what else ran in the process, and lets the state be saved and restored.

Reference: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number
generators", ACM TOMS 47 (2021); https://prng.di.unimi.it/xoshiro256starstar.c
"""
import functools

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


@njit(cache=True, inline="always", error_model="numpy")
def _starstar(s1):
    """The ** scrambler: a stream's output from its state's second word."""
    return _rotl(s1 * _5, _7) * _9


@njit(cache=True, error_model="numpy")
def next_state(state):
    """xoshiro256** step on a tuple state: ``(64-bit output, next state)``."""
    s0, s1, s2, s3 = state
    result = _starstar(s1)
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


# The read path draws its normal deviates by the column batch, from a table of the 2**16 midpoint
# quantiles of N(0, 1), rescaled to unit variance, indexed by a vectorised counter-based generator
# (kernels.engine): exactly the normal distribution discretised to 65536 equiprobable values (tails
# cut at 4.3 sigma), far below the resolution of any measured read-noise distribution.
# Built once, when a network is first packed: scipy.special costs `import neuroimc` 0.18 s.
@functools.lru_cache(maxsize=1)
def normal_table():
    """The 2**16 midpoint quantiles of N(0, 1), rescaled to unit variance (float64; one shared array)."""
    from scipy.special import ndtri

    z = ndtri((np.arange(1 << 16) + 0.5) / (1 << 16))
    return (z / np.sqrt(np.mean(z**2))).astype(np.float64)


# One deviate at a time (a programming pulse's write noise, a verify read) comes from the ziggurat:
# exactly normal, and its 2 KB of tables stay in the L1 cache.  Inverting a uniform (Acklam's rational
# function) cost 10 ns more per RRAM row update; a lookup in the 512 KB table above missed the cache
# in a 1000 x 1000 network, whose device state streams through it.
# Reference: J. A. Doornik, "An improved ziggurat method to generate normal random samples" (2005),
# the ZIGNOR algorithm with 128 blocks; a block's index and the uniform come from disjoint bits.
_ZIG_BLOCKS = 128
_ZIG_R = 3.442619855899  # where the tail starts
_ZIG_V = 9.91256303526217e-3  # area of each block under f(x) = exp(-x**2 / 2): R f(R) + the integral of f beyond R


def _ziggurat():
    """``(x, ratio)``: the blocks' right edges ``x[0..C]`` (``x[0] = V / f(R)`` for the base block with its
    tail, ``x[C] = 0``) and ``ratio[i] = x[i + 1] / x[i]``, the fraction of block ``i`` under the curve for
    every height."""
    x = np.zeros(_ZIG_BLOCKS + 1)
    f = np.exp(-0.5 * _ZIG_R * _ZIG_R)
    x[0], x[1] = _ZIG_V / f, _ZIG_R
    for i in range(2, _ZIG_BLOCKS):
        x[i] = np.sqrt(-2.0 * np.log(_ZIG_V / x[i - 1] + f))
        f = np.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


ZIG_X, ZIG_RATIO = _ziggurat()
_MASK7 = np.uint64(_ZIG_BLOCKS - 1)


@njit(cache=True, error_model="numpy", inline="always")
def _open_uniform(bits):
    """A uniform in (0, 1) from the top 53 bits: the midpoint of one of 2**53 equal cells."""
    return (float(bits >> _11) + 0.5) * _2_POW_M53


@njit(cache=True, error_model="numpy", inline="always")
def zig_try(bits):
    """One try of the ziggurat from the stream output ``bits``: ``(z, block, uniform in (-1, 1), accepted by
    its rectangle)``; accepted, ``z`` is the deviate."""
    i = bits & _MASK7
    u = 2.0 * float(bits >> _11) * _2_POW_M53 - 1.0
    return u * ZIG_X[i], i, u, abs(u) < ZIG_RATIO[i]


@njit(cache=True, error_model="numpy", inline="always")
def _zig_draw(state):
    """One try of the ziggurat: ``(z, block, uniform in (-1, 1), accepted by its rectangle, state)``."""
    bits, state = next_state(state)
    z, i, u, inside = zig_try(bits)
    return z, i, u, inside, state


@njit(cache=True, error_model="numpy")
def _normal_slow(state, i, u):
    """The ziggurat's rare path (2.8 % of draws), after block ``i``'s rectangle rejected ``u``: its tail or
    wedge, then fresh tries until one is accepted; ``(z, state)``.  A call of its own, so that the inlined
    fast path stays a few instructions without a loop."""
    while True:
        if i == 0:  # beyond R: Marsaglia's exact tail method
            while True:
                bits, state = next_state(state)
                a = np.log(_open_uniform(bits)) / _ZIG_R
                bits, state = next_state(state)
                b = np.log(_open_uniform(bits))
                if -2.0 * b >= a * a:
                    return (a - _ZIG_R if u < 0.0 else _ZIG_R - a), state
        x = u * ZIG_X[i]
        f0 = np.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
        f1 = np.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
        bits, state = next_state(state)
        if f1 + _open_uniform(bits) * (f0 - f1) < 1.0:
            return x, state
        z, i, u, inside, state = _zig_draw(state)
        if inside:
            return z, state


@njit(cache=True, error_model="numpy", inline="always")
def normal_state(state):
    """``(z, next state)``: a standard normal deviate by the ziggurat; one output of the stream in 97.2 % of
    draws (block from its low 7 bits, the uniform from its top 53)."""
    z, i, u, inside, state = _zig_draw(state)
    if inside:
        return z, state
    return _normal_slow(state, i, u)


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
def _key_hash(key, a, b, c):
    return _mix(_mix(_mix(key + np.uint64(a) * _GOLDEN) + np.uint64(b) * _GOLDEN) + np.uint64(c) * _GOLDEN)


@njit(cache=True, error_model="numpy", inline="always")
def keyed_state(key, a, b, c):
    """A tuple state (see :func:`next_state`) that is a function of ``key`` and the integers ``a``, ``b``,
    ``c`` alone: its four words are SplitMix64 outputs of their hash.

    A stream per event instead of one per object: a crossbar's learning seeds one per synapse update
    from (synapse, step and kind of the update, writes so far), so that the noise a device receives
    does not depend on the order in which updates of different synapses are computed.
    """
    h = _key_hash(key, a, b, c)
    return (_mix(h + _GOLDEN), _mix(h + np.uint64(2) * _GOLDEN), _mix(h + np.uint64(3) * _GOLDEN),
            _mix(h + np.uint64(4) * _GOLDEN))


@njit(cache=True, error_model="numpy", inline="always")
def keyed_first(key, a, b, c):
    """The first output of :func:`keyed_state` ``(key, a, b, c)``'s stream (``next_state``'s result), computed
    from the one word it depends on: loops that want only this output vectorise it."""
    h = _key_hash(key, a, b, c)
    return _starstar(_mix(h + np.uint64(2) * _GOLDEN))


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
