"""Markdown table of a bench_stdp_digits result; everything in it is read from the result dict."""


def _num(x, fmt="{:.3g}"):
    return "n/a" if x is None else fmt.format(x)


def _duration(minutes):
    if minutes is None:
        return "n/a"
    return f"{minutes / 60:.2f} h" if minutes >= 120 else f"{minutes:.1f} min"


def _yes(flag):
    return {True: "yes", False: "**no**", None: "n/a"}[flag]


def _row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def timing_rows(result):
    n_pass = result["pass_images"]
    rows = []
    ni = result["neuroimc"]
    if "error" in ni:
        rows.append(["neuroimc", "model.present", "failed"] + [""] * 7)
    else:
        rows.append(["neuroimc " + ni["neuroimc_version"], "model.present(learn=True)", ni["images"],
                     _num(ni["s_per_image"], "{:.4f}"), _num(ni["cpu_s_per_image"], "{:.4f}"),
                     _duration(ni["full_pass_min"]), ni["basis"],
                     f"{ni['warmup_s']:.1f} s warm-up ({ni['warmup_images']} images; kernels {ni['kernel_warmup_s']:.1f} s)",
                     _num(ni["presentations_per_image"], "{:.3f}"), "1"])
    for key in ("brian2_loop", "brian2_standalone"):
        b = result[key]
        if "error" in b:
            rows.append([f"Brian2 ({key})", "", "failed"] + [""] * 7)
            continue
        if b["form"] == "loop":
            form = f"{b['target']}, Python loop over images (the protocol exactly)"
            start = (f"compile {_num(b.get('compile_s'), '{:.1f}')} s"
                     + (f" ({b['compile_modules']} modules)" if b.get("compile_modules") is not None else "")
                     + f" + first image {b['warmup_s']:.1f} s; gc.collect {b['gc_s'] / b['images']:.2f} s / image")
            pres = _num(b["presentations_per_image"], "{:.3f}")
        else:
            form = "cpp_standalone, whole subset as one compiled run, no re-presentation (a lower bound)"
            start = f"codegen {b['codegen_s']:.1f} s + compile {b['compile_s']:.1f} s"
            pres = "1 (no boost)"
        rows.append([f"Brian2 {b['brian2_version']}", form, b["images"], _num(b["s_per_image"], "{:.4f}"),
                     _num(b["cpu_s_per_image"], "{:.4f}"),
                     _duration(b["full_pass_min"]), b["basis"], start, pres,
                     _num(result["ratios"].get(f"neuroimc_over_{key}"), "{:.3f}")])
    header = ["simulator", "form", "images timed", "s / image", "CPU s / image", f"one pass ({n_pass} images)", "basis",
              "start-up (not in s / image)", "presentations / image", "neuroimc time / this"]
    return header, rows


def check_rows(result):
    same = result["same_network"]
    rows = []
    for key, label in (("replay_loop", "loop form, protocol with re-presentation"),
                       ("replay_standalone", "standalone form, one presentation per image")):
        r = same.get(key)
        if not r or "error" in r:
            rows.append([f"replay, {label}", "", "", "", "failed" if r else "not run"])
            continue
        rows.append([f"replay of neuroimc's input ({r['images']} images, {r['input_spikes']} input spikes), {label}: "
                     "excitatory spikes", r["excitatory_spikes"]["neuroimc"], r["excitatory_spikes"]["brian2"],
                     "identical (step, neuron)", _yes(r["identical_spikes"])])
        rows.append(["... thresholds, weights after the replay", "", "",
                     f"max diff: theta {r['theta_max_abs_diff_v']:.1e} V, w {r['w_max_abs_diff']:.1e}",
                     _yes(r["agree"])])
    for key, label in (("statistics_loop", "loop form"), ("statistics_standalone", "standalone form")):
        s = same.get(key)
        if not s or "error" in s:
            rows.append([f"statistics, {label}", "", "", "", "failed" if s else "not run"])
            continue
        sp = s["spikes"]
        rows.append([f"{label}: {sp['what']} ({sp['images']} images, paired)", _num(sp["mean_neuroimc"], "{:.2f}"),
                     _num(sp["mean_brian2"], "{:.2f}"), "± " + _num(sp["tolerance"], "{:.2f}") + " (4 SE)",
                     _yes(sp["agree"])])
        th = s["theta"]
        rows.append([f"{label}: mean theta after the same images (mV)",
                     _num(1e3 * th["theta_mean_v"]["neuroimc"], "{:.4f}"),
                     _num(1e3 * th["theta_mean_v"]["brian2"], "{:.4f}"),
                     "± " + _num(None if th["tolerance_v"] is None else 1e3 * th["tolerance_v"], "{:.4f}"),
                     _yes(th["agree"])])
    return ["check", "neuroimc", "Brian2", "tolerance", "agree"], rows


def markdown(result):
    o = result["options"]
    lines = [f"# Diehl & Cook (2015) training time: N = {o['neurons']}, MNIST ({result['pass_images']} images per pass)",
             "", f"Machine: {result['machine']['cpu_model']}, {result['machine']['cpus']} cores (shared; load "
             f"{result['load_average_start'][0]:.2f} at the start, {result['load_average_end'][0]:.2f} at the end). "
             "Every part ran in its own process.", ""]
    header, rows = timing_rows(result)
    lines += [_row(header), _row(["---"] * len(header))] + [_row(r) for r in rows]
    bar = result["bar"]
    shares = [f"{name} {result[key]['cpu_share']:.2f} (load {result[key]['load_average_before']:.1f} -> "
              f"{result[key]['load_average_after']:.1f})"
              for key, name in (("neuroimc", "neuroimc"), ("brian2_loop", "Brian2 loop"),
                                ("brian2_standalone", "Brian2 standalone")) if "error" not in result[key]]
    lines += ["", "CPU time / wall time of the timed parts (below 1: waited for a core): " + ", ".join(shares) + "."]
    how = ("measured: neuroimc timed the whole pass" if bar["basis"] == "measured" else
           "extrapolated from the timed subset (s / image x images per pass, at the subset's presentations per image)")
    lines += ["", f"neuroimc's pass is {how}; Brian2's passes are always extrapolated from their subsets "
                  "in the same way.", ""]
    if bar["applies"]:
        lines.append(f"Bar (issue #4): one pass of N = {bar['neurons']} in at most {bar['bar_min']:g} min "
                     f"(aim {bar['aim_min']:g} min).  neuroimc: {_duration(bar['neuroimc_pass_min'])} "
                     f"({bar['basis']}): bar met: {_yes(bar['bar_met'])}, aim met: {_yes(bar['aim_met'])}.")
    else:
        lines.append(f"The bar of issue #4 is set for N = {bar['neurons']}; this run has N = {o['neurons']}.")
    header, rows = check_rows(result)
    lines += ["", "## Is the Brian2 network the same?", "", _row(header), _row(["---"] * len(header))]
    lines += [_row(r) for r in rows]
    lines += ["", f"Same network: {_yes(result['same_network']['agree'])}.", ""]
    return "\n".join(lines)
