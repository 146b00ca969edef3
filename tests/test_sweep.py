"""Sweeps: rows equal direct calls, failures recorded, resume from the cache, Dask LocalCluster, CLI."""
import argparse
import csv
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import neuroimc as ni
from neuroimc.sweep import SweepResult, add_sweep_parser, load_spec, sweep
from neuroimc.sweep.command import main as sweep_main
from neuroimc.sweep.tasks import task_key
from neuroimc.units import Hz, Mohm, mV, ms, pA

LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms,
           tau_syn=5 * ms, r_m=100 * Mohm)


def tiny_network(rate, w, seed):
    """10 Poisson inputs -> 4 LIF neurons for 50 ms; spike counts per neuron (a seeded chip)."""
    net = ni.Network(dt=0.1 * ms, seed=seed)
    src = net.add(ni.PoissonSource(10, rate=rate))
    pop = net.add(ni.LIFPopulation(4, **LIF))
    W = np.random.default_rng(seed).uniform(0, w, (10, 4))
    net.connect(src, pop, ni.Crossbar.from_weights(W, w_max=w))
    mon = net.monitor_spikes(pop)
    net.run(50 * ms, progress=False)
    return {"counts": mon.counts(), "total": len(mon), "pid": os.getpid(), "threads": net.threads}


def arithmetic(a, b, seed):
    return {"value": a * 10 + b + seed / 100, "text": f"{a}-{b}"}


def raises_for_b2(a, b, seed):
    if b == 2:
        raise ZeroDivisionError(f"b={b} is not allowed here")
    return {"value": a + b + seed}


_CALLS = []
_INTERRUPT_AT = [None]


def counted(a, seed):
    """Counts its calls; raises KeyboardInterrupt (a Ctrl-C) at the chosen call."""
    _CALLS.append((a, seed))
    if len(_CALLS) == _INTERRUPT_AT[0]:
        raise KeyboardInterrupt
    return {"square": a * a + seed}


# ---------------------------------------------------------------------- in-process semantics
def test_rows_equal_direct_calls_in_grid_then_seed_order():
    res = sweep(arithmetic, {"a": [1, 2, 3], "b": [5, 7]}, seeds=[4, 0], scheduler="serial", progress=False)
    expected = [(a, b, s) for a in (1, 2, 3) for b in (5, 7) for s in (4, 0)]
    assert [(r["a"], r["b"], r["seed"]) for r in res.rows] == expected
    for r in res.rows:
        direct = arithmetic(r["a"], r["b"], r["seed"])
        assert (r["value"], r["text"], r["status"]) == (direct["value"], direct["text"], "ok")
    assert res.params == ["a", "b"] and res.metrics == ["value", "text"]
    assert res.column("seed") == [s for _, _, s in expected]
    assert (res.n_run, res.n_cached, len(res.failed)) == (12, 0, 0)


def test_explicit_points_and_no_grid():
    res = sweep(arithmetic, [{"a": 1, "b": 2}, {"a": 5, "b": 0}], seeds=2, scheduler="serial", progress=False)
    assert [(r["a"], r["b"], r["seed"]) for r in res.rows] == [(1, 2, 0), (1, 2, 1), (5, 0, 0), (5, 0, 1)]
    res = sweep(lambda seed: {"s": seed * 2}, seeds=3, scheduler="serial", progress=False, name="doubler")
    assert res.column("s") == [0, 2, 4] and res.params == []


def test_a_raising_task_is_recorded_and_the_others_complete(tmp_path):
    res = sweep(raises_for_b2, {"a": [0, 1], "b": [1, 2, 3]}, seeds=2, cache=tmp_path, scheduler="serial",
                progress=False)
    assert len(res) == 12 and len(res.ok) == 8 and len(res.failed) == 4
    for r in res.failed:
        assert r["b"] == 2 and r["error_type"] == "ZeroDivisionError"
        assert r["error"] == "b=2 is not allowed here"
        assert "raises_for_b2" in r["traceback"] and "ZeroDivisionError" in r["traceback"]
        assert "value" not in r
    assert sorted(r["value"] for r in res.ok) == sorted(a + b + s for a in (0, 1) for b in (1, 3) for s in (0, 1))
    # failures are on disk too, and rerun by default (a fix may have happened) ...
    again = sweep(raises_for_b2, {"a": [0, 1], "b": [1, 2, 3]}, seeds=2, cache=tmp_path, scheduler="serial",
                  progress=False)
    assert (again.n_cached, again.n_run, len(again.failed)) == (8, 4, 4)
    # ... or kept when asked
    kept = sweep(raises_for_b2, {"a": [0, 1], "b": [1, 2, 3]}, seeds=2, cache=tmp_path, scheduler="serial",
                 progress=False, retry_failed=False)
    assert (kept.n_cached, kept.n_run, len(kept.failed)) == (12, 0, 4)


