"""``cevns reproduce``: every figure and table of the paper (Dent et al., arXiv:1711.03521) into one folder.

Each item names the fits it needs (built-in scenarios) and draws its outputs
from their samples. Fits go to ``OUT/fits/<scenario>`` (``fits-fast`` with
``--fast``) and are reused: a second call with the same seed and preset does
no new sampling, and an interrupted fit resumes from its checkpoint.

Outputs: ``fig1.png`` ... ``fig8.png`` (and PDF), ``table3.{md,csv,tex,json}``,
``provenance.json`` (version, seed, preset, coupling convention, and per item the fits with their
configuration) and ``report.html`` (self-contained: images embedded).

``couplings``: the nucleon couplings of every fit and of fig1 (:data:`CONVENTIONS`): ``"tree"``, the paper's
text (default), or ``"radiative"``, the authors' code; the scenarios' ``[physics]`` is overridden with the
convention's couplings and weak mixing angle, and the fits of the radiative convention live in folders of
their own (``fits-radiative``), never reused for the other.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__, units
from ..errors import ConfigError, RunFolderError
from .runs import FitSettings, run_fit
from .validation import VALIDATION_FITS, validation_markdown, validation_rows
from ..inference.fitting import FitResult
from ..physics.effective import EARTH_NEUTRON_ELECTRON_RATIO
from ..inference.samplers import points_phrase
from ..labels import html_label, latex_label
from ..io import atomic_savefig, atomic_write_json, atomic_write_text
from .parallel import world
from ..builders.scenario import Scenario
from ..spec.config import load_config

DEFAULT_OUT = "results"
#: Table 3's parameters, in the paper's row order: the four flavor-diagonal couplings.
TABLE3_PARAMETERS = ("eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu")
TABLE3_LEVEL = "0.95"
#: Fig. 4 overlays the 90% regions of the 1-bin and 10-bin projections (the paper's Fig. 4).
FIG4_LEVEL = 0.90
#: The coupling conventions of a reproduction: the [physics] settings each one puts on every scenario, and what
#: it is (report and provenance). Each convention comes with the weak mixing angle it was defined with.
CONVENTIONS = {
    "tree": {"physics": {"couplings": "tree", "sin2_theta_w": units.SIN2_THETA_W_LOW_ENERGY},
             "text": "tree-level nucleon couplings g_p = 1/2 - 2 sin^2(theta_W) = 0.0226, g_n = -1/2, with sin^2(theta_W) = "
                     "0.2387 (low-energy MS-bar), as the paper's text states (its eqs. 1-2 and Table 1)"},
    "radiative": {"physics": {"couplings": "radiative", "sin2_theta_w": units.SIN2_THETA_W_MSBAR_MZ_BMR2005},
                  "text": "radiatively corrected nucleon couplings of Barranco, Miranda & Rashba, JHEP 12 (2005) 021, "
                          "g_p = 0.0304, g_n = -0.5122, with sin^2(theta_W) = 0.2312 (MS-bar at the Z pole), as the "
                          "authors' code pyCEvNS uses"},
}
#: What changes between the two conventions (measured: docs/reproduction.md, "Coupling convention").
CONVENTION_CHANGE = ("Between the conventions the Standard Model modes stay where they are; the mirror modes of the "
                     "electron-flavor couplings move by about (-0.019, +0.021) in (eps^u_ee, eps^d_ee), the shift of the "
                     "Si/Ge mirror crossing (cevns degeneracy Si Ge: (-0.3635, +0.6817) tree, (-0.3820, +0.7032) radiative), "
                     "about three times the width of a mirror mode; the broad muon-flavor sets move by a few hundredths and "
                     "log Z by about 0.2 (future-combined, full preset). Redo with the other: cevns reproduce "
                     "--couplings tree|radiative.")


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    fits: tuple[str, ...]
    make: Callable[[Reproduction], list[str]]
    explanation: str = ""  # what it shows and what to look for (HTML, for report.html)
    default: bool = True  # run by a plain `cevns reproduce`; the others with --only ID or --only all


@dataclass
class Reproduction:
    out: Path
    fast: bool = False
    seed: int = 0
    verbose: bool = True
    pool: object = None
    single_process: bool = False  # fits already run by the task farm: load them here, no MPI collectives
    couplings: str = "tree"  # the coupling convention of every fit (CONVENTIONS)
    fits: dict[str, FitResult | None] = field(default_factory=dict)

    def log(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    @property
    def preset(self) -> str:
        return "fast" if self.fast else "full"

    def fast_for(self, scenario_name: str) -> bool:
        """The preset of one fit: ``--fast``, or the quick-look preset that measured-data fits always use."""
        return self.fast or scenario_name in QUICK_LOOK_FITS

    def folder(self, scenario_name: str) -> Path:
        """``fits`` or ``fits-fast``; ``fits-radiative``, ``fits-fast-radiative`` under the radiative convention."""
        stem = "fits-fast" if self.fast_for(scenario_name) else "fits"
        return self.out / (stem if self.couplings == "tree" else f"{stem}-{self.couplings}") / scenario_name

    def scenario(self, scenario_name: str) -> Scenario:
        """A built-in scenario under this reproduction's coupling convention (its [physics] overridden)."""
        return Scenario(load_config(scenario_name, {"physics": CONVENTIONS[self.couplings]["physics"]}), scenario_name)

    def fit(self, scenario_name: str) -> FitResult | None:
        """Run (or reuse a verified finished) fit of a built-in scenario; None on MPI workers."""
        if scenario_name in self.fits:
            return self.fits[scenario_name]
        folder = self.folder(scenario_name)
        scenario = self.scenario(scenario_name)
        settings = FitSettings(seed=self.seed, fast=self.fast_for(scenario_name), resume=True, verbose=self.verbose)
        try:
            result = run_fit(scenario, folder, settings, pool=self.pool, single_process=self.single_process)
        except RunFolderError as err:
            if err.reason not in ("other-settings", "other-config", "holds-run"):
                raise
            self.log(f"  {scenario_name}: the fit in {folder} was made with other settings or configuration; refitting")
            settings.resume, settings.force = False, True
            result = run_fit(scenario, folder, settings, pool=self.pool, single_process=self.single_process)
        self.fits[scenario_name] = result
        return result


