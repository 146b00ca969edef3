"""The kernels' random numbers against closed forms and reference implementations."""
import numpy as np
import pytest
from scipy import special, stats

from neuroimc.kernels import random as R

Z = 5.0  # z-score bound: a correct implementation fails a check with probability < 1e-6


def test_inverse_normal_cdf_matches_scipy_within_acklams_bound():
    p = np.concatenate([np.logspace(-16, np.log10(0.02425), 400), np.linspace(0.02, 0.98, 2001),
                        1.0 - np.logspace(-15, np.log10(0.02425), 400)])
    exact = special.ndtri(p)
    ours = np.array([R.inverse_normal_cdf(x) for x in p])
    assert np.all(np.abs(ours - exact) <= 1.2e-9 * np.abs(exact) + 1e-15)


def test_normal_deviates_have_the_normal_moments_and_distribution():
    n = 200_000
    s = R.new_stream(np.random.SeedSequence(5))
    z = np.array([R.normal(s) for _ in range(n)])
    assert abs(z.mean()) < Z / np.sqrt(n)
    assert abs(z.var() - 1.0) < Z * np.sqrt(2.0 / n)
    assert abs(stats.kurtosis(z)) < Z * np.sqrt(24.0 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-6


def test_splitmix_fill_is_splitmix64():
    """Reference values: java.util.SplittableRandom / Vigna's splitmix64.c, seed 0 (first outputs)."""
    out = np.zeros(3, np.uint64)
    R.splitmix_fill(np.uint64(0), out, np.uint64(0xFFFFFFFFFFFFFFFF))
    assert [int(x) for x in out] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("bits", [16])
def test_splitmix_indices_are_uniform(bits):
    out = np.zeros(1 << 18, np.uint64)
    R.splitmix_fill(np.uint64(12345), out, np.uint64((1 << bits) - 1))
    counts = np.bincount(out.astype(np.int64) // (1 << (bits - 6)), minlength=64)  # 64 equal bins
    assert stats.chisquare(counts).pvalue > 1e-6
