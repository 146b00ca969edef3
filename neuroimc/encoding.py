"""Turning data into spikes: rate, latency and delta (level-crossing) codes.

* **Rate code** (Diehl & Cook 2015): each pixel drives an independent Poisson train whose rate is
  proportional to its intensity, ``rate = value / full_scale * max_rate``; MNIST's 0..255 grey
  levels with ``max_rate = 63.75 Hz`` give Diehl & Cook's ``pixel / 4`` Hz.
  :func:`pixel_rates` gives the rates (for :class:`~neuroimc.PoissonSource`),
  :func:`rate_encode` draws the spikes (for :class:`~neuroimc.SpikeSource`), and
  :class:`PresentationSchedule` the 350 ms on / 150 ms off protocol with its rate boost.
* **Latency code** (time to first spike): each input fires once, brighter inputs earlier
  (:func:`latency_encode`).
* **Delta code** for sensor signals: an ON spike each time a signal rises by ``threshold`` above
  the last reference level, an OFF spike each time it falls by ``threshold`` (a send-on-delta /
  asynchronous delta modulator, as in event cameras and cochleas) (:func:`delta_encode`,
  inverted by :func:`delta_decode`).

Images are arrays ``(n_images, *image_shape)``: the first axis always counts images (pass
``image[None]`` for one image).  An image is flattened in C order, so pixel ``(r, c)`` of a
28 x 28 image is input ``28 * r + c``.  Image ``k`` of a sequence is shown during
``[t_start + k * (duration + rest), ... + duration)``.

Bad input -- a non-finite, negative or out-of-range value, a wrong shape or type, a time that is
not a whole number of steps, a request for more than :data:`MAX_STEPS` steps or
:data:`MAX_SPIKES` delta spikes -- raises ``ValueError`` or ``TypeError`` naming the parameter.
"""
from dataclasses import dataclass

import numpy as np
from numba import njit
from tqdm.auto import tqdm

from . import _checks
from .inputs import SpikeSource
from .units import Hz, ms

#: Diehl & Cook's input rate for a full-intensity pixel: 255 / 4 Hz.
DIEHL_COOK_MAX_RATE = 63.75 * Hz


@dataclass(frozen=True, eq=False)
class SpikeTrains:
    """Spikes of ``n`` inputs: input ``indices[k]`` fires at ``times[k]`` (seconds), sorted by time."""

    n: int
    indices: np.ndarray
    times: np.ndarray

    def __len__(self):
        return int(self.indices.size)

    def counts(self):
        """Number of spikes of each input."""
        return np.bincount(self.indices, minlength=self.n)

    def source(self, name=None):
        """A :class:`~neuroimc.SpikeSource` replaying these spikes."""
        return SpikeSource(self.n, self.indices, self.times, name=name)


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        _checks.integer("seed", seed, low=0)
    return np.random.default_rng(seed)


def _images(images, full_scale):
    """(n_images, n_inputs) float array of intensities in [0, full_scale]."""
    arr = _checks.real_array("images", images)
    if arr.ndim < 2:
        raise ValueError(f"images must have shape (n_images, *image_shape) with at least 2 dimensions, "
                         f"got shape {arr.shape}; pass image[None] for a single image")
    # explicit width: reshape(n, -1) cannot infer it for an empty batch (n = 0)
    flat = arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    if flat.size and (flat.min() < 0 or flat.max() > full_scale):
        bad = flat.min() if flat.min() < 0 else flat.max()
        raise ValueError(f"images must hold intensities in [0, full_scale={full_scale:g}], found {bad:g}; "
                         "set full_scale to the data's largest possible value (255 for MNIST, 16 for load_digits)")
    return flat


#: most time steps an encoder accepts for one duration (the engine counts steps in int64)
MAX_STEPS = 2**53
#: most spikes delta_encode produces (about 1.7 GB of times, indices and signs)
MAX_SPIKES = 10**8


def _whole_steps(name, value, dt):
    steps = value / dt
    if not steps <= MAX_STEPS:  # also catches inf from an overflowing division
        raise ValueError(f"{name} / dt is too many time steps: {value:g} s / {dt:g} s = {steps:g} "
                         f"(at most 2**53); use a larger dt or a shorter {name}")
    k = int(round(steps))
    if abs(steps - k) > 1e-6 * max(1.0, steps):
        raise ValueError(f"{name} must be a whole number of time steps dt={dt:g} s, got {value:g} s "
                         f"({steps:g} steps)")
    return k


