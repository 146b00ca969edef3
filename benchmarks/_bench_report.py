"""Summary, markdown table and scaling plot of a bench_vs_brian2 result.

Everything here is derived from the raw per-run records in ``result["runs"]``;
nothing is measured or assumed.
"""
import math
from collections import OrderedDict

import numpy as np

import _bench_net as bn
import _membw

#: two output rates agree when they differ by at most this many combined standard errors
RATE_TOLERANCE_SE = 4.0
#: Brian2 stores weights as float64 (its default float dtype, set explicitly in the workers)
BRIAN2_WEIGHT_ITEMSIZE = 8


def variant_class(variant):
    return bn.STATIC if variant == bn.STATIC else "stdp"


def label(row):
    if row["target"] == "neuroimc":
        return f"neuroimc {row['device']}" + (" STDP" if row["variant"] != bn.STATIC else "")
    name = {"cpp_standalone": "Brian2 cpp_standalone", "cython": "Brian2 cython", "numpy": "Brian2 numpy"}
    extra = {bn.STATIC: "", bn.STDP_SYNAPSE: " STDP per-synapse traces", bn.STDP_NEURON: " STDP per-neuron traces"}
    return name[row["target"]] + extra[row["variant"]]


def _median(xs):
    return float(np.median(xs)) if xs else None


def _without_compiling(runs):
    """Runs whose process compiled no Cython module, if any: Cython's compiler, not the simulation,
    sets the memory peak of a cold-cache run."""
    cached = [r for r in runs if not r.get("compiled_modules")]
    return cached or runs


def _group(row):
    return (row["duration"], row["n_in"], row["n_out"], row["target"], row["device"], row["variant"])


def summarise(result):
    """One row per (duration, size, target, device, variant): best/median times, rates, checks, ratios."""
    groups = OrderedDict()
    for r in result["runs"]:
        groups.setdefault(_group(r), []).append(r)
    bw = result.get("bandwidth")
    bw_ok = bool(bw) and "error" not in bw
    rows = []
    for (duration, n_in, n_out, target, device, variant), runs in groups.items():
        ok = [r for r in runs if "error" not in r]
        row = {"duration": duration, "n_in": n_in, "n_out": n_out, "synapses": n_in * n_out, "target": target,
               "device": device, "variant": variant, "class": variant_class(variant),
               "runs_ok": len(ok), "runs_failed": len(runs) - len(ok)}
        row["label"] = label(row)
        if len(ok) < len(runs):
            row["errors"] = sorted({r["error"] for r in runs if "error" in r})
        if not ok:
            row["status"] = "failed"
            rows.append(row)
            continue
        row["status"] = "ok"
        walls = [r["run_wall_s"] for r in ok]
        eps = [r["synaptic_events"] / r["run_wall_s"] for r in ok]
        mean, se, n_win = bn.rate_statistics([r["window_counts"] for r in ok], n_out, duration)
        row.update(
            run_wall_s_best=min(walls), run_wall_s_median=_median(walls),
            run_cpu_s_best=min(r["run_cpu_s"] for r in ok), run_cpu_s_median=_median([r["run_cpu_s"] for r in ok]),
            events_per_s_best=max(eps), events_per_s_median=_median(eps),
            synaptic_events_mean=float(np.mean([r["synaptic_events"] for r in ok])),
            output_rate_hz=mean, output_rate_se_hz=se, rate_windows=n_win,
            peak_rss_mb=max(r["peak_rss_mb"] for r in _without_compiling(ok)),
            realtime_factor=duration / min(walls),
        )
        if target == "neuroimc":
            row.update(setup_s_median=_median([r["setup_s"] for r in ok]),
                       pack_s_median=_median([r["pack_s"] for r in ok]))
            itemsize = ok[0]["weight_itemsize"]
        elif target == "cpp_standalone":
            row.update(codegen_s_max=max(r["codegen_s"] for r in ok), compile_s_first=ok[0]["compile_s"],
                       compile_s_max=max(r["compile_s"] for r in ok), compile_s_min=min(r["compile_s"] for r in ok),
                       setup_s_median=_median([r["setup_s"] for r in ok]),
                       driver_peak_rss_mb=max(r["driver_peak_rss_mb"] for r in ok))
            itemsize = BRIAN2_WEIGHT_ITEMSIZE
        else:
            row.update(prepare_s_max=max(r["prepare_s"] for r in ok), prepare_s_min=min(r["prepare_s"] for r in ok),
                       compiled_modules=sum(r["compiled_modules"] or 0 for r in ok),
                       rerun_overhead_s_median=_median([r["rerun_overhead_s"] for r in ok]),
                       setup_s_median=_median([r["setup_s"] for r in ok]))
            itemsize = BRIAN2_WEIGHT_ITEMSIZE
        row["weight_itemsize"] = itemsize
        entry = _membw.lookup(bw, n_in, n_out, itemsize) if bw_ok else None
        if entry:
            row["bound_events_per_s"] = entry["bound_events_per_s"]
            row["fraction_of_bound"] = row["events_per_s_best"] / entry["bound_events_per_s"]
            row["row_add_events_per_s"] = entry["row_add_events_per_s"]
            row["fraction_of_row_add"] = row["events_per_s_best"] / entry["row_add_events_per_s"]
        rows.append(row)
    _rate_checks(rows)
    _ratios(rows)
    for m in result.get("missing", []):
        row = {"duration": m["duration"], "n_in": m["n_in"], "n_out": m["n_out"], "synapses": m["n_in"] * m["n_out"],
               "target": m["target"], "device": m["device"], "variant": m["variant"],
               "class": variant_class(m["variant"]), "status": "not available yet",
               "missing_features": m["missing_features"]}
        row["label"] = label(row)
        rows.append(row)
    return rows


