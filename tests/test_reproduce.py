"""`cevns reproduce` (SPEC S7) and `cevns degeneracy` from the command line."""

import json

import pytest

from cevns.cli import main
from cevns.app.reproduce import ITEMS, TABLE3_PARAMETERS


def test_reproduce_fast_writes_the_files(fast_reproduction):
    out = fast_reproduction
    for name in ("fig1.png", "fig1.pdf", "fig2.png", "fig2.pdf", "table3.md", "table3.csv", "table3.tex",
                 "table3.json", "report.html", "provenance.json"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "fig3.png").exists()
    table = json.loads((out / "table3.json").read_text())
    assert set(table) == set(TABLE3_PARAMETERS)
    prior = json.loads((out / "fits-fast" / "future-combined" / "summary.json").read_text())["prior_ranges"]
    for name, intervals in table.items():
        assert intervals, name
        lo_prior, hi_prior = prior[name]
        for lo, hi in intervals:
            assert lo_prior <= lo < hi <= hi_prior
        # the SM point (0) lies inside the 95% set of every coupling: the Asimov data are SM
        assert any(lo <= 0.0 <= hi for lo, hi in intervals), (name, intervals)
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2 and "coherent-2017-2p" in report and "<table>" in report
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seed"] == 0 and provenance["preset"] == "fast" and set(provenance["items"]) == {"fig1", "fig2", "table3"}
    assert "[fit]" in provenance["items"]["fig2"]["fits"]["coherent-2017-2p"]["config"]


def test_reproduce_reuses_finished_fits(fast_reproduction, capsys):
    out = fast_reproduction
    summary = out / "fits-fast" / "coherent-2017-2p" / "summary.json"
    before = summary.stat().st_mtime_ns, summary.read_text()
    assert main(["reproduce", "--out", str(out), "--fast", "--only", "fig2", "--json", "--quiet"]) == 0
    assert (summary.stat().st_mtime_ns, summary.read_text()) == before  # no new sampling
    provenance = json.loads(capsys.readouterr().out)
    assert set(provenance["items"]) == {"fig1", "fig2", "table3"}  # earlier items stay recorded


@pytest.mark.parametrize("only", ["fig9", "fig1,nope", ","])
def test_reproduce_unknown_item_is_one_line_error(tmp_path, capsys, only):
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--only", only]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cevns: error: --only") and "\n" not in err and "fig1" in err
    assert not (tmp_path / "r").exists()


