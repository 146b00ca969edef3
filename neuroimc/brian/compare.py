"""How far two runs of the same network agree: spikes, rates, traces.

:func:`compare` takes two :class:`~neuroimc.brian.RunResult` (usually neuroimc
and its Brian2 twin, from :func:`~neuroimc.brian.reference_run`) and measures,
per population and over the whole network:

* **matched fraction**: spikes paired one to one with a spike of the same
  neuron at most ``tolerance`` away (greedy in time order, which is optimal for
  one neuron's sorted trains), as ``2 M / (N_a + N_b)`` (1 when both are empty);
* **identical / first divergence**: whether both have the same spikes (same
  neuron, same step), and else the earliest step at which they differ;
* **count differences** per neuron and the **correlation of firing rates**
  (Pearson; 1 when both rate vectors are equal, NaN when one is constant and
  they differ);
* **van Rossum distance** per neuron (exponential kernel ``tau``), normalised so
  that one unmatched spike gives 1:
  ``D^2 = (2/tau) * integral (f_a - f_b)^2 dt = S_aa + S_bb - 2 S_ab`` with
  ``S_xy = sum_ij exp(-|x_i - y_j|/tau)`` and ``f`` a train filtered by the
  kernel ``exp(-t/tau)`` (computed exactly from spike times, no time grid);
* **maximum membrane-trace error** over the neurons both recorded, over the
  whole run and before the first divergence;
* for every plastic crossbar both runs carry weights of
  (:class:`~neuroimc.brian.results.WeightRecord`), the **final-weight error**:
  its maximum and RMS over the cells, relative to the crossbar's ``w_max``
  (the weight of one fully programmed device, the unit the learning rule works
  in; element-wise relative errors are meaningless for weights the rule
  clipped to zero), set against how far learning moved the weights.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..units import ms
from .report import comparison_figure, comparison_markdown
from .results import RunResult


@dataclass(frozen=True)
class PopulationComparison:
    """Agreement of one population's spikes and traces in two runs (see module doc)."""

    name: str
    n: int
    spikes_a: int
    spikes_b: int
    matched: int
    identical: bool
    first_divergence_step: object  # int or None
    count_difference: np.ndarray  # counts_a - counts_b per neuron
    rates_a: np.ndarray  # Hz per neuron
    rates_b: np.ndarray
    rate_correlation: float
    van_rossum: np.ndarray  # per neuron
    max_trace_error: float  # volts; NaN if no common recorded neuron
    max_trace_error_before_divergence: float

    @property
    def matched_fraction(self):
        total = self.spikes_a + self.spikes_b
        return 1.0 if total == 0 else 2.0 * self.matched / total

    @property
    def mean_rate_a(self):
        return float(self.rates_a.mean())

    @property
    def mean_rate_b(self):
        return float(self.rates_b.mean())

    @property
    def rate_relative_difference(self):
        """``|mean rate a - mean rate b| / mean rate b`` (0 if both silent, inf if only b is)."""
        return _relative(self.mean_rate_a, self.mean_rate_b)

    @property
    def rate_std_relative_difference(self):
        """The same for the spread of rates across neurons (standard deviation)."""
        return _relative(float(self.rates_a.std()), float(self.rates_b.std()))


@dataclass(frozen=True)
class WeightComparison:
    """Agreement of one plastic crossbar's learned weights in two runs.

    Errors are in units of ``w_scale`` (the crossbar's ``w_max``, amperes).
    """

    name: str
    w_scale: float
    initial_a: np.ndarray
    initial_b: np.ndarray
    final_a: np.ndarray
    final_b: np.ndarray

    @property
    def max_error(self):
        """``max |final_a - final_b| / w_scale``."""
        return float(np.abs(self.final_a - self.final_b).max() / self.w_scale)

    @property
    def rms_error(self):
        """RMS over cells of ``(final_a - final_b) / w_scale``."""
        return float(np.sqrt(np.mean((self.final_a - self.final_b) ** 2)) / self.w_scale)

    @property
    def mean_change_a(self):
        """Mean ``|final - initial| / w_scale`` in run a: how far learning moved the weights."""
        return float(np.abs(self.final_a - self.initial_a).mean() / self.w_scale)

    @property
    def mean_change_b(self):
        return float(np.abs(self.final_b - self.initial_b).mean() / self.w_scale)

    @property
    def change_correlation(self):
        """Pearson correlation of the weight changes (final - initial) of a and b, cell by cell."""
        return _correlation((self.final_a - self.initial_a).ravel(), (self.final_b - self.initial_b).ravel())

    @property
    def learning_error(self):
        """``rms(final_a - final_b) / rms(final_b - initial_b)``.

        0: a learned what b learned; 1: a's error is as large as b's whole learning.
        """
        learned = np.sqrt(np.mean((self.final_b - self.initial_b) ** 2))
        err = np.sqrt(np.mean((self.final_a - self.final_b) ** 2))
        if learned == 0.0:
            return 0.0 if err == 0.0 else float("inf")
        return float(err / learned)


