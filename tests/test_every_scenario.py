"""Every built-in scenario through the commands a new user runs first (issue 21): ``rates --json`` and a
``--fast`` fit of its smallest free model (the first free parameter of ``[fit] free``; a scenario with
none fits its free normalisations, e.g. a release's ``mu_cevns``), then ``show`` on the folder.

Scenarios whose fit takes more than ~10 s (the argon release, the measured combinations, the CsI 2021
neutron-radius grid) are marked ``slow``.
"""

import json

import pytest

from cevns.cli import main
from cevns.spec.config import builtin_scenarios, config_to_toml, load_config

#: fits of more than ~10 s on the 2-core CI machine
#: (measured: argon 100 s, measured-combined* 125-165 s, CsI 2021 radius grid 29 s, measured-csi-dresden-4p 15 s,
#: coherent-csi-2021 14 s; xenonnt-8b* 27-66 s; every other scenario 1-6 s)
SLOW_FITS = {"coherent-lar-2020", "coherent-lar-2020-2p", "coherent-lar-2020-4p", "measured-combined",
             "measured-combined-2p", "measured-combined-4p", "measured-combined-coherent-4p", "measured-csi-dresden-4p",
             "coherent-csi-2021-neutron-radius", "coherent-csi-2021",
             # XENONnT 8B: 9-10 constrained nuisances, two of them shape (histosys) ones, on 162-243 bins: 27-66 s
             "xenonnt-8b", "xenonnt-8b-2p", "xenonnt-8b-4p", "xenonnt-8b-sr2", "xenonnt-8b-sr2-2p", "xenonnt-8b-sr2-4p", "xenonnt-8b-sr2-tau",
             "measured-combined-solar-4p", "measured-combined-solar-tau"}
#: rates of more than ~10 s (the argon release's 960-bin channel and its combinations are built in seconds)
SLOW_RATES: set[str] = set()


def _cases(slow: set[str]) -> list:
    return [pytest.param(name, marks=pytest.mark.slow) if name in slow else name for name in builtin_scenarios()]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", _cases(SLOW_RATES))
def test_rates_json_of_every_scenario(capsys, name):
    code, out, err = run(capsys, "rates", name, "--json")
    assert code == 0, err
    entries = json.loads(out)["experiments"]
    config = load_config(name)
    assert len(entries) >= len(config.experiments) + len(config.datasets) > 0
    for entry in entries:
        assert all(v == v for v in entry["signal"] + entry["background"])  # finite, not NaN
        if entry.get("kind") == "experiment" or entry["signal_by_component"]:
            assert entry["total_signal"] > 0, entry["name"]


def _smallest_model_file(name: str, folder) -> str:  # noqa: ANN001
    config = load_config(name)
    fit = config.fit
    free = dict(list(fit.free.items())[:1])
    grid = {k: v for k, v in fit.grid_points.items() if k in free}
    small = config.model_copy(update={"fit": fit.model_copy(update={"free": free, "grid_points": grid})})
    path = folder / f"{name}-smallest.toml"
    path.write_text(config_to_toml(small))
    return str(path)


@pytest.mark.parametrize("name", _cases(SLOW_FITS))
def test_fast_fit_of_every_scenario(capsys, tmp_path, name):
    path = _smallest_model_file(name, tmp_path)
    out = tmp_path / "fit"
    code, text, err = run(capsys, "fit", path, "--fast", "--seed", "1", "--out", str(out), "--quiet")
    assert code == 0, err
    assert (out / "complete.json").exists() and (out / "summary.json").exists()
    summary = json.loads((out / "summary.json").read_text())
    shown = summary["free_parameters"] or [n for n, p in summary["model_parameters"].items() if p["kind"] == "normfactor"]
    assert shown, "a fit with nothing to show"
    assert (out / "corner.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for parameter in shown:
        assert parameter in text  # the fit's table names what it is about
    code, shown_text, err = run(capsys, "show", str(out))
    assert code == 0, err
    assert all(parameter in shown_text for parameter in shown)
