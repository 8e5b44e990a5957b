"""Command line: output formats and clear errors (exit 2, one line, no traceback)."""

import json

import numpy as np
import pytest

from cevns.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scenarios_lists_builtins(capsys):
    code, out, _ = run(capsys, "scenarios")
    assert code == 0
    for name in ("coherent-2017", "future-reactor", "future-accelerator", "future-combined", "future-combined-nobkg"):
        assert name in out


def test_rates_json_schema(capsys):
    code, out, _ = run(capsys, "rates", "future-combined", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["scenario"] == "future-combined"
    names = [e["name"] for e in data["experiments"]]
    assert names == ["reactor-Ge", "reactor-Si", "SNS-NaI", "SNS-Ar"]
    for exp in data["experiments"]:
        assert set(exp) == {"name", "kind", "target", "source", "bin_edges_keV", "signal", "signal_by_flavor",
                            "background", "total_signal", "total_background"}
        assert exp["kind"] == "experiment"
        assert len(exp["bin_edges_keV"]) == len(exp["signal"]) + 1 == 11
        total_by_flavor = sum(sum(v) for v in exp["signal_by_flavor"].values())
        assert total_by_flavor == pytest.approx(exp["total_signal"], rel=1e-12)
    assert set(data["experiments"][0]["signal_by_flavor"]) == {"nubar_e"}
    assert set(data["experiments"][2]["signal_by_flavor"]) == {"nu_e", "nu_mu", "nubar_mu"}


def test_rates_nsi_changes_only_affected_flavor(capsys):
    _, sm, _ = run(capsys, "rates", "coherent-2017", "--json")
    _, nsi, _ = run(capsys, "rates", "coherent-2017", "--json", "--nsi", "eps_u_ee=0.2")
    sm, nsi = json.loads(sm)["experiments"][0], json.loads(nsi)["experiments"][0]
    assert sm["signal_by_flavor"]["nu_mu"] == nsi["signal_by_flavor"]["nu_mu"]
    assert sm["signal_by_flavor"]["nu_e"] != nsi["signal_by_flavor"]["nu_e"]


def test_rates_of_a_release_in_its_observables(capsys, tmp_path):
    # the release's channels (signal + anti-coincidence), their counts those of the model at its nominal point
    import numpy as np

    import cevns
    from cevns.builders.scenario import Scenario

    plot = tmp_path / "release.png"
    code, out, _ = run(capsys, "rates", "coherent-csi-2021", "--json", "--plot", str(plot))
    assert code == 0 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    entries = {e["name"]: e for e in json.loads(out)["experiments"]}
    assert set(entries) == {"CsI-2021", "CsI-2021/AC"} and all(e["kind"] == "release" for e in entries.values())
    model = cevns.Model.from_scenario(Scenario.load("coherent-csi-2021"))
    expected = model.expected(model.init[None])
    observed = model.observed()
    for name, entry in entries.items():
        samples = [s for s in model.samples if s.experiment == name]
        signal = sum((expected[name][s.component][0] for s in samples if s.is_signal), np.zeros(len(entry["signal"])))
        background = sum((expected[name][s.component][0] for s in samples if not s.is_signal), np.zeros(len(entry["signal"])))
        assert np.allclose(entry["signal"], signal, rtol=1e-10, atol=1e-12)
        assert np.allclose(entry["background"], background, rtol=1e-10, atol=1e-12)
        assert np.array_equal(entry["observed"], observed[model.experiment_bins[name]])
        assert len(entry["bin_labels"]) == len(entry["signal"]) and entry["bin_labels"][0].startswith("PE ")
    assert entries["CsI-2021"]["total_signal"] == pytest.approx(348.14, abs=0.01)  # the release's SM count (docs/data.md)
    assert set(entries["CsI-2021"]["signal_by_component"]) == {"prompt_nu_mu", "delayed_nu_e", "delayed_nubar_mu"}
    code, text, _ = run(capsys, "rates", "coherent-csi-2021")
    assert code == 0 and "CsI-2021: measured release, 99 bins" in text and "observed" in text


def test_rates_table_and_plot(capsys, tmp_path):
    plot = tmp_path / "spectra.png"
    code, out, _ = run(capsys, "rates", "coherent-2017", "--plot", str(plot))
    assert code == 0 and "COHERENT-CsI" in out and "total" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_toml_file(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('base = "coherent-2017"\nname = "mine"\n[[experiments]]\nname = "COHERENT-CsI"\nexposure_kg_day = 8932.0\n')
    _, base, _ = run(capsys, "rates", "coherent-2017", "--json")
    code, mine, _ = run(capsys, "rates", str(path), "--json")
    assert code == 0
    assert json.loads(mine)["experiments"][0]["total_signal"] == pytest.approx(
        2 * json.loads(base)["experiments"][0]["total_signal"], rel=1e-12)


def _bad(tmp_path, body):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    return str(path)


GOOD = """name = "t"
[sources.sns]
type = "stopped-pion"
flux_per_flavor_cm2_s = 1e7
[[experiments]]
name = "X"
target = "{target}"
source = "sns"
exposure_kg_day = {exposure}
threshold_keV = {threshold}
window_max_keV = {window}
"""


@pytest.mark.parametrize(
    ("argv_or_body", "expected"),
    [
        (["rates", "no-such-scenario"], "unknown scenario"),
        (["rates", "coherent-2017", "--nsi", "eps_q_ee=1"], "unknown NSI coupling"),
        (["rates", "coherent-2017", "--nsi", "eps_u_ee"], "NAME=VALUE"),
        (["rates", "coherent-2017", "--nsi", "eps_u_ee=abc"], "not a number"),
        (["rates", "coherent-2017", "--plot", "x.gif"], "--plot"),
        (GOOD.format(target="Unobtainium", exposure=1, threshold=1, window=10), "target"),
        (GOOD.format(target="CsI", exposure=-5, threshold=1, window=10), "exposure_kg_day"),
        (GOOD.format(target="CsI", exposure=0, threshold=1, window=10), "exposure_kg_day"),
        (GOOD.format(target="Xe", exposure=1, threshold=80, window=100), "end-point"),
        (GOOD.format(target="CsI", exposure=1, threshold=10, window=5), "window_max_keV"),
        ('name = "t"\n[sources\n', "malformed TOML"),
        (GOOD.format(target="CsI", exposure=1, threshold=1, window=10) + "colour = 3\n", "colour"),
        (GOOD.format(target="CsI", exposure=1, threshold=1, window=10).replace('source = "sns"', 'source = "reactor"'), "source"),
        ('base = "dresden-ii-4p"\nname = "t"\n[fit]\nsampler = "multinest"\n', "fit.sampler"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, argv_or_body, expected):
    argv = argv_or_body if isinstance(argv_or_body, list) else ["rates", _bad(tmp_path, argv_or_body)]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cevns: error:"), err
    assert expected in lines[0]
    assert "Traceback" not in err


def test_scenarios_name_prints_the_resolved_scenario(capsys):
    code, out, _ = run(capsys, "scenarios", "coherent-2017-2p")
    assert code == 0
    import tomllib

    resolved = tomllib.loads(out)
    assert resolved["name"] == "coherent-2017-2p"
    assert resolved["experiments"][0]["exposure_kg_day"] == 4466.0  # from its base, coherent-2017
    assert set(resolved["fit"]["free"]) == {"eps_u_ee", "eps_u_mumu"}


def test_scenarios_name_shows_the_backgrounds_the_model_uses(capsys):
    """coherent-2017's file says background_per_kg_day_keV = 0: the effective 224.3 counts that rates and the fits use
    are printed beside it, with where they come from (as TOML comments: the output stays a scenario file)."""
    from cevns.app.rates import rates_table
    from cevns.builders.scenario import Scenario

    code, out, _ = run(capsys, "scenarios", "coherent-2017")
    assert code == 0
    rates = rates_table(Scenario.load("coherent-2017"), np.zeros(12))["experiments"][0]["total_background"]
    (note,) = [line for line in out.splitlines() if line.startswith("#   COHERENT-CsI:")]
    assert f"{rates:.4g} background counts" in note and "134 +- 22" in note and "effective background" in note
    import tomllib

    assert tomllib.loads(out)["experiments"][0]["background_per_kg_day_keV"] == 0.0
    code, out, _ = run(capsys, "scenarios", "measured-combined", "--json")
    notes = json.loads(out)["effective_backgrounds"]
    assert any(n.startswith("LAr-2020:") and "steady_state" in n for n in notes)
    assert any(n.startswith("Dresden-II:") for n in notes)


def test_show_and_plot_a_fit_folder(tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["fit", "coherent-2017-2p", "--fast", "--out", str(out), "--quiet", "--seed", "2"]) == 0
    capsys.readouterr()
    code, text, _ = run(capsys, "show", str(out))
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("coherent-2017-2p: smc, 1000 particles") and "log Z" in lines[1]  # the measured default
    assert [line.split()[0] for line in lines[3:]] == ["eps_u_ee", "eps_u_mumu", "eff_eps_ee", "eff_eps_mumu"]
    code, text, _ = run(capsys, "show", str(out), "--json")
    assert code == 0 and json.loads(text)["schema_version"] == 2
    figure = tmp_path / "overlay.png"
    code, text, err = run(capsys, "plot", str(out), str(out), "--params", "eps_u_ee,eps_u_mumu", "--labels", "a,b",
                          "--out", str(figure))
    assert code == 0 and figure.stat().st_size > 0, err
    code, _, err = run(capsys, "plot", str(out), "--params", "eps_q_ee", "--out", str(figure))
    assert code == 2 and "has no column eps_q_ee" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "show", str(tmp_path))
    assert code == 2 and "no finished fit" in err


def test_bench_quotes_the_guide_where_smc_tempers_on_one(capsys):
    """A release with shape nuisances (a Newton plan) also gets the rate of the guide smc tempers on."""
    code, text, _ = run(capsys, "bench", "xenonnt-8b-sr2-4p", "--seconds", "0.2", "--batch", "200", "--no-fit")
    assert code == 0 and "its guide" in text


def test_bench_quotes_likelihood_speed_and_one_default_fit(capsys):
    """`cevns bench SCENARIO --json`: both likelihood paths, the naive one, and one default fit whose log Z is the
    sampler's (checked against a fit made directly with the same settings)."""
    code, text, _ = run(capsys, "bench", "coherent-2017-2p", "--seconds", "0.2", "--batch", "200", "--json")
    assert code == 0
    result = json.loads(text)
    assert result["likelihood_evals_per_second"] > 0 and result["marginalized_evals_per_second"] > 0
    assert result["naive_evals_per_second"] > 0
    assert result["guide_evals_per_second"] is None  # normalisation nuisances only: no Newton plan, no guide
    f = result["fit"]
    assert f["sampler"] == "smc" and f["n_live"] == 2000 and f["n_sampled"] == 2
    assert 0 < f["sampler_seconds"] <= f["wall_seconds"] and f["n_likelihood_calls"] > f["n_live"]
    assert f["khat"] is not None and f["khat"] < 0.7
    from cevns.inference.fitting import fit
    from cevns.model import Model
    from cevns.builders.scenario import Scenario

    model = Model.from_scenario(Scenario.load("coherent-2017-2p"))
    direct = fit(model, model.observed(), seed=0, verbose=False)
    assert f["log_evidence"] == direct.log_evidence  # same seed, same numbers
    code, text, _ = run(capsys, "bench", "coherent-2017-2p", "--seconds", "0.2", "--batch", "200", "--no-fit")
    assert code == 0 and "one fit" not in text and "batched kernel likelihood" in text


def test_bench_tasks_plot(tmp_path, capsys):
    """`cevns bench --tasks N --plot FILE` draws the measured rates and the projection; --plot alone is refused."""
    figure = tmp_path / "scaling.png"
    code, text, err = run(capsys, "bench", "coherent-2017-2p", "--seconds", "0.1", "--batch", "100", "--no-fit",
                          "--tasks", "4", "--plot", str(figure), "--json")
    assert code == 0, err
    tasks = json.loads(text)["tasks"]
    assert set(tasks["settings"]) == {"local-1", "local-2"} and tasks["identical"]
    assert figure.stat().st_size > 10_000
    code, _, err = run(capsys, "bench", "--plot", str(figure), "--no-fit")
    assert code == 2 and "--tasks" in err


def test_help_of_every_command(capsys):
    """`cevns --help` and `cevns COMMAND --help` print their text and exit 0 (a stray % in a help string once
    made argparse raise a traceback for the top-level --help)."""
    with pytest.raises(SystemExit) as top:
        main(["--help"])
    assert top.value.code == 0
    commands = [line.split()[0] for line in capsys.readouterr().out.splitlines()
                if line.startswith("    ") and not line.startswith("     ") and not line.split()[0].startswith("-")]
    assert {"fit", "reproduce", "toys", "forecast", "bench", "profile"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0, command
        assert "usage: cevns " + command in capsys.readouterr().out


def test_release_parameters_by_name_in_profile_and_toys(capsys, tmp_path):
    # mu_cevns (a free normalisation) is profiled and tossed like a coupling; a bogus name is one line
    code, out, err = run(capsys, "profile", "dresden-ii", "--params", "mu_cevns", "--points", "21", "--out", str(tmp_path / "p"))
    assert code == 0, err
    profile = json.loads((tmp_path / "p" / "profile.json").read_text())["profiles"]["mu_cevns"]
    (lo, hi), = profile["wilks_intervals"]["0.68"]
    assert lo < profile["mle"]["best"]["mu_cevns"] < hi
    code, out, err = run(capsys, "toys", "dresden-ii", "--params", "mu_cevns", "-n", "3", "--seed", "1", "--out", str(tmp_path / "t"))
    assert code == 0, err
    code, _, err = run(capsys, "profile", "dresden-ii", "--params", "bogus", "--out", str(tmp_path / "q"))
    assert code == 2 and "'bogus' is not a free parameter" in err and "mu_cevns" in err and len(err.strip().splitlines()) == 1


def test_forecast_refuses_to_vary_a_release(capsys, tmp_path):
    code, _, err = run(capsys, "forecast", "dresden-ii-2p", "--params", "eps_u_ee", "--vary", "exposure_kg_day=1e3,1e4",
                       "--out", str(tmp_path / "f"))
    assert code == 2 and "no [[experiments]] to vary" in err


def test_version_is_the_package_metadata_version(capsys):
    import tomllib
    from pathlib import Path

    import cevns

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert cevns.__version__ == tomllib.loads(pyproject.read_text())["project"]["version"]
    with pytest.raises(SystemExit):
        main(["--version"])
    assert cevns.__version__ in capsys.readouterr().out


def test_a_scenarios_smc_options_reach_its_fit_and_are_recorded(capsys, tmp_path):
    """[fit.smc] options (SMCSettings fields) are used by the scenario's smc fits, recorded in summary.json, kept
    by load_fit, ignored when another sampler runs, and an unknown one is refused in one line."""
    from cevns.app.runs import load_verified_fit

    path = tmp_path / "refit.toml"
    path.write_text('base = "coherent-2017-2p"\nname = "refit"\n[fit.smc]\nadapt = 2\n')
    out = tmp_path / "fit"
    assert main(["fit", str(path), "--fast", "--out", str(out), "--quiet", "--seed", "3"]) == 0
    capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sampler"] == "smc" and summary["sampler_options"] == {"adapt": 2}
    assert load_verified_fit(out).settings["sampler_options"] == {"adapt": 2}
    plain = tmp_path / "plain"
    assert main(["fit", "coherent-2017-2p", "--fast", "--out", str(plain), "--quiet", "--seed", "3"]) == 0
    capsys.readouterr()
    base = json.loads((plain / "summary.json").read_text())
    assert "sampler_options" not in base
    # the same tempering stage and first batch; the refits change what follows (a refit is adopted when better)
    assert summary["sampler_stats"]["calls_tempering"] == base["sampler_stats"]["calls_tempering"]
    assert summary["sampler_stats"]["efficiency_batches"][0] == base["sampler_stats"]["efficiency_batches"][0]
    assert summary["log_evidence"] != base["log_evidence"]  # same seed: without the option the runs are identical
    assert main(["fit", str(path), "--fast", "--sampler", "dynesty", "--out", str(tmp_path / "d"), "--quiet"]) == 0
    assert "sampler_options" not in json.loads((tmp_path / "d" / "summary.json").read_text())
    capsys.readouterr()
    path.write_text('base = "coherent-2017-2p"\nname = "refit"\n[fit.smc]\ncolour = 2\n')
    code, _, err = run(capsys, "fit", str(path), "--fast", "--out", str(tmp_path / "bad"), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "smc option" in err and "colour" in err
    # a boolean stays a boolean (SMCSettings.guide), and a string where it belongs is refused in one line
    from cevns.spec.config import load_config

    path.write_text('base = "coherent-2017-2p"\nname = "refit"\n[fit.smc]\nguide = false\nadapt = 1\n')
    options = load_config(path).fit.smc
    assert options == {"guide": False, "adapt": 1} and options["guide"] is False and type(options["adapt"]) is int
    for line, field, expected in [('guide = "no"', "guide", "true or false"), ("adapt = true", "adapt", "whole number"),
                                  ("widen = false", "widen", "a number"), ("n_particles = 100.5", "n_particles", "whole number")]:
        path.write_text(f'base = "coherent-2017-2p"\nname = "refit"\n[fit.smc]\n{line}\n')
        code, _, err = run(capsys, "fit", str(path), "--fast", "--out", str(tmp_path / "bad"), "--quiet")
        assert code == 2 and len(err.strip().splitlines()) == 1 and field in err and expected in err, err


def test_the_command_line_seed_bound_is_the_samplers():
    """The CLI checks seeds against its own copy of the bound (parsing imports no sampler); it is the samplers'."""
    from cevns.cli.argtypes import MAX_SEED
    from cevns.inference.samplers import MAX_SEED as SAMPLERS_MAX_SEED

    assert MAX_SEED == SAMPLERS_MAX_SEED == 2**32 - 1
