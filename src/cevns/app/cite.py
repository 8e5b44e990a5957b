"""``cevns cite``: the papers to cite, for the method and for every data set the package ships.

One table (:data:`DATA`) per shipped data set: its release key (the key a scenario's ``[[datasets]]`` entry
names, :data:`cevns.builders.releases.RELEASES`; ``reactor-spectra`` and ``solar-spectra`` for the source
spectra), its folder under ``cevns/data/`` (whose REFERENCE file has the details), its license and its
papers. The repository's CITATION.cff lists the same papers (a test keeps the two in step: every arXiv
number and DOI of one is in the other). :func:`citations` picks what one scenario uses.
"""

from __future__ import annotations

import re
from typing import Any

#: The paper whose analysis cevns implements and reproduces (the method of every fit).
METHOD = {
    "key": "Dent:2017mrr", "type": "article",
    "authors": "J. B. Dent, B. Dutta, S. Liao, J. L. Newstead, L. E. Strigari and J. W. Walker",
    "title": "Accelerator and reactor complementarity in coherent neutrino scattering",
    "journal": "Phys. Rev. D", "volume": "97", "pages": "035009", "year": "2018", "arxiv": "1711.03521",
}

_NONE = "none stated by the release"

#: Shipped data sets: key -> what it is, its folder in cevns/data, its license, its papers.
DATA: dict[str, dict[str, Any]] = {
    "coherent-csi-2017": {
        "title": "COHERENT 2017 CsI[Na] data release", "folder": "coherent-2017", "license": _NONE,
        "papers": [
            {"key": "COHERENT:2017ipa", "type": "article", "authors": "D. Akimov et al. (COHERENT)",
             "title": "Observation of coherent elastic neutrino-nucleus scattering", "journal": "Science",
             "volume": "357", "pages": "1123", "year": "2017", "arxiv": "1708.01294"},
            {"key": "COHERENT:2018imc", "type": "misc", "authors": "COHERENT Collaboration",
             "title": "COHERENT Collaboration data release from the first observation of coherent elastic "
                      "neutrino-nucleus scattering", "year": "2018", "arxiv": "1804.09459"},
        ],
    },
    "coherent-csi-2021": {
        "title": "COHERENT CsI[Na] full data set (ancillary files)", "folder": "coherent-csi-2021", "license": _NONE,
        "papers": [
            {"key": "COHERENT:2021xmm", "type": "article", "authors": "D. Akimov et al. (COHERENT)",
             "title": "Measurement of the coherent elastic neutrino-nucleus scattering cross section on CsI by COHERENT",
             "journal": "Phys. Rev. Lett.", "volume": "129", "pages": "081801", "year": "2022", "arxiv": "2110.07730"},
        ],
    },
    "coherent-lar-2020": {
        "title": "COHERENT CENNS-10 liquid argon data release, analysis A", "folder": "coherent-lar-2020", "license": _NONE,
        "papers": [
            {"key": "COHERENT:2020iec", "type": "article", "authors": "D. Akimov et al. (COHERENT)",
             "title": "First measurement of coherent elastic neutrino-nucleus scattering on argon",
             "journal": "Phys. Rev. Lett.", "volume": "126", "pages": "012002", "year": "2021", "arxiv": "2003.10630"},
            {"key": "COHERENT:2020-LAr-release", "type": "misc", "authors": "COHERENT Collaboration",
             "title": "COHERENT Collaboration data release from the first detection of coherent elastic "
                      "neutrino-nucleus scattering on argon", "year": "2020", "arxiv": "2006.12659",
             "doi": "10.5281/zenodo.3903810"},
        ],
    },
    "dresden-ii-2022": {
        "title": "Dresden-II reactor germanium data (files from a third-party repository: provenance probable, "
                 "not certain)", "folder": "dresden-ii-2022", "license": "none stated",
        "papers": [
            {"key": "Colaresi:2022obx", "type": "article", "authors": "J. Colaresi et al.",
             "title": "Measurement of coherent elastic neutrino-nucleus scattering from reactor antineutrinos",
             "journal": "Phys. Rev. Lett.", "volume": "129", "pages": "211802", "year": "2022", "arxiv": "2202.09672"},
        ],
    },
    "xenonnt-8b-2026": {
        "title": "XENONnT solar 8B CEvNS data release (cevns_data_release)", "folder": "xenonnt-8b-2026",
        "license": "CC-BY-4.0",
        "papers": [
            {"key": "XENON:2024ijk", "type": "article", "authors": "E. Aprile et al. (XENON)",
             "title": "First Indication of Solar 8B Neutrinos via Coherent Elastic Neutrino-Nucleus Scattering with XENONnT",
             "journal": "Phys. Rev. Lett.", "volume": "133", "pages": "191002", "year": "2024", "arxiv": "2408.02877"},
            {"key": "XENON:2026-8B-fog", "type": "misc", "authors": "E. Aprile et al. (XENON)",
             "title": "Probing the Solar 8B Neutrino Fog with XENONnT", "year": "2026", "arxiv": "2604.06002"},
            {"key": "XENON:2026-8B-release", "type": "misc", "authors": "XENON Collaboration",
             "title": "XENONnT solar 8B CEvNS data release cevns_data_release", "year": "2026",
             "doi": "10.5281/zenodo.20576156"},
        ],
    },
    "reactor-spectra": {
        "title": "reactor antineutrino spectra per fission (Huber-Mueller and Vogel-Engel)", "folder": "reactor",
        "license": "published tables",
        "papers": [
            {"key": "Huber:2011wv", "type": "article", "authors": "P. Huber",
             "title": "On the determination of anti-neutrino spectra from nuclear reactors", "journal": "Phys. Rev. C",
             "volume": "84", "pages": "024617", "year": "2011", "arxiv": "1106.0687"},
            {"key": "Mueller:2011nm", "type": "article", "authors": "Th. A. Mueller et al.",
             "title": "Improved predictions of reactor antineutrino spectra", "journal": "Phys. Rev. C", "volume": "83",
             "pages": "054615", "year": "2011", "arxiv": "1101.2663"},
            {"key": "Vogel:1989iv", "type": "article", "authors": "P. Vogel and J. Engel",
             "title": "Neutrino electromagnetic form factors", "journal": "Phys. Rev. D", "volume": "39", "pages": "3378",
             "year": "1989"},
        ],
    },
    "solar-spectra": {
        "title": "solar 8B and hep neutrino spectra (NeutrinoFog)", "folder": "solar", "license": "MIT",
        "papers": [
            {"key": "OHare:2021utq", "type": "article", "authors": "C. A. J. O'Hare",
             "title": "New definition of the neutrino floor for direct dark matter searches", "journal": "Phys. Rev. Lett.",
             "volume": "127", "pages": "251802", "year": "2021", "arxiv": "2109.03116"},
        ],
    },
}