# --- figures -------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(rep: Reproduction, fig, stem: str, description: str) -> list[str]:  # noqa: ANN001
    metadata_png = {"Software": f"cevns {__version__}",
                    "Description": f"{description}; seed {rep.seed}; {rep.preset} preset; {rep.couplings} couplings"}
    atomic_savefig(fig, rep.out / f"{stem}.png", dpi=130, metadata=metadata_png)
    atomic_savefig(fig, rep.out / f"{stem}.pdf", metadata={"Creator": f"cevns {__version__}", "Subject": metadata_png["Description"]})
    _plt().close(fig)
    return [f"{stem}.png", f"{stem}.pdf"]


def make_fig1(rep: Reproduction) -> list[str]:
    from ..detectors import Detector, make_target
    from ..experiment import Experiment, PhysicsOptions
    from ..physics.couplings import N_NSI, NSI_NAMES
    from ..physics.degeneracy import target_lines
    from ..plotting import degeneracy_figure
    from ..sources import stopped_pion_source

    lines, ellipses = [], {}
    grid = np.linspace(-1.0, 1.0, 161)
    convention = CONVENTIONS[rep.couplings]["physics"]
    physics = PhysicsOptions(sin2_theta_w=convention["sin2_theta_w"], couplings=convention["couplings"])
    for formula in ("Si", "Ge"):
        target = make_target(formula)
        lines.append(target_lines(formula, target.beta, physics.sin2_theta_w, convention=physics.couplings))
        # flavor-summed stopped-pion rate over (eps^u_ee, eps^u_mumu): one kernel, any window (shape only)
        exp = Experiment(formula, stopped_pion_source(), Detector(target, 1.0, 50.0, 1), 1.0, physics)
        kernels = exp.kernels()
        eps = np.zeros((grid.size, grid.size, N_NSI))
        eps[..., NSI_NAMES.index("eps_u_ee")] = grid[None, :]
        eps[..., NSI_NAMES.index("eps_u_mumu")] = grid[:, None]
        total = kernels.signal(eps).sum(axis=(-1, -2))
        ellipses[formula] = (grid, grid, total / kernels.signal(np.zeros(N_NSI)).sum())
    fig = degeneracy_figure(lines, ellipses)
    return _save(rep, fig, "fig1", f"SM-equivalent NSI lines and rings for Si and Ge (arXiv:1711.03521 sec. II.3), {rep.couplings} couplings")


def _posterior_figure(rep: Reproduction, scenario: str, x: str, y: str, title: str, stem: str, caption: str) -> list[str]:
    """One panel: the 68% and 95% regions of (x, y) in one fit (the axes follow the posterior's support)."""
    from .figures import fit_posterior_panel

    fit = rep.fit(scenario)
    fig, ax = _plt().subplots(figsize=(5.2, 4.6))
    fit_posterior_panel(ax, fit, x, y)
    ax.set_title(f"{scenario}: {title}", fontsize=10)
    fig.tight_layout()
    return _save(rep, fig, stem, caption)