def pixel_rates(images, max_rate=DIEHL_COOK_MAX_RATE, full_scale=255.0):
    """Poisson rate of every input: ``images / full_scale * max_rate``, Hz, shape ``(n_images, n_inputs)``.

    Row ``k`` is the ``rate`` array of a :class:`~neuroimc.PoissonSource` showing image ``k``.
    """
    max_rate = _checks.non_negative("max_rate", max_rate)
    full_scale = _checks.positive("full_scale", full_scale)
    # divide first: intensity / full_scale is in [0, 1], so neither step can overflow or underflow to a
    # wrong rate, as max_rate / full_scale can (a huge max_rate over a tiny full scale, or the reverse)
    return (_images(images, full_scale) / full_scale) * max_rate


def rate_encode(images, *, dt, max_rate=DIEHL_COOK_MAX_RATE, duration=350 * ms, rest=0.0, full_scale=255.0,
                t_start=0.0, seed=None):
    """Poisson spike trains for a sequence of images, on the simulation's time grid.

    In every time step of an image's ``duration`` each input fires with probability
    ``rate * dt`` (Brian2's ``PoissonGroup``; ``rate`` from :func:`pixel_rates`), so an input's
    count over a presentation is Binomial(``duration / dt``, ``rate * dt``) with mean
    ``rate * duration``.  Spike times are exact multiples of ``dt``; during ``rest`` no input
    fires.  Use the network's ``dt`` so that :meth:`SpikeTrains.source` replays one spike per
    step at most.

    Parameters
    ----------
    images : array (n_images, *image_shape)
        Intensities in ``[0, full_scale]``.
    dt : float
        Time step, s.
    max_rate : float
        Rate of a full-scale pixel, Hz (``max_rate * dt <= 1``).
    duration, rest : float
        Presentation and pause per image, s (whole numbers of steps).
    full_scale : float
        Intensity that maps to ``max_rate``.
    t_start : float
        Start of the first presentation, s (a whole number of steps).
    seed : int or numpy.random.Generator, optional

    Returns a :class:`SpikeTrains` with ``n = prod(image_shape)``.
    """
    dt = _checks.positive("dt", dt)
    rates = pixel_rates(images, max_rate, full_scale)
    if max_rate * dt > 1:
        raise ValueError(f"max_rate * dt must be <= 1 (at most one spike per step), got "
                         f"{max_rate:g} Hz * {dt:g} s = {max_rate * dt:g}")
    n_steps = _whole_steps("duration", _checks.positive("duration", duration), dt)
    period = n_steps + _whole_steps("rest", _checks.non_negative("rest", rest), dt)
    first = _whole_steps("t_start", _checks.non_negative("t_start", t_start), dt)
    rng = _rng(seed)
    steps, inputs = [], []
    for k, r in enumerate(rates):
        active = np.flatnonzero(r)  # dark pixels never fire: draw only for the others
        fired = rng.random((n_steps, active.size)) < r[active] * dt
        s, j = np.nonzero(fired)  # row-major: sorted by step, then input
        steps.append(first + k * period + s)
        inputs.append(active[j])
    steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
    indices = np.concatenate(inputs).astype(np.int64) if inputs else np.zeros(0, np.int64)
    # times from integer step counts: no accumulated rounding, SpikeSource bins them back exactly
    return SpikeTrains(rates.shape[1], indices, steps.astype(np.float64) * dt)