def _ok_rows(rows):
    return [r for r in rows if r.get("status") == "ok"]


def _rate_checks(rows):
    """Compare every ideal row's output rate with the reference of its (duration, size, class)."""
    cells = OrderedDict()
    for r in _ok_rows(rows):
        if r["device"] in (None, "ideal"):
            cells.setdefault((r["duration"], r["n_in"], r["n_out"], r["class"]), []).append(r)
    preference = ["neuroimc", "cpp_standalone", "cython", "numpy"]
    for cell in cells.values():
        ref = sorted(cell, key=lambda r: (preference.index(r["target"]), r["variant"]))[0]
        for r in cell:
            if r is ref:
                r["rate_check"] = {"reference": True}
                continue
            se = math.hypot(r["output_rate_se_hz"], ref["output_rate_se_hz"])
            z = abs(r["output_rate_hz"] - ref["output_rate_hz"]) / se if se > 0 else math.inf
            r["rate_check"] = {"reference": False, "against": ref["label"], "z": z,
                               "tolerance_z": RATE_TOLERANCE_SE, "agree": bool(z <= RATE_TOLERANCE_SE)}
    for r in _ok_rows(rows):
        if "rate_check" not in r:  # non-ideal devices are not expected to match Brian2's ideal network
            r["rate_check"] = {"reference": False, "not_compared": "non-ideal device"}


def _ratios(rows):
    """run time of neuroimc / run time of each Brian2 row of the same duration, size and class."""
    ok = _ok_rows(rows)
    for r in ok:
        if r["target"] == "neuroimc":
            continue
        r["neuroimc_over_this"] = {}
        cell = (r["duration"], r["n_in"], r["n_out"], r["class"])
        for n in ok:
            if n["target"] == "neuroimc" and (n["duration"], n["n_in"], n["n_out"], n["class"]) == cell:
                r["neuroimc_over_this"][n["device"]] = n["run_wall_s_best"] / r["run_wall_s_best"]
                r.setdefault("neuroimc_over_this_cpu", {})[n["device"]] = n["run_cpu_s_best"] / r["run_cpu_s_best"]


# ------------------------------------------------------------------------------------- text
def _fmt_s(x):
    if x is None:
        return "–"
    return f"{x:.3g}" if x >= 0.01 else f"{x * 1e3:.2g} ms"