def make_fig2(rep: Reproduction) -> list[str]:
    return _posterior_figure(rep, "coherent-2017-2p", "eps_u_ee", "eps_u_mumu", "COHERENT 2017, 2 free couplings: 68%, 95%",
                             "fig2", "posterior of (eps_u_ee, eps_u_mumu), coherent-2017-2p")


def make_fig3(rep: Reproduction) -> list[str]:
    from .figures import fit_posterior_panel

    fig, axes = _plt().subplots(1, 2, figsize=(10.4, 4.6))
    for ax, name, label in zip(axes, ("coherent-2017-4p", "coherent-2017-4p-wide"), ("[-1.5, 1.5]", "[-2.5, 2.5]"), strict=True):
        fit_posterior_panel(ax, rep.fit(name), "eff_eps_ee", "eff_eps_mumu")
        ax.set_title(f"{name}: COHERENT 2017, 4 couplings, prior {label}", fontsize=10)
    fig.tight_layout()
    return _save(rep, fig, "fig3", f"effective NSI (Y_n = {EARTH_NEUTRON_ELECTRON_RATIO}), coherent-2017-4p and -4p-wide")


def make_fig4(rep: Reproduction) -> list[str]:
    from .figures import fit_posterior_panel

    fits = [(rep.fit("future-combined-1bin"), "1 energy bin", "C1"), (rep.fit("future-combined"), "10 energy bins", "C0")]
    fig, axes = _plt().subplots(1, 2, figsize=(10.4, 4.6))
    for ax, (x, y) in zip(axes, (("eps_u_ee", "eps_d_ee"), ("eps_u_mumu", "eps_d_mumu")), strict=True):
        for fit, label, color in fits:
            fit_posterior_panel(ax, fit, x, y, levels=(FIG4_LEVEL,), color=color, filled=False, label=label)
        ax.set_title(f"future-combined-1bin vs future-combined: {FIG4_LEVEL:.0%} regions", fontsize=10)
    fig.tight_layout()
    return _save(rep, fig, "fig4", "90% regions, future-combined-1bin vs future-combined (10 bins)")


def make_fig5(rep: Reproduction) -> list[str]:
    # the axes follow the posterior's support (posterior_panel zooms), not the prior-implied range (+-9)
    return _posterior_figure(rep, "future-combined", "eff_eps_ee", "eff_eps_mumu", "future reactor + SNS, 4 couplings: 68%, 95%",
                             "fig5", "effective NSI, future-combined")


def _corner(rep: Reproduction, scenario: str, stem: str, title: str) -> list[str]:
    from .figures import fit_corner_figure

    fit = rep.fit(scenario)
    # future-combined's ee modes are needle-thin islands: zoomed insets show their shape
    fig = fit_corner_figure(fit, fit.poi_names, title=f"{scenario}: {title}", insets=scenario.startswith("future-combined"))
    return _save(rep, fig, stem, f"triangle plot, {scenario}")


def make_fig6(rep: Reproduction) -> list[str]:
    return _corner(rep, "future-combined", "fig6", "future reactor + SNS (fluxes, backgrounds marginalized): 68%, 95%")


def make_fig7(rep: Reproduction) -> list[str]:
    return _corner(rep, "future-combined-nobkg", "fig7", "future reactor + SNS, no SNS background: 68%, 95%")


def make_fig8(rep: Reproduction) -> list[str]:
    return _corner(rep, "coherent-2017-4p-3", "fig8", "COHERENT 2017, prior [-3, 3]: 68%, 95%")


def table3_intervals(summary: dict, parameters: tuple[str, ...] = TABLE3_PARAMETERS) -> dict[str, list[list[float]]]:
    """95% HPD sets of ``parameters`` (the four diagonal couplings) from a fit summary."""
    return {p: summary["parameters"][p]["hpd"][TABLE3_LEVEL] for p in parameters}


def _union(intervals: list[list[float]], fmt: str = "{:+.3f}", joiner: str = " U ") -> str:
    return joiner.join(f"[{fmt.format(lo)}, {fmt.format(hi)}]" for lo, hi in intervals)


