"""Spike encoders: Poisson statistics with tolerances from the sample size, latency order, delta reconstruction."""
import numpy as np
import pytest
from scipy import optimize

import neuroimc as ni
from neuroimc.encoding import (DIEHL_COOK_MAX_RATE, PresentationSchedule, SpikeTrains, delta_decode, delta_encode,
                               latency_encode, pixel_rates, rate_encode)
from neuroimc.units import Hz, ms

DT = 0.1 * ms
Z = 5.0  # z-score bound: a correct encoder fails a check with probability < 1e-6


def test_pixel_rates_are_diehl_cook_quarter_grey_level():
    img = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    np.testing.assert_allclose(pixel_rates(img), np.arange(256)[None] / 4.0, rtol=0, atol=1e-12)
    assert DIEHL_COOK_MAX_RATE == 63.75
    np.testing.assert_allclose(pixel_rates(np.array([[[0, 8, 16]]]), max_rate=100 * Hz, full_scale=16),
                               [[0, 50, 100]])


def _level_image(levels, per_level):
    return np.repeat(np.asarray(levels, dtype=np.uint8), per_level)[None, :, None]


def test_rate_code_counts_are_binomial():
    levels, per_level, n_img = [0, 32, 128, 255], 150, 4
    images = np.repeat(_level_image(levels, per_level), n_img, axis=0)
    duration = 350 * ms
    n_steps = int(round(duration / DT))
    trains = rate_encode(images, dt=DT, duration=duration, rest=150 * ms, seed=11)
    period = duration + 150 * ms
    image_of = np.floor(trains.times / period + 1e-9).astype(int)
    counts = np.zeros((n_img, images.shape[1]), int)
    np.add.at(counts, (image_of, trains.indices), 1)
    for lv in levels:
        p = lv / 4.0 * DT
        c = counts[:, np.repeat(levels, per_level) == lv].ravel()
        mean, var = n_steps * p, n_steps * p * (1 - p)
        if lv == 0:
            assert c.sum() == 0
            continue
        assert abs(c.mean() - mean) < Z * np.sqrt(var / c.size)
        assert abs(c.var(ddof=1) / var - 1) < Z * np.sqrt(2 / (c.size - 1))


def test_rate_code_timing_grid_windows_and_replay():
    images = np.full((3, 5, 5), 255, np.uint8)
    duration, rest = 20 * ms, 10 * ms
    trains = rate_encode(images, dt=DT, max_rate=2000 * Hz, duration=duration, rest=rest, t_start=5 * ms, seed=3)
    steps = trains.times / DT
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    steps = np.round(steps).astype(int)
    pairs = np.stack([steps, trains.indices], axis=1)
    assert len(np.unique(pairs, axis=0)) == len(pairs)  # one spike per input per step
    assert np.all(np.diff(steps) >= 0)
    offset = steps - 50  # t_start = 50 steps; period = 300 steps, window = 200 steps
    assert offset.min() >= 0 and np.all(offset % 300 < 200)
    # replayed by the engine, spike for spike
    net = ni.Network(dt=DT, seed=0)
    src = net.add(trains.source(name="pixels"))
    mon = net.monitor_spikes(src)
    net.run(5 * ms + 3 * (duration + rest), progress=False)
    np.testing.assert_array_equal(mon.steps, steps)
    np.testing.assert_array_equal(mon.indices, trains.indices)
    np.testing.assert_array_equal(trains.counts(), mon.counts())


def test_rate_code_seeding():
    img = np.full((1, 8, 8), 200, np.uint8)
    a = rate_encode(img, dt=DT, seed=5)
    b = rate_encode(img, dt=DT, seed=np.random.default_rng(5))
    c = rate_encode(img, dt=DT, seed=6)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert len(a) != len(c) or not np.array_equal(a.times, c.times)


