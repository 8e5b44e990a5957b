"""COHERENT CsI[Na] full data set (2021): photoelectrons x arrival time from the unbinned release.

Sources: D. Akimov et al. (COHERENT), Phys. Rev. Lett. 129 (2022) 081801, arXiv:2110.07730 and its
ancillary files (``cevns/data/coherent-csi-2021/REFERENCE.md``).

Channels (docs/data.md, "COHERENT CsI 2021"):

* ``<name>``: the coincidence-window events binned in PE x reconstructed time (default 9 PE bins with
  edges 0, 8, 12, 16, 20, 24, 32, 40, 50, 60 x 11 time bins with edges 0, 1/8, ..., 7/8, 1, 2, 4, 6 us:
  the binning of the collaboration's figures as used by third-party analyses of this release; the
  region of interest PE < 60, t < 6 us is the release's). Signal per flavor component: recoil
  spectrum (package physics) -> electron-equivalent energy Eee(T) = a T + b T^2 + c T^3 + d T^4 (T in
  MeVnr, the release's polynomial) -> photoelectrons ~ Gamma(mean LY Eee, shape 1 + 9.56 Eee/keVee)
  (the release's PE model, LY = 1/0.0749 = 13.35 PE/keVee) in 0.5-PE bins -> efficiency
  a/(1 + exp(-b (x - c))) + d at each 0.5-PE bin centre, floored at 0 (the release's coefficients) ->
  PE bins -> arrival-time PDF of prompt (nu_mu) or delayed (nu_e, nubar_mu) neutrinos computed from the
  pi+ and mu+ lifetimes (PDG via ``particle``) and a Gaussian proton pulse, times the timing
  efficiency (1 before 0.52 us, exp(-0.0494 (t/us - 0.52)) after).
* ``<name>/AC``: the anti-coincidence events in the same bins: the in-situ measurement of the
  steady-state background, a Poisson channel of its own. The steady-state template (the AC events'
  PE projection x the timing efficiency's time shape, normalised to the AC count in the window)
  enters both channels scaled by one free normalisation ``ss_<name>``.

Backgrounds: beam-related neutrons (brnPE x brnTrec) and neutrino-induced neutrons (ninPE x ninTrec),
each the release's time spectrum (expected events per 10 ns) x the timing efficiency x the PE-shape
fraction in each PE bin, with Gaussian normalisations 25% and 36%. Systematics (default
``systematics_model = "shape"``): the release's two +-1 sigma light-response variants and its +-1 sigma
efficiency variant as shape nuisances (up/down ratios per bin) on the signal; the flux normalisation
(10%) per the source. ``"combined-norm"`` folds them into one Gaussian signal normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from ...errors import ConfigError
from ...spec import Channel
from ._common import (ReleaseOptions, flux_nuisances, is_prompt, live_time_days, parse_options, release_source,
                      systematic)
from ._io import check_column, read_table, release_folder
from .response import gamma_response, overlap_matrix, recoil_kernels, stopped_pion_time_pdfs

FOLDER = "coherent-csi-2021"
DESCRIPTION = "COHERENT CsI[Na] full data set (PRL 129 (2022) 081801, arXiv:2110.07730): PE x time, 306 +- 20 fitted"

#: the region of interest of the release (PE < 60, t < 6 us) and default binning (module docstring)
PE_EDGES = [0.0, 8.0, 12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 50.0, 60.0]
TIME_EDGES_US = [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 2.0, 4.0, 6.0]
#: the release's template grids: brn/ninPE 1-PE bins (centres 0.5 ... 249.5), brn/ninTrec 10-ns bins
#: (centres -0.245 ... 6.245 us)
TEMPLATE_PE_EDGES = np.arange(0.0, 250.5, 1.0)
TEMPLATE_TIME_EDGES_US = np.round(np.arange(-0.25, 6.2501, 0.01), 6)
#: the largest PE and time of the released events (selection PE < 250; the copies end at 6 us)
MAX_PE, MAX_TIME_US = 250.0, 6.0
#: predictions are made in 0.5-PE bins (the efficiency is evaluated at their centres)
FINE_PE_STEP = 0.5
SHAPE_SYSTEMATICS = ("light-response-0", "light-response-1", "efficiency")


class CsI2021Options(ReleaseOptions):
    """Options of the ``coherent-csi-2021`` release (defaults: the release's numbers, REFERENCE.md)."""

    pe_edges: list[float] = Field(default_factory=lambda: list(PE_EDGES), min_length=2)
    time_edges_us: list[float] = Field(default_factory=lambda: list(TIME_EDGES_US), min_length=2)
    mass_kg: float = Field(14.6, gt=0)  # CsI[Na] mass (REFERENCE.md)
    live_time_days: float | None = Field(None, gt=0)
    #: Gamma PE model of the release (supplement; REFERENCE.md): mean LY Eee, shape 1 + k Eee
    light_yield_pe_per_keVee: float = Field(13.35, gt=0)
    gamma_shape_per_keVee: float = Field(9.56, ge=0)
    #: proton pulse (Gaussian, us): fitted to the release's neutrino-induced-neutron time PDF (docs/data.md)
    beam_mean_us: float = 0.473
    beam_sigma_us: float = Field(0.147, gt=0)
    #: timing efficiency: 1 before onset, exp(-slope (t - onset)) after (release supplement; REFERENCE.md)
    timing_efficiency_onset_us: float = Field(0.52, ge=0)
    timing_efficiency_slope_per_us: float = Field(0.0494, ge=0)
    #: expected BRN / NIN events in the window: None = the release's time spectra (events) x timing
    #: efficiency x PE-shape fraction in the window
    brn_events: float | None = Field(None, ge=0)
    nin_events: float | None = Field(None, ge=0)
    brn_uncertainty: float = Field(0.25, ge=0)
    nin_uncertainty: float = Field(0.36, ge=0)
    steady_state_range: list[float] = Field(default_factory=lambda: [0.5, 1.5], min_length=2, max_length=2)
    shape_systematics: list[str] = Field(default_factory=lambda: list(SHAPE_SYSTEMATICS))
    #: "shape": the release's +-1 sigma variants as shape nuisances (pyhf code 4p) on the signal;
    #: "combined-norm": flux (+) their window-count changes as one Gaussian signal normalisation
    systematics_model: str = Field("shape", pattern="^(shape|combined-norm)$")
    recoil_bins: int = Field(500, ge=50, le=20000)
    recoil_min_keV: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _checks(self) -> CsI2021Options:
        for field, edges, top in (("pe_edges", self.pe_edges, MAX_PE), ("time_edges_us", self.time_edges_us, MAX_TIME_US)):
            e = np.asarray(edges)
            if np.any(np.diff(e) <= 0) or e[0] < 0 or e[-1] > top + 1e-9:
                raise ValueError(f"{field} {edges} must increase within [0, {top:g}]")
        pe = np.asarray(self.pe_edges) / FINE_PE_STEP
        if not np.allclose(pe, np.round(pe)):
            raise ValueError(f"pe_edges {self.pe_edges} must be multiples of {FINE_PE_STEP} PE")
        unknown = sorted(set(self.shape_systematics) - set(SHAPE_SYSTEMATICS))
        if unknown:
            raise ValueError(f"shape_systematics: unknown {unknown}; choose from {', '.join(SHAPE_SYSTEMATICS)}")
        if not self.steady_state_range[0] < self.steady_state_range[1]:
            raise ValueError("steady_state_range must be [low, high] with low < high")
        return self


@dataclass(frozen=True)
class ReleaseData:
    """The release's files: events (n, 2) of PE and time (us), templates and coefficient rows."""

    coincidence: np.ndarray
    anticoincidence: np.ndarray
    brn_pe: np.ndarray      # (250,) per 1-PE bin (shape)
    brn_time: np.ndarray    # (650,) expected events per 10-ns bin
    nin_pe: np.ndarray
    nin_time: np.ndarray
    light_response: np.ndarray  # (5, 4): nominal, variant 0 +1/-1 sigma, variant 1 +1/-1 sigma
    efficiency: np.ndarray      # (3, 4): nominal, +1 sigma, -1 sigma


def read_release(data_dir: str | None = None) -> ReleaseData:
    """Read and check the release files (columns, finite numbers, signs, template grids, row counts)."""
    folder = release_folder(FOLDER, data_dir)
    events = {}
    for key, file in (("C", "dataBeamOnC.txt"), ("AC", "dataBeamOnAC.txt")):
        events[key] = read_table(folder / file, 2, nonnegative=(0, 1), header_allowed=False)
    templates = {}
    for key in ("brn", "nin"):
        path = folder / f"{key}PE.txt"
        table = read_table(path, 2, nonnegative=(1,), n_rows=TEMPLATE_PE_EDGES.size - 1, header_allowed=False)
        check_column(path, table, 0, 0.5 * (TEMPLATE_PE_EDGES[1:] + TEMPLATE_PE_EDGES[:-1]), "PE bin centre")
        templates[f"{key}_pe"] = table[:, 1]
        path = folder / f"{key}Trec.txt"
        table = read_table(path, 2, nonnegative=(1,), n_rows=TEMPLATE_TIME_EDGES_US.size - 1, header_allowed=False)
        check_column(path, table, 0, 0.5 * (TEMPLATE_TIME_EDGES_US[1:] + TEMPLATE_TIME_EDGES_US[:-1]), "time bin centre (us)",
                     rtol=1e-4)
        templates[f"{key}_time"] = table[:, 1]
    light = read_table(folder / "scintRespCoefficients.txt", 4, n_rows=5, header_allowed=False)
    efficiency = read_table(folder / "effCoefficients.txt", 4, n_rows=3, header_allowed=False)
    return ReleaseData(events["C"], events["AC"], templates["brn_pe"], templates["brn_time"], templates["nin_pe"],
                       templates["nin_time"], light, efficiency)


def bin_events(events: np.ndarray, pe_edges: np.ndarray, time_edges_us: np.ndarray) -> np.ndarray:
    """Counts (n_pe, n_t) of events in half-open bins [lo, hi) of PE and time."""
    pe_edges, time_edges_us = np.asarray(pe_edges, dtype=float), np.asarray(time_edges_us, dtype=float)
    i = np.searchsorted(pe_edges, events[:, 0], side="right") - 1
    k = np.searchsorted(time_edges_us, events[:, 1], side="right") - 1
    keep = (i >= 0) & (i < pe_edges.size - 1) & (k >= 0) & (k < time_edges_us.size - 1)
    counts = np.zeros((pe_edges.size - 1, time_edges_us.size - 1))
    np.add.at(counts, (i[keep], k[keep]), 1.0)
    return counts


def electron_equivalent_keV(t_keV: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Eee (keVee) of a recoil T (keVnr): the release's polynomial a x + b x^2 + c x^3 + d x^4 in MeV."""
    x = np.asarray(t_keV, dtype=float) * 1.0e-3
    a, b, c, d = coefficients
    return 1.0e3 * x * (a + x * (b + x * (c + x * d)))


def efficiency(pe: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """The release's efficiency a/(1 + exp(-b (x - c))) + d of reconstructed PE x, floored at 0."""
    a, b, c, d = coefficients
    return np.clip(a / (1.0 + np.exp(-b * (np.asarray(pe, dtype=float) - c))) + d, 0.0, None)


def timing_efficiency(options: CsI2021Options):  # noqa: ANN201
    onset, slope = options.timing_efficiency_onset_us, options.timing_efficiency_slope_per_us
    return lambda t: np.where(t < onset, 1.0, np.exp(-slope * (np.asarray(t) - onset)))


def pe_response(t_edges_keV: np.ndarray, options: CsI2021Options, light: np.ndarray, eff: np.ndarray) -> np.ndarray:
    """R[p, j] from fine recoil bins to the PE bins: light response, Gamma PE statistics, efficiency, rebinning."""
    pe_edges = np.asarray(options.pe_edges)
    fine = np.arange(0.0, pe_edges[-1] + 0.5 * FINE_PE_STEP, FINE_PE_STEP)

    def eee(t: np.ndarray) -> np.ndarray:
        return np.clip(electron_equivalent_keV(t, light), 1e-9, None)

    response = gamma_response(t_edges_keV, lambda t: options.light_yield_pe_per_keVee * eee(t),
                              lambda t: 1.0 + options.gamma_shape_per_keVee * eee(t), fine)
    response *= efficiency(0.5 * (fine[1:] + fine[:-1]), eff)[:, None]
    return overlap_matrix(fine, pe_edges) @ response


def neutron_template(pe_shape: np.ndarray, time_events: np.ndarray, options: CsI2021Options,
                     events: float | None) -> np.ndarray:
    """(n_pe * n_t,) expected counts: release time spectrum x timing efficiency x PE-shape fraction per PE bin."""
    centres = 0.5 * (TEMPLATE_TIME_EDGES_US[1:] + TEMPLATE_TIME_EDGES_US[:-1])
    in_time = overlap_matrix(TEMPLATE_TIME_EDGES_US, np.asarray(options.time_edges_us)) @ (
        time_events * timing_efficiency(options)(centres))
    total = pe_shape.sum()
    if total <= 0:
        raise ConfigError("a neutron PE template of the release sums to zero")
    in_pe = overlap_matrix(TEMPLATE_PE_EDGES, np.asarray(options.pe_edges)) @ (pe_shape / total)
    template = np.outer(in_pe, in_time).ravel()
    if events is not None:
        template = template * (events / template.sum()) if template.sum() > 0 else template
    return template


def labels_of(options: CsI2021Options) -> list[str]:
    pe, t = options.pe_edges, options.time_edges_us
    return [f"PE {pe[p]:g}-{pe[p + 1]:g}, t {t[k]:g}-{t[k + 1]:g} us" for p in range(len(pe) - 1) for k in range(len(t) - 1)]


def build_channels(dataset, scenario, physics) -> list[Channel]:  # noqa: ANN001
    """The coincidence and anti-coincidence channels of the release (module docstring)."""
    options = parse_options(CsI2021Options, dataset)
    data = read_release(options.data_dir)
    source = release_source(dataset, scenario, "stopped-pion")
    exposure_kg_day = options.mass_kg * live_time_days(dataset, scenario, options.live_time_days)
    pe_edges, time_edges = np.asarray(options.pe_edges), np.asarray(options.time_edges_us)
    n_pe, n_t = pe_edges.size - 1, time_edges.size - 1

    recoil = recoil_kernels(dataset.name, source, "CsI", options.recoil_min_keV, 1.0e3, options.recoil_bins,
                            exposure_kg_day, physics)
    time_pdfs = stopped_pion_time_pdfs(time_edges, options.beam_mean_us, options.beam_sigma_us, timing_efficiency(options))
    time_pdf = np.array([time_pdfs["prompt"] if is_prompt(c) else time_pdfs["delayed"] for c in source.components])

    def forms(light: np.ndarray, eff: np.ndarray) -> np.ndarray:
        response = pe_response(recoil.edges_keV, options, light, eff)
        pe_forms = recoil.fold(response)
        return np.einsum("pcab,ct->ptcab", pe_forms, time_pdf).reshape(n_pe * n_t, *pe_forms.shape[1:])

    nominal = forms(data.light_response[0], data.efficiency[0])
    sm = nominal[:, :, 0, 0]
    variants = {"light-response-0": (forms(data.light_response[1], data.efficiency[0]), forms(data.light_response[2], data.efficiency[0])),
                "light-response-1": (forms(data.light_response[3], data.efficiency[0]), forms(data.light_response[4], data.efficiency[0])),
                "efficiency": (forms(data.light_response[0], data.efficiency[1]), forms(data.light_response[0], data.efficiency[2]))}
    variants = {k: v for k, v in variants.items() if k in options.shape_systematics}

    brn = neutron_template(data.brn_pe, data.brn_time, options, options.brn_events)
    nin = neutron_template(data.nin_pe, data.nin_time, options, options.nin_events)
    ac = bin_events(data.anticoincidence, pe_edges, time_edges)
    total = ac.sum()
    if total <= 0:
        raise ConfigError(f"dataset {dataset.name!r}: the anti-coincidence events hold none in the window")
    fine = np.linspace(time_edges[0], time_edges[-1], int(round((time_edges[-1] - time_edges[0]) / 1e-3)) + 1)
    mid = 0.5 * (fine[1:] + fine[:-1])
    ss_time = overlap_matrix(fine, time_edges) @ (np.diff(fine) * timing_efficiency(options)(mid))
    steady_state = np.outer(ac.sum(axis=1), ss_time / ss_time.sum()).ravel()

    ss = systematic(f"ss_{dataset.name}", "free-norm", ["steady_state"], range=tuple(options.steady_state_range))
    components = recoil.component_names
    backgrounds = {"brn": brn, "nin": nin, "steady_state": steady_state}
    background_nuisances = {}
    if options.brn_uncertainty > 0:
        background_nuisances["brn"] = (f"norm_brn_{dataset.name}", options.brn_uncertainty)
    if options.nin_uncertainty > 0:
        background_nuisances["nin"] = (f"norm_nin_{dataset.name}", options.nin_uncertainty)

    systematics = [ss]
    if options.systematics_model == "shape":
        component_nuisances = flux_nuisances(source, options.flux_nuisances)
        for kind, (up, down) in variants.items():
            name = f"{kind.replace('-', '_')}_{dataset.name}"
            for k, comp in enumerate(components):
                base = sm[:, k]
                ratio_up = np.divide(up[:, k, 0, 0], base, out=np.ones_like(base), where=base > 0)
                ratio_down = np.divide(down[:, k, 0, 0], base, out=np.ones_like(base), where=base > 0)
                systematics.append(systematic(name, "shape", [comp], up=ratio_up.tolist(), down=ratio_down.tolist()))
    else:
        widths = {c.normalization_uncertainty for c in source.components}
        if len(widths) != 1:
            raise ConfigError(f"dataset {dataset.name!r}: systematics_model = 'combined-norm' needs one flux uncertainty "
                              f"for all components of source {source.name!r}")
        width2 = next(iter(widths)) ** 2
        for up, down in variants.values():
            width2 += (0.5 * (abs(up[:, :, 0, 0].sum() / sm.sum() - 1.0) + abs(down[:, :, 0, 0].sum() / sm.sum() - 1.0))) ** 2
        width = float(np.sqrt(width2))
        component_nuisances = {c: (f"norm_{dataset.name}_signal", width) for c in components} if width > 0 else {}

    labels = labels_of(options)
    observed = bin_events(data.coincidence, pe_edges, time_edges).ravel()
    signal = Channel(dataset.name, nominal, components, component_nuisances, backgrounds, background_nuisances,
                     systematics + list(dataset.systematics), observed, [f"{dataset.name}[{x}]" for x in labels],
                     recoil.smallest_q2_MeV2)
    anti = Channel(f"{dataset.name}/AC", np.zeros((n_pe * n_t, 0) + nominal.shape[2:]), (), {}, {"steady_state": steady_state},
                   {}, [ss], ac.ravel(), [f"{dataset.name}/AC[{x}]" for x in labels])
    return [signal, anti]