def make_table3(rep: Reproduction) -> list[str]:
    fit = rep.fit("future-combined")
    table = table3_intervals(fit.summary())
    note = f"cevns {__version__}, scenario future-combined, seed {rep.seed}, {rep.preset} preset, {rep.couplings} couplings"
    md = ["| parameter | 95% credible set |", "|---|---|"]
    md += [f"| {latex_label(p)} | {_union(v, joiner=' ∪ ')} |" for p, v in table.items()]
    md += ["", f"Marginal 95% highest-posterior-density sets (unions where disjoint); {note}."]
    atomic_write_text(rep.out / "table3.md", "\n".join(md) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["parameter", "interval", "lower", "upper"])
    for p, intervals in table.items():
        for k, (lo, hi) in enumerate(intervals):
            writer.writerow([p, k, repr(lo), repr(hi)])
    atomic_write_text(rep.out / "table3.csv", buffer.getvalue())
    tex = [r"\begin{tabular}{ll}", r"\hline", r"Parameter & 95\% credible set \\", r"\hline"]
    cup = r" \cup "
    tex += [f"{latex_label(p)} & ${_union(v, '{:+.3f}', cup)}$ " + "\\\\" for p, v in table.items()]
    tex += [r"\hline", r"\end{tabular}", f"% {note}"]
    atomic_write_text(rep.out / "table3.tex", "\n".join(tex) + "\n")
    atomic_write_json(rep.out / "table3.json", table)
    return ["table3.md", "table3.csv", "table3.tex", "table3.json"]


_EPS = {name: html_label(name) for name in ("eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu", "eff_eps_ee", "eff_eps_mumu")}

#: The complementarity of the paper on measured data: (label, scenario) per data combination, 4 couplings each;
#: with the Sun (XENONnT 8B: nu_e, nu_mu and nu_tau, the tau couplings held at 0; docs/solar.md).
#: CsI 2021 contains the 2017 data; COHERENT's two data sets do not share their SNS flux normalisations
#: (docs/data.md, "Combined"). The argon fits take 2-4 minutes each with the fast preset (docs/data.md, Speed).
MEASURED_FITS = (("COHERENT CsI 2021 (PE x time)", "coherent-csi-2021-4p"),
                 ("COHERENT argon 2020 (energy x F90 x time)", "coherent-lar-2020-4p"),
                 ("COHERENT: CsI 2021 + argon 2020", "measured-combined-coherent-4p"),
                 ("Dresden-II (provenance probable)", "dresden-ii-4p"),
                 ("COHERENT + Dresden-II", "measured-combined-4p"),
                 ("XENONnT solar 8B (SR0-SR2)", "xenonnt-8b-sr2-4p"),
                 ("COHERENT + Dresden-II + XENONnT", "measured-combined-solar-4p"))
#: Fits that always use the quick-look preset (smc, 1000 particles, log Z error 0.02; the same ESS floor of
#: 4000 as the full preset, so the same accuracy of the 95% sets): the item reports sets, not log Z, and the
#: full preset's log Z target of 0.005 costs the argon fits up to 400 000 likelihood calls each (docs/data.md).
QUICK_LOOK_FITS = frozenset([*(name for _, name in MEASURED_FITS), *VALIDATION_FITS])
#: The rows of the measured table and figure: the measured fits, then the paper's projection.
MEASURED_ROWS = MEASURED_FITS + (("projection (future reactor + SNS)", "future-combined"),)


#: Columns of the measured table: the four couplings, then the effective matter NSI of oscillation experiments
#: (Earth), where the complementarity shows: each data set alone leaves bands in the couplings.
MEASURED_PARAMETERS = TABLE3_PARAMETERS + ("eff_eps_ee", "eff_eps_mumu")


def make_measured(rep: Reproduction) -> list[str]:
    """95% sets of the four couplings (and the effective NSI) from measured data, alone and combined, beside
    the paper's projection: those each fit's summary holds (computed once, when the fit was saved)."""
    rows = [(label, name, rep.fit(name)) for label, name in MEASURED_ROWS]
    table = {name: {"label": label, "sets": table3_intervals(fit.summary(), MEASURED_PARAMETERS)} for label, name, fit in rows}
    atomic_write_json(rep.out / "measured.json", table)
    md = ["| data | " + " | ".join(latex_label(p) for p in MEASURED_PARAMETERS) + " |", "|---" * (len(MEASURED_PARAMETERS) + 1) + "|"]
    md += [f"| {entry['label']} | " + " | ".join(_union(entry["sets"][p], joiner=" ∪ ") for p in MEASURED_PARAMETERS) + " |"
           for entry in table.values()]
    md += ["", f"95% HPD sets, flat priors on [-1.5, 1.5] for the couplings (effective NSI: Earth, Y_n = 1.05); cevns "
           f"{__version__}, seed {rep.seed}; measured data: quick-look preset (smc, 1000 particles, ESS >= 4000); "
           f"projection: {rep.preset} preset; {rep.couplings} couplings."]
    atomic_write_text(rep.out / "measured.md", "\n".join(md) + "\n")
    from ..plotting import credible_sets_figure

    # a reactor alone leaves the muon flavor at +-7: the effective panels end at [-1, 2], and sets running past an
    # axis end are marked there with their end values
    xlims = {p: ((-1.6, 1.6) if p in TABLE3_PARAMETERS else (-1.0, 2.0)) for p in MEASURED_PARAMETERS}
    xlabels = {p: latex_label(p) + " (effective, Earth)" for p in MEASURED_PARAMETERS if p not in TABLE3_PARAMETERS}
    fig = credible_sets_figure([(f"{label}\n{name}", entry["sets"]) for (label, name, _), entry in zip(rows, table.values(), strict=True)],
                               MEASURED_PARAMETERS, xlims, float(TABLE3_LEVEL), xlabels=xlabels,
                               title="Accelerator, reactor and solar complementarity on measured data: 95% credible sets")
    return _save(rep, fig, "measured", "95% sets from measured data and the projection") + ["measured.md", "measured.json"]


