"""Digits plots: the mosaic holds each neuron's weights where it should; figures render headless."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from neuroimc.plot import accuracy_curve, receptive_fields, tile


def test_tile_places_every_neuron():
    rng = np.random.default_rng(0)
    w = rng.random((6, 7))  # 2x3 images, 7 neurons -> 3 columns, 3 rows
    m = tile(w, (2, 3), gap=1)
    assert m.shape == (3 * 3 - 1, 3 * 4 - 1)
    for j in range(7):
        r, c = divmod(j, 3)
        np.testing.assert_array_equal(m[3 * r: 3 * r + 2, 4 * c: 4 * c + 3], w[:, j].reshape(2, 3))
    assert np.isnan(m[2]).all() and np.isnan(m[:, 3]).all()  # separators
    assert np.isnan(m[6:, 4:]).all()  # the two unused tiles
    np.testing.assert_array_equal(tile(w, (2, 3), ncols=7, gap=0), np.hstack([w[:, j].reshape(2, 3) for j in range(7)]))


def test_receptive_fields_figure(tmp_path):
    w = np.random.default_rng(1).random((64, 10)) * 1e-12
    ax = receptive_fields(w, (8, 8), unit=1e-12, unit_label="pA")
    assert isinstance(ax.figure, Figure)
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown.filled(np.nan), tile(w, (8, 8)) / 1e-12)
    ax.figure.savefig(tmp_path / "rf.png")
    assert (tmp_path / "rf.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"weights must have image_shape \(8, 8\) = 64 rows \(inputs\), got 63"):
        receptive_fields(w[:63], (8, 8))


def test_accuracy_curve(tmp_path):
    n = np.array([1000, 2000, 3000])
    acc = np.array([0.4, 0.7, 0.85])
    ax = accuracy_curve(n, acc, chance=0.1)
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), n)
    np.testing.assert_allclose(line.get_ydata(), [40, 70, 85])
    assert "85.0 %" in ax.get_title()
    ax.figure.savefig(tmp_path / "acc.png")
    with pytest.raises(ValueError, match="every element of accuracy must be <= 1.0"):
        accuracy_curve(n, acc * 100)
    with pytest.raises(ValueError, match=r"accuracy must have one value per entry of n_images \(3\), got 2"):
        accuracy_curve(n, acc[:2])
