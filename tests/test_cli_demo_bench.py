"""``neuroimc demo`` and ``neuroimc bench``: help, option translation, errors, and one real demo run."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from neuroimc import cli, scripts

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_checkout(monkeypatch):
    # a non-editable install (CI) finds the scripts through the working directory
    monkeypatch.chdir(REPO)


@pytest.fixture
def recorded(monkeypatch, in_checkout):
    """Replace the script process by a recorder: the command it would run, exit status 0."""
    calls = []

    def fake_run(cmd, env=None):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(scripts.subprocess, "run", fake_run)
    return calls


def _help(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_demo_and_bench(capsys):
    out = _help(capsys)
    assert re.search(r"^\s+demo\s", out, re.M) and re.search(r"^\s+bench\s", out, re.M)


@pytest.mark.parametrize("command, table", [("demo", scripts.DEMOS), ("bench", scripts.BENCHMARKS)])
def test_help_names_every_script_and_the_shared_options(capsys, command, table):
    out = _help(capsys, command)
    assert f"neuroimc {command} " in out and "-- SCRIPT_ARGS" in out
    for name, script in table.items():
        assert name in out and f"{script.folder}/{script.file}" in out
    for option in ("--device", "--seed", "--duration", "--out", "--quick", "--json", "--quiet"):
        assert option in out


def test_every_translated_flag_exists_in_its_script():
    for table in (scripts.DEMOS, scripts.BENCHMARKS):
        for name, script in table.items():
            text = (REPO / script.folder / script.file).read_text()
            for key, flag in script.options.items():
                assert re.search(rf"add_argument\(\s*[\"']{re.escape(flag)}[\"']", text), (name, key, flag)


def test_every_demo_script_is_registered():
    files = {p.name for p in (REPO / "demos").glob("*.py") if not p.name.startswith("_")}
    assert files == {s.file for s in scripts.DEMOS.values()}


def test_unknown_demo_names_the_allowed_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "no_such_demo"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no_such_demo" in err
    for name in scripts.DEMOS:
        assert name in err


def test_unknown_benchmark_names_the_allowed_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "fastest"])
    assert exc.value.code == 2
    assert "'engine'" in capsys.readouterr().err


def test_options_are_translated_to_each_scripts_spelling(recorded):
    assert cli.main(["demo", "device_zoo", "--device", "ideal", "--device", "pcm_gst", "--duration", "200ms",
                     "--seed", "4", "--quiet"]) == 0
    assert cli.main(["bench", "vs-brian2", "--quick", "--quiet", "--out", "r.json"]) == 0
    assert cli.main(["demo", "variability_sweep", "--quick", "--json", "--", "--scheduler", "serial", "--seeds",
                     "3"]) == 0
    zoo, bench, sweep = recorded
    assert Path(zoo[1]) == REPO / "demos" / "device_zoo.py"
    assert zoo[2:] == ["--devices", "ideal,pcm_gst", "--seed", "4", "--duration", "0.2", "--quiet"]
    assert Path(bench[1]) == REPO / "benchmarks" / "bench_vs_brian2.py"
    assert bench[2:] == ["--out", "r.json", "--quick", "--no-progress"]
    assert sweep[2:] == ["--quick", "--json", "--scheduler", "serial", "--seeds", "3"]
    assert cli.main(["demo", "seed_sweep", "--seed", "0"]) == 0  # 0 is a seed, not "not given"
    assert recorded[-1][2:] == ["--seed", "0"]


def test_an_option_the_script_lacks_is_an_error_listing_what_it_takes(recorded, capsys):
    assert cli.main(["demo", "quickstart", "--json"]) == 2
    err = capsys.readouterr().err
    assert "--json not supported by demos/quickstart.py" in err
    assert "--device, --seed, --out, --quiet" in err
    assert cli.main(["demo", "quickstart", "--device", "ideal", "--device", "pcm_gst"]) == 2
    assert "takes one --device, got 2" in capsys.readouterr().err
    assert cli.main(["bench", "engine", "--seed", "1"]) == 2
    assert "--seed not supported by benchmarks/bench_engine.py" in capsys.readouterr().err
    assert recorded == []  # nothing was started


def test_a_card_that_does_not_exist_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "quickstart", "--device", "unobtainium"])
    assert exc.value.code == 2
    assert "rram_hfox" in capsys.readouterr().err


def test_missing_checkout_names_where_it_looked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(scripts, "checkout_roots", lambda: [tmp_path / "site-packages", tmp_path / "cwd"])
    assert cli.main(["demo", "quickstart"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "site-packages" / "demos" / "quickstart.py") in err
    assert str(tmp_path / "cwd" / "demos" / "quickstart.py") in err
    assert "repository checkout" in err
    assert cli.main(["bench", "engine"]) == 2
    assert str(tmp_path / "cwd" / "benchmarks" / "bench_engine.py") in capsys.readouterr().err


def test_checkout_is_found_beside_the_package_or_in_the_working_directory(monkeypatch, tmp_path):
    roots = scripts.checkout_roots()
    assert roots[0] == Path(scripts.__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    assert scripts.checkout_roots()[-1] == tmp_path.resolve()
    (tmp_path / "demos").mkdir()
    (tmp_path / "demos" / "quickstart.py").write_text("")
    assert scripts.locate(scripts.DEMOS["quickstart"], roots=[tmp_path / "x", tmp_path]) == \
        tmp_path / "demos" / "quickstart.py"


def test_double_dash_keeps_its_argparse_meaning_for_other_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:  # validate takes no positional arguments, before or after --
        cli.main(["validate", "--", "stray"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err and "stray" in err


def test_quickstart_runs_through_the_cli(tmp_path, in_checkout, capfd):
    out = tmp_path / "qs"
    assert cli.main(["demo", "quickstart", "--out", str(out), "--seed", "3", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["device"] == "ideal"
    assert summary["output_spikes"] > 0
    assert (out / "raster.png").stat().st_size > 0 and (out / "v_trace.png").stat().st_size > 0
    assert f"figures and summary in {out}" in capfd.readouterr().out


def test_script_exit_status_is_passed_on(tmp_path, in_checkout, capfd):
    # the demo's own argument parser rejects a bad option: its status 2 comes back
    assert cli.main(["demo", "quickstart", "--quiet", "--", "--no-such-option"]) == 2
    assert "--no-such-option" in capfd.readouterr().err