def make_validation(rep: Reproduction) -> list[str]:
    """Each release's SM fit (``mu_cevns`` free) beside its collaboration (:mod:`cevns.app.validation`)."""
    from ..plotting import validation_figure

    rows = validation_rows({name: rep.fit(name) for name in VALIDATION_FITS}, rep.scenario)
    atomic_write_json(rep.out / "validation.json", rows)
    atomic_write_text(rep.out / "validation.md", validation_markdown(rows) + f"\ncevns {__version__}, seed {rep.seed}; "
                      "quick-look preset (smc, ESS >= 4000).\n")
    fig = validation_figure(rows)
    return _save(rep, fig, "validation", "measured releases beside the collaborations") + ["validation.md", "validation.json"]


ITEMS: dict[str, Item] = {
    item.id: item
    for item in (
        Item("fig1", "Degeneracy lines and rings for Si and Ge", (), make_fig1,
             f"Where NSI leave the CEvNS rate at its Standard Model value. (a) One flavor: for each target the rate is "
             f"unchanged on a line through the SM point (solid) and on a parallel mirror line (dashed); two targets with "
             f"different Z/N cross at the SM point and at one mirror point (dots), which is why a reactor with two targets "
             f"leaves only two solutions. (b) Two flavors seen separately (reactor: only &nu;&#772;<sub>e</sub>) give a grid "
             f"of points; the flavor-summed stopped-pion rate (dotted) leaves a whole ellipse. (c) A flavor-changing coupling "
             f"{html_label('eps_u_emu')} with {_EPS['eps_u_ee']}: the SM rate lies on a ring through the origin."),
        Item("fig2", "COHERENT 2017, 2 free couplings", ("coherent-2017-2p",), make_fig2,
             f"Posterior of ({_EPS['eps_u_ee']}, {_EPS['eps_u_mumu']}) from the 134 &plusmn; 22 events of COHERENT 2017, "
             "68% and 95% regions, SM point as a red cross. One counting measurement constrains a single combination of the "
             "charges, so the allowed region is a ring (a band around an ellipse) that passes through the SM point."),
        Item("fig3", "COHERENT 2017, 4 couplings: effective NSI for two prior ranges",
             ("coherent-2017-4p", "coherent-2017-4p-wide"), make_fig3,
             f"The four couplings mapped to the effective matter NSI {_EPS['eff_eps_ee']}, {_EPS['eff_eps_mumu']} of "
             "oscillation experiments (Earth, Y<sub>n</sub> = 1.05), for flat priors on [&minus;1.5, 1.5] and [&minus;2.5, 2.5]. "
             "Look for how much of the shape follows the prior: with one data point the posterior is prior-dominated."),
        Item("fig4", "Future projection: 1 bin versus 10 bins, 90% regions", ("future-combined-1bin", "future-combined"),
             make_fig4,
             "90% regions of the reactor + accelerator projection with one energy bin per detector and with ten. "
             "The spectral shape removes part of the mirror solutions: compare the size of the islands away from the SM point."),
        Item("fig5", "Future reactor + accelerator: effective NSI", ("future-combined",), make_fig5,
             f"Effective NSI {_EPS['eff_eps_ee']}, {_EPS['eff_eps_mumu']} from the projection: a few per cent around the SM "
             "and a second island from the mirror solutions; thin islands are drawn as the thin needles they are."),
        Item("fig6", "Future reactor + accelerator: triangle plot of the 4 couplings", ("future-combined",), make_fig6,
             "All four couplings with fluxes and backgrounds marginalized: the reactor pins the electron-flavor couplings "
             "to two points (the SM and the Si/Ge mirror crossing); the accelerator then constrains the muon flavor. "
             "Insets magnify needle-thin modes."),
        Item("fig7", "As fig6 with no background in the accelerator detectors", ("future-combined-nobkg",), make_fig7,
             "The same projection with zero background in the NaI and Ar detectors: how much of the muon-flavor "
             "uncertainty is due to the background."),
        Item("fig8", "COHERENT 2017: triangle plot, prior [-3, 3]", ("coherent-2017-4p-3",), make_fig8,
             "The four couplings from COHERENT 2017 alone with a wide prior: bands along the degeneracy directions, "
             "bounded only by the prior."),
        Item("table3", "Marginal 95% credible sets of the 4 couplings, future reactor + accelerator", ("future-combined",),
             make_table3,
             "Highest-posterior-density sets (unions of intervals where the posterior has several modes), computed at the "
             "resolution of each mode: the SM mode and the mirror mode of the electron-flavor couplings are each a few "
             "hundredths wide."),
        Item("measured", "Complementarity on measured data: COHERENT, Dresden-II, XENONnT (solar 8B), combined, and the projection",
             tuple(name for _, name in MEASURED_ROWS), make_measured,
             "95% credible sets of the four flavor-diagonal couplings from the public data releases (COHERENT CsI 2021 with "
             "its photoelectron and arrival-time bins, COHERENT argon 2020 with energy, pulse shape and arrival time; "
             "Dresden-II, whose provenance is probable, not certain; XENONnT's solar 8B recoils, SR0-SR2) alone and combined, "
             "next to the paper's projection, "
             "and the effective matter NSI of oscillation experiments they imply (last two panels). The reactor sees only electron antineutrinos, so it leaves the "
             "muon-flavor couplings free; the accelerator constrains both flavors along degeneracy bands; the Sun sees a "
             "combination of all three flavors (about 0.36 nu_e, 0.27 nu_mu, 0.37 nu_tau for 8B). Not run by "
             "default: <code>cevns reproduce --only measured</code>.", default=False),
        Item("validation", "Measured releases fitted as the Standard Model, beside the collaborations", VALIDATION_FITS,
             make_validation,
             "Each release fitted with a free CEvNS normalisation: the fitted count (posterior mean &plusmn; sd) against "
             "the collaboration's, in units of the larger of its error and the release's statistical floor (the width "
             "with every background fixed: grey band); Dresden-II, which quotes no count, as the fitted normalisation "
             "under each germanium quenching model with the profile-likelihood q at &mu; = 0 and at the SM. "
             "docs/data.md explains each row. Not run by default: <code>cevns reproduce --only validation</code>.",
             default=False),
    )
}


