"""The kernels' random numbers against closed forms and reference implementations."""
import numpy as np
import pytest
from scipy import stats

from neuroimc.kernels import random as R

Z = 5.0  # z-score bound: a correct implementation fails a check with probability < 1e-6


def test_normal_table_is_the_normal_distribution_in_equiprobable_cells():
    """Entry k of the table lies in the k-th of 2**16 equal-probability cells of N(0, 1) (up to the rescaling
    to unit variance, which moves it by less than a part in 1e4), so the table's distribution is within one
    cell, 2**-16, of the normal CDF everywhere."""
    z = R.normal_table()
    m = z.size
    assert m == 1 << 16 and z.dtype == np.float64
    assert np.all(np.diff(z) > 0) and np.allclose(z, -z[::-1], rtol=0, atol=1e-12)
    assert np.mean(z**2) == pytest.approx(1.0, rel=1e-12)
    cdf = stats.norm.cdf(z)
    k = np.arange(m)
    assert np.all(np.abs(cdf - (k + 0.5) / m) < 0.5 / m + 1e-4 * stats.norm.pdf(z) * np.abs(z))
    assert 4.1 < z[-1] < 4.4  # the tails are cut here


def test_ziggurat_blocks_close_on_the_normal_curve():
    """Doornik's R and V: the base block (rectangle of width R plus the tail beyond R) has area V, and the
    recursion of equal-area blocks closes at the top (x = 0) with area V too."""
    f = lambda x: np.exp(-0.5 * x * x)  # noqa: E731 - the unnormalised density the blocks are cut from
    x, ratio = R.ZIG_X, R.ZIG_RATIO
    v = x[1] * f(x[1]) + np.sqrt(2 * np.pi) * stats.norm.sf(x[1])
    assert x[0] * f(x[1]) == pytest.approx(v, rel=1e-10)
    areas = x[1:-1] * (f(x[2:]) - f(x[1:-1]))
    assert np.allclose(areas, v, rtol=1e-8)
    assert x[-1] == 0.0 and np.all(np.diff(x) < 0) and np.allclose(ratio, x[1:] / x[:-1])


def test_normal_deviates_have_the_normal_moments_and_distribution():
    n = 200_000
    s = R.new_stream(np.random.SeedSequence(5))
    z = np.array([R.normal(s) for _ in range(n)])
    assert abs(z.mean()) < Z / np.sqrt(n)
    assert abs(z.var() - 1.0) < Z * np.sqrt(2.0 / n)
    assert abs(stats.kurtosis(z)) < Z * np.sqrt(24.0 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-6
    for edge in (1.0, R.ZIG_X[1], 4.0):  # inside the blocks, the ziggurat's tail, deep in it
        p = 2 * stats.norm.sf(edge)
        assert abs(np.mean(np.abs(z) > edge) - p) < Z * np.sqrt(p / n) + 1.0 / n


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
