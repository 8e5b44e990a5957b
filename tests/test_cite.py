"""`cevns cite`: the method's paper and every shipped data set with its papers and license, in step with
CITATION.cff and with each data folder's REFERENCE file, and per scenario only what it uses."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from cevns.app.cite import DATA, METHOD, citations, format_bibtex
from cevns.builders.releases import RELEASES
from cevns.cli import main
from cevns.spec.config import builtin_scenarios

ROOT = Path(__file__).resolve().parents[1]
IDENTIFIER = re.compile(r"\b(\d{4}\.\d{4,5}|10\.\d{4,}/[\w.]+)")


def _table_identifiers() -> set[str]:
    papers = [METHOD, *(p for entry in DATA.values() for p in entry["papers"])]
    return {p[k] for p in papers for k in ("arxiv", "doi") if k in p}


def test_every_release_of_the_registry_is_listed_with_its_folder():
    assert set(RELEASES) <= set(DATA)
    for key, entry in DATA.items():
        folder = resources.files("cevns").joinpath("data", entry["folder"])
        assert folder.is_dir(), key
        reference = next(p for p in folder.iterdir() if p.name.startswith("REFERENCE"))
        text = reference.read_text()
        for paper in entry["papers"]:  # the folder's REFERENCE names every paper the table lists for it
            for k in ("arxiv", "doi"):
                if k in paper:
                    assert paper[k] in text, (key, paper[k])


def test_the_table_and_citation_cff_name_the_same_papers_and_licenses():
    cff = (ROOT / "CITATION.cff").read_text()
    assert set(IDENTIFIER.findall(cff)) == _table_identifiers()
    for entry in DATA.values():
        if entry["license"] in ("CC-BY-4.0", "MIT"):  # the licenses CITATION.cff states for data
            assert entry["license"] in cff


@pytest.mark.parametrize("scenario, keys", [
    ("coherent-2017", ["coherent-csi-2017"]),
    ("coherent-csi-2021-2p", ["coherent-csi-2021"]),
    ("future-combined", ["reactor-spectra"]),
    ("measured-combined-solar-4p", ["coherent-csi-2021", "coherent-lar-2020", "dresden-ii-2022", "xenonnt-8b-2026",
                                    "reactor-spectra", "solar-spectra"]),
])
def test_a_scenario_cites_only_what_it_uses(scenario, keys):
    record = citations(scenario)
    assert list(record["data"]) == keys and record["method"]["arxiv"] == "1711.03521"


def test_every_data_set_is_used_by_some_builtin_scenario():
    used = {key for name in builtin_scenarios() for key in citations(name)["data"]}
    assert used == set(DATA)


def test_cite_command_text_bibtex_and_json(capsys):
    assert main(["cite"]) == 0
    text = capsys.readouterr().out
    assert "arXiv:1711.03521" in text and all(f"{key}:" in text for key in DATA) and "CC-BY-4.0" in text
    assert main(["cite", "xenonnt-8b", "--bibtex"]) == 0
    bibtex = capsys.readouterr().out
    assert bibtex.count("\n@") + 1 == 5 and "@article{Dent:2017mrr," in bibtex and "doi = {10.5281/zenodo.20576156}" in bibtex
    assert bibtex.count("{") == bibtex.count("}")
    assert main(["cite", "dresden-ii", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert list(record["data"]) == ["dresden-ii-2022", "reactor-spectra"] and record["scenario"] == "dresden-ii"
    assert format_bibtex(citations()).count("@") == len({p["key"] for e in DATA.values() for p in e["papers"]}) + 1


def test_cite_unknown_scenario_is_one_line(capsys):
    assert main(["cite", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cevns: error:") and "no-such-scenario" in err