def parse_only(only: str | None) -> list[str]:
    """Item ids from ``--only a,b`` (the default items when None; every item with ``all``), in the canonical order."""
    if only is None:
        return [i for i, item in ITEMS.items() if item.default]
    wanted = [s.strip() for s in only.split(",") if s.strip()]
    if wanted == ["all"]:
        return list(ITEMS)
    unknown = [s for s in wanted if s not in ITEMS]
    if unknown or not wanted:
        raise ConfigError(f"--only: unknown item {', '.join(unknown) or '(empty)'}; choose from {', '.join(ITEMS)} (or all)")
    return [i for i in ITEMS if i in wanted]


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".cevns-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise RunFolderError(f"{str(out)!r} is not writable ({err.strerror})", "unusable") from None


def _fit_task(spec: dict) -> dict:
    """One reproduction fit as a task of :mod:`cevns.app.tasks` (a single process, whatever the launcher)."""
    from threadpoolctl import threadpool_limits

    rep = Reproduction(Path(spec["out"]), spec["fast"], spec["seed"], verbose=False, single_process=True,
                       couplings=spec.get("couplings", "tree"))
    with threadpool_limits(1):  # one BLAS thread in every worker and in serial runs alike: same numbers
        result = rep.fit(spec["scenario"])
    return {"scenario": spec["scenario"], "log_evidence": result.log_evidence, "wall_seconds": result.wall_seconds}


def longest_first(names: list[str]) -> list[str]:
    """Most measured data sets (slowest fits) first, stable otherwise (Graham, SIAM J. Appl. Math. 17 (1969) 416)."""
    return sorted(names, key=lambda name: -len(load_config(name).datasets))