def latency_encode(images, *, duration=350 * ms, rest=0.0, full_scale=255.0, t_start=0.0, method="linear",
                   tau=None, threshold=0.2):
    """Time-to-first-spike code: every input with positive intensity fires once, brighter ones first.

    With ``x = value / full_scale`` in ``(0, 1]``:

    * ``method="linear"``: ``t = (1 - x) * duration``; a full-scale input fires at the start of
      the window, a faint one just before its end; ``x = 0`` never fires.
    * ``method="rc"``: the input charges a leaky integrator ``tau dv/dt = x - v`` from ``v = 0``
      and fires when ``v`` reaches ``threshold`` (0 < threshold < 1), at
      ``t = tau * ln(x / (x - threshold))``; inputs with ``x <= threshold`` never reach it, and
      spikes later than ``duration`` are dropped.  ``tau`` defaults to ``duration / 5``.

    Times are continuous; :class:`~neuroimc.SpikeSource` bins them to its step.
    Returns a :class:`SpikeTrains` sorted by time (ties by input).
    """
    full_scale = _checks.positive("full_scale", full_scale)
    values = _images(images, full_scale)
    x = values / full_scale
    duration = _checks.positive("duration", duration)
    period = duration + _checks.non_negative("rest", rest)
    t_start = _checks.non_negative("t_start", t_start)
    _checks.choice("method", method, {"linear", "rc"})
    k, i = np.nonzero(values > 0)  # the intensities themselves: x may underflow to 0 for a faint input
    xs = x[k, i]
    if method == "linear":
        # inside the window even when 1 - x rounds to 1: the last representable instant before its end
        t = np.minimum((1.0 - xs) * duration, np.nextafter(duration, 0.0))
    else:
        tau = duration / 5 if tau is None else _checks.positive("tau", tau)
        threshold = _checks.real("threshold", threshold, low=0.0, high=1.0, low_open=True, high_open=True)
        keep = xs > threshold
        k, i, xs = k[keep], i[keep], xs[keep]
        t = tau * np.log(xs / (xs - threshold))
        keep = t < duration
        k, i, t = k[keep], i[keep], t[keep]
    if not np.isfinite(t_start + x.shape[0] * period):
        raise ValueError(f"t_start + n_images * (duration + rest) overflows: t_start={t_start:g} s, "
                         f"{x.shape[0]} images, duration + rest = {period:g} s")
    times = t_start + k * period + t
    order = np.lexsort((i, times))
    return SpikeTrains(x.shape[1], i[order].astype(np.int64), times[order])


@njit(cache=True)
def _level_crossings(t, x, theta):
    """ON/OFF crossing times of one channel's piecewise-linear signal; returns (times, signs)."""
    out_t = np.empty(16, np.float64)
    out_s = np.empty(16, np.int8)
    n_out = 0
    x0 = x[0]
    m = 0  # reference level = x0 + m * theta, kept as an integer so it never drifts
    for k in range(1, x.size):
        a, b = x[k - 1], x[k]
        ref = x0 + m * theta
        if b - ref >= theta:
            n, sign = int(np.floor((b - ref) / theta)), 1
        elif ref - b >= theta:
            n, sign = int(np.floor((ref - b) / theta)), -1
        else:
            continue
        if n_out + n > out_t.size:
            grow = max(2 * out_t.size, n_out + n)
            out_t = np.concatenate((out_t, np.empty(grow - out_t.size, np.float64)))
            out_s = np.concatenate((out_s, np.empty(grow - out_s.size, np.int8)))
        for q in range(1, n + 1):
            level = ref + sign * q * theta
            # the segment is linear and monotonic, so it crosses each level once
            out_t[n_out] = t[k - 1] + (level - a) / (b - a) * (t[k] - t[k - 1])
            out_s[n_out] = sign
            n_out += 1
        m += sign * n
    return out_t[:n_out], out_s[:n_out]


