"""Plots of runs, devices and learning: rasters, traces, device curves, wear, energy, receptive fields.

Functions draw into a given matplotlib ``Axes`` or, without one, into a new
``Figure`` that is not attached to any GUI backend, so they work headless (no
display, no pyplot state).  Save with ``ax.figure.savefig("raster.png")``.
"""
import numpy as np

from . import _checks
from .units import ms


def _figure(**kwargs):
    """A new headless matplotlib ``Figure``; matplotlib is imported on the first plot, not with neuroimc
    (it is a third of the package's import time)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _axes(ax, figsize):
    if ax is not None:
        return ax
    return _figure(figsize=figsize, layout="constrained").add_subplot()


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
    fig = _figure(figsize=(9, 3.8), layout="constrained")
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


def tile(weights, image_shape, ncols=None, gap=1, fill=np.nan):
    """Mosaic of the columns of ``weights`` as images: neuron ``j`` is tile ``(j // ncols, j % ncols)``.

    ``weights`` is ``(n_inputs, n_neurons)`` in crossbar orientation (rows = inputs), and input
    ``i`` is pixel ``np.unravel_index(i, image_shape)`` (C order, as the encoders flatten).
    Tiles are separated by ``gap`` pixels of ``fill``; unused tiles are ``fill``.
    Returns the 2-D mosaic array.
    """
    w = _checks.real_array("weights", weights, ndim=2)
    shape = tuple(_checks.integer("image_shape", s, low=1) for s in image_shape)
    if len(shape) != 2:
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}")
    h, wd = shape
    n_inputs, n = w.shape
    if n_inputs != h * wd:
        raise ValueError(f"weights must have image_shape {shape} = {h * wd} rows (inputs), got {n_inputs}")
    if n == 0:
        raise ValueError("weights must have at least one column (neuron), got 0")
    ncols = int(np.ceil(np.sqrt(n))) if ncols is None else _checks.integer("ncols", ncols, low=1)
    gap = _checks.integer("gap", gap, low=0)
    nrows = -(-n // ncols)
    mosaic = np.full((nrows * (h + gap) - gap, ncols * (wd + gap) - gap), fill, dtype=np.float64)
    for j in range(n):
        r, c = divmod(j, ncols)
        mosaic[r * (h + gap): r * (h + gap) + h, c * (wd + gap): c * (wd + gap) + wd] = w[:, j].reshape(h, wd)
    return mosaic


def receptive_fields(weights, image_shape, ax=None, ncols=None, cmap="hot_r", unit=1.0, unit_label=None,
                     title=None):
    """Grid of every neuron's input weights drawn as an image (Diehl & Cook's Fig. 2).

    Parameters
    ----------
    weights : array (n_inputs, n_neurons)
        E.g. ``crossbar.weights()`` of the input -> excitatory crossbar (amperes per spike).
    image_shape : (height, width)
        ``height * width == n_inputs``.
    ax : matplotlib Axes, optional
        Draw the mosaic into it; without one a new headless Figure is made.
    ncols : int, optional
        Tiles per row (default ``ceil(sqrt(n_neurons))``).
    cmap : str
        Colour map; one colour scale is shared by all tiles, so strengths compare across neurons.
    unit, unit_label : float, str
        Weights are divided by ``unit`` and the colour bar is labelled ``unit_label``.

    Returns the ``Axes``; ``ax.figure.savefig("fields.png")`` saves it.
    """
    unit = _checks.positive("unit", unit)
    mosaic = tile(weights, image_shape, ncols=ncols) / unit
    n = np.shape(weights)[1]
    ax = _axes(ax, (7, 7 * mosaic.shape[0] / mosaic.shape[1] + 0.6))
    # separators are NaN: a grey that no weight maps to keeps tiles apart on a white background
    import matplotlib

    colours = matplotlib.colormaps[cmap].with_extremes(bad="0.75")
    im = ax.imshow(np.ma.masked_invalid(mosaic), cmap=colours, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=unit_label or ("weight" if unit == 1.0 else f"weight (x {unit:g})"))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"receptive fields of {n} neurons")
    return ax


def accuracy_curve(n_images, accuracy, ax=None, chance=None, label=None, title=None):
    """Classification accuracy (%) against the number of training images seen.

    ``accuracy`` is a fraction in [0, 1] per point (e.g. from
    :func:`neuroimc.readout.running_accuracy`); ``chance`` (a fraction, e.g. 0.1 for ten
    classes) draws a dashed reference line.  Returns the ``Axes``.
    """
    x = _checks.real_array("n_images", n_images, ndim=1, low=0.0)
    y = _checks.real_array("accuracy", accuracy, ndim=1, low=0.0, high=1.0)
    if x.shape != y.shape:
        raise ValueError(f"accuracy must have one value per entry of n_images ({x.size}), got {y.size}")
    ax = _axes(ax, (6, 3.5))
    ax.plot(x, 100 * y, marker="o", ms=3, lw=1.2, label=label)
    if chance is not None:
        chance = _checks.real("chance", chance, low=0.0, high=1.0)
        ax.axhline(100 * chance, color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("training images")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    if label is not None or chance is not None:
        ax.legend(fontsize="small")
    ax.set_title(title or (f"accuracy: {100 * y[-1]:.1f} % after {x[-1]:g} images" if y.size else "accuracy"))
    return ax
