"""IR-drop benchmark: the fast wire-resistance model against the exact nodal solve.

For square n x n crossbars with conductances drawn uniformly in [1, 100] uS (by default) and
wire resistances r_row = r_col = r ohm per cell, compares the column currents of
reads computed with

* the fast model ``neuroimc.wires.effective_conductance`` (O(n^2) per conductance change),
* the ideal read ``v @ G`` (no wire resistance), for scale,
* ``neuroimc.wires.IRDropModel`` (exact solve at a reference, fast-model change
  added after the conductances move), after random multiplicative changes of
  the conductances of increasing size,

against the exact nodal solve of the whole resistive network
(``neuroimc.wires.CrossbarCircuit``).  Read patterns: every single row (one
spike), and random patterns with 10 %, 50 % and 100 % of the rows at V_read.
The relative error of a column current is |I - I_exact| / |I_exact|; the table
gives its maximum and mean over columns and patterns.

Writes JSON (all numbers, timings, machine), a markdown table, and a figure of
the node voltages and errors for one case.

    python benchmarks/bench_ir_drop.py [--sizes 64,128] [--resistances 1,2,5,10] [--patterns 50]
        [--v-read 0.2] [--g-min-us 1] [--g-max-us 100] [--seed 0] [--figure-case 128,2]
        [--out benchmarks/results/ir_drop.json] [--table benchmarks/results/ir_drop.md]
        [--figure benchmarks/results/ir_drop.png] [--no-progress]
"""
import argparse
import io
import os
import platform
import time

import numpy as np
import scipy
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from tqdm.auto import tqdm

import neuroimc as ni
from neuroimc import wires
from neuroimc._io import write_atomic, write_json
from neuroimc.units import uS

HERE = os.path.dirname(os.path.abspath(__file__))
FRACTIONS = (0.1, 0.5, 1.0)  # fractions of rows read in the same step, besides single rows
CHANGES = (0.05, 0.2, 0.6)   # conductance changes G -> G * (1 + s * U(-1, 1)), clipped to the window


def conductances(n, args):
    return np.random.default_rng([args.seed, n]).uniform(args.g_min_us * uS, args.g_max_us * uS, (n, n))


def patterns(n, fraction, count, v_read, rng):
    """``count`` read patterns with round(fraction * n) distinct random rows at v_read."""
    k = max(1, round(fraction * n))
    out = np.zeros((1 if k == n else count, n))
    for q in range(out.shape[0]):
        out[q, rng.choice(n, k, replace=False)] = v_read
    return out


def relative_error(approx, exact):
    err = np.abs(approx / exact - 1.0)
    return {"max": float(err.max()), "mean": float(err.mean())}


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def quarters(x):
    """Means of x over its four consecutive quarters (x: 1-D)."""
    return [float(q.mean()) for q in np.array_split(x, 4)]


def run_case(n, r, args):
    G = conductances(n, args)
    rng = np.random.default_rng([args.seed, n, int(round(r * 1000))])
    t0 = time.perf_counter()
    circuit = wires.CrossbarCircuit(G, r, r)
    t_factor = time.perf_counter() - t0
    T, t_exact_geff = best_time(circuit.effective_conductance, 3)
    G_fast, t_fast = best_time(lambda: wires.effective_conductance(G, r, r), 5)

    single_rel = np.abs(G_fast / T - 1.0)  # (row read, column)
    row_scale = np.abs(T).mean(axis=1, keepdims=True)
    case = {
        "n_rows": n, "n_cols": n, "r_row_ohm": r, "r_col_ohm": r, "v_read_V": args.v_read,
        "ir_drop_parameter": float(r * G.mean() * n * n / 2),
        "time_exact_factorisation_s": t_factor,
        "time_exact_G_eff_s": t_exact_geff,
        "time_fast_G_eff_s": t_fast,
        "single_row": {
            "reads": n,
            "fast": {"max": float(single_rel.max()), "mean": float(single_rel.mean()),
                     "max_of_error_over_row_mean_current": float((np.abs(G_fast - T) / row_scale).max())},
            "ideal": relative_error(G, T),
            "fast_mean_by_row_quarter_far_to_near_sense": quarters(single_rel.mean(axis=1)),
            "fast_mean_by_column_quarter_near_to_far_driver": quarters(single_rel.mean(axis=0)),
            "exact_over_ideal_min": float((T / G).min()), "exact_over_ideal_max": float((T / G).max()),
        },
    }
    for fraction in FRACTIONS:
        v = patterns(n, fraction, args.patterns, args.v_read, rng)
        exact = circuit.column_currents(v)  # direct nodal solve of each pattern
        case[f"rows_{round(100 * fraction)}pct"] = {
            "active_rows": int(np.count_nonzero(v[0])), "patterns": v.shape[0],
            "fast": relative_error(v @ G_fast, exact),
            "ideal": relative_error(v @ G, exact),
            # superposition: the exact G_eff reproduces the direct solves
            "exact_G_eff_superposition_max_rel_dev": float(np.abs(v @ T / exact - 1.0).max()),
            "mean_exact_column_current_A": float(exact.mean()),
        }
    case["tracking"] = tracking(G, T, r, args, rng)
    return case, (G, T, G_fast, circuit)