def delta_encode(signal, threshold, *, dt=None, times=None):
    """Send-on-delta (level-crossing) code of sampled signals: ON/OFF spike pairs per channel.

    The signal of each channel is taken as the straight lines between its samples.  A reference
    level starts at the first sample; whenever the signal rises to ``reference + threshold``,
    input ``2c`` (ON) fires at that instant (interpolated between samples) and the reference
    rises by ``threshold``; whenever it falls to ``reference - threshold``, input ``2c + 1``
    (OFF) fires and the reference falls.  A jump of several thresholds gives several spikes at
    the successive crossing instants.  The staircase ``x[0] + threshold * (ON - OFF count)``
    (:func:`delta_decode`) then stays within ``threshold`` of the signal at all times: the
    code carries changes, not levels, and costs spikes only when the signal moves.

    Parameters
    ----------
    signal : array (n_samples,) or (n_samples, n_channels)
    threshold : float or array (n_channels,)
        Level step, in the signal's unit, > 0.  For replay through a
        :class:`~neuroimc.SpikeSource` keep it above the largest change per time step, or two
        spikes of one input may fall into one step.
    dt : float, optional
        Sample interval, s (samples at ``0, dt, 2 dt, ...``).
    times : array (n_samples,), optional
        Strictly increasing sample times, s, instead of ``dt``.

    Returns a :class:`SpikeTrains` with ``n = 2 * n_channels``, sorted by time.  A threshold so
    small that the code would exceed :data:`MAX_SPIKES` spikes is refused (``ValueError``).
    """
    x = _checks.real_array("signal", signal)
    if x.ndim not in (1, 2) or x.shape[0] < 1:
        raise ValueError(f"signal must have shape (n_samples,) or (n_samples, n_channels), got {x.shape}")
    n_samples, n_channels = x.shape[0], int(np.prod(x.shape[1:]))
    if n_channels == 0:
        raise ValueError(f"signal must have at least one channel, got shape {x.shape}")
    x = x.reshape(n_samples, n_channels)
    theta = _checks.per_neuron("threshold", threshold, n_channels, low=0.0, low_open=True)
    t = _sample_times(n_samples, dt, times)
    # each channel crosses at most (total variation / threshold) levels: refuse a code that would not
    # fit in memory before the kernel starts allocating it (a tiny threshold on a large signal)
    with np.errstate(over="ignore"):
        variation = np.abs(np.diff(x, axis=0)).sum(axis=0) / theta if n_samples > 1 else np.zeros(n_channels)
    expected = float(variation.sum())
    if not expected <= MAX_SPIKES:
        raise ValueError(f"threshold {_show_threshold(theta)} would give about {expected:.3g} spikes "
                         f"(signal variation / threshold; at most {MAX_SPIKES:.0e}); raise the threshold")
    idx, tt = [], []
    for c in range(n_channels):
        tc, sc = _level_crossings(t, np.ascontiguousarray(x[:, c]), theta[c])
        idx.append(2 * c + (sc < 0))
        tt.append(tc)
    indices = np.concatenate(idx).astype(np.int64)
    spike_times = np.concatenate(tt)
    order = np.lexsort((indices, spike_times))
    return SpikeTrains(2 * n_channels, indices[order], spike_times[order])


def _show_threshold(theta):
    return f"{theta[0]:g}" if np.all(theta == theta[0]) else f"(min {theta.min():g})"


def _sample_times(n_samples, dt, times):
    if (dt is None) == (times is None):
        raise ValueError("give exactly one of dt (uniform sampling) and times (sample times), "
                         f"got dt={dt!r} and times={'None' if times is None else 'an array'}")
    if dt is not None:
        dt = _checks.positive("dt", dt)
        if not np.isfinite((n_samples - 1) * dt):
            raise ValueError(f"dt = {dt:g} s makes the sample times overflow over {n_samples} samples")
        return np.arange(n_samples) * dt
    t = _checks.real_array("times", times, shape=(n_samples,))
    if n_samples > 1 and not np.isfinite(t[-1] - t[0]):
        raise ValueError(f"times span {t[0]:g} .. {t[-1]:g} s, which overflows; use a smaller time unit")
    if n_samples > 1 and np.any(np.diff(t) <= 0):
        k = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ValueError(f"times must be strictly increasing, got times[{k}]={t[k]:g} and "
                         f"times[{k + 1}]={t[k + 1]:g}")
    return t


def delta_decode(spikes, threshold, initial, t):
    """Staircase reconstruction of :func:`delta_encode`: ``initial + threshold * (ON - OFF)`` by time ``t``.

    ``initial`` is the first sample of each channel (scalar or ``(n_channels,)``); returns an
    array ``(len(t), n_channels)``.  Spikes at exactly ``t`` count.
    """
    if not isinstance(spikes, SpikeTrains):
        raise TypeError(f"spikes must be the SpikeTrains that delta_encode returns, got {type(spikes).__name__}")
    if spikes.n % 2:
        raise ValueError(f"spikes must come from delta_encode (an even number of inputs), got n={spikes.n}")
    n_channels = spikes.n // 2
    theta = _checks.per_neuron("threshold", threshold, n_channels, low=0.0, low_open=True)
    x0 = _checks.per_neuron("initial", initial, n_channels)
    t = _checks.real_array("t", t, ndim=1)
    out = np.empty((t.size, n_channels))
    for c in range(n_channels):
        on = np.searchsorted(spikes.times[spikes.indices == 2 * c], t, side="right")
        off = np.searchsorted(spikes.times[spikes.indices == 2 * c + 1], t, side="right")
        out[:, c] = x0[c] + theta[c] * (on - off)
    return out