def _build_cell(r):
    if r["target"] == "neuroimc":
        return f"setup {_fmt_s(r['setup_s_median'])}, pack {_fmt_s(r['pack_s_median'])}"
    if r["target"] == "cpp_standalone":
        return (f"codegen {_fmt_s(r['codegen_s_max'])}, make {_fmt_s(r['compile_s_first'])} "
                f"(rebuild {_fmt_s(r['compile_s_min'])})")
    mods = f", {r['compiled_modules']} modules compiled" if r["target"] == "cython" else ""
    return f"prepare {_fmt_s(r['prepare_s_max'])} (cached {_fmt_s(r['prepare_s_min'])}){mods}"


def _check_cell(r):
    c = r.get("rate_check", {})
    if c.get("reference"):
        return "reference"
    if "not_compared" in c:
        return "n/a (" + c["not_compared"] + ")"
    return ("ok" if c["agree"] else "**MISMATCH**") + f" (z = {c['z']:.1f})"


def _ratio_cell(r):
    rat = r.get("neuroimc_over_this")
    if not rat:
        return "–"
    cpu = r.get("neuroimc_over_this_cpu", {})
    return ", ".join(f"{dev}: {v:.3g} ({cpu[dev]:.3g})" if dev in cpu else f"{dev}: {v:.3g}" for dev, v in rat.items())


def table_rows(summary, duration, cls):
    rows = [r for r in summary if r["duration"] == duration and r["class"] == cls]
    rows.sort(key=lambda r: (r["synapses"], r["n_in"], r["target"] != "neuroimc", r["label"]))
    lines = []
    for r in rows:
        size = f"{r['n_in']}x{r['n_out']}"
        if r["status"] == "not available yet":
            lines.append(f"| {size} | {r['label']} | not available yet ({', '.join(r['missing_features'])}) |"
                         + " |" * (N_COLUMNS - 3))
            continue
        if r["status"] == "failed":
            lines.append(f"| {size} | {r['label']} | failed: {r['errors'][0]} |" + " |" * (N_COLUMNS - 3))
            continue
        frac = f"{100 * r['fraction_of_bound']:.0f}%" if "fraction_of_bound" in r else "–"
        fail = f" ({r['runs_failed']} failed)" if r["runs_failed"] else ""
        lines.append(
            f"| {size} | {r['label']} | {_fmt_s(r['run_wall_s_best'])} ({_fmt_s(r['run_wall_s_median'])}){fail} "
            f"| {_fmt_s(r['run_cpu_s_best'])} | {r['events_per_s_best']:.3g} | {frac} "
            f"| {r['output_rate_hz']:.2f} ± {r['output_rate_se_hz']:.2f} | {_check_cell(r)} "
            f"| {r['peak_rss_mb']:.0f} | {_build_cell(r)} | {_ratio_cell(r)} |"
        )
    return lines