def reproduce(out: str | Path = DEFAULT_OUT, only: str | None = None, fast: bool = False, seed: int = 0,
              verbose: bool = True, pool=None, workers: int | None = None, backend: str = "auto",  # noqa: ANN001
              couplings: str = "tree") -> dict:
    """Run the selected items; returns the provenance record (also written to ``provenance.json``).
    ``couplings``: the coupling convention of every fit and of fig1 (:data:`CONVENTIONS`).

    The fits the items need are independent: they run first as tasks of :mod:`cevns.app.tasks`
    (``workers`` local processes; under ``mpiexec`` one fit per worker rank), each in its own folder,
    then the items draw from them. The results do not depend on the number of workers.
    """
    from .tasks import resolve_backend, run_tasks, task_executor

    ids = parse_only(only)
    if couplings not in CONVENTIONS:
        raise ConfigError(f"couplings must be one of {', '.join(CONVENTIONS)}, not {couplings!r}", field="couplings")
    out = Path(out)
    mpi = world()
    mpi.root_decides(lambda: check_writable(out))
    needed = longest_first(list(dict.fromkeys(name for item_id in ids for name in ITEMS[item_id].fits)))
    rep = Reproduction(out, fast, seed, verbose, pool, single_process=True, couplings=couplings)
    specs = [{"key": f"{name}-{couplings}", "scenario": name, "out": str(out), "fast": fast, "seed": seed, "couplings": couplings}
             for name in needed]
    start_fits = time.perf_counter()
    with task_executor(backend, workers) as executor:
        if executor is None:  # an MPI worker rank: it ran its share of the fits
            return {}
        if needed:
            kind = resolve_backend(backend, workers)
            count = {"serial": 1, "process": workers, "mpi": mpi.size - 1}.get(kind, workers)
            rep.log(f"fits: {len(needed)} ({', '.join(needed)}) on {count} {kind} worker(s), {couplings} couplings")

        count = [0]

        def finished(spec: dict, result: dict) -> None:  # name the fit that finished and what it found
            count[0] += 1
            rep.log(f"fits: {count[0]}/{len(specs)} done: {spec['scenario']} (log Z {result['log_evidence']:.3f}, "
                    f"{result['wall_seconds']:.1f} s sampling; {time.perf_counter() - start_fits:.0f} s elapsed)")

        run_tasks(_fit_task, specs, executor, finished=finished)
    fits_seconds = time.perf_counter() - start_fits
    provenance_path = out / "provenance.json"
    provenance = json.loads(provenance_path.read_text()) if provenance_path.exists() else {}
    provenance.update({"version": __version__, "seed": seed, "preset": rep.preset, "couplings": couplings,
                       "couplings_description": CONVENTIONS[couplings]["text"], "couplings_change": CONVENTION_CHANGE})
    items = provenance.setdefault("items", {})
    start_all = time.perf_counter()
    for k, item_id in enumerate(ids, 1):
        item = ITEMS[item_id]
        rep.log(f"[{k}/{len(ids)}] {item_id}: {item.title}")
        start = time.perf_counter()
        for name in item.fits:  # finished by the tasks above: loaded (checksums verified)
            rep.fit(name)
        files = item.make(rep)
        elapsed = time.perf_counter() - start
        items[item_id] = {
            "title": item.title,
            "files": files,
            "seconds": round(elapsed, 2),
            "seed": seed, "preset": rep.preset,
            "couplings": couplings,
            "version": __version__,
            "fits": {name: _fit_record(rep, name) for name in item.fits},
        }
        rep.log(f"[{k}/{len(ids)}] {item_id}: wrote {', '.join(files)} ({elapsed:.1f} s)")
        atomic_write_json(provenance_path, provenance)
    items_seconds = time.perf_counter() - start_all
    write_report(out, provenance)
    report_seconds = time.perf_counter() - start_all - items_seconds
    # the total is the wall time of the whole command's work: the fits (run as tasks above), then the items
    # (figures and tables from the finished fits), then the report
    rep.log(f"reproduce: {len(ids)} item(s) in {fits_seconds + items_seconds + report_seconds:.1f} s (fits "
            f"{fits_seconds:.1f} s, figures and tables {items_seconds:.1f} s, report {report_seconds:.1f} s); "
            f"report in {out / 'report.html'}")
    return provenance


def _fit_record(rep: Reproduction, name: str) -> dict:
    folder = rep.folder(name)
    s = rep.fits[name].summary()
    return {
        "folder": str(folder.relative_to(rep.out)),
        "preset": "fast" if rep.fast_for(name) else "full",
        "couplings": rep.couplings,
        "config": (folder / "config.toml").read_text(),
        "sampler": s["sampler"], "nlive": s["nlive"], "seed": s["seed"], "nuisances": s.get("nuisances"),
        "log_evidence": s["log_evidence"], "log_evidence_err": s["log_evidence_err"],
        "n_likelihood_calls": s["n_likelihood_calls"], "wall_seconds": s["wall_seconds"],
        # a built-in scenario by name; under another convention its resolved configuration (the folder's config.toml)
        "command": (f"cevns fit {name if rep.couplings == 'tree' else folder / 'config.toml'} --out {folder} --seed {s['seed']}"
                    + (" --fast" if rep.fast_for(name) else "")),
    }


