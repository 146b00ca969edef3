"""Recorders of spikes and state variables.

The engine writes into preallocated buffers inside the compiled loop; after
each chunk of steps the network hands each monitor its part, so recording costs
no Python per step.
"""
import numpy as np


class SpikeMonitor:
    """Spikes of one population or source.

    Attributes
    ----------
    indices : ndarray of int
        Neuron (or input) index of each spike, in order of time.
    times : ndarray of float
        Spike times, seconds.
    steps : ndarray of int
        Time-step index of each spike.
    """

    def __init__(self, group, dt):
        self.group = group
        self.n = group.n
        self.dt = dt
        self._idx = []
        self._steps = []
        self._cache = None

    def _append(self, idx, steps):
        if idx.size:
            self._idx.append(idx)
            self._steps.append(steps)
            self._cache = None

    def _joined(self):
        if self._cache is None:
            idx = np.concatenate(self._idx) if self._idx else np.zeros(0, np.int64)
            steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
            self._idx, self._steps = [idx], [steps]
            self._cache = (idx, steps)
        return self._cache

    @property
    def indices(self):
        return self._joined()[0]

    @property
    def steps(self):
        return self._joined()[1]

    @property
    def times(self):
        return self.steps * self.dt

    def counts(self):
        """Number of spikes of each neuron, shape ``(n,)``."""
        return np.bincount(self.indices, minlength=self.n)

    def rates(self, duration):
        """Mean firing rate of each neuron over ``duration`` seconds, Hz."""
        return self.counts() / duration

    def clear(self):
        """Forget the spikes recorded so far (long runs that only need recent spikes, e.g. per input)."""
        self._idx, self._steps, self._cache = [], [], None

    def __len__(self):
        return int(self.indices.size)

    def __repr__(self):
        return f"SpikeMonitor({self.group.name!r}, {len(self)} spikes)"


class StateMonitor:
    """A state variable of chosen neurons, sampled at the start of every step.

    As Brian2's ``StateMonitor`` (``when='start'``), the sample at time ``t``
    is the value before the step from ``t`` to ``t + dt`` is integrated.

    Attributes
    ----------
    times : ndarray, shape (n_t,)
        Sample times, seconds.
    values : ndarray, shape (n_t, n_record)
        Samples, SI units of the variable.
    record : ndarray of int
        Recorded neuron indices (columns of ``values``).
    """

    def __init__(self, group, variable, record, dt):
        self.group = group
        self.variable = variable
        self.record = record
        self.dt = dt
        self._chunks = []
        self._step_chunks = []
        self._cache = None

    def _append(self, values, steps):
        if len(steps):
            self._chunks.append(values)
            self._step_chunks.append(steps)
            self._cache = None

    def _joined(self):
        if self._cache is None:
            if self._chunks:
                vals, steps = np.concatenate(self._chunks), np.concatenate(self._step_chunks)
            else:
                vals, steps = np.zeros((0, self.record.size)), np.zeros(0, np.int64)
            self._chunks, self._step_chunks = [vals], [steps]
            self._cache = (vals, steps)
        return self._cache

    @property
    def values(self):
        return self._joined()[0]

    @property
    def times(self):
        return self._joined()[1] * self.dt

    def __repr__(self):
        return f"StateMonitor({self.group.name!r}, {self.variable!r}, {self.record.size} neurons)"