def test_interrupted_sweep_resumes_from_the_cache_without_redoing_tasks(tmp_path):
    grid, seeds = {"a": [1, 2, 3, 4]}, 3  # 12 tasks
    _CALLS.clear()
    _INTERRUPT_AT[0] = 5  # Ctrl-C during the 5th task
    with pytest.raises(KeyboardInterrupt):
        sweep(counted, grid, seeds, cache=tmp_path, scheduler="serial", progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 4  # the four finished tasks, nothing of the fifth

    _CALLS.clear()
    _INTERRUPT_AT[0] = None
    res = sweep(counted, grid, seeds, cache=tmp_path, scheduler="serial", progress=False)
    assert (res.n_cached, res.n_run, len(_CALLS)) == (4, 8, 8)
    assert [r["cached"] for r in res.rows] == [True] * 4 + [False] * 8
    assert res.column("square") == [a * a + s for a in (1, 2, 3, 4) for s in range(3)]

    _CALLS.clear()
    res = sweep(counted, grid, seeds, cache=tmp_path, scheduler="serial", progress=False)
    assert (res.n_cached, res.n_run, len(_CALLS)) == (12, 0, 0)


def test_a_killed_sweep_process_loses_no_finished_task(tmp_path):
    """SIGKILL a real sweep mid-way: every cache file is complete and a restart runs only the rest."""
    (tmp_path / "slowmod.py").write_text(textwrap.dedent("""
        import time
        DELAY = 0.15
        def slow(a, seed):
            time.sleep(DELAY)
            return {"y": a * 100 + seed}
    """))
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from slowmod import slow
        from neuroimc.sweep import sweep
        sweep(slow, {{"a": list(range(10))}}, seeds=2, cache={str(cache)!r}, scheduler="serial",
              progress=False, name="slow")
    """)
    def finished():  # an atomic write's temporary file (.tmp-*) is not a result, even if complete
        return [f for f in cache.glob("*.json") if not f.name.startswith(".tmp-")]

    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(finished()) < 3:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep wrote no cache files"
            time.sleep(0.02)
        proc.kill()
    finally:
        proc.wait()
    files = finished()
    assert 3 <= len(files) < 20
    for f in files:  # atomic writes: no half-written file
        assert json.loads(f.read_text())["status"] == "ok"

    sys.path.insert(0, str(tmp_path))
    try:
        import slowmod
    finally:
        sys.path.remove(str(tmp_path))
    slowmod.DELAY = 0.0  # the same function (same cache keys), without the wait
    res = sweep(slowmod.slow, {"a": list(range(10))}, seeds=2, cache=cache, scheduler="serial", progress=False,
                name="slow")
    assert (res.n_cached, res.n_run) == (len(files), 20 - len(files))
    assert res.column("y") == [a * 100 + s for a in range(10) for s in range(2)]


@pytest.mark.slow
def test_ctrl_c_stops_a_dask_sweep_closes_its_cluster_and_a_restart_resumes(tmp_path):
    """SIGINT to a sweep on its own LocalCluster: it stops, its worker processes end, the cache is complete."""
    import psutil

    (tmp_path / "slowmod2.py").write_text(textwrap.dedent("""
        import time
        DELAY = 0.5  # long enough that a loaded machine cannot finish all tasks before the interrupt lands
        def slow(a, seed):
            time.sleep(DELAY)
            return {"y": a * 100 + seed}
    """))
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from slowmod2 import slow
        from neuroimc.sweep import sweep
        if __name__ == "__main__":
            try:
                sweep(slow, {{"a": list(range(40))}}, cache={str(cache)!r}, progress=False, name="slow2")
            except KeyboardInterrupt:
                sys.exit(130)
    """)
    (tmp_path / "run.py").write_text(script)
    def finished():  # an atomic write's temporary file (.tmp-*) is not a result, even if complete
        return [f for f in cache.glob("*.json") if not f.name.startswith(".tmp-")]

    proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py")])
    try:
        deadline = time.monotonic() + 120
        while len(finished()) < 4:
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not get going"
            time.sleep(0.02)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"worker processes left running: {alive}"
    files = finished()
    assert 4 <= len(files) < 40

    sys.path.insert(0, str(tmp_path))
    try:
        import slowmod2
    finally:
        sys.path.remove(str(tmp_path))
    slowmod2.DELAY = 0.0  # the same function (same cache keys), without the wait
    res = sweep(slowmod2.slow, {"a": list(range(40))}, cache=cache, scheduler="serial", progress=False, name="slow2")
    assert (res.n_cached, res.n_run) == (len(files), 40 - len(files))
    assert res.column("y") == [a * 100 for a in range(40)]