def test_rate_code_bad_arguments():
    img = np.zeros((1, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"max_rate \* dt must be <= 1"):
        rate_encode(img, dt=1 * ms, max_rate=2000 * Hz)
    with pytest.raises(ValueError, match="duration must be a whole number of time steps"):
        rate_encode(img, dt=DT, duration=0.35 * ms + 0.05 * ms + 0.01 * ms)
    with pytest.raises(ValueError, match=r"images must hold intensities in \[0, full_scale=16\], found 255"):
        rate_encode(np.full((1, 2), 255), dt=DT, full_scale=16)
    with pytest.raises(ValueError, match="pass image\\[None\\] for a single image"):
        rate_encode(np.zeros(5), dt=DT)
    with pytest.raises(TypeError, match="seed must be an integer"):
        rate_encode(img, dt=DT, seed=1.5)


def test_latency_linear_times_and_order():
    img = np.array([[[255, 0, 51], [204, 51, 102]]], np.uint8)
    trains = latency_encode(img, duration=100 * ms)
    # x = v/255: 1, -, .2, .8, .2, .4  ->  t = (1 - x) * 100 ms
    assert trains.n == 6 and 1 not in trains.indices
    np.testing.assert_array_equal(trains.indices, [0, 3, 5, 2, 4])  # brighter first; ties by input
    np.testing.assert_allclose(trains.times / ms, [0, 20, 60, 80, 80], atol=1e-9)
    two = latency_encode(np.concatenate([img, img]), duration=100 * ms, rest=50 * ms, t_start=10 * ms)
    np.testing.assert_allclose(two.times[5:] - two.times[:5], 150 * ms)
    assert two.times[0] == pytest.approx(10 * ms)


def test_latency_rc_is_the_leaky_integrator_threshold_time():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (1, 200))
    tau, theta, duration = 20 * ms, 0.3, 50 * ms
    trains = latency_encode(img, duration=duration, method="rc", tau=tau, threshold=theta)
    x = img[0] / 255
    expect = {}
    for i, xi in enumerate(x):
        if xi > theta:  # v(t) = x (1 - exp(-t/tau)) reaches theta at a root found numerically
            t = optimize.brentq(lambda t: xi * (1 - np.exp(-t / tau)) - theta, 0, 100 * tau, xtol=1e-14)
            if t < duration:
                expect[i] = t
    assert sorted(expect) == sorted(trains.indices.tolist())
    got = dict(zip(trains.indices.tolist(), trains.times))
    for i, t in expect.items():
        assert got[i] == pytest.approx(t, rel=1e-9)
    assert np.all(np.diff(trains.times) >= 0)
    order = trains.indices
    assert np.all(np.diff(x[order]) <= 0)  # brighter inputs fire earlier
    with pytest.raises(ValueError, match="method must be one of"):
        latency_encode(img, method="exp")
    with pytest.raises(ValueError, match="threshold must be < 1.0"):
        latency_encode(img, method="rc", threshold=1.0)