def _relative(a, b):
    if b == 0.0:
        return 0.0 if a == 0.0 else float("inf")
    return abs(a - b) / b


class Comparison:
    """The report of :func:`compare`: per population (``.populations``) and whole network.

    Whole-network attributes pool all populations: :attr:`matched_fraction`,
    :attr:`identical`, :attr:`first_divergence` (seconds or ``None``),
    :attr:`count_difference` (per population), :attr:`rate_correlation`,
    :attr:`van_rossum` (mean over neurons), :attr:`max_trace_error` and
    :attr:`max_trace_error_before_divergence` (volts).  ``.weights`` holds a
    :class:`WeightComparison` per plastic crossbar (empty unless both runs
    carry weights), pooled in :attr:`max_weight_error` and
    :attr:`rms_weight_error`.  :meth:`plot` draws rasters, rates, learned
    weights and traces; :meth:`to_markdown` and :meth:`to_dict` report.
    """

    def __init__(self, a, b, tolerance, tau, populations, weights=None):
        self.a, self.b = a, b
        self.labels = (a.simulator, b.simulator)
        self.dt, self.duration = a.dt, a.duration
        self.tolerance, self.tau = tolerance, tau
        self.populations = populations
        self.weights = {} if weights is None else weights

    def _pooled(self, attr):
        return np.concatenate([getattr(p, attr) for p in self.populations.values()])

    @property
    def matched_fraction(self):
        total = sum(p.spikes_a + p.spikes_b for p in self.populations.values())
        matched = sum(p.matched for p in self.populations.values())
        return 1.0 if total == 0 else 2.0 * matched / total

    @property
    def identical(self):
        return all(p.identical for p in self.populations.values())

    @property
    def first_divergence_step(self):
        steps = [p.first_divergence_step for p in self.populations.values() if p.first_divergence_step is not None]
        return min(steps) if steps else None

    @property
    def first_divergence(self):
        """Time (seconds from the start of the run) of the first differing spike, ``None`` if none differ."""
        step = self.first_divergence_step
        return None if step is None else step * self.dt

    @property
    def count_difference(self):
        return {name: p.count_difference for name, p in self.populations.items()}

    @property
    def rate_correlation(self):
        return _correlation(self._pooled("rates_a"), self._pooled("rates_b"))

    @property
    def van_rossum(self):
        return float(self._pooled("van_rossum").mean())

    @property
    def max_trace_error(self):
        return _nanmax([p.max_trace_error for p in self.populations.values()])

    @property
    def max_trace_error_before_divergence(self):
        """Largest ``|v_a - v_b|`` in the samples before the first divergence step of the whole network."""
        step = self.first_divergence_step
        errs = [_trace_error(self.a.populations[n], self.b.populations[n], step) for n in self.populations]
        return _nanmax(errs)

    @property
    def max_weight_error(self):
        """Largest final-weight error over the plastic crossbars (units of each ``w_max``; NaN if none)."""
        return _nanmax([w.max_error for w in self.weights.values()])

    @property
    def rms_weight_error(self):
        """RMS final-weight error over all cells of all plastic crossbars (units of each ``w_max``; NaN if none)."""
        if not self.weights:
            return float("nan")
        sq = np.concatenate([((w.final_a - w.final_b) / w.w_scale).ravel() ** 2 for w in self.weights.values()])
        return float(np.sqrt(sq.mean()))

    def to_dict(self):
        """JSON-ready summary (plain floats, ints, strings, ``None``)."""
        pops = {}
        for name, p in self.populations.items():
            pops[name] = {
                "n": p.n,
                "spikes": [p.spikes_a, p.spikes_b],
                "matched_fraction": p.matched_fraction,
                "identical": p.identical,
                "first_divergence_s": None if p.first_divergence_step is None else p.first_divergence_step * self.dt,
                "max_abs_count_difference": int(np.abs(p.count_difference).max(initial=0)),
                "mean_rate_hz": [p.mean_rate_a, p.mean_rate_b],
                "rate_relative_difference": p.rate_relative_difference,
                "rate_std_relative_difference": p.rate_std_relative_difference,
                "rate_correlation": _json_float(p.rate_correlation),
                "van_rossum_mean": float(p.van_rossum.mean()),
                "max_trace_error_v": _json_float(p.max_trace_error),
            }
        return {
            "simulators": list(self.labels),
            "dt_s": self.dt,
            "duration_s": self.duration,
            "tolerance_s": self.tolerance,
            "van_rossum_tau_s": self.tau,
            "matched_fraction": self.matched_fraction,
            "identical": self.identical,
            "first_divergence_s": self.first_divergence,
            "rate_correlation": _json_float(self.rate_correlation),
            "van_rossum_mean": self.van_rossum,
            "max_trace_error_v": _json_float(self.max_trace_error),
            "max_trace_error_before_divergence_v": _json_float(self.max_trace_error_before_divergence),
            "populations": pops,
            "max_weight_error": _json_float(self.max_weight_error),
            "rms_weight_error": _json_float(self.rms_weight_error),
            "weights": {
                name: {
                    "shape": list(w.final_a.shape),
                    "w_scale_amp": w.w_scale,
                    "max_error": w.max_error,
                    "rms_error": w.rms_error,
                    "mean_change": [w.mean_change_a, w.mean_change_b],
                    "change_correlation": _json_float(w.change_correlation),
                    "learning_error": w.learning_error,
                }
                for name, w in self.weights.items()
            },
        }

    def to_markdown(self, title=None):
        """A markdown section: a summary table and one row per population."""
        return comparison_markdown(self, title)

    def plot(self, neurons=2, max_raster_neurons=200, window=200 * ms):
        """Rasters overlaid, rate scatter and membrane traces overlaid; returns a ``Figure``.

        ``neurons``: how many recorded neurons to overlay in the trace panel;
        ``max_raster_neurons``: rasters show at most this many neurons per
        population; ``window``: seconds of trace shown (centred on the first
        divergence if there is one, else from the start).
        """
        window = _checks.positive("window", window)
        _checks.integer("neurons", neurons, low=1)
        _checks.integer("max_raster_neurons", max_raster_neurons, low=1)
        return comparison_figure(self, neurons, max_raster_neurons, window)

    def __repr__(self):
        div = "none" if self.first_divergence is None else f"{self.first_divergence * 1e3:.1f} ms"
        weights = f", max weight error {self.max_weight_error:.3g} w_max" if self.weights else ""
        return (
            f"Comparison({self.labels[0]} vs {self.labels[1]}: matched {self.matched_fraction:.4f}, "
            f"first divergence {div}, rate r = {self.rate_correlation:.4f}{weights})"
        )


