"""The ``neuroimc`` command line and its ``validate`` subcommand."""
import json
import os
import subprocess
import sys

import pytest

import neuroimc as ni
from neuroimc import cli

pytest.importorskip("brian2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_writes_report_and_prints_json(tmp_path, capsys):
    out_dir = tmp_path / "report"
    rc, out, _ = run_cli(
        capsys, "validate", "--case", "feedforward", "--case", "recurrent_ei", "--case", "devices",
        "--device", "ideal", "--duration", "100ms", "--seed", "2", "--out", str(out_dir), "--json", "--quiet",
    )
    assert rc == 0
    results = json.loads(out)
    assert results == json.loads((out_dir / "results.json").read_text())
    assert results["passed"] is True and results["seed"] == 2 and results["duration_s"] == pytest.approx(0.1)
    names = [c["name"] for c in results["cases"]]
    assert names == ["feedforward", "recurrent_ei", "device:ideal"]
    for case in results["cases"]:
        assert case["passed"] and case["comparison"]["identical"]
        assert sum(p["spikes"][1] for p in case["comparison"]["populations"].values()) > 0
        assert (out_dir / case["figure"]).read_bytes()[:4] == b"\x89PNG"
    ei = results["cases"][1]["comparison"]["populations"]
    assert set(ei) == {"exc", "inh"} and ei["exc"]["n"] == 800 and ei["inh"]["n"] == 200
    report = (out_dir / "report.md").read_text()
    assert "all checks passed" in report
    for name in names:
        assert f"## {name}" in report and f"({name.replace(':', '_')}.png)" in report


def test_validate_device_cases_default_to_every_card(tmp_path, capsys):
    rc, out, _ = run_cli(capsys, "validate", "--case", "devices", "--duration", "50ms", "--out", str(tmp_path),
                         "--json", "--quiet")
    results = json.loads(out)
    assert [c["name"] for c in results["cases"]] == [f"device:{d}" for d in ni.available_devices()]
    ideal = next(c for c in results["cases"] if c["name"] == "device:ideal")
    assert ideal["passed"] and ideal["comparison"]["identical"]
    assert rc == (0 if results["passed"] else 1)


def test_validate_exits_1_when_a_check_fails(tmp_path, capsys):
    # 1 ms is too short for any neuron to reach threshold from rest: the activity check must fail
    rc, out, _ = run_cli(capsys, "validate", "--case", "feedforward", "--duration", "1ms", "--out", str(tmp_path))
    assert rc == 1
    assert out.startswith("FAIL  feedforward") and f"report: {tmp_path}/report.md" in out
    assert "SOME CHECKS FAILED" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "unobtainium"], "argument --device: invalid choice: 'unobtainium'"),
        (["--case", "everything"], "argument --case: invalid choice: 'everything'"),
        (["--duration", "soon"], "duration must be a number of seconds, optionally with s or ms, got 'soon'"),
        (["--duration", "0ms"], "duration must be > 0, got '0ms'"),
        (["--seed", "one"], "argument --seed: invalid int value: 'one'"),
    ],
)
def test_validate_rejects_bad_options(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["validate", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_negative_seed_is_a_usage_error(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "validate", "--seed", "-1", "--out", str(tmp_path))
    assert rc == 2 and "--seed must be >= 0, got -1" in err


@pytest.mark.parametrize("text, seconds", [("1", 1.0), ("0.5s", 0.5), ("200ms", 0.2), (" 2.5 ms ", 0.0025),
                                           ("1e-1", 0.1)])
def test_parse_duration(text, seconds):
    assert cli.parse_duration(text) == pytest.approx(seconds)


def test_subcommands_register_through_one_function(monkeypatch, capsys):
    from neuroimc.brian import validate

    assert cli.VALIDATION_CASES == validate.CASES  # the CLI spells the suite's cases without importing Brian2

    def add_echo_parser(subparsers):
        p = subparsers.add_parser("echo")
        cli.add_common_options(p, out="out/echo", device=False)
        p.set_defaults(func=lambda args: print(args.seed, args.duration, args.out, args.json, args.quiet) or 7)

    monkeypatch.setattr(cli, "SUBCOMMANDS", cli.SUBCOMMANDS + (add_echo_parser,))
    rc, out, _ = run_cli(capsys, "echo", "--seed", "3", "--duration", "20ms")
    assert rc == 7 and out.split() == ["3", "0.02", "out/echo", "False", "False"]


def test_module_entry_points_and_help_does_not_import_brian2():
    env = dict(os.environ, PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-m", "neuroimc", "--help"], capture_output=True, text=True, env=env)
    assert res.returncode == 0 and "validate" in res.stdout
    res = subprocess.run([sys.executable, "-m", "neuroimc.cli", "validate", "--help"], capture_output=True, text=True,
                         env=env)
    assert res.returncode == 0
    for option in ("--device", "--case", "--seed", "--duration", "--out", "--json", "--quiet"):
        assert option in res.stdout
    code = "import sys, neuroimc.cli as c; c.build_parser(); print('brian2' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.stdout.strip() == "False"


def test_validate_stdp_case_learns_identically(tmp_path, capsys):
    """Needs "stdp" in cli.VALIDATION_CASES (the suite's cases)."""
    rc, out, _ = run_cli(capsys, "validate", "--case", "stdp", "--device", "ideal", "--duration", "200ms",
                         "--out", str(tmp_path), "--json", "--quiet")
    results = json.loads(out)
    assert [c["name"] for c in results["cases"]] == ["stdp"]  # no hardware-learning case for the ideal card
    (case,) = results["cases"]
    assert rc == 0 and case["passed"] and case["comparison"]["identical"]
    assert case["comparison"]["max_weight_error"] <= 1e-6
    assert list(case["comparison"]["weights"]) == ["xb0_input_to_lif"]
