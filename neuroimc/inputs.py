"""Spike sources: Poisson generators and recorded spike trains.

Sources have no membrane; they only emit spikes, which the crossbars they are
connected to turn into row read pulses.
"""
import numpy as np

from . import _checks


class PoissonSource:
    """``n`` independent Poisson spike trains.

    In each time step every input spikes with probability ``rate * dt``
    (Brian2's ``PoissonGroup``).  The engine does not draw one number per input
    per step: it skips from spike to spike with geometrically distributed gaps
    over the (step, input) sequence, which is the same Bernoulli process at a
    cost proportional to the number of spikes.  Per-input rates are grouped in
    octaves of rate, each skipped through at its top rate with thinning, so
    that fewer than two candidates are drawn per spike.

    Parameters
    ----------
    n : int
        Number of inputs.
    rate : float or array of shape (n,)
        Firing rate of each input, Hz (``rate * dt <= 1``).
    name : str, optional
    """

    def __init__(self, n, rate, name=None):
        self.n = _checks.integer("n", n, low=1, high=2**40)
        self._rate = _checks.per_neuron("rate", rate, self.n, low=0.0)
        self._on_rate_change = None  # set by the network once it has packed this source
        self.name = name or f"poisson{self.n}"

    @property
    def rate(self):
        """Firing rate of each input, Hz (read-only view; assign to change it between runs)."""
        view = self._rate.view()
        view.flags.writeable = False
        return view

    @rate.setter
    def rate(self, value):
        rate = _checks.per_neuron("rate", value, self.n, low=0.0)
        if self._on_rate_change is not None:
            self._on_rate_change(rate)  # validates against dt and updates the packed arrays
        self._rate = rate

    def __repr__(self):
        return f"PoissonSource({self.n}, name={self.name!r})"


class SpikeSource:
    """Replays recorded spikes: input ``indices[k]`` fires at ``times[k]``.

    Times are in seconds from the start of the simulation and are binned to the
    time step ``int((t + 1e-3*dt) / dt)`` exactly as Brian2's
    ``SpikeGeneratorGroup`` does.  An input may fire at most once per step.

    Parameters
    ----------
    n : int
        Number of inputs.
    indices : array of int
        Input index of each spike, in ``[0, n)``.
    times : array of float
        Spike times, seconds, ``>= 0``.
    name : str, optional
    """

    def __init__(self, n, indices, times, name=None):
        self.n = _checks.integer("n", n, low=1, high=2**40)
        try:
            idx = np.asarray(indices)
        except ValueError:  # ragged nested sequences
            raise TypeError(f"indices must be a 1-d sequence of integers, got {_checks._show(indices)}") from None
        if idx.ndim != 1:
            raise ValueError(f"indices must be 1-dimensional, got shape {idx.shape}")
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
        times = _checks.real_array("times", times, ndim=1, low=0.0)
        if times.shape != idx.shape:
            raise ValueError(f"times must have the same length as indices ({idx.size}), got {times.size}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            bad = idx[(idx < 0) | (idx >= self.n)][0]
            raise ValueError(f"indices must lie in [0, {self.n}) for n={self.n}, found {bad}")
        order = np.lexsort((idx, times))
        self.indices = idx.astype(np.int64)[order]
        self.times = times[order]
        self.name = name or f"spikes{self.n}"

    def steps(self, dt):
        """Step index of every spike for time step ``dt`` (checked: one spike per input per step)."""
        steps = (self.times + 1e-3 * dt) / dt
        if steps.size and not steps.max() < 2**62:
            k = int(np.argmax(steps))
            raise ValueError(
                f"times: spike at t = {self.times[k]} s is beyond 2**62 time steps of dt = {dt} s"
            )
        steps = steps.astype(np.int64)
        order = np.lexsort((self.indices, steps))
        s, i = steps[order], self.indices[order]
        dup = (np.diff(s) == 0) & (np.diff(i) == 0)
        if dup.any():
            a, b = order[int(np.flatnonzero(dup)[0])], order[int(np.flatnonzero(dup)[0]) + 1]
            raise ValueError(
                f"times: input {self.indices[a]} fires twice in time step {steps[a]} "
                f"(t = {self.times[a]} s and {self.times[b]} s with dt = {dt} s); "
                "at most one spike per input per step is allowed"
            )
        return steps

    def __repr__(self):
        return f"SpikeSource({self.n}, {self.indices.size} spikes, name={self.name!r})"
