"""Plots of runs: spike rasters and state traces.

Functions draw into a given matplotlib ``Axes`` or, without one, into a new
``Figure`` that is not attached to any GUI backend, so they work headless (no
display, no pyplot state).  Save with ``ax.figure.savefig("raster.png")``.
"""
import numpy as np
from matplotlib.figure import Figure

from .units import ms


def _axes(ax, figsize):
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def raster(spikes, ax=None, time_unit=ms, marker_size=2.0, color="k", title=None):
    """Spike raster (time vs neuron index) of a :class:`~neuroimc.SpikeMonitor`.

    Returns the ``Axes``.
    """
    ax = _axes(ax, (7, 3.5))
    ax.scatter(spikes.times / time_unit, spikes.indices, s=marker_size, c=color, marker="|", linewidths=0.8)
    ax.set_xlabel(f"time ({_unit_name(time_unit)})")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, spikes.n - 0.5)
    ax.set_title(title or f"{spikes.group.name}: {len(spikes)} spikes")
    return ax


def trace(state, ax=None, time_unit=ms, value_unit=None, neurons=None, title=None):
    """Recorded traces of a :class:`~neuroimc.StateMonitor`, one line per neuron.

    ``value_unit`` defaults to mV for ``v`` and pA for ``I_syn``.  ``neurons``
    selects columns by neuron index (default: all recorded).  Returns the ``Axes``.
    """
    ax = _axes(ax, (7, 3.5))
    unit, label = {"v": (1e-3, "v (mV)"), "I_syn": (1e-12, "I_syn (pA)")}[state.variable]
    if value_unit is not None:
        unit, label = value_unit, f"{state.variable} (x {value_unit:g})"
    cols = range(state.record.size) if neurons is None else [int(np.flatnonzero(state.record == n)[0]) for n in neurons]
    for c in cols:
        ax.plot(state.times / time_unit, state.values[:, c] / unit, lw=0.8, label=f"neuron {state.record[c]}")
    ax.set_xlabel(f"time ({_unit_name(time_unit)})")
    ax.set_ylabel(label)
    if len(cols) <= 10:
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title or f"{state.group.name}: {state.variable}")
    return ax


def _unit_name(unit):
    return {1.0: "s", 1e-3: "ms", 1e-6: "us"}.get(unit, f"x {unit:g} s")