def test_reproduce_unwritable_out_is_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert main(["reproduce", "--out", str(blocker / "sub"), "--only", "fig1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cevns: error: --out") and "\n" not in err
    assert blocker.read_text() == "keep me"


def test_items_cover_the_paper():
    # every figure and table of the paper by default; measured data and the releases' validation as opt-in extras
    assert [i for i, item in ITEMS.items() if item.default] == [f"fig{i}" for i in range(1, 9)] + ["table3"]
    assert [i for i, item in ITEMS.items() if not item.default] == ["measured", "validation"]


def test_degeneracy_cli_json(capsys):
    assert main(["degeneracy", "Si", "Ge", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in report["targets"]] == ["Si", "Ge"]
    (pair,) = report["pairs"]
    assert pair["targets"] == ["Si", "Ge"] and len(pair["intersections"]) == 4
    assert pair["intersections"][0] == pytest.approx([0.0, 0.0], abs=1e-15)


def test_degeneracy_cli_unknown_target(capsys):
    assert main(["degeneracy", "Si", "Xx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cevns: error: target 'Xx'") and "\n" not in err


def test_measured_item_is_opt_in():
    from cevns.app.reproduce import parse_only

    assert "measured" not in parse_only(None) and "validation" not in parse_only(None)
    assert parse_only("all")[-2:] == ["measured", "validation"] and parse_only("measured") == ["measured"]
    assert parse_only(None) == ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "table3"]


def test_measured_data_fits_use_the_quick_look_preset(tmp_path):
    from pathlib import Path

    from cevns.app.reproduce import MEASURED_FITS, VALIDATION_FITS, Reproduction

    rep = Reproduction(Path(tmp_path), fast=False)
    for name in [*(name for _, name in MEASURED_FITS), *VALIDATION_FITS]:
        assert rep.fast_for(name) and rep.folder(name).parent.name == "fits-fast"
    assert not rep.fast_for("future-combined") and rep.folder("future-combined").parent.name == "fits"
    assert Reproduction(Path(tmp_path), fast=True).fast_for("future-combined")


@pytest.mark.slow
def test_measured_item_end_to_end(tmp_path):
    """`cevns reproduce --only measured --fast`: every measured-data fit (the argon ones included) and the
    projection, the table/figure files and the report section (about 8 minutes on 2 cores)."""
    from cevns.app.reproduce import MEASURED_FITS, MEASURED_ROWS

    out = tmp_path / "r"
    assert main(["reproduce", "--out", str(out), "--fast", "--only", "measured", "--quiet", "--seed", "1"]) == 0
    table = json.loads((out / "measured.json").read_text())
    assert sorted(table) == sorted(name for _, name in MEASURED_ROWS) and "future-combined" in table  # keys sorted
    assert {"coherent-lar-2020-4p", "measured-combined-coherent-4p", "measured-combined-4p"} <= set(table)
    for name, entry in table.items():
        for p in TABLE3_PARAMETERS:
            sets = entry["sets"][p]
            assert sets and all(-1.5 <= lo < hi <= 1.5 for lo, hi in sets), (name, p, sets)
            assert any(lo <= 0.0 <= hi for lo, hi in sets), (name, p, sets)  # the SM is allowed by every data set
    # the reactor leaves the muon-flavor couplings free; it adds to COHERENT only in the electron flavor
    mumu = table["dresden-ii-4p"]["sets"]["eps_u_mumu"]
    assert mumu[0][0] < -1.3 and mumu[-1][1] > 1.3
    eff_mumu = table["dresden-ii-4p"]["sets"]["eff_eps_mumu"]
    assert eff_mumu[0][0] < -5 and eff_mumu[-1][1] > 5

    def length(sets):  # noqa: ANN001, ANN202
        return sum(hi - lo for lo, hi in sets)

    # the complementarity: the reactor narrows COHERENT's effective ee set, COHERENT fixes the mu flavor
    coherent, both = table["measured-combined-coherent-4p"]["sets"], table["measured-combined-4p"]["sets"]
    assert length(both["eff_eps_ee"]) < 0.8 * length(coherent["eff_eps_ee"])
    assert length(both["eff_eps_mumu"]) < 0.2 * length(eff_mumu)
    md = (out / "measured.md").read_text()
    assert md.count("\n| ") == len(MEASURED_FITS) + 1 and "argon" in md
    report = (out / "report.html").read_text()
    assert "<section id='measured'>" in report and "data:image/png;base64," in report


def test_report_lists_the_measured_table_in_the_item_order(tmp_path):
    """measured.json is written with sorted keys: the report puts its rows back in MEASURED_ROWS order."""
    from cevns.app.reproduce import MEASURED_PARAMETERS, MEASURED_ROWS, write_report

    names = [name for _, name in MEASURED_ROWS]
    table = {name: {"label": f"row {k}", "sets": {p: [[-0.1 * (k + 1), 0.1]] for p in MEASURED_PARAMETERS}}
             for k, name in enumerate(names)}
    (tmp_path / "measured.json").write_text(json.dumps(table, sort_keys=True))
    provenance = {"version": "x", "seed": 0, "items": {"measured": {
        "files": ["measured.json"], "seconds": 1.0, "seed": 0, "preset": "full", "fits": {}}}}
    report = write_report(tmp_path, provenance).read_text()
    positions = [report.index(f"<td>row {k}</td>") for k in range(len(names))]
    assert positions == sorted(positions)
    assert report.count("(effective)") == 2


def test_reproduce_radiative_couplings_are_recorded_and_fitted_apart(tmp_path, capsys):
    """--couplings radiative: the fits run in their own folders with the convention in their configuration, and the
    provenance and the report say which convention was used and what changes between the two."""
    out = tmp_path / "rad"
    assert main(["reproduce", "--couplings", "radiative", "--only", "fig1,fig2", "--fast", "--out", str(out), "--json",
                 "--quiet"]) == 0
    provenance = json.loads(capsys.readouterr().out)
    assert provenance["couplings"] == "radiative" and "Barranco" in provenance["couplings_description"]
    assert "mirror" in provenance["couplings_change"]
    fit = provenance["items"]["fig2"]["fits"]["coherent-2017-2p"]
    assert provenance["items"]["fig2"]["couplings"] == fit["couplings"] == "radiative"
    assert fit["folder"] == "fits-fast-radiative/coherent-2017-2p"
    assert 'couplings = "radiative"' in fit["config"] and "sin2_theta_w = 0.2312" in fit["config"]
    assert 'couplings = "radiative"' in (out / fit["folder"] / "config.toml").read_text()
    assert not (out / "fits-fast").exists()  # the tree convention's folders are neither used nor made
    report = (out / "report.html").read_text()
    assert "Couplings: radiative" in report and "--couplings radiative" in report and "mirror modes" in report


def test_reproduce_unknown_couplings_is_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--couplings", "loop", "--only", "fig1", "--out", str(tmp_path / "r")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--couplings" in err and "radiative" in err
    assert not (tmp_path / "r").exists()


def test_fits_start_longest_first():
    """The combinations of the measured releases (the slowest fits) go to the workers first; the rest keep their
    order (the order changes no number: each fit has its own seed and folder)."""
    from cevns.app.reproduce import ITEMS, longest_first
    from cevns.spec.config import load_config

    names = list(dict.fromkeys(ITEMS["measured"].fits))
    ordered = longest_first(names)
    assert sorted(ordered) == sorted(names)
    counts = [len(load_config(name).datasets) for name in ordered]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 3
    singles = [name for name in names if len(load_config(name).datasets) <= 1]
    assert [name for name in ordered if name in singles] == singles