def tracking(G, T, r, args, rng):
    """Errors of IRDropModel (no automatic refresh) after the conductances change."""
    model = wires.IRDropModel(G, r, r, refresh_above=None)
    n = G.shape[0]
    rows = []
    for s in CHANGES:
        G_new = np.clip(G * (1 + s * rng.uniform(-1, 1, G.shape)), args.g_min_us * uS, args.g_max_us * uS)
        tracked, t_update = best_time(lambda: model.update(G_new), 3)
        v = patterns(n, 0.1, args.patterns, args.v_read, rng)
        exact = wires.column_currents_exact(G_new, v, r, r)
        rows.append({
            "change_amplitude": s, "relative_change": model.relative_change,
            "time_update_s": t_update,
            "tracked": relative_error(v @ tracked, exact),
            "fast": relative_error(v @ wires.effective_conductance(G_new, r, r), exact),
            "stale_exact": relative_error(v @ T, exact),
        })
    return rows


def figure(n, r, G, T, G_fast, circuit, args, path):
    rng = np.random.default_rng([args.seed, n, 7])
    v = patterns(n, 0.1, 1, args.v_read, rng)[0]
    sol = circuit.solve(v)
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    im = ax.imshow(sol.v_row_wire, cmap="viridis", aspect="auto")
    fig.colorbar(im, ax=ax, label="V")
    active = np.flatnonzero(v)
    ax.set_yticks(active, [str(i) for i in active], fontsize="x-small")
    ax.set_title(f"row-wire voltage, {active.size} rows at {args.v_read} V (ticks)")
    ax.set_xlabel("column j (driver at left)")
    ax.set_ylabel("row i")
    ax = axes[0, 1]
    im = ax.imshow(sol.v_col_wire * 1e3, cmap="magma", aspect="auto")
    fig.colorbar(im, ax=ax, label="mV")
    ax.set_title("column-wire voltage (sense amplifiers below row n-1)")
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    ax = axes[1, 0]
    cols = np.arange(n)
    ax.plot(cols, v @ G / 1e-6, lw=1, color="0.6", label="ideal read v @ G")
    ax.plot(cols, sol.column_currents / 1e-6, lw=1.5, color="k", label="exact nodal solve")
    ax.plot(cols, v @ G_fast / 1e-6, lw=1, ls="--", color="tab:red", label="fast model v @ G_eff")
    ax.set_xlabel("column j")
    ax.set_ylabel("column current (uA)")
    ax.set_title("column currents of that read")
    ax.legend(fontsize="small")
    ax = axes[1, 1]
    err = np.maximum(np.abs(G_fast / T - 1.0), 1e-6)
    im = ax.imshow(err, cmap="cividis", norm=LogNorm(vmin=1e-4, vmax=1.0), aspect="auto")
    fig.colorbar(im, ax=ax, label="|G_eff,fast / G_eff,exact - 1|")
    ax.set_title("fast-model error of single-row reads")
    ax.set_xlabel("column j")
    ax.set_ylabel("row i read")
    fig.suptitle(f"{n}x{n} crossbar, G ~ U({args.g_min_us:g}, {args.g_max_us:g}) uS, "
                 f"r_row = r_col = {r:g} ohm/cell")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue(), mode="wb")