def _json_float(x):
    x = float(x)
    return None if np.isnan(x) else x


def _nanmax(values):
    values = [v for v in values if not np.isnan(v)]
    return max(values) if values else float("nan")


def _correlation(x, y):
    if np.array_equal(x, y):
        return 1.0
    if x.std() == 0.0 or y.std() == 0.0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _trains(rec):
    """Per-neuron sorted spike steps."""
    order = np.lexsort((rec.steps, rec.indices))
    idx, steps = rec.indices[order], rec.steps[order]
    bounds = np.searchsorted(idx, np.arange(rec.n + 1))
    return [steps[bounds[k] : bounds[k + 1]] for k in range(rec.n)]


def _matched(x, y, tol):
    """One-to-one pairs within ``tol`` steps between two sorted trains (greedy, optimal in 1-d)."""
    i = j = m = 0
    while i < x.size and j < y.size:
        d = x[i] - y[j]
        if abs(d) <= tol:
            m, i, j = m + 1, i + 1, j + 1
        elif d < 0:
            i += 1
        else:
            j += 1
    return m


def _van_rossum(x, y, tau_steps):
    """Van Rossum distance of two sorted trains (times in steps), normalised to 1 per lone spike.

    With signs s = +1 for spikes of ``x`` and -1 for ``y``,
    ``D^2 = sum_ij s_i s_j exp(-|t_i - t_j|/tau)``, accumulated in time order from
    the running difference trace ``d`` (each pair counted once): equal trains
    give exactly 0, without the cancellation of ``S_aa + S_bb - 2 S_ab``.
    """
    events = np.concatenate([x, y]).astype(np.float64)
    sign = np.concatenate([np.ones(x.size), -np.ones(y.size)])
    order = np.lexsort((-sign, events))
    d = d2 = 0.0
    last = None
    for t, s in zip(events[order].tolist(), sign[order].tolist()):
        if last is not None and t != last:
            d *= math.exp(-(t - last) / tau_steps)
        last = t
        d2 += 1.0 + 2.0 * s * d
        d += s
    return math.sqrt(max(d2, 0.0))