def test_cache_key_is_canonical():
    k = task_key("f", {"a": 1, "b": 0.5}, 3)
    assert k == task_key("f", {"b": 0.5, "a": 1}, 3) == task_key("f", {"a": np.int64(1), "b": np.float64(0.5)}, 3)
    others = {task_key("g", {"a": 1, "b": 0.5}, 3), task_key("f", {"a": 1, "b": 0.5}, 4),
              task_key("f", {"a": 2, "b": 0.5}, 3), task_key("f", {"a": 1, "b": 0.5000000000000001}, 3)}
    assert k not in others and len(others) == 4


def test_a_foreign_cache_file_is_ignored_with_a_warning(tmp_path):
    sweep(arithmetic, {"a": [1], "b": [2]}, seeds=1, cache=tmp_path, scheduler="serial", progress=False)
    (f,) = tmp_path.glob("*.json")
    doc = json.loads(f.read_text())
    doc["params"]["a"] = 99
    f.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="does not belong"):
        res = sweep(arithmetic, {"a": [1], "b": [2]}, seeds=1, cache=tmp_path, scheduler="serial", progress=False)
    assert (res.n_cached, res.n_run, res.column("value")) == (0, 1, [12.0])
    f.write_text('{"status": "ok", "metr')
    with pytest.warns(UserWarning, match="unreadable"):
        res = sweep(arithmetic, {"a": [1], "b": [2]}, seeds=1, cache=tmp_path, scheduler="serial", progress=False)
    assert res.n_run == 1


