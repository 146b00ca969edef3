"""demos/variability_sweep.py: the --quick path end to end (serial), and its measures against independent forms."""
import csv
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from neuroimc.devices import Endurance

DEMO = Path(__file__).resolve().parents[1] / "demos" / "variability_sweep.py"


@pytest.fixture(scope="module")
def vs():
    spec = importlib.util.spec_from_file_location("variability_sweep", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(vs, tmp_path_factory):
    out = tmp_path_factory.mktemp("variability")
    summary = vs.main(["--quick", "--scheduler", "serial", "--out", str(out), "--quiet"])
    return out, summary


def test_quick_run_writes_every_output(quick, vs):
    out, summary = quick
    for name in ("variability.csv", "variability.json", "summary.json", "fidelity.png", "wear.png"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "variability.csv") as fh:
        rows = list(csv.DictReader(fh))
    grid = vs.QUICK
    assert len(rows) == len(grid["c2c"]) * len(grid["endurance"]) * grid["seeds"]
    assert {r["status"] for r in rows} == {"ok"}
    assert {float(r["c2c"]) for r in rows} == set(grid["c2c"])
    assert {float(r["endurance"]) for r in rows} == set(grid["endurance"])
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert len(summary["points"]) == len(grid["c2c"]) * len(grid["endurance"])


def test_quick_run_resumes_from_its_cache(quick, vs):
    out, summary = quick
    again = vs.main(["--quick", "--scheduler", "serial", "--out", str(out), "--quiet"])
    assert again["cached"] == again["tasks"] and again["run"] == 0
    assert again["points"] == summary["points"]


def _rows(out):
    return json.loads((out / "variability.json").read_text())["rows"]


def test_write_noise_and_wear_lower_the_fidelity(quick):
    out, _ = quick
    rows = _rows(out)

    def mean(metric, **where):
        return np.mean([r[metric] for r in rows if all(r[k] == v for k, v in where.items())])

    clean = mean("dw_corr", c2c=0.0, endurance=0.0)
    assert clean > 0.8  # nonlinear, 128-level pulses and read noise alone keep the learning close to ideal
    assert mean("dw_corr", c2c=0.1, endurance=0.0) < clean - 0.5
    assert mean("dw_corr", c2c=0.0, endurance=100.0) < clean - 0.1
    ideal = rows[0]["selectivity_ideal"]
    assert ideal > 0.6  # the ideal network did learn which inputs are correlated
    assert mean("selectivity", c2c=0.1, endurance=0.0) < mean("selectivity", c2c=0.0, endurance=0.0) <= ideal + 0.02


def test_worn_fraction_matches_the_endurance_law(quick, vs):
    out, _ = quick
    n_devices = 2 * vs.N_IN * vs.N_OUT
    for r in _rows(out):
        if r["endurance"] == 0:
            assert r["failed_devices"] == 0 and r["failed_expected"] == 0 and r["failed_synapses"] == 0
            continue
        assert r["failed_devices"] > 0
        p = r["failed_expected"]
        # binomial spread over the devices, plus a 10 % allowance: a worn device's later pulse count depends
        # on its failure, so the law applied to the final counts is not exact
        assert abs(r["failed_devices"] - p) < 4 * math.sqrt(p * (1 - p) / n_devices) + 0.1 * p, r


def test_the_ideal_card_reproduces_the_reference_exactly(vs):
    ideal = vs.reference(0.2)
    run = vs.learn("ideal", seed=7, duration=0.2)
    np.testing.assert_array_equal(run["w_end"], ideal["w_end"])
    np.testing.assert_array_equal(run["rates"], ideal["rates"])
    assert np.abs(ideal["dw"]).max() > 0.01  # learning moved the weights


def test_selectivity_is_the_pairwise_win_rate(vs):
    rng = np.random.default_rng(3)
    w = rng.integers(0, 6, (vs.N_IN, 4)).astype(float)  # many ties
    pos, neg = w[:vs.N_CORRELATED].ravel(), w[vs.N_CORRELATED:].ravel()
    wins = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert vs.selectivity(w) == pytest.approx(wins, abs=1e-12)
    w[:vs.N_CORRELATED] += 10
    assert vs.selectivity(w) == 1.0


def test_endurance_law_against_sampled_devices(vs):
    # the crossbar's own sampling: limit = max(floor(C), 1), C lognormal with the card's mean; worn iff count > limit
    rng = np.random.default_rng(5)
    counts = rng.integers(1, 400, 2000)
    for law in (Endurance(cycles_mean=150.0, cycles_log_sigma=0.8), Endurance(cycles_mean=100.0)):
        s = law.cycles_log_sigma
        c = np.exp(np.log(law.cycles_mean) - 0.5 * s * s + s * rng.standard_normal((400, counts.size)))
        limit = np.maximum(np.floor(c), 1)
        sampled = np.mean(counts > limit)
        assert vs.worn_fraction_expected(counts, law) == pytest.approx(sampled, abs=4 * 0.5 / np.sqrt(limit.size))
    assert vs.worn_fraction_expected(counts, Endurance()) == 0.0