def markdown(result):
    lines = [
        "Relative error |I - I_exact| / |I_exact| of column currents; "
        f"G ~ U({result['g_min_uS']:g}, {result['g_max_uS']:g}) uS, "
        f"V_read = {result['v_read_V']} V, r = r_row = r_col per cell; "
        f"10 % rows: {result['patterns']} random patterns. "
        "'fast' = `wires.effective_conductance`, 'ideal' = no wire resistance (v @ G).",
        "",
        "| array | r (ohm) | single row: fast max | fast mean | ideal mean | 10 % rows: fast max | fast mean "
        "| ideal mean | exact G_eff (s) | fast G_eff (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["cases"]:
        s, p = c["single_row"], c["rows_10pct"]
        lines.append(
            f"| {c['n_rows']}x{c['n_cols']} | {c['r_row_ohm']:g} | {s['fast']['max']:.2%} | {s['fast']['mean']:.2%} "
            f"| {s['ideal']['mean']:.1%} | {p['fast']['max']:.2%} | {p['fast']['mean']:.2%} | {p['ideal']['mean']:.1%} "
            f"| {c['time_exact_factorisation_s'] + c['time_exact_G_eff_s']:.2f} | {c['time_fast_G_eff_s'] * 1e3:.1f} |"
        )
    lines += [
        "",
        "Mean error of the fast model by the number of rows read in the same step:",
        "",
        "| array | r (ohm) | 1 row | 10 % | 50 % | 100 % | single row, max error / row's mean current |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in result["cases"]:
        lines.append(
            f"| {c['n_rows']}x{c['n_cols']} | {c['r_row_ohm']:g} | {c['single_row']['fast']['mean']:.2%} | "
            + " | ".join(f"{c[f'rows_{round(100 * f)}pct']['fast']['mean']:.2%}" for f in FRACTIONS)
            + f" | {c['single_row']['fast']['max_of_error_over_row_mean_current']:.2%} |"
        )
    lines += [
        "",
        "Tracking conductance changes (`wires.IRDropModel`, exact solve at the original G, then "
        "G -> G (1 + s U(-1, 1)) clipped to the window): mean error of 10 %-row reads of the new G "
        "for the tracked matrix / the fast model alone / the stale exact matrix of the old G:",
        "",
        "| array | r (ohm) | " + " | ".join(
            f"s = {s:g} (mean change {np.mean([c['tracking'][k]['relative_change'] for c in result['cases']]):.1%})"
            for k, s in enumerate(CHANGES)) + " |",
        "|---|---|" + "---|" * len(CHANGES),
    ]
    for c in result["cases"]:
        lines.append(
            f"| {c['n_rows']}x{c['n_cols']} | {c['r_row_ohm']:g} | "
            + " | ".join(f"{t['tracked']['mean']:.3%} / {t['fast']['mean']:.2%} / {t['stale_exact']['mean']:.2%}"
                         for t in c["tracking"]) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,128", help="comma-separated n for n x n arrays")
    ap.add_argument("--resistances", default="1,2,5,10", help="comma-separated wire resistances, ohm per cell")
    ap.add_argument("--patterns", type=int, default=50, help="random read patterns per fraction of active rows")
    ap.add_argument("--v-read", type=float, default=0.2, help="read voltage, V")
    ap.add_argument("--g-min-us", type=float, default=1.0, help="conductances uniform in [g_min, g_max], uS")
    ap.add_argument("--g-max-us", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure-case", default="128,2", help="n,r of the case drawn in the figure")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "ir_drop.json"))
    ap.add_argument("--table", default=os.path.join(HERE, "results", "ir_drop.md"))
    ap.add_argument("--figure", default=os.path.join(HERE, "results", "ir_drop.png"))
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    resistances = [float(x) for x in args.resistances.split(",")]
    fig_n, fig_r = args.figure_case.split(",")
    fig_case = (int(fig_n), float(fig_r))

    result = {
        "benchmark": "IR drop: fast model (wires.effective_conductance) vs exact nodal solve",
        "conductances": f"uniform in [{args.g_min_us:g}, {args.g_max_us:g}] uS, one draw per array size",
        "g_min_uS": args.g_min_us, "g_max_uS": args.g_max_us,
        "v_read_V": args.v_read, "patterns": args.patterns, "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "scipy": scipy.__version__, "neuroimc": ni.__version__},
        "cases": [],
    }
    drawn = None
    cases = [(n, r) for n in sizes for r in resistances]
    for n, r in tqdm(cases, desc="IR-drop cases", disable=args.no_progress):
        case, arrays = run_case(n, r, args)
        result["cases"].append(case)
        if (n, r) == fig_case:
            drawn = (n, r, *arrays)
        s, p = case["single_row"]["fast"], case["rows_10pct"]["fast"]
        tqdm.write(f"{n:>4}x{n:<4} r={r:<4g} single max {s['max']:.2e} mean {s['mean']:.2e} | "
                   f"10% max {p['max']:.2e} mean {p['mean']:.2e} | ideal 10% mean "
                   f"{case['rows_10pct']['ideal']['mean']:.2e}")
    write_json(args.out, result)
    write_atomic(args.table, markdown(result))
    print("wrote", args.out, "and", args.table)
    if drawn is not None:
        figure(*drawn, args, args.figure)
        print("wrote", args.figure)
    else:
        print(f"figure case {args.figure_case} not among the cases run: no figure written")


if __name__ == "__main__":
    main()