def write_report(out: Path, provenance: dict) -> Path:
    """One self-contained HTML page: every finished item, its configuration and the commands to redo it."""
    seed, preset, couplings = provenance.get("seed", 0), provenance.get("preset", "full"), provenance.get("couplings", "tree")

    def flags(entry: dict) -> str:  # the options that redo an item or the whole report
        return (f" --seed {entry.get('seed', 0)}{' --fast' if entry.get('preset') == 'fast' else ''}"
                f"{' --couplings ' + entry['couplings'] if entry.get('couplings', 'tree') != 'tree' else ''}")

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>cevns reproduction of arXiv:1711.03521</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}img{max-width:100%}"
        "pre{background:#f5f5f5;padding:.6em;overflow-x:auto;font-size:85%}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:.3em .7em}section{border-top:1px solid #ddd;margin-top:2em}"
        "#fig1 img{width:100%}</style></head><body>",
        "<h1>Accelerator and reactor complementarity in coherent neutrino scattering</h1>",
        f"<p>Reproduced with cevns {html.escape(str(provenance.get('version')))} (Dent et al., Phys. Rev. D 97 (2018) 035009, "
        f"arXiv:1711.03521). Seed {seed}, {preset} preset. Redo everything: <code>cevns reproduce{flags(provenance)}</code></p>",
        f"<p><b>Couplings: {couplings}</b>, {html.escape(CONVENTIONS.get(couplings, {}).get('text', couplings))}. "
        f"{html.escape(CONVENTION_CHANGE)}</p>",
    ]
    for item_id in ITEMS:
        entry = provenance.get("items", {}).get(item_id)
        if entry is None:
            continue
        parts.append(f"<section id='{item_id}'><h2>{item_id}: {html.escape(ITEMS[item_id].title)}</h2>")
        parts.append(f"<p>{ITEMS[item_id].explanation}</p>")
        for name in entry["files"]:
            path = out / name
            if name.endswith(".png") and path.exists():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<img alt='{item_id}' src='data:image/png;base64,{data}'>")
            if name == "table3.json" and path.exists():
                table = json.loads(path.read_text())
                rows = "".join(f"<tr><td>{html_label(p)}</td><td>{html.escape(_union(table[p], joiner=' ∪ '))}</td></tr>"
                               for p in TABLE3_PARAMETERS if p in table)  # the paper's row order
                parts.append(f"<table><tr><th>parameter</th><th>95% credible set</th></tr>{rows}</table>")
            if name == "measured.json" and path.exists():
                table = json.loads(path.read_text())  # keys sorted on disk: rows in the item's order
                order = [name for _, name in MEASURED_ROWS]
                columns = [p for p in MEASURED_PARAMETERS if all(p in row["sets"] for row in table.values())]
                head = "".join(f"<th>{html_label(p)}{' (effective)' if p not in TABLE3_PARAMETERS else ''}</th>" for p in columns)
                rows = "".join(f"<tr><td>{html.escape(table[name]['label'])}</td>"
                               + "".join(f"<td>{html.escape(_union(table[name]['sets'][p], joiner=' ∪ '))}</td>" for p in columns)
                               + "</tr>" for name in order if name in table)
                parts.append(f"<table><tr><th>data</th>{head}</tr>{rows}</table>")
        parts.append(f"<p>Files: {', '.join(html.escape(f) for f in entry['files'])}; {entry['seconds']} s; "
                     f"{entry.get('couplings', 'tree')} couplings. Redo: <code>cevns reproduce --only {item_id}{flags(entry)}</code></p>")
        if not entry["fits"]:
            convention = entry.get("couplings", "tree")
            parts.append("<p>No fit: closed forms of the paper's section II.3 (<code>cevns/physics/degeneracy.py</code>), natural Si and Ge from "
                         f"periodictable, sin<sup>2</sup>&theta;<sub>W</sub> = {CONVENTIONS[convention]['physics']['sin2_theta_w']}. "
                         f"Numbers: <code>cevns degeneracy Si Ge --couplings {convention} --json</code>.</p>")
        for name, fit in entry["fits"].items():
            parts.append(
                f"<details><summary>fit <b>{html.escape(name)}</b>: {fit['sampler']}, {points_phrase(fit['sampler'], fit['nlive'])}, "
                f"log Z = {fit['log_evidence']:.3f} &plusmn; {fit['log_evidence_err']:.3f}, {fit['n_likelihood_calls']} likelihood calls, "
                f"{fit['wall_seconds']:.1f} s. Command: <code>{html.escape(fit['command'])}</code></summary>"
                f"<pre>{html.escape(fit['config'])}</pre></details>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return atomic_write_text(out / "report.html", "\n".join(parts) + "\n")