def test_metrics_are_checked_and_named():
    def bad(kind, seed):
        return {"ok": 1.0, "arr": np.arange(3), "i64": np.int64(7), "bad": object() if kind == "object" else 2,
                "kind_copy": kind}

    res = sweep(bad, {"kind": ["object", "fine"]}, scheduler="serial", progress=False, name="bad")
    (fail,) = res.failed
    assert fail["kind"] == "object" and fail["error_type"] == "TypeError" and "metric 'bad'" in fail["error"]
    (ok,) = res.ok
    assert ok["arr"] == [0, 1, 2] and ok["i64"] == 7 and type(ok["i64"]) is int

    res = sweep(lambda x, seed: {"x": 1}, {"x": [1]}, scheduler="serial", progress=False, name="clash")
    assert "metric 'x' clashes with a parameter" in res.failed[0]["error"]
    res = sweep(lambda seed: [1, 2], scheduler="serial", progress=False, name="list")
    assert "must return a dict" in res.failed[0]["error"]


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(function=3), TypeError, "function must be callable"),
        (dict(grid={"a": 3}), TypeError, "grid['a'] must be a list"),
        (dict(grid={"a": []}), ValueError, "grid['a'] is empty"),
        (dict(grid={"seed": [1]}), ValueError, "'seed' clashes"),
        (dict(grid={"a b": [1]}), ValueError, "identifiers"),
        (dict(grid={"a": [1, 1]}), ValueError, "twice"),
        (dict(grid=[]), ValueError, "grid is empty"),
        (dict(grid="a"), TypeError, "grid must be"),
        (dict(grid={"a": [object()]}), TypeError, "grid['a'] value"),
        (dict(seeds=0), ValueError, "seeds must be >= 1"),
        (dict(seeds=[1, 1]), ValueError, "distinct"),
        (dict(seeds=[-1]), ValueError, "non-negative"),
        (dict(seeds=True), TypeError, "seeds must be"),
        (dict(workers=0), ValueError, "workers must be"),
        (dict(scheduler=3.5), TypeError, "scheduler must be"),
        (dict(cache=5), TypeError, "cache must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, words):
    args = dict(function=arithmetic, grid={"a": [1], "b": [2]}, seeds=1, progress=False)
    args.update(kwargs)
    if "scheduler" not in kwargs:
        args["scheduler"] = "serial"
    with pytest.raises(exc, match=None) as info:
        sweep(args.pop("function"), **args)
    assert words in str(info.value)


# ---------------------------------------------------------------------- Dask
def test_local_cluster_with_two_workers_runs_a_small_grid_and_records_failures(tmp_path):
    # 2 x 2 grid x 2 seeds of tiny networks; rate 2e4 Hz violates rate*dt <= 1 and must fail in the engine
    grid = {"rate": [50 * Hz, 2e4 * Hz], "w": [100 * pA, 200 * pA]}
    res = sweep(tiny_network, grid, seeds=2, cache=tmp_path, workers=2, progress=False)
    assert len(res) == 8 and len(res.ok) == 4 and len(res.failed) == 4
    for r in res.failed:
        assert r["rate"] == 2e4 and r["error_type"] == "ValueError" and "rate" in r["error"]
    assert all(r["pid"] != os.getpid() for r in res.ok)  # ran in worker processes
    # which share the cores: no background catch-up thread unless a core is left over
    from neuroimc.kernels.background import usable_cores
    assert {r["threads"] for r in res.ok} == {max(1, min(2, usable_cores() // 2))}
    serial = sweep(tiny_network, grid, seeds=2, scheduler="serial", progress=False)
    # reproducible: a seeded task gives the same spikes in any process
    assert [r["counts"] for r in res.ok] == [r["counts"] for r in serial.ok]
    assert sum(r["total"] for r in res.ok) > 0

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            again = sweep(tiny_network, grid, seeds=2, cache=tmp_path, scheduler=client, progress=False)
            assert client.status == "running"  # a caller's client stays open
            # a sweep file's function lives in a private module the workers cannot import: sent by value
            spec = load_spec(_sweep_file(tmp_path / "spec"))
            from_file = sweep(spec["function"], spec["grid"], spec["seeds"], scheduler=client, progress=False)
    assert (again.n_cached, again.n_run, len(again.failed)) == (4, 4, 4)
    assert [r["counts"] for r in again.ok] == [r["counts"] for r in serial.ok]
    assert from_file.column("out") == [r * 10 + s for r in (1.0, 2.0) for s in range(3)]
    assert [r["error_type"] for r in from_file.failed] == ["ValueError"] * 3


def test_an_unpicklable_function_is_refused_before_a_cluster_starts():
    import threading

    lock = threading.Lock()

    def locked(seed):
        with lock:
            return {"x": seed}

    with pytest.raises(TypeError, match="cannot be sent to Dask workers"):
        sweep(locked, seeds=2, progress=False)


# ---------------------------------------------------------------------- table, statistics, files
def _synthetic(tmp_path=None):
    def f(x, h, seed):
        rng = np.random.default_rng(seed)
        return {"y": x * h + rng.normal(), "maybe": math.nan if seed == 0 else float(seed)}

    return sweep(f, {"x": [3.0, 1.0, 2.0], "h": [1, 10]}, seeds=7, scheduler="serial", progress=False, name="syn")


def test_stats_are_mean_and_percentiles_over_seeds():
    res = _synthetic()
    stats = res.stats("x", "y", hue="h", percentiles=(20, 80))
    assert [(r["h"], r["x"]) for r in stats] == [(1, 1.0), (1, 2.0), (1, 3.0), (10, 1.0), (10, 2.0), (10, 3.0)]
    for s in stats:
        ys = np.array([r["y"] for r in res.rows if r["x"] == s["x"] and r["h"] == s["h"]])
        assert s["n"] == 7 and s["n_nan"] == 0
        assert s["mean"] == pytest.approx(ys.mean())
        assert (s["lo"], s["hi"]) == pytest.approx((np.percentile(ys, 20), np.percentile(ys, 80)))
    (s,) = res.where(x=2.0, h=10).stats("x", "maybe")
    assert (s["n"], s["n_nan"], s["mean"]) == (6, 1, pytest.approx(np.mean(range(1, 7))))
    with pytest.raises(ValueError, match="parameter 'h' varies"):
        res.stats("x", "y")
    with pytest.raises(ValueError, match="y must be a metric"):
        res.stats("x", "nope", hue="h")
    with pytest.raises(ValueError, match="percentiles"):
        res.stats("x", "y", hue="h", percentiles=(90, 10))


def test_plot_draws_means_and_bands(tmp_path):
    res = _synthetic()
    ax = res.plot("x", "y", hue="h")
    stats = res.stats("x", "y", hue="h")
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [s["mean"] for s in stats if s["h"] == 10])
    band = ax.collections[1].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(min(s["lo"] for s in stats if s["h"] == 10))
    assert band.max() == pytest.approx(max(s["hi"] for s in stats if s["h"] == 10))
    ax.figure.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 5000


def test_csv_and_json_files(tmp_path):
    res = sweep(raises_for_b2, {"a": [1.5], "b": [1, 2]}, seeds=2, scheduler="serial", progress=False)
    res.to_csv(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0])[:5] == ["a", "b", "seed", "status", "value"]
    assert [(float(r["a"]), int(r["b"]), int(r["seed"]), r["status"]) for r in table] == [
        (1.5, 1, 0, "ok"), (1.5, 1, 1, "ok"), (1.5, 2, 0, "failed"), (1.5, 2, 1, "failed")]
    assert float(table[1]["value"]) == 3.5 and table[2]["value"] == ""
    assert "ZeroDivisionError" in table[2]["traceback"]

    syn = _synthetic()
    syn.to_json(tmp_path / "t.json")
    json.loads((tmp_path / "t.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    back = SweepResult.from_json(tmp_path / "t.json")
    assert back.params == syn.params and back.metrics == syn.metrics and len(back) == len(syn)
    assert back.column("y") == syn.column("y")
    assert [v is None for v in back.column("maybe")] == [s == 0 for s in syn.column("seed")]


# ---------------------------------------------------------------------- command line
def _sweep_file(tmp_path, fmt="toml", extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "exp.py").write_text(textwrap.dedent("""
        def measure(rate, scale, seed, device="none"):
            if rate < 0:
                raise ValueError("rate must be >= 0")
            return {"out": rate * scale + seed, "device_seen": device}
    """))
    if fmt == "toml":
        text = textwrap.dedent("""
            function = "exp.py:measure"
            seeds = 3
            [grid]
            rate = [-1.0, 1.0, 2.0]
            [fixed]
            scale = 10.0
            [plot]
            x = "rate"
            y = "out"
        """) + extra
        path = tmp_path / "s.toml"
    else:
        text = textwrap.dedent("""
            function: exp.py:measure
            seeds: [5, 6]
            grid:
              rate: [1.0, 2.0]
            fixed:
              scale: 2.0
        """) + extra
        path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_cli_runs_a_toml_sweep_file_and_resumes(tmp_path, capsys):
    spec = _sweep_file(tmp_path)
    out = tmp_path / "out"
    code = sweep_main([str(spec), "--out", str(out), "--scheduler", "serial", "--json", "--device", "rram"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # the rate = -1 tasks failed
    assert (summary["tasks"], summary["ok"], summary["failed"], summary["run"]) == (9, 6, 3, 9)
    assert all(f["error_type"] == "ValueError" and f["rate"] == -1.0 for f in summary["failures"])
    for kind in ("csv", "json", "plot"):
        assert os.path.getsize(summary["files"][kind]) > 0
    res = SweepResult.from_json(out / "results.json")
    assert res.column("out") == [r * 10 + s for r in (1.0, 2.0) for s in range(3)]
    assert set(res.column("device_seen")) == {"rram"} and res.params == ["rate", "scale", "device"]

    code = sweep_main([str(spec), "--out", str(out), "--scheduler", "serial", "--json", "--device", "rram"])
    summary = json.loads(capsys.readouterr().out)
    assert (code, summary["cached"], summary["run"]) == (1, 6, 3)


def test_cli_yaml_seed_options_and_the_subcommand_wiring(tmp_path, capsys):
    spec = _sweep_file(tmp_path, fmt="yaml")
    parser = argparse.ArgumentParser(prog="neuroimc")
    add_sweep_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "serial",
                              "--seed", "100", "--seeds", "2", "--no-cache", "--quiet"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == ""
    res = SweepResult.from_json(tmp_path / "o" / "results.json")
    assert res.column("seed") == [100, 101, 100, 101] and res.column("out") == [102.0, 103.0, 104.0, 105.0]
    assert not (tmp_path / "o" / "cache").exists()


@pytest.mark.parametrize(
    "extra, words",
    [
        ("colour = 1\n", "unknown key 'colour'"),
        ("name = 3\n", "name must be a non-empty string"),
        ("[bogus]\na = 1\n", "unknown key 'bogus'"),
    ],
)
def test_cli_rejects_bad_sweep_files_naming_the_key(tmp_path, capsys, extra, words):
    spec = _sweep_file(tmp_path)
    text = spec.read_text()
    spec.write_text(extra + text if not extra.startswith("[") else text + extra)
    assert sweep_main([str(spec), "--scheduler", "serial", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert words in err and str(spec) in err


def test_cli_rejects_a_missing_function_and_file(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('function = "exp.py:nothing"\n')
    (tmp_path / "exp.py").write_text("x = 1\n")
    assert sweep_main([str(spec), "--quiet"]) == 2
    assert "has no function 'nothing'" in capsys.readouterr().err
    assert sweep_main([str(tmp_path / "absent.toml"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