def test_delta_code_reconstructs_within_threshold():
    rng = np.random.default_rng(7)
    t = np.arange(4000) * 1e-3
    sig = np.stack([np.sin(2 * np.pi * 3 * t) + 0.05 * rng.standard_normal(t.size),
                    np.cumsum(rng.standard_normal(t.size)) * 0.02], axis=1)
    theta = np.array([0.05, 0.1])
    trains = delta_encode(sig, theta, dt=1e-3)
    assert trains.n == 4 and np.all(np.diff(trains.times) >= 0)
    rec = delta_decode(trains, theta, sig[0], t)
    err = np.abs(rec - sig)
    assert np.all(err < theta + 1e-12)
    # also between samples, against the straight lines the encoder follows
    fine = np.linspace(0, t[-1], 40001)
    lin = np.stack([np.interp(fine, t, sig[:, c]) for c in range(2)], axis=1)
    assert np.all(np.abs(delta_decode(trains, theta, sig[0], fine) - lin) < theta + 1e-9)
    # no spike is wasted: each ON/OFF spike moves the reference by one threshold, which the
    # signal's path length must pay for
    for c in range(2):
        n_c = np.sum((trains.indices // 2) == c)
        assert n_c <= np.abs(np.diff(sig[:, c])).sum() / theta[c] + 1


def test_delta_code_ramp_and_jump_closed_forms():
    t = np.linspace(0, 1.05, 22)
    ramp = delta_encode(t.copy(), 0.1, times=t)  # x(t) = t: ON spikes at t = 0.1, 0.2, ..., 1.0
    assert set(ramp.indices.tolist()) == {0}
    np.testing.assert_allclose(ramp.times, np.arange(1, 11) * 0.1, atol=1e-12)
    down = delta_encode(np.array([1.0, 1.0, 0.62]), 0.1, dt=1.0)  # falls 0.38: 3 OFF spikes
    assert down.indices.tolist() == [1, 1, 1]
    np.testing.assert_allclose(down.times, 1 + np.array([0.1, 0.2, 0.3]) / 0.38, rtol=1e-12)
    flat = delta_encode(np.zeros((50, 3)), 0.1, dt=1.0)
    assert len(flat) == 0 and flat.n == 6


def test_delta_code_bad_arguments():
    with pytest.raises(ValueError, match="give exactly one of dt"):
        delta_encode(np.zeros(5), 0.1)
    with pytest.raises(ValueError, match=r"times must be strictly increasing, got times\[1\]=1"):
        delta_encode(np.zeros(3), 0.1, times=[0, 1, 1])
    with pytest.raises(ValueError, match="threshold must be > 0"):
        delta_encode(np.zeros(3), 0.0, dt=1.0)


def test_schedule_defaults_are_diehl_cook():
    s = PresentationSchedule()
    assert (s.presentation, s.rest, s.max_rate, s.rate_step) == pytest.approx((350 * ms, 150 * ms, 63.75, 32.0))
    assert s.min_spikes == 5
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_allclose(s.rates(img, attempt=2), np.arange(256) / 255 * (63.75 + 64))
    assert s.accepted(5) and not s.accepted(4)
    assert s.duration([1, 3]) == pytest.approx(2.0)


def test_schedule_drive_boosts_until_the_network_answers():
    s = PresentationSchedule(max_attempts=8)
    log = []

    def present(i, rates, duration):
        log.append(("present", i, round(rates.max(), 6), duration))
        return int(rates.max() // 40)  # a toy network: one output spike per 40 Hz of peak input

    def rest(duration):
        log.append(("rest", duration))

    images = np.zeros((2, 4, 4), np.uint8)
    images[0, 0, 0] = 255  # needs 63.75 + 32 a >= 200 Hz: a = 5, so 6 attempts
    images[1] = 255
    attempts = s.drive(images[:1], present, rest, progress=False)
    assert attempts.tolist() == [6]
    peaks = [e[2] for e in log if e[0] == "present"]
    np.testing.assert_allclose(peaks, 63.75 + 32 * np.arange(6))
    assert [e[0] for e in log] == ["present", "rest"] * 6
    assert all(e[-1] == (s.presentation if e[0] == "present" else s.rest) for e in log)
    log.clear()
    eager = PresentationSchedule(min_spikes=1)
    assert eager.drive(images, present, rest, progress=False).tolist() == [1, 1]
    assert [e[1] for e in log if e[0] == "present"] == [0, 1]


def test_schedule_gives_up_on_a_silent_image():
    s = PresentationSchedule(max_attempts=3)
    msg = r"image 1: fewer than 5 output spikes after 3 attempts \(last peak rate 127.75 Hz\)"
    with pytest.raises(RuntimeError, match=msg):
        s.drive(np.stack([np.full((2, 2), 255.0), np.zeros((2, 2))]),
                lambda i, r, d: 10 if r.max() > 0 else 0, lambda d: None, progress=False)
    with pytest.raises(TypeError, match="present must return a spike count"):
        s.drive(np.ones((1, 2, 2)), lambda i, r, d: 2.5, lambda d: None, progress=False)
    with pytest.raises(ValueError, match="max_attempts must be >= 1, got 0"):
        PresentationSchedule(max_attempts=0)
    with pytest.raises(ValueError, match="attempt must be <= 2, got 3"):
        s.peak_rate(3)


def test_spike_trains_container():
    tr = SpikeTrains(3, np.array([0, 2, 2]), np.array([0.0, 1e-3, 2e-3]))
    assert len(tr) == 3 and tr.counts().tolist() == [1, 0, 2]
    assert isinstance(tr.source(), ni.SpikeSource)
