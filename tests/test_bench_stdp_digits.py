"""benchmarks/bench_stdp_digits.py: a quick run of every part, and the checks that decide "same network".

No timing assertions (the figures depend on the machine).  Checked: the JSON's
schema; that every figure is positive and derived consistently from the runs;
that Brian2 replaying neuroimc's input gives identical spikes (deterministic,
both forms) and that the replay check fails for a network that differs; that
the parameter reader refuses what the twin cannot build; the rule's Brian2
code.  The quick run keeps its cython cache and standalone projects in
pytest's cache folder, so only the first run compiles (about 2 min cold,
30 s afterwards).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import _dc_brian2  # noqa: E402
import _dc_params  # noqa: E402
import _dc_stats  # noqa: E402
import bench_stdp_digits as bench  # noqa: E402

from neuroimc.diehl_cook import DiehlCook2015  # noqa: E402

TIMED = {"run_wall_s", "s_per_image", "images", "full_pass_min", "basis", "peak_rss_mb"}


def _mnist():
    import neuroimc as ni

    try:
        return ni.datasets.load_mnist(split="train", progress=False)[0]
    except FileNotFoundError as exc:
        pytest.skip(f"MNIST not available (set NEUROIMC_DATA): {str(exc).splitlines()[0]}")


@pytest.fixture(scope="module")
def quick(tmp_path_factory, request):
    pytest.importorskip("brian2")
    _mnist()
    out = tmp_path_factory.mktemp("bench") / "stdp_digits.json"
    cache = request.config.cache.mkdir("bench_stdp_digits")
    cmd = [sys.executable, os.path.join(BENCH, "bench_stdp_digits.py"), "--quick", "--no-progress", "--out",
           str(out), "--cache-dir", str(cache)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with open(out) as fh:
        return json.load(fh), out, res.stdout


def test_quick_run_schema_and_consistent_figures(quick):
    result, out, stdout = quick
    q = bench.QUICK
    assert result["schema"] == bench.SCHEMA and result["failed_parts"] == []
    assert {"machine", "options", "network", "measured", "neuroimc", "brian2_loop", "brian2_standalone", "ratios",
            "bar", "same_network", "spikes_per_image", "load_average_start", "load_average_end"} <= set(result)
    assert result["options"]["neurons"] == q["neurons"] and result["network"]["n_neurons"] == q["neurons"]
    assert result["brian2_loop_target"] in ("cython", "numpy") and result["brian2_loop_target_why"]
    n_pass = result["pass_images"]
    assert n_pass == 60000
    for key, images in (("neuroimc", q["images_neuroimc"]), ("brian2_loop", q["images_brian2"]),
                        ("brian2_standalone", q["images_standalone"])):
        entry = result[key]
        assert TIMED <= set(entry), key
        assert entry["images"] == images
        assert entry["run_wall_s"] > 0 and entry["peak_rss_mb"] > 0
        assert entry["s_per_image"] == pytest.approx(entry["run_wall_s"] / images)
        assert entry["full_pass_min"] == pytest.approx(entry["s_per_image"] * n_pass / 60)
        assert entry["basis"] == f"extrapolated from {images} images"  # said so: not a measured pass
        assert entry["cpu_s_per_image"] == pytest.approx(entry["run_cpu_s"] / images)
        assert entry["cpu_share"] == pytest.approx(entry["run_cpu_s"] / entry["run_wall_s"])
        assert entry["load_average_before"] >= 0 and entry["load_average_after"] >= 0
    loop, sa, ni = result["brian2_loop"], result["brian2_standalone"], result["neuroimc"]
    assert loop["warmup_s"] > 0 and loop["warmup_images"] == bench.BRIAN2_WARMUP and loop["compile_s"] > 0
    assert 0 <= loop["gc_s"] <= loop["run_wall_s"]
    assert loop["s_per_image_without_gc"] == pytest.approx((loop["run_wall_s"] - loop["gc_s"]) / q["images_brian2"])
    assert len(loop["per_image"]["attempts"]) == q["images_brian2"] + bench.BRIAN2_WARMUP
    assert min(loop["per_image"]["attempts"]) >= 1 and loop["presentations_per_image"] >= 1
    assert sa["omits_boost"] is True and sa["compile_s"] > 0 and sa["codegen_s"] >= 0 and sa["binary_wall_s"] > 0
    assert len(sa["per_image"]["first_presentation_spikes"]) == q["images_standalone"]
    # every spike of an image is counted in its total, the presentation's among them
    assert all(f <= t for f, t in zip(sa["per_image"]["first_presentation_spikes"], sa["per_image"]["total_spikes"]))
    assert ni["warmup_images"] == q["warmup_neuroimc"] and ni["presentations_per_image"] >= 1
    for key in ("brian2_loop", "brian2_standalone"):
        assert result["ratios"][f"neuroimc_over_{key}"] == pytest.approx(ni["s_per_image"] / result[key]["s_per_image"])
        assert result["ratios"][f"speedup_over_{key}"] == pytest.approx(1 / result["ratios"][f"neuroimc_over_{key}"])
        assert result["ratios"][f"neuroimc_over_{key}_cpu"] == pytest.approx(
            ni["cpu_s_per_image"] / result[key]["cpu_s_per_image"])
    bar = result["bar"]
    assert bar["bar_min"] == 8.0 and bar["aim_min"] == 4.0 and bar["neurons"] == 400
    assert bar["applies"] is False and bar["bar_met"] is None  # a quick N=10 run is not judged against it
    assert bar["neuroimc_pass_min"] == ni["full_pass_min"] and bar["basis"] == "extrapolated"
    md = out.with_suffix(".md").read_text()
    assert md.strip() == stdout.split("wrote ")[0].strip()
    assert "| simulator | form |" in md and "Same network: yes." in md


def test_quick_run_brian2_replays_neuroimc_exactly(quick):
    same = quick[0]["same_network"]
    for key in ("replay_loop", "replay_standalone"):
        r = same[key]
        assert r["identical_spikes"] and r["agree"], r
        assert r["excitatory_spikes"]["neuroimc"] > 5 * r["images"] - 1  # the images really drew responses
        assert r["theta_max_abs_diff_v"] <= _dc_stats.THETA_ATOL and r["w_max_abs_diff"] <= _dc_stats.W_ATOL
    assert same["agree"] is True


def test_quick_run_statistics_are_derived_from_the_records(quick):
    result = quick[0]
    same, stats = result["same_network"], result["neuroimc_stats"]
    loop = same["statistics_loop"]
    sp = loop["spikes"]
    ours = np.array(stats["protocol"]["per_image"]["accepted_spikes"])
    theirs = np.array(result["brian2_loop"]["per_image"]["accepted_spikes"])
    assert sp["images"] == len(ours) == len(theirs)
    assert sp["mean_neuroimc"] == pytest.approx(ours.mean()) and sp["mean_brian2"] == pytest.approx(theirs.mean())
    assert sp["tolerance"] == pytest.approx(_dc_stats.TOLERANCE_SE * sp["se"])
    assert sp["agree"] == (abs(sp["difference"]) <= sp["tolerance"])
    for key in ("statistics_loop", "statistics_standalone"):
        th = same[key]["theta"]
        # each simulator's mean threshold is what its own spike count implies (theta_plus per spike)
        assert th["identity"]["neuroimc"]["agree"] and th["identity"]["brian2"]["agree"]
        assert th["identity"]["brian2"]["theta_mean_v"] > 0
    sides = result["spikes_per_image"]
    assert len(sides) == 3 and all(v is not None for v in sides.values())


# --------------------------------------------------------------------------- the pieces, in process
def test_paired_comparison_flags_a_real_difference_and_passes_noise():
    rng = np.random.default_rng(0)
    base = rng.poisson(10, 400)  # the same images: a common per-image level
    same = _dc_stats.paired(base + rng.poisson(3, 400), base + rng.poisson(3, 400), "x")
    shifted = _dc_stats.paired(base + rng.poisson(3, 400), base + rng.poisson(4, 400), "x")
    assert same["agree"] is True
    assert shifted["agree"] is False  # one spike per image more: about 8 SE
    assert _dc_stats.paired([3.0], [2.0], "x")["agree"] is None  # one image gives no standard error
    with pytest.raises(ValueError, match="x: per-image records must have one equal length"):
        _dc_stats.paired([1, 2], [1, 2, 3], "x")


def test_theta_identity_bounds():
    exc = dict(theta_plus=5e-5, tau_theta=1e4)
    low, high = _dc_stats.theta_bounds(100, 5e-5, 10, 50.0, 1e4)
    assert high == pytest.approx(5e-4) and low == pytest.approx(5e-4 * np.exp(-50.0 / 1e4))
    assert _dc_stats.theta_identity(4.99e-4, 100, 5e-5, 10, 50.0, 1e4)["agree"]
    assert not _dc_stats.theta_identity(4.5e-4, 100, 5e-5, 10, 50.0, 1e4)["agree"]  # a spike's worth too low
    cmp = _dc_stats.theta_comparison(5e-4, 4.5e-4, [50, 50], [45, 45], exc, 10, (1.0, 1.0))
    assert cmp["agree"] is False  # 10 spikes apart on every image: the per-image differences do not scatter


def test_triplet_code_reads_the_slow_trace_before_setting_it_and_drops_unused_terms():
    params, _ = _dc_params.describe(DiehlCook2015(16, 3, seed=0))
    model, on_pre, on_post, traces = _dc_brian2.triplet_model(params["rule"])
    # Diehl & Cook: a2_plus = a3_minus = 0, so r2 is never read and not kept
    assert traces == ["r1", "o1", "o2"] and "r2" not in model + on_pre + on_post
    assert on_pre.splitlines() == ["I_syn_post += w*w_unit", "w = clip(w - o1*(a2_minus), w_min, w_max)", "r1 = 1"]
    assert on_post.splitlines() == ["w = clip(w + r1*(a3_plus*o2), w_min, w_max)", "o1 = 1", "o2 = 1"]
    full = dict(params["rule"], a2_plus=1e-3, a3_minus=1e-4, pairing="all_to_all", rule="soft_bound")
    _, on_pre, on_post, traces = _dc_brian2.triplet_model(full)
    assert traces == ["r1", "r2", "o1", "o2"]
    assert on_pre.splitlines()[1:] == ["w = clip(w - o1*(a2_minus + a3_minus*r2)*(w - w_min), w_min, w_max)",
                                       "r1 += 1", "r2 += 1"]
    assert on_post.splitlines()[0] == "w = clip(w + r1*(a2_plus + a3_plus*o2)*(w_max - w), w_min, w_max)"


def test_parameter_reader_refuses_what_the_twin_cannot_build():
    params, w0 = _dc_params.describe(DiehlCook2015(16, 4, seed=3))
    assert w0.shape == (16, 4) and params["exc"]["theta_plus"] > 0 and params["inh"]["tau_theta"] is None
    json.dumps(params)  # JSON-safe
    model = DiehlCook2015(16, 4, seed=3)
    model.exc.tau_m[1] *= 2
    with pytest.raises(ValueError, match="model.exc.tau_m differs between neurons"):
        _dc_params.describe(model)
    with pytest.raises(ValueError, match="model.synapses .* is on the 'rram_hfox' card"):
        _dc_params.describe(DiehlCook2015(16, 4, seed=3, device="rram_hfox"))


def test_replay_detects_a_different_network(tmp_path):
    """The replay check can fail: Brian2 with half the lateral inhibition answers the same input differently."""
    b2 = pytest.importorskip("brian2")
    import _dc_neuroimc

    images = _mnist()[:1]
    model = DiehlCook2015(784, 8, seed=4)
    params, w0 = _dc_params.describe(model)
    np.save(tmp_path / "w0.npy", w0)
    spec = dict(n_input=784, n_neurons=8, seed=4, w0_path=str(tmp_path / "w0.npy"))
    _dc_neuroimc.run_protocol(spec, images, "protocol", 1, str(tmp_path / "rec.npz"))
    rec = dict(np.load(tmp_path / "rec.npz"))
    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    results = {}
    for label, p in (("same", params), ("weaker inhibition", dict(params, w_ie=params["w_ie"] / 2))):
        out = _dc_brian2.train_loop(b2, p, w0, images, replay=(rec["input_indices"], rec["input_times"]))
        results[label] = _dc_stats.replay(rec, out)
    assert results["same"]["agree"] and results["same"]["excitatory_spikes"]["neuroimc"] >= 5
    assert not results["weaker inhibition"]["identical_spikes"] and not results["weaker inhibition"]["agree"]


def test_full_mode_times_every_image_from_the_untrained_network(tmp_path):
    """--full: one timed present call over the whole set (here 3 random images), no warm-up images."""
    import _dc_neuroimc

    images = np.random.default_rng(0).integers(0, 256, (3, 16)).astype(np.uint8)
    np.save(tmp_path / "img.npy", images)
    _, w0 = _dc_params.describe(DiehlCook2015(16, 4, seed=2))
    np.save(tmp_path / "w0.npy", w0)
    spec = {"n_input": 16, "n_neurons": 4, "seed": 2, "w0_path": str(tmp_path / "w0.npy"),
            "images_path": str(tmp_path / "img.npy"), "full": True, "n_warmup": 20, "n_images": 2}
    r = _dc_neuroimc.measure_time(spec)
    assert r["full_pass"] is True and r["warmup_images"] == 0 and r["images"] == 3
    assert r["s_per_image"] == pytest.approx(r["run_wall_s"] / 3)
    sched = DiehlCook2015(16, 4, seed=2).schedule
    # every image took whole presentations (with their rests), none was skipped
    assert r["simulated_s"] == pytest.approx(r["presentations_per_image"] * 3 * (sched.presentation + sched.rest))
    spec["w0_path"] = str(tmp_path / "other.npy")
    np.save(spec["w0_path"], w0 + 0.01)
    with pytest.raises(RuntimeError, match="initial weights differ"):
        _dc_neuroimc.measure_time(spec)