def _first_difference(a, b, n):
    """Earliest step at which the (step, neuron) spike sets of two records differ, or None."""
    ka = np.sort(a.steps * n + a.indices)
    kb = np.sort(b.steps * n + b.indices)
    m = min(ka.size, kb.size)
    diff = np.flatnonzero(ka[:m] != kb[:m])
    if diff.size:
        k = int(diff[0])
        return int(min(ka[k], kb[k]) // n)
    if ka.size == kb.size:
        return None
    longer = ka if ka.size > kb.size else kb
    return int(longer[m] // n)


def _trace_error(ra, rb, before_step=None):
    common, ia, ib = np.intersect1d(ra.v_record, rb.v_record, return_indices=True)
    if common.size == 0:
        return float("nan")
    rows = min(ra.v.shape[0], rb.v.shape[0])
    if before_step is not None:
        rows = min(rows, before_step)
    if rows == 0:
        return float("nan")
    return float(np.max(np.abs(ra.v[:rows, ia] - rb.v[:rows, ib])))


def _population(name, ra, rb, tol_steps, tau_steps, duration):
    if ra.n != rb.n:
        raise ValueError(f"population {name!r} has {ra.n} neurons in a but {rb.n} in b")
    trains_a, trains_b = _trains(ra), _trains(rb)
    matched = sum(_matched(x, y, tol_steps) for x, y in zip(trains_a, trains_b))
    first = _first_difference(ra, rb, ra.n)
    ca, cb = ra.counts(), rb.counts()
    rates_a, rates_b = (ca / duration, cb / duration) if duration > 0 else (ca * 0.0, cb * 0.0)
    return PopulationComparison(
        name=name,
        n=ra.n,
        spikes_a=int(ra.indices.size),
        spikes_b=int(rb.indices.size),
        matched=int(matched),
        identical=first is None,
        first_divergence_step=first,
        count_difference=ca - cb,
        rates_a=rates_a,
        rates_b=rates_b,
        rate_correlation=_correlation(rates_a, rates_b),
        van_rossum=np.array([_van_rossum(x, y, tau_steps) for x, y in zip(trains_a, trains_b)]),
        max_trace_error=_trace_error(ra, rb),
        max_trace_error_before_divergence=_trace_error(ra, rb, first),
    )


def compare(a, b, tolerance=None, tau=10 * ms):
    """Compare two runs of the same network; returns a :class:`Comparison`.

    Parameters
    ----------
    a, b : RunResult
        Same time step, duration and populations (names and sizes), e.g. the two
        halves of :func:`~neuroimc.brian.reference_run` (``compare(*run)``).
        When both carry weights (plastic crossbars), the same crossbars; their
        final weights are compared with ``b`` as the reference.
    tolerance : float, optional
        Largest time difference (seconds) at which two spikes of the same neuron
        count as matched; default one time step.
    tau : float
        Time constant (seconds) of the van Rossum kernel (default 10 ms).
    """
    for name, r in (("a", a), ("b", b)):
        if not isinstance(r, RunResult):
            raise TypeError(f"{name} must be a RunResult (from reference_run), got {type(r).__name__}")
    if not np.isclose(a.dt, b.dt, rtol=1e-12, atol=0.0):
        raise ValueError(f"a and b must have the same time step, got {a.dt} s and {b.dt} s")
    if a.n_steps != b.n_steps:
        raise ValueError(f"a and b must cover the same duration, got {a.duration} s and {b.duration} s")
    if list(a.populations) != list(b.populations):
        raise ValueError(f"a and b must hold the same populations, got {list(a.populations)} and {list(b.populations)}")
    tolerance = a.dt if tolerance is None else _checks.non_negative("tolerance", tolerance)
    tau = _checks.positive("tau", tau)
    # a tolerance is a whole number of steps: both simulators put spikes on the step grid
    tol_steps = int(np.floor(tolerance / a.dt + 1e-9))
    pops = {
        name: _population(name, a.populations[name], b.populations[name], tol_steps, tau / a.dt, a.duration)
        for name in a.populations
    }
    return Comparison(a, b, tolerance, tau, pops, _weights(a, b))


def _weights(a, b):
    """Per plastic crossbar, a :class:`WeightComparison` (only when both runs carry weights)."""
    if not a.weights or not b.weights:
        return {}
    if list(a.weights) != list(b.weights):
        raise ValueError(
            f"a and b must hold weights of the same plastic crossbars, got {list(a.weights)} and {list(b.weights)}"
        )
    out = {}
    for name, wa in a.weights.items():
        wb = b.weights[name]
        if wa.final.shape != wb.final.shape or wa.initial.shape != wb.initial.shape:
            raise ValueError(f"weights of {name!r} have shape {wa.final.shape} in a but {wb.final.shape} in b")
        # the unit of b, the reference: a's own w_max could differ by rounding only
        out[name] = WeightComparison(name, wb.w_scale, wa.initial, wb.initial, wa.final, wb.final)
    return out
