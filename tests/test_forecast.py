"""Forecast sweeps (cevns.app.forecast) and the profile/toys/forecast commands (cevns.cli.frequentist)."""

import argparse
import json

import numpy as np
import pytest

from cevns.app import forecast as fc
from cevns.cli.frequentist import register
from cevns.spec.config import resolve_raw
from cevns.errors import ConfigError


def _run(argv):
    parser = argparse.ArgumentParser(prog="cevns")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_counts_scale_with_exposure_and_inverse_square_distance():
    """Signal proportional to exposure (one experiment) and to 1/d^2 (its source), background to exposure."""
    base = fc.build_model({"scenario": "future-combined", "changes": {}, "experiment": None})
    double = fc.build_model({"scenario": "future-combined", "changes": {"exposure_kg_day": 2e4}, "experiment": "reactor-Ge"})
    far = fc.build_model({"scenario": "future-combined", "changes": {"distance_m": 40.0}, "experiment": "reactor-Ge"})
    ge = base.experiment_bins["reactor-Ge"]
    ar = base.experiment_bins["SNS-Ar"]
    pars = base.pars()
    assert double.expected_counts(pars)[0, ge] == pytest.approx(2 * base.expected_counts(pars)[0, ge], rel=1e-10)
    assert double.expected_counts(pars)[0, ar] == pytest.approx(base.expected_counts(pars)[0, ar], rel=1e-12)
    signal = base.expected(pars)["reactor-Ge"]
    signal_far = far.expected(pars)["reactor-Ge"]
    for component, value in signal.items():
        factor = 1.0 if component == "background" else 0.25
        assert signal_far[component] == pytest.approx(factor * value, rel=1e-10)


def test_changes_are_validated_and_bad_input_is_one_line():
    raw = resolve_raw("future-combined")
    changed = fc.apply_changes(raw, {"threshold_keV": 0.2}, "reactor-Si")
    assert [e["threshold_keV"] for e in changed["experiments"]][:2] == [0.1, 0.2]
    assert raw["experiments"][1]["threshold_keV"] == 0.1  # the input is not modified
    with pytest.raises(ConfigError, match="cannot vary"):
        fc.apply_changes(raw, {"colour": 1}, None)
    with pytest.raises(ConfigError, match="--experiment"):
        fc.apply_changes(raw, {"threshold_keV": 1}, "nope")
    with pytest.raises(ConfigError, match="threshold_keV"):
        fc.build_model({"scenario": "future-combined", "changes": {"threshold_keV": 5.0}, "experiment": "reactor-Ge"})
    assert fc.parse_vary("exposure_kg_day=1e3, 1e4") == ("exposure_kg_day", [1e3, 1e4])
    for bad in ("exposure_kg_day", "exposure=1", "exposure_kg_day=a", "exposure_kg_day=-1"):
        with pytest.raises(ConfigError, match="--vary"):
            fc.parse_vary(bad)


def test_width_shrinks_with_exposure():
    specs = fc.forecast_specs("future-reactor", "exposure_kg_day", [1e3, 1e5], ["eps_u_ee"], n_points=60)
    small, large = (fc.forecast_task(s)["parameters"]["eps_u_ee"] for s in specs)
    assert large["width_at_truth_95"] < 0.5 * small["width_at_truth_95"]


def test_widths_of_a_union():
    assert fc.widths([[-0.4, -0.3], [-0.01, 0.02]], 0.0) == {"width": pytest.approx(0.13), "width_at_truth": pytest.approx(0.03), "n_pieces": 2}


def test_profile_command_writes_json_csv_png(tmp_path, capsys):
    out = tmp_path / "p"
    assert _run(["profile", "coherent-2017-2p", "--params", "eps_u_ee", "--points", "40", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["profile.json", "profile_eps_u_ee.csv", "profile_eps_u_ee.png"]
    assert summary == json.loads((out / "profile.json").read_text())
    # one bin, two couplings: the ring makes the profile of eps_u_ee flat (q = 0) over a wide range
    assert summary["profiles"]["eps_u_ee"]["wilks_intervals"]["0.95"][0][1] - summary["profiles"]["eps_u_ee"]["wilks_intervals"]["0.95"][0][0] > 0.5
    assert _run(["profile", "coherent-2017-2p", "--params", "eps_u_ee,eps_u_mumu", "--points", "9", "--out", str(tmp_path / "q")]) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["profile", "coherent-2017-2p", "--params", "eps_d_ee"], "not a free parameter"),
    (["profile", "coherent-2017-2p", "--params", "eps_u_ee,eps_u_mumu,eps_d_ee"], "one or two"),
    (["profile", "coherent-2017-2p", "--params", "eps_u_ee", "--points", "1"], "--points"),
    (["forecast", "future-combined", "--params", "eps_u_ee"], "either --vary"),
    (["forecast", "future-combined", "--params", "eps_u_ee", "--vary", "speed=1"], "--vary"),
    (["forecast", "future-combined", "--params", "eps_u_ee", "--targets", "Ge,Xe"], "--targets"),
    (["toys", "future-combined", "--params", "eps_u_ee", "--bayes", "grid", "-n", "2"], "--bayes grid"),
    (["toys", "future-combined", "--params", "eps_u_ee", "--truth", "eps_u_ee=x", "-n", "2"], "--truth"),
])
def test_bad_input_is_one_config_error_line(argv, message, tmp_path):
    with pytest.raises(ConfigError, match=message) as err:
        _run([*argv, "--out", str(tmp_path / "o")])
    assert "\n" not in str(err.value)


def test_toys_command_is_reproducible_and_resumes(tmp_path, capsys):
    argv = ["toys", "coherent-2017-2p", "--params", "eps_u_ee", "-n", "4", "--seed", "3", "--json"]
    assert _run([*argv, "--out", str(tmp_path / "a")]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["n_toys"] == 4 and set(first["wilks"]) == {"0.68", "0.95"}
    (tmp_path / "a" / "tasks" / "toy-000002.json").unlink()
    assert _run([*argv, "--out", str(tmp_path / "a")]) == 0
    again = json.loads(capsys.readouterr().out)
    assert _run([*argv, "--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    two = json.loads(capsys.readouterr().out)
    for other in (again, two):
        assert {k: v for k, v in other.items() if k != "wall_seconds"} == {k: v for k, v in first.items() if k != "wall_seconds"}
    t = [json.loads(p.read_text())["result"]["t"] for p in sorted((tmp_path / "b" / "tasks").iterdir())]
    assert np.all(np.array(t) >= 0)
