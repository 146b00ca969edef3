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


def pulse_response(trace, device, ax=None, measured=None, title=None):
    """Conductance vs pulse number of an up/down pulse train (from :func:`neuroimc.characterize.pulse_response`).

    Draws the mean over devices with a 10-90 % band, and ``measured`` (same
    length, siemens) if given.  Returns the ``Axes``.
    """
    ax = _axes(ax, (6, 3.5))
    k = np.arange(1, trace.shape[0] + 1)
    lo, hi = np.percentile(trace, [10, 90], axis=1)
    ax.fill_between(k, lo / 1e-6, hi / 1e-6, alpha=0.3, lw=0, label="10-90 % of devices")
    ax.plot(k, trace.mean(axis=1) / 1e-6, lw=1.2, label="simulated mean")
    if measured is not None:
        ax.plot(k, np.asarray(measured) / 1e-6, ".", ms=1.5, color="k", alpha=0.5, label="measured")
    ax.axvline(device.pulse.n_pulses_ltp + 0.5, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("pulse")
    ax.set_ylabel("G (uS)")
    ax.legend(fontsize="small")
    ax.set_title(title or f"{device.name}: {device.pulse.model} pulse response")
    return ax


def conductance_histogram(crossbar, ax=None, bins=60, title=None):
    """Histogram of the programmed conductances of a crossbar's devices.  Returns the ``Axes``."""
    ax = _axes(ax, (6, 3.5))
    for g, label in zip(crossbar.conductances(), ("G+" if crossbar.mapping == "differential" else "G",
                                                  "G-" if crossbar.mapping == "differential" else "G_ref")):
        ax.hist(np.ravel(g) / 1e-6, bins=bins, alpha=0.6, label=label)
    ax.set_xlabel("G (uS)")
    ax.set_ylabel("devices")
    ax.legend(fontsize="small")
    ax.set_title(title or f"{crossbar.device.name}: conductances")
    return ax


def wear_map(crossbar, title=None):
    """Pulse counts per synapse and the map of worn-out and stuck synapses.  Returns the ``Figure``."""
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    a, b = fig.subplots(1, 2)
    im = a.imshow(crossbar.pulse_counts(), aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=a, label="programming pulses")
    a.set_xlabel("column (post)")
    a.set_ylabel("row (pre)")
    a.set_title("wear")
    codes = crossbar.failed().astype(int) + 2 * crossbar.faults().astype(int)
    b.imshow(codes, aspect="auto", cmap="magma", vmin=0, vmax=3, interpolation="nearest")
    b.set_xlabel("column (post)")
    b.set_title(f"worn out {crossbar.failed().mean():.1%}, stuck {crossbar.faults().mean():.1%}")
    fig.suptitle(title or f"{crossbar.device.name} {crossbar.shape[0]}x{crossbar.shape[1]}")
    return fig


def drift(times, mean, std, device, ax=None, title=None):
    """Read-out conductance vs time since programming (from :func:`neuroimc.characterize.drift_curve`)."""
    ax = _axes(ax, (6, 3.5))
    t = np.asarray(times)
    ax.fill_between(t, (mean - std) / 1e-6, (mean + std) / 1e-6, alpha=0.3, lw=0, label="± 1 s.d. over devices")
    ax.plot(t, mean / 1e-6, lw=1.2, label="mean")
    ax.set_xscale("log")
    ax.set_xlabel("time since programming (s)")
    ax.set_ylabel("G (uS)")
    ax.legend(fontsize="small")
    ax.set_title(title or f"{device.name}: drift and retention")
    return ax


def energy_breakdown(report, ax=None, title=None):
    """Bar chart of an :class:`~neuroimc.energy.EnergyReport` by category.  Returns the ``Axes``."""
    ax = _axes(ax, (6, 3.5))
    names = [k for k, v in report.breakdown.items() if v > 0]
    values = [report.breakdown[k] for k in names]
    ax.barh(names, values)
    ax.set_xscale("log")
    ax.set_xlabel("energy (J)")
    ax.set_title(title or f"total {report.total:.3g} J, {report.sops_per_joule:.3g} synaptic ops/J")
    return ax