N_COLUMNS = 11
HEADER = ("| size | simulator | run s, best (median) | CPU s, best | events/s | of bound | output rate Hz | "
          "rate check | peak RSS MiB | build / compile s | neuroimc ÷ this: wall (CPU) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def _load_range(result):
    loads = [r[k] for r in result["runs"] for k in ("load_average_before", "load_average_after") if k in r]
    if not loads:
        return ""
    return f"; during the runs {min(loads):.1f}–{max(loads):.1f} on {result['machine']['cpus']} CPUs"


def _threads(result):
    """Threads each simulator used (older results did not record them)."""
    ni_threads = sorted({r["threads"] for r in result["runs"] if r.get("simulator") == "neuroimc" and "threads" in r})
    omp = result["options"].get("openmp_threads")
    if not ni_threads and omp is None:
        return ""
    return (f"Threads: neuroimc {'/'.join(map(str, ni_threads)) or '?'} (a second one applies logged potentiation in "
            f"the background while a network learns); Brian2 cpp_standalone OpenMP threads {omp or 0} "
            f"({'its default, one thread' if not omp else 'set with --openmp-threads'}).")


def markdown(result):
    m = result["machine"]
    o = result["options"]
    out = [
        "# neuroimc vs Brian2: benchmark results",
        "",
        f"Run {result['started']} – {result.get('finished', 'unfinished')}; command "
        f"`{' '.join(result['command'])}`.",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, numpy {m['numpy']}, "
        f"numba {m['numba']}, Brian2 {m.get('brian2')}, Cython {m.get('cython')}, {m.get('gcc')}; "
        f"neuroimc {m['neuroimc']}.",
        f"Load average (1 min) at start {result['load_average_start'][0]:.2f}"
        + (f", at end {result['load_average_end'][0]:.2f}" if "load_average_end" in result else "")
        + _load_range(result)
        + f". {result['note']}.",
        f"Repetitions per measurement: {o['repeat']}, simulators alternating in rotated order; weights from "
        f"`default_rng({o['weight_seed']})`, identical in every run; Poisson inputs differ between runs.",
        _threads(result),
        "",
        "Columns: *run s* is the simulation loop alone (what each target's figure contains is listed below); "
        "*events/s* = synaptic events / best run time; *of bound* = share of the memory-read bound for the "
        "weights' dtype; *output rate* ± its standard error from spike counts in 10 windows per run; *rate "
        f"check* compares with the reference row (agree within {RATE_TOLERANCE_SE:g} combined standard errors); "
        "*neuroimc ÷ this* is neuroimc's best run time over this row's, wall clock and (in brackets) CPU time "
        "(below 1: neuroimc is faster).",
        "",
    ]
    summary = result["summary"]
    for duration in o["durations"]:
        for cls, title in ((bn.STATIC, "no plasticity"), ("stdp", "STDP")):
            lines = table_rows(summary, duration, cls)
            if lines:
                out += [f"## {duration:g} s simulated, {title}", "", HEADER] + lines + [""]
    out += ["## What is measured", ""]
    out += [f"- **{k}**: {v}" for k, v in result["measured"].items()]
    out.append("")
    st = result.get("neuroimc_startup")
    if st:
        out += ["## neuroimc start-up", ""]
        for name, fig in (("static network", st), ("STDP network", st.get("stdp")),
                          ("STDP network, starting the background catch-up thread", st.get("stdp_background"))):
            if fig:
                first = (f"build and first run {fig['build_and_first_run_s']:.2f} s, of which the first run "
                         if "build_and_first_run_s" in fig else "")  # results written before it was measured
                out += [f"{name}: numba's first-call compile (fresh process, empty cache): {first}"
                        f"{fig['numba_compile_first_run_s']:.2f} s; a second process with the cache: import and build "
                        f"{fig['import_and_build_s']:.2f} s + first run {fig['cached_first_run_s']:.2f} s = "
                        f"{fig['cached_start_to_simulating_s']:.2f} s to simulating.", ""]
    bw = result.get("bandwidth")
    if bw and "error" not in bw:
        out += ["## Memory bandwidth and the bound on synaptic events/s", "",
                "Single core, streaming read of float32 data: "
                + ", ".join(f"{k} {v:.1f} GB/s" for k, v in bw["stream_read_GBps"].items())
                + f"; last-level cache {bw['llc_bytes'] / 1024**2:g} MiB.",
                "Each input spike reads one row of weights, so events/s ≤ read bandwidth / bytes per weight, "
                "with the bandwidth measured by streaming an array of the weight matrix's size (it sits in the "
                "same cache level). The bare numba row-add kernel (`I += W[row]` over the spiking rows, "
                "nothing else) is the practical ceiling of an event-driven loop.",
                "",
                "| size | weights f32 / f64 | read GB/s f32 / f64 | bound f32 | bound f64 | row-add f32 | row-add f64 "
                "| neuroimc ideal | of its bound | of its row-add |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        sizes = sorted({(x["n_in"], x["n_out"]) for x in bw["per_size"]}, key=lambda s: (s[0] * s[1], s))
        for n_in, n_out in sizes:
            e4, e8 = _membw.lookup(bw, n_in, n_out, 4), _membw.lookup(bw, n_in, n_out, 8)
            ni = [r for r in summary if r.get("status") == "ok" and r["target"] == "neuroimc" and r["device"] == "ideal"
                  and r["variant"] == bn.STATIC and (r["n_in"], r["n_out"]) == (n_in, n_out)]
            best = max(ni, key=lambda r: r["events_per_s_best"]) if ni else None
            cells = [f"{n_in}x{n_out}", f"{e4['weight_bytes'] / 1024**2:.3g} / {e8['weight_bytes'] / 1024**2:.3g} MiB",
                     f"{e4['stream_read_GBps']:.1f} / {e8['stream_read_GBps']:.1f}",
                     f"{e4['bound_events_per_s']:.3g}", f"{e8['bound_events_per_s']:.3g}",
                     f"{e4['row_add_events_per_s']:.3g}", f"{e8['row_add_events_per_s']:.3g}"]
            if best and "fraction_of_bound" in best:
                cells += [f"{best['events_per_s_best']:.3g} ({best['weight_itemsize']} B/weight)",
                          f"{100 * best['fraction_of_bound']:.0f}%", f"{100 * best['fraction_of_row_add']:.0f}%"]
            else:
                cells += ["–", "–", "–"]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    elif bw:
        out += ["## Memory bandwidth", "", f"measurement failed: {bw['error']}", ""]
    return "\n".join(out)


def write_markdown(result, path):
    from neuroimc._io import write_atomic

    write_atomic(path, markdown(result) + "\n")


def console_table(result):
    lines = []
    for r in result["summary"]:
        size = f"{r['n_in']}x{r['n_out']}"
        if r["status"] != "ok":
            lines.append(f"{r['duration']:>5g}s {size:>11} {r['label']:<45} {r['status']}")
            continue
        lines.append(f"{r['duration']:>5g}s {size:>11} {r['label']:<45} {r['run_wall_s_best']:9.4f} s "
                     f"{r['events_per_s_best']:9.3g} ev/s  out {r['output_rate_hz']:6.2f} Hz  {_check_cell(r)}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- plot
def figure(result):
    """Events/s against synapse count, one line per simulator, both variants if present."""
    from matplotlib.figure import Figure

    ok = _ok_rows(result["summary"])
    classes = [c for c in (bn.STATIC, "stdp") if any(r["class"] == c for r in ok)] or [bn.STATIC]
    fig = Figure(figsize=(6.5 * len(classes), 4.8), layout="constrained")
    axes = fig.subplots(1, len(classes), squeeze=False)[0]
    durations = result["options"]["durations"]
    styles = ["-", "--", ":", "-."]
    for ax, cls in zip(axes, classes):
        for k, duration in enumerate(durations):
            lines = OrderedDict()
            for r in sorted((r for r in ok if r["class"] == cls and r["duration"] == duration),
                            key=lambda r: r["synapses"]):
                lines.setdefault(r["label"], []).append(r)
            for name, rs in lines.items():
                # one point per synapse count (the fastest shape if several share it)
                pts = OrderedDict()
                for r in rs:
                    pts[r["synapses"]] = max(pts.get(r["synapses"], 0.0), r["events_per_s_best"])
                ax.plot(list(pts), list(pts.values()), styles[k % len(styles)], marker="o",
                        label=f"{name}" + (f" ({duration:g} s)" if len(durations) > 1 else ""))
        bw = result.get("bandwidth")
        if cls == bn.STATIC and bw and "error" not in bw:
            for dtype, color in (("float32", "0.55"), ("float64", "0.2")):
                pts = sorted((x for x in bw["per_size"] if x["dtype"] == dtype), key=lambda x: x["n_in"] * x["n_out"])
                syn = [x["n_in"] * x["n_out"] for x in pts]
                ax.plot(syn, [x["bound_events_per_s"] for x in pts], ls=(0, (4, 3)), color=color,
                        label=f"memory-read bound, {dtype}")
                ax.plot(syn, [x["row_add_events_per_s"] for x in pts], ls=(0, (1, 2)), color=color,
                        label=f"bare row-add kernel, {dtype}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("synapses (n_in x n_out)")
        ax.set_ylabel("synaptic events per second")
        ax.set_title("no plasticity" if cls == bn.STATIC else "STDP")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("neuroimc vs Brian2: event throughput (single core; machine shared)", fontsize=10)
    return fig


def write_plot(result, path):
    import io

    from neuroimc._io import write_atomic

    buf = io.BytesIO()
    figure(result).savefig(buf, format="png", dpi=120)
    write_atomic(path, buf.getvalue(), mode="wb")