@dataclass(frozen=True)
class PresentationSchedule:
    """Diehl & Cook's (2015) input protocol: show, rest, and boost the input if the network stays silent.

    Each image is shown for ``presentation`` as Poisson trains with rates
    ``value / full_scale * max_rate``, then all inputs fall silent for ``rest`` so that membrane
    potentials and traces decay before the next image.  If the excitatory layer fired fewer than
    ``min_spikes`` spikes during a presentation, the same image is shown again (after its rest)
    with the full-scale rate raised by ``rate_step``: attempt ``a`` (from 0) uses
    ``max_rate + a * rate_step``.  The boost resets for the next image.

    Defaults are the paper's: 350 ms, 150 ms, 63.75 Hz, +32 Hz, 5 spikes.  (The authors' code
    raises an intensity factor by 1 in ``rate = pixel / 8 * intensity``, i.e. by 255 / 8 =
    31.875 Hz; pass ``rate_step=31.875`` to match it.)  ``max_attempts`` is not in the paper:
    it stops an image that no boost makes the network respond to (a blank image, a dead network).

    The network is driven by the caller, either with :meth:`rates` and :meth:`accepted` in its
    own loop or through :meth:`drive`.
    """

    presentation: float = 350 * ms
    rest: float = 150 * ms
    max_rate: float = DIEHL_COOK_MAX_RATE
    rate_step: float = 32 * Hz
    min_spikes: int = 5
    max_attempts: int = 10
    full_scale: float = 255.0

    def __post_init__(self):
        _checks.positive("presentation", self.presentation)
        _checks.non_negative("rest", self.rest)
        _checks.non_negative("max_rate", self.max_rate)
        _checks.non_negative("rate_step", self.rate_step)
        _checks.integer("min_spikes", self.min_spikes, low=0)
        _checks.integer("max_attempts", self.max_attempts, low=1)
        _checks.positive("full_scale", self.full_scale)

    def peak_rate(self, attempt=0):
        """Full-scale rate of attempt ``attempt`` (0 = first showing), Hz."""
        attempt = _checks.integer("attempt", attempt, low=0, high=self.max_attempts - 1)
        return self.max_rate + attempt * self.rate_step

    def rates(self, image, attempt=0):
        """Per-input rates (Hz, flattened) of one image at attempt ``attempt``."""
        image = _checks.real_array("image", image)
        try:
            return pixel_rates(image[None], self.peak_rate(attempt), self.full_scale)[0]
        except ValueError as exc:  # the batch check speaks of "images": name what the caller passed
            raise ValueError(str(exc).replace("images", "image", 1)) from None

    def accepted(self, n_spikes):
        """Whether a presentation that drew ``n_spikes`` output spikes ends this image."""
        return _checks.integer("n_spikes", n_spikes, low=0) >= self.min_spikes

    def duration(self, attempts):
        """Simulated time taken by ``attempts`` presentations in total (each with its rest), s."""
        return np.sum(attempts) * (self.presentation + self.rest)

    def drive(self, images, present, rest, progress=True):
        """Show every image until it is accepted; the network is run by the two callbacks.

        ``present(index, rates, duration)`` must run the network for ``duration`` seconds with the
        input rates ``rates`` (Hz, one per input) and return the number of output spikes;
        ``rest(duration)`` must run it with silent inputs.  Returns the number of attempts per
        image (``int`` array); raises ``RuntimeError`` if an image is still rejected after
        ``max_attempts``.
        """
        if not callable(present) or not callable(rest):
            raise TypeError(f"present and rest must be callables, got {present!r} and {rest!r}")
        images = np.asarray(images)
        attempts = np.zeros(len(images), np.int64)
        for i in tqdm(range(len(images)), desc="images", unit="img", disable=not progress, leave=False):
            for a in range(self.max_attempts):
                n = present(i, self.rates(images[i], a), self.presentation)
                try:
                    ok = self.accepted(n)
                except (TypeError, ValueError) as exc:
                    raise TypeError(f"present must return a spike count (int >= 0), returned {n!r}") from exc
                if self.rest > 0:
                    rest(self.rest)
                if ok:
                    attempts[i] = a + 1
                    break
            else:
                raise RuntimeError(
                    f"image {i}: fewer than {self.min_spikes} output spikes after {self.max_attempts} attempts "
                    f"(last peak rate {self.peak_rate(self.max_attempts - 1):g} Hz); the image may be blank "
                    "or the network silent; raise max_attempts or rate_step, or check the network")
        return attempts