#: The source types whose spectra come from a shipped data set.
SOURCE_DATA = {"reactor": "reactor-spectra", "solar": "solar-spectra"}


def used_data(config: Any) -> list[str]:  # noqa: ANN401 - a cevns.spec.config.ScenarioConfig
    """The keys of :data:`DATA` a scenario uses: its ``[[datasets]]`` releases, the COHERENT 2017 release's
    acceptance (an experiment with ``efficiency.model = "coherent-2017"``) and its sources' spectra."""
    keys = [d.release for d in config.datasets]
    if any(getattr(e.efficiency, "model", None) == "coherent-2017" for e in config.experiments):
        keys.append("coherent-csi-2017")
    keys += [SOURCE_DATA[s.type] for s in config.sources.values() if s.type in SOURCE_DATA]
    return [k for k in DATA if k in keys]  # the table's order, each once


def citations(scenario: str | None = None) -> dict:
    """What to cite: the method, and every shipped data set (or, with ``scenario``, those it uses, with the
    scenario's own ``references``)."""
    record: dict[str, Any] = {"software": "cevns (CITATION.cff in the repository; MIT license)", "method": METHOD}
    if scenario is None:
        keys = list(DATA)
    else:
        from ..spec.config import load_config

        config = load_config(scenario)
        keys = used_data(config)
        record.update({"scenario": config.name, "references": list(config.references)})
    record["data"] = {key: DATA[key] for key in keys}
    return record


def _text(paper: dict) -> str:
    where = f"{paper['journal']} {paper['volume']} ({paper['year']}) {paper['pages']}" if "journal" in paper else paper["year"]
    ids = [f"arXiv:{paper['arxiv']}"] if "arxiv" in paper else []
    ids += [f"doi:{paper['doi']}"] if "doi" in paper else []
    return f"{paper['authors']}, \"{paper['title']}\", {where}" + (f", {', '.join(ids)}" if ids else "")


def format_text(record: dict) -> str:
    """The record as lines for a terminal."""
    lines = [f"Cite the software, {record['software']}, and:", "", "method (the analysis cevns implements and reproduces):",
             f"  {_text(record['method'])}"]
    for key, entry in record["data"].items():
        lines += ["", f"{key}: {entry['title']}; files in cevns/data/{entry['folder']}, license: {entry['license']}"]
        lines += [f"  {_text(paper)}" for paper in entry["papers"]]
    if "scenario" in record:
        if not record["data"]:
            lines += ["", f"{record['scenario']} uses no shipped data set (its numbers are in the scenario file)"]
        cited = {p.get("arxiv") for p in [record["method"], *(p for e in record["data"].values() for p in e["papers"])]}
        extra = [r for r in record["references"] if not set(re.findall(r"\d{4}\.\d{4,5}", r)) <= cited
                 or not re.search(r"\d{4}\.\d{4,5}", r)]  # those that name a paper not listed above
        if extra:
            lines += ["", f"the scenario's own references ({record['scenario']}):"]
            lines += [f"  {reference}" for reference in extra]
    return "\n".join(lines)


def _bibtex_authors(authors: str) -> tuple[str, str | None]:
    """("A and B and others", collaboration or None) from "A, B and C" or "A et al. (COLLABORATION)"."""
    collaboration = None
    if authors.endswith(")") and " (" in authors:
        authors, collaboration = authors[:-1].split(" (", 1)
    if authors.endswith(" Collaboration"):
        return "{" + authors + "}", collaboration
    names = [n.strip() for n in authors.replace(" and ", ", ").split(", ") if n.strip()]
    names = [n.removesuffix(" et al.") for n in names] + (["others"] if authors.endswith(" et al.") else [])
    return " and ".join(names), collaboration


def _bibtex(paper: dict) -> str:
    author, collaboration = _bibtex_authors(paper["authors"])
    fields = {"author": author, "collaboration": collaboration,
              "title": "{" + paper["title"] + "}", "journal": paper.get("journal"), "volume": paper.get("volume"),
              "pages": paper.get("pages"), "year": paper["year"], "eprint": paper.get("arxiv"),
              "archivePrefix": "arXiv" if "arxiv" in paper else None, "doi": paper.get("doi")}
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{paper['type']}{{{paper['key']},\n{body}\n}}"


def format_bibtex(record: dict) -> str:
    """The record's papers as BibTeX entries (the method first, each paper once)."""
    papers = [record["method"], *(paper for entry in record["data"].values() for paper in entry["papers"])]
    return "\n\n".join(_bibtex(p) for p in {p["key"]: p for p in papers}.values())
