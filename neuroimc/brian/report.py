"""Markdown and figures of a :class:`~neuroimc.brian.Comparison`.

Figures are ``matplotlib.figure.Figure`` objects with no pyplot state (they
work headless); :func:`save_figure` writes one atomically.
"""
import io

import numpy as np
from matplotlib.figure import Figure

from .._io import write_atomic
from ..units import mV, ms


def _fmt_time(t):
    return "none" if t is None else f"{t / ms:.1f} ms"


def _fmt_volt(v):
    return "n/a" if np.isnan(v) else f"{v:.3g} V"


def comparison_markdown(c, title=None):
    a, b = c.labels
    div = c.first_divergence
    lines = [f"### {title}", ""] if title else []
    lines += [
        "| metric | value |",
        "|---|---|",
        f"| simulators (a / b) | {a} / {b} |",
        f"| duration, dt | {c.duration * 1e3:g} ms, {c.dt / ms:g} ms |",
        f"| spikes (a / b) | {sum(p.spikes_a for p in c.populations.values())} / "
        f"{sum(p.spikes_b for p in c.populations.values())} |",
        f"| matched within {c.tolerance / ms:g} ms | {100 * c.matched_fraction:.3f} % |",
        f"| identical spikes (same neuron, same step) | {'yes' if c.identical else 'no'} |",
        f"| first divergence | {_fmt_time(div)}"
        + ("" if div is None else f" ({100 * div / c.duration:.1f} % of the run)")
        + " |",
        f"| firing-rate correlation | {c.rate_correlation:.6f} |",
        f"| mean van Rossum distance (tau = {c.tau / ms:g} ms) | {c.van_rossum:.4g} |",
        f"| max membrane-trace error | {_fmt_volt(c.max_trace_error)} |",
        f"| max membrane-trace error before first divergence | {_fmt_volt(c.max_trace_error_before_divergence)} |",
    ]
    if c.weights:
        lines += [
            f"| max final-weight error (of w_max) | {c.max_weight_error:.3g} |",
            f"| RMS final-weight error (of w_max) | {c.rms_weight_error:.3g} |",
        ]
    lines += [
        "",
        "| population | n | spikes a | spikes b | matched | first divergence | mean rate a (Hz) | "
        "mean rate b (Hz) | rate diff | rate-spread diff | max abs count diff | mean van Rossum |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in c.populations.items():
        first = None if p.first_divergence_step is None else p.first_divergence_step * c.dt
        lines.append(
            f"| {name} | {p.n} | {p.spikes_a} | {p.spikes_b} | {100 * p.matched_fraction:.3f} % | {_fmt_time(first)} | "
            f"{p.mean_rate_a:.3f} | {p.mean_rate_b:.3f} | {100 * p.rate_relative_difference:.3f} % | "
            f"{100 * p.rate_std_relative_difference:.3f} % | {int(np.abs(p.count_difference).max(initial=0))} | "
            f"{p.van_rossum.mean():.4g} |"
        )
    if c.weights:
        lines += [
            "",
            "Learned weights of the plastic crossbars (errors and changes in units of the crossbar's w_max):",
            "",
            f"| crossbar | cells | max final-weight error | RMS final-weight error | mean change {a} | "
            f"mean change {b} | change correlation | error / learning |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, w in c.weights.items():
            lines.append(
                f"| {name} | {w.final_a.size} | {w.max_error:.3g} | {w.rms_error:.3g} | {w.mean_change_a:.4g} | "
                f"{w.mean_change_b:.4g} | {w.change_correlation:.4f} | {w.learning_error:.3g} |"
            )
    return "\n".join(lines) + "\n"


def comparison_figure(c, neurons, max_raster_neurons, window):
    a_label, b_label = c.labels
    # a panel of learned weights only when there are plastic crossbars
    cols = 3 if c.weights else 2
    fig = Figure(figsize=(11 if cols == 2 else 14, 7.5), layout="constrained")
    grid = fig.add_gridspec(2, cols, height_ratios=(1.3, 1.0))
    ax_r, ax_s, ax_t = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, -1])
    if c.weights:
        _weights_panel(c, fig.add_subplot(grid[1, 1]))
    div = c.first_divergence

    # rasters, populations stacked; b as open circles around a's dots
    offset, ticks = 0, []
    for name in c.populations:
        ra, rb = c.a.populations[name], c.b.populations[name]
        shown = min(ra.n, max_raster_neurons)
        for rec, style in (
            (ra, dict(s=3, c="C0", marker="o", linewidths=0, label=a_label)),
            (rb, dict(s=14, facecolors="none", edgecolors="C1", marker="o", linewidths=0.6, label=b_label)),
        ):
            keep = rec.indices < shown
            ax_r.scatter(rec.steps[keep] * c.dt / ms, rec.indices[keep] + offset, **style)
        ticks.append((offset + shown / 2, name))
        offset += shown
        ax_r.axhline(offset - 0.5, color="0.8", lw=0.5)
    handles, labels = ax_r.get_legend_handles_labels()
    ax_r.legend(handles[:2], labels[:2], loc="upper right", fontsize="small")
    ax_r.set_yticks([t for t, _ in ticks], [n for _, n in ticks])
    ax_r.set_xlim(0, c.duration / ms)
    ax_r.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax_r.set_xlabel("time (ms)")
    ax_r.set_title(
        f"spikes: {a_label} (dots) and {b_label} (circles); matched {100 * c.matched_fraction:.2f} %, "
        f"first divergence {_fmt_time(div)}"
    )

    # rates
    hi = 0.0
    for k, (name, p) in enumerate(c.populations.items()):
        ax_s.scatter(p.rates_b, p.rates_a, s=8, color=f"C{k}", alpha=0.7, label=name)
        hi = max(hi, p.rates_a.max(initial=0.0), p.rates_b.max(initial=0.0))
    hi = hi * 1.05 or 1.0
    ax_s.plot([0, hi], [0, hi], color="0.5", lw=0.8, ls="--")
    ax_s.set_xlim(0, hi)
    ax_s.set_ylim(0, hi)
    ax_s.set_xlabel(f"rate in {b_label} (Hz)")
    ax_s.set_ylabel(f"rate in {a_label} (Hz)")
    ax_s.set_title(f"firing rates per neuron, r = {c.rate_correlation:.4f}")
    ax_s.legend(loc="upper left", fontsize="small")

    # traces of the first population with common recorded neurons
    drawn = False
    for name in c.populations:
        ra, rb = c.a.populations[name], c.b.populations[name]
        common, ia, ib = np.intersect1d(ra.v_record, rb.v_record, return_indices=True)
        if common.size == 0:
            continue
        # a window, around the first divergence if there is one, keeps single spikes visible
        n_t = min(ra.v.shape[0], rb.v.shape[0])
        width = max(1, int(round(window / c.dt)))
        lo = 0 if div is None else max(0, min(int(round(div / c.dt)) - width // 2, n_t - width))
        rows = slice(lo, min(n_t, lo + width))
        t = np.arange(rows.start, rows.stop) * c.dt / ms
        for k in range(min(neurons, common.size)):
            ax_t.plot(t, ra.v[rows, ia[k]] / mV, color=f"C{k}", lw=1.0, label=f"{name}[{common[k]}] {a_label}")
            ax_t.plot(t, rb.v[rows, ib[k]] / mV, color=f"C{k}", lw=1.6, ls=(0, (2, 3)), alpha=0.9,
                      label=f"{name}[{common[k]}] {b_label}")
        drawn = True
        break
    if drawn:
        ax_t.legend(loc="lower right", fontsize="x-small", ncols=2)
        ax_t.set_title(f"v: solid {a_label}, dashed {b_label}; max error {_fmt_volt(c.max_trace_error)}")
    else:
        ax_t.text(0.5, 0.5, "no neuron recorded on both sides", ha="center", va="center", transform=ax_t.transAxes)
        ax_t.set_title("membrane potential")
    ax_t.set_xlabel("time (ms)")
    ax_t.set_ylabel("v (mV)")
    if div is not None:
        for ax in (ax_r, ax_t):
            ax.axvline(div / ms, color="red", lw=0.8, ls="--")
    return fig


def _weights_panel(c, ax, max_points=20000):
    """Final weights of a against b, cell by cell (in units of w_max), initial weights in grey."""
    a_label, b_label = c.labels
    rng = np.random.default_rng(0)  # a fixed subsample keeps the figure light and reproducible
    for k, (name, w) in enumerate(c.weights.items()):
        n = w.final_a.size
        pick = rng.choice(n, size=max_points, replace=False) if n > max_points else np.arange(n)
        ax.scatter(w.initial_b.ravel()[pick] / w.w_scale, w.initial_a.ravel()[pick] / w.w_scale, s=3, color="0.75",
                   linewidths=0, label="initial" if k == 0 else None)
        ax.scatter(w.final_b.ravel()[pick] / w.w_scale, w.final_a.ravel()[pick] / w.w_scale, s=4, color=f"C{k}",
                   linewidths=0, label=f"{name} final")
    lo = min(min(w.final_b.min(), w.initial_b.min()) / w.w_scale for w in c.weights.values())
    hi = max(max(w.final_b.max(), w.initial_b.max()) / w.w_scale for w in c.weights.values())
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
    ax.set_xlabel(f"weight in {b_label} (w / w_max)")
    ax.set_ylabel(f"weight in {a_label} (w / w_max)")
    ax.set_title(f"learned weights, max error {c.max_weight_error:.3g} w_max")
    ax.legend(loc="upper left", fontsize="x-small")


def save_figure(fig, path, dpi=120):
    """Render ``fig`` to PNG in memory, then write it atomically to ``path``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    write_atomic(path, buf.getvalue(), mode="wb")
    return path
