"""What one simulator produced in a reference run, in a simulator-neutral form.

Both sides of a reference run (neuroimc and its Brian2 twin) are reduced to the
same plain arrays, so that :func:`~neuroimc.brian.compare` never needs to know
which simulator produced what.  Times are counted from the start of the run.
"""
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class PopulationRecord:
    """Spikes and membrane traces of one population in one run.

    Attributes
    ----------
    name : str
        The population's label (its neuroimc name, made unique and a valid identifier).
    n : int
        Number of neurons.
    indices, steps : ndarray of int
        Neuron index and time-step index of every spike, in time order (steps
        count from the start of the run).
    v_record : ndarray of int
        Neurons whose membrane potential was recorded.
    v : ndarray, shape (n_steps, len(v_record))
        Membrane potential (volts) at the start of every step (before that step's
        update), as both simulators' state monitors sample it.
    """

    name: str
    n: int
    indices: np.ndarray
    steps: np.ndarray
    v_record: np.ndarray
    v: np.ndarray

    def counts(self):
        """Spikes per neuron, shape ``(n,)``."""
        return np.bincount(self.indices, minlength=self.n)


@dataclass(frozen=True)
class WeightRecord:
    """Weights of one plastic crossbar at the start and the end of a run.

    Attributes
    ----------
    name : str
        The crossbar's label (``xbNN_<pre>_to_<post>``, as in the Brian2 twin).
    w_scale : float
        The crossbar's ``w_max`` (amperes): the current jump of one fully
        programmed device, the unit in which the learning rule sees weights.
    initial, final : ndarray, shape (n_pre, n_post)
        Current jumps (amperes) before and after the run.
    """

    name: str
    w_scale: float
    initial: np.ndarray
    final: np.ndarray


@dataclass(frozen=True)
class RunResult:
    """Everything one simulator recorded in a reference run.

    Attributes
    ----------
    simulator : str
        ``"neuroimc"`` or ``"brian2"`` (or any label).
    dt, duration : float
        Time step and run length, seconds.
    populations : dict of str -> PopulationRecord
        One record per population, in network order.
    wall_time : float
        Seconds of wall-clock time the simulation took (building excluded).
    info : dict
        Free-form facts about the run (devices, code-generation target, ...).
    weights : dict of str -> WeightRecord
        Initial and final weights of every plastic crossbar (empty without plasticity).
    """

    simulator: str
    dt: float
    duration: float
    populations: dict
    wall_time: float = 0.0
    info: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)

    @property
    def n_steps(self):
        return int(round(self.duration / self.dt))

    def __repr__(self):
        spikes = sum(p.indices.size for p in self.populations.values())
        return (
            f"RunResult({self.simulator!r}, {self.duration:g} s, {len(self.populations)} populations, "
            f"{spikes} spikes)"
        )


class ReferenceRun(NamedTuple):
    """The two results of :func:`~neuroimc.brian.reference_run`; unpacks as ``compare(*run)``."""

    neuroimc: RunResult
    brian2: RunResult
