"""benchmarks/bench_vs_brian2.py: a smoke run and the pieces that decide what the table says.

No timing assertions: the figures depend on the machine.  What is checked is
the schema of the JSON, that every number comes from a run that happened, that
missing engine features give "not available yet" rows and no figures, and that
the output-rate check flags a real mismatch and passes a real agreement.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import _bench_net as bn  # noqa: E402
import _bench_report as report  # noqa: E402
import bench_vs_brian2 as bench  # noqa: E402

RUN_KEYS = {"target", "device", "variant", "n_in", "n_out", "duration", "rep", "run_wall_s", "run_cpu_s",
            "synaptic_events", "input_spikes", "output_spikes", "output_rate_hz", "window_counts", "peak_rss_mb"}
SUMMARY_KEYS = {"label", "status", "run_wall_s_best", "run_wall_s_median", "events_per_s_best", "output_rate_hz",
                "output_rate_se_hz", "rate_check", "peak_rss_mb", "bound_events_per_s", "fraction_of_bound"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    pytest.importorskip("brian2")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    cmd = [sys.executable, os.path.join(BENCH, "bench_vs_brian2.py"), "--quick", "--sizes", "60x20",
           "--duration", "0.05", "--repeat", "1", "--targets", "neuroimc,numpy", "--no-stdp",
           "--dram-mib", "32", "--no-progress", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    with open(out) as fh:
        return json.load(fh), out


def test_smoke_run_schema(smoke):
    result, out = smoke
    assert result["schema"] == bench.SCHEMA
    assert {"machine", "network", "options", "features", "measured", "bandwidth", "neuroimc_startup", "runs",
            "summary", "missing", "load_average_start", "load_average_end"} <= set(result)
    assert result["options"]["sizes"] == [[60, 20]]
    for target in ("neuroimc", "numpy", "cpp_standalone", "cython"):
        assert target in result["measured"]
    runs = result["runs"]
    assert {(r["target"], r["variant"]) for r in runs} == {("neuroimc", "static"), ("numpy", "static")}
    for r in runs:
        assert "error" not in r, r
        assert RUN_KEYS <= set(r)
        assert r["run_wall_s"] > 0 and r["peak_rss_mb"] > 0
        # counts are consistent: all-to-all, so every input spike is n_out events
        assert r["synaptic_events"] == r["input_spikes"] * r["n_out"]
        assert sum(r["window_counts"]) == r["output_spikes"]
        assert r["output_rate_hz"] == pytest.approx(r["output_spikes"] / (r["n_out"] * r["duration"]))
    ok = [s for s in result["summary"] if s["status"] == "ok"]
    assert len(ok) == 2 + result["features"]["rram_hfox"]
    for s in ok:
        assert SUMMARY_KEYS <= set(s)
    for s in ok:
        if s["device"] == "rram_hfox":  # a non-ideal network is not expected to match Brian2's ideal one
            assert s["rate_check"] == {"reference": False, "not_compared": "non-ideal device"}
    ni = next(s for s in ok if s["target"] == "neuroimc" and s["device"] == "ideal")
    b2 = next(s for s in ok if s["target"] == "numpy")
    assert ni["rate_check"] == {"reference": True}
    assert b2["rate_check"]["against"] == ni["label"]
    assert b2["neuroimc_over_this"]["ideal"] == pytest.approx(ni["run_wall_s_best"] / b2["run_wall_s_best"])
    st = result["neuroimc_startup"]
    for fig in (st, st["stdp"]):  # the static and the STDP network
        assert fig["numba_compile_first_run_s"] > 0 and fig["cached_start_to_simulating_s"] > 0
        assert fig["build_and_first_run_s"] > fig["numba_compile_first_run_s"]
    bw = result["bandwidth"]
    assert "error" not in bw and bw["llc_bytes"] >= 0
    assert {(x["n_in"], x["n_out"], x["dtype"]) for x in bw["per_size"]} == {(60, 20, "float32"), (60, 20, "float64")}


def test_smoke_run_missing_features_are_rows_not_numbers(smoke):
    result, _ = smoke
    feats = result["features"]
    devices_run = {r["device"] for r in result["runs"] if r["target"] == "neuroimc"}
    missing = [s for s in result["summary"] if s["status"] == "not available yet"]
    if feats["rram_hfox"]:
        assert "rram_hfox" in devices_run
    else:
        assert "rram_hfox" not in devices_run
        assert any(s["device"] == "rram_hfox" for s in missing)
    for s in missing:
        assert "run_wall_s_best" not in s and "events_per_s_best" not in s


def test_smoke_run_writes_table_and_plot(smoke):
    result, out = smoke
    stem = os.path.splitext(str(out))[0]
    with open(stem + ".md") as fh:
        md = fh.read()
    assert "| size | simulator |" in md and "60x20" in md and "Brian2 numpy" in md
    if not result["features"]["rram_hfox"]:
        assert "not available yet" in md
    with open(stem + ".png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def _args(**kw):
    argv = []
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", v] if v is not True else [f"--{k.replace('_', '-')}"]
    return bench.parse_args(argv)


@pytest.mark.parametrize("feats", [dict(rram_hfox=False, stdp=False), dict(rram_hfox=True, stdp=True),
                                   dict(rram_hfox=True, stdp=False)])
def test_plan_generates_rows_only_for_existing_features(feats):
    args = _args(sizes="100x10", targets="neuroimc,cython")
    jobs, missing = bench.jobs_for_size((100, 10), args, feats)
    ran = {(j["target"], j["device"], j["variant"]) for j in jobs}
    assert ("neuroimc", "ideal", "static") in ran
    assert ("cython", None, "static") in ran
    assert {("cython", None, bn.STDP_SYNAPSE), ("cython", None, bn.STDP_NEURON)} <= ran
    assert (("neuroimc", "rram_hfox", "static") in ran) == feats["rram_hfox"]
    assert (("neuroimc", "ideal", bn.STDP_NEUROIMC) in ran) == feats["stdp"]
    for m in missing:
        assert (m["target"], m["device"], m["variant"]) not in ran and m["missing_features"]
    assert len(jobs) + len(missing) == 4 + 3  # neuroimc: 2 devices x 2 variants; cython: 3 variants


def test_stdp_sizes_default_to_small_networks():
    args = _args(sizes="1000x100,16000x4000")
    assert args.stdp_sizes == [(1000, 100)]
    jobs, _ = bench.jobs_for_size((16000, 4000), args, dict(rram_hfox=False, stdp=False))
    assert {j["variant"] for j in jobs} == {bn.STATIC}
    assert _args(no_stdp=True).stdp is False


@pytest.mark.parametrize("argv, word", [(["--sizes", "100by10"], "--sizes"), (["--targets", "nest"], "--targets"),
                                        (["--duration", "0.00015"], "--duration"), (["--repeat", "0"], "--repeat")])
def test_bad_options_name_the_option(argv, word, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
    assert word in capsys.readouterr().err


def test_rate_statistics_standard_error():
    rng = np.random.default_rng(5)
    n_out, duration, n_windows = 50, 2.0, 10
    true_rate = 15.0
    # windows with the shared-input variance of a real run: a rate that fluctuates window to window
    lists = [rng.poisson(n_out * duration / n_windows * rng.normal(true_rate, 2.0, n_windows)).tolist()
             for _ in range(40)]
    mean, se, n = bn.rate_statistics(lists, n_out, duration)
    assert n == 400
    # window rates spread by sqrt(2^2 + Poisson 1.22^2) = 2.34 Hz: se close to 2.34/sqrt(400) = 0.117 Hz
    assert 0.07 < se < 0.14
    assert abs(mean - true_rate) < 5 * se


def test_window_counts_cover_the_run():
    t = np.array([0.0, 0.01, 0.099, 0.1, 0.5, 0.9999])
    c = bn.window_counts(t, 1.0, n_windows=10)
    assert c[0] == 3 and c[1] == 1 and c[5] == 1 and c[9] == 1 and sum(c) == t.size


def _fake_runs(rate_hz, n_reps, target, rng, n_out=100, duration=1.0):
    runs = []
    for rep in range(n_reps):
        counts = rng.poisson(rate_hz * n_out * duration / bn.N_WINDOWS, bn.N_WINDOWS)
        runs.append(dict(target=target, device="ideal" if target == "neuroimc" else None, variant="static",
                         n_in=1000, n_out=n_out, duration=duration, rep=rep, run_wall_s=0.1, run_cpu_s=0.1,
                         synaptic_events=1000, input_spikes=10, output_spikes=int(counts.sum()),
                         window_counts=counts.tolist(), peak_rss_mb=10.0, setup_s=0.0, pack_s=0.0,
                         weight_itemsize=8, prepare_s=0.1, compiled_modules=0, rerun_overhead_s=0.0))
    return runs


@pytest.mark.parametrize("other_rate, agree", [(15.0, True), (18.0, False)])
def test_rate_check_flags_a_real_mismatch(other_rate, agree):
    rng = np.random.default_rng(11)
    result = {"runs": _fake_runs(15.0, 3, "neuroimc", rng) + _fake_runs(other_rate, 3, "cython", rng),
              "bandwidth": None, "missing": []}
    rows = report.summarise(result)
    cy = next(r for r in rows if r["target"] == "cython")
    assert cy["rate_check"]["agree"] is agree
    assert ("MISMATCH" in report._check_cell(cy)) is (not agree)


def test_report_only_rebuilds_table_from_json(smoke, tmp_path):
    result, out = smoke
    copy = tmp_path / "again.json"
    copy.write_text(json.dumps(result))
    again = bench.main(["--report-only", "--out", str(copy)])
    assert [s["label"] for s in again["summary"]] == [s["label"] for s in result["summary"]]
    assert (tmp_path / "again.md").read_text().startswith("# neuroimc vs Brian2")
    assert (tmp_path / "again.png").stat().st_size > 0
