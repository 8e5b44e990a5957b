"""COHERENT 2017 CsI[Na]: photoelectrons x arrival time, the collaboration's data release.

Sources: D. Akimov et al. (COHERENT), Science 357 (2017) 1123, arXiv:1708.01294; data release
arXiv:1804.09459 (numbers in ``cevns/data/coherent-2017/REFERENCE.md``).

Channels (docs/data.md, "COHERENT CsI 2017"):

* ``<name>``: beam-on coincidence window, 2-PE x 0.5-us bins inside ``pe_window`` x
  ``time_window_us``. Signal per flavor component: recoil spectrum (package physics) -> photoelectrons
  PE = QF LY T (constant quenching; optional Poisson photoelectron statistics) in 1-PE bins ->
  acceptance at each 1-PE bin centre (the release's recipe) -> 2-PE bins -> arrival-time PDF of
  prompt (nu_mu) or delayed (nu_e, nubar_mu) neutrinos from the release. Backgrounds: prompt beam
  neutrons (release PE spectrum per GWhr x exposure x acceptance x neutron time PDF, 25%
  normalisation) and the steady-state background.
* ``<name>/AC``: beam-on anti-coincidence window (same length, same bins): the in-situ measurement of
  the steady-state background, a channel of its own with its Poisson statistics. Its template (the
  anti-coincidence counts' PE projection x time projection, normalised to their total in the window)
  enters both channels scaled by one free normalisation ``ss_<name>``.

Systematics rebuilt from the physics: the quenching factor (0.0878 +- 0.0166), by default as a
log-normal normalisation of the signal (its SM count change in the window; ``quenching_treatment =
"shape"`` for +-1 sigma templates), and the acceptance curve (a, k, x0 at their +-1 sigma ends
together) as a shape (pyhf code 4p) on the signal and the prompt neutrons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from ...errors import ConfigError
from ...spec import Channel
from ._common import (ReleaseOptions, flux_nuisances, is_prompt, live_time_days, parse_options, release_source,
                      systematic)
from ._io import check_column, grid_rows, read_table, release_folder
from .response import deterministic_response, poisson_response, rebin_matrix, recoil_kernels

FOLDER = "coherent-2017"
#: steady-state samples of the release: option name -> file (beam-on AC is also the AC channel's data)
STEADY_STATE_FILES = {"ac-on": "data_anticoincidence_beamOn.txt", "c-off": "data_coincidence_beamOff.txt",
                      "ac-off": "data_anticoincidence_beamOff.txt"}
DESCRIPTION = "COHERENT 2017 CsI[Na] (arXiv:1708.01294, release arXiv:1804.09459): PE x arrival time, 134 +- 22 fitted"

#: the release's binning: 25 bins of 2 PE (0-50) x 24 bins of 0.5 us (0-12 us), PE index slowest
PE_EDGES = np.arange(0.0, 51.0, 2.0)
TIME_EDGES_US = np.arange(0.0, 12.01, 0.5)
#: predictions are made in 1-PE bins (the acceptance is evaluated at their centres, release note)
FINE_PE_EDGES = np.arange(0.0, 51.0, 1.0)


class Coherent2017Options(ReleaseOptions):
    """Options of the ``coherent-csi-2017`` release (defaults: the release's numbers, REFERENCE.md)."""

    pe_window: list[float] = Field(default_factory=lambda: [6.0, 30.0], min_length=2, max_length=2)
    time_window_us: list[float] = Field(default_factory=lambda: [0.0, 12.0], min_length=2, max_length=2)
    mass_kg: float = Field(14.57, gt=0)  # CsI[Na] mass, Akimov et al. 2017
    live_time_days: float | None = Field(None, gt=0)
    beam_exposure_GWhr: float = Field(7.47594, gt=0)  # release: exposure of the released data
    quenching_factor: float = Field(0.0878, gt=0)  # release: mean over 5-30 keVnr
    quenching_factor_uncertainty: float = Field(0.0166, ge=0)
    light_yield_pe_per_keVee: float = Field(13.348, gt=0)
    acceptance: list[float] = Field(default_factory=lambda: [0.6655, 0.4942, 10.8507], min_length=3, max_length=3)
    acceptance_up: list[float] = Field(default_factory=lambda: [0.6655 + 0.0212, 0.4942 + 0.0335, 10.8507 - 0.3995],
                                       min_length=3, max_length=3)
    acceptance_down: list[float] = Field(default_factory=lambda: [0.6655 - 0.0384, 0.4942 - 0.0131, 10.8507 + 0.1838],
                                         min_length=3, max_length=3)
    resolution: str = Field("none", pattern="^(none|poisson)$")
    prompt_neutron_uncertainty: float = Field(0.25, ge=0)
    steady_state_range: list[float] = Field(default_factory=lambda: [0.5, 1.5], min_length=2, max_length=2)
    shape_systematics: list[str] = Field(default_factory=lambda: ["quenching", "acceptance"])
    #: the quenching-factor uncertainty as a log-normal normalisation of the signal ("norm", its
    #: change of the SM count in the window) or as +-1 sigma shape templates ("shape": the prompt
    #: line's end-point moves, so bin ratios reach 0 and 7, and code-4p's linear extrapolation
    #: then turns negative far from the data; docs/data.md)
    quenching_treatment: str = Field("norm", pattern="^(norm|shape)$")
    #: "combined-norm": one Gaussian normalisation per sample (flux (+) quenching (+) acceptance on the
    #: signal; the model stays linear in its nuisances, so the Laplace marginal is exact Newton and
    #: fast); "separate": flux shared by source name, quenching log-normal or shape, acceptance shape
    systematics_model: str = Field("combined-norm", pattern="^(combined-norm|separate)$")
    recoil_bins: int = Field(500, ge=50, le=20000)
    #: the steady-state samples whose (PE, time) counts make the template's shape, summed: the beam-on
    #: anti-coincidence window ("ac-on"), the beam-off coincidence and anti-coincidence windows ("c-off",
    #: "ac-off"; recorded with the same trigger timing). Its normalisation is the AC channel's either way.
    steady_state_samples: list[str] = Field(default_factory=lambda: ["ac-on"], min_length=1)
    #: time shape of the steady-state template: the samples' time projection ("projection") or uniform
    #: in time ("flat"; the data contradict it: the anti-coincidence rate falls by half over the 12 us)
    steady_state_time: str = Field("projection", pattern="^(projection|flat)$")

    @model_validator(mode="after")
    def _windows(self) -> Coherent2017Options:
        lo, hi = self.pe_window
        if not (lo < hi and np.any(np.isclose(PE_EDGES, lo)) and np.any(np.isclose(PE_EDGES, hi))):
            raise ValueError(f"pe_window {self.pe_window} must be [low, high] on the release's 2-PE edges 0, 2, ..., 50")
        lo, hi = self.time_window_us
        if not (lo < hi and np.any(np.isclose(TIME_EDGES_US, lo)) and np.any(np.isclose(TIME_EDGES_US, hi))):
            raise ValueError(f"time_window_us {self.time_window_us} must be [low, high] on the release's 0.5-us edges 0 ... 12")
        unknown = sorted(set(self.steady_state_samples) - set(STEADY_STATE_FILES))
        if unknown:
            raise ValueError(f"steady_state_samples: unknown {unknown}; choose from {', '.join(STEADY_STATE_FILES)}")
        unknown = sorted(set(self.shape_systematics) - {"quenching", "acceptance"})
        if unknown:
            raise ValueError(f"shape_systematics: unknown {unknown}; choose from 'quenching', 'acceptance'")
        if not self.steady_state_range[0] < self.steady_state_range[1]:
            raise ValueError("steady_state_range must be [low, high] with low < high")
        return self


def acceptance(pe: np.ndarray, a: float, k: float, x0: float) -> np.ndarray:
    """Release acceptance a / (1 + exp(-k (x - x0))) H(x - 5), H = 0 below 5 PE, 1/2 in [5, 6), 1 above."""
    pe = np.asarray(pe, dtype=float)
    value = a / (1.0 + np.exp(-k * (pe - x0)))
    step = np.where(pe < 5.0, 0.0, np.where(pe < 6.0, 0.5, 1.0))
    return value * step


@dataclass(frozen=True)
class ReleaseData:
    """The release's tables on its (PE, time) grid: arrays (25, 24) of counts and (24,) time PDFs."""

    coincidence: np.ndarray
    anticoincidence: np.ndarray
    steady_state_samples: dict[str, np.ndarray]  # STEADY_STATE_FILES keys -> (25, 24) counts
    time_prompt: np.ndarray
    time_delayed: np.ndarray
    time_neutrons: np.ndarray
    neutron_pe_per_GWhr: np.ndarray  # (50,) 1-PE bins


def read_release(data_dir: str | None = None) -> ReleaseData:
    """Read and check the release files (binning, counts >= 0, finite numbers)."""
    folder = release_folder(FOLDER, data_dir)
    pe_c, t_c = grid_rows(0.5 * (PE_EDGES[1:] + PE_EDGES[:-1]), 0.5 * (TIME_EDGES_US[1:] + TIME_EDGES_US[:-1]))
    grids = {}
    files = {"coincidence": "data_coincidence_beamOn.txt", **STEADY_STATE_FILES}
    for key, file in files.items():
        path = folder / file
        table = read_table(path, 3, nonnegative=(2,), n_rows=pe_c.size)
        check_column(path, table, 0, pe_c, "PE bin centre")
        check_column(path, table, 1, t_c, "time bin centre (us)")
        grids[key] = table[:, 2].reshape(PE_EDGES.size - 1, TIME_EDGES_US.size - 1)
    pdfs = {}
    for key, file in (("prompt", "arrivalTimePDF_promptNeutrinos.txt"), ("delayed", "arrivalTimePDF_delayedNeutrinos.txt"),
                      ("neutrons", "arrivalTimePDF_promptNeutrons.txt")):
        path = folder / file
        table = read_table(path, 2, nonnegative=(1,), n_rows=TIME_EDGES_US.size - 1)
        check_column(path, table, 0, 0.5 * (TIME_EDGES_US[1:] + TIME_EDGES_US[:-1]), "time bin centre (us)")
        pdfs[key] = table[:, 1]
    path = folder / "promptPDF.txt"
    table = read_table(path, 2, nonnegative=(1,), n_rows=FINE_PE_EDGES.size - 1)
    check_column(path, table, 0, 0.5 * (FINE_PE_EDGES[1:] + FINE_PE_EDGES[:-1]), "PE bin centre")
    return ReleaseData(grids["coincidence"], grids["ac-on"], {k: grids[k] for k in STEADY_STATE_FILES}, pdfs["prompt"], pdfs["delayed"],
                       pdfs["neutrons"], table[:, 1])


def _window(options: Coherent2017Options) -> tuple[slice, slice]:
    pe = slice(int(np.argmin(abs(PE_EDGES - options.pe_window[0]))), int(np.argmin(abs(PE_EDGES - options.pe_window[1]))))
    t = slice(int(np.argmin(abs(TIME_EDGES_US - options.time_window_us[0]))),
              int(np.argmin(abs(TIME_EDGES_US - options.time_window_us[1]))))
    return pe, t


def pe_response(t_edges_keV: np.ndarray, options: Coherent2017Options, quenching_factor: float,
                acceptance_parameters: list[float]) -> np.ndarray:
    """R[p, j] from fine recoil bins to the release's 2-PE bins: light, (statistics), 1-PE acceptance, rebinning."""
    pe_per_keV = quenching_factor * options.light_yield_pe_per_keVee
    if options.resolution == "poisson":
        fine = poisson_response(t_edges_keV, lambda t: pe_per_keV * t, FINE_PE_EDGES)
    else:
        fine = deterministic_response(t_edges_keV, lambda t: pe_per_keV * t, FINE_PE_EDGES)
    centres = 0.5 * (FINE_PE_EDGES[1:] + FINE_PE_EDGES[:-1])
    fine = fine * acceptance(centres, *acceptance_parameters)[:, None]
    return rebin_matrix(FINE_PE_EDGES, PE_EDGES) @ fine


def labels_of(options: Coherent2017Options) -> list[str]:
    pe_win, t_win = _window(options)
    pe = PE_EDGES[pe_win.start:pe_win.stop + 1]
    t = TIME_EDGES_US[t_win.start:t_win.stop + 1]
    return [f"PE {pe[p]:g}-{pe[p + 1]:g}, t {t[k]:g}-{t[k + 1]:g} us" for p in range(pe.size - 1) for k in range(t.size - 1)]


def _relative_change(varied: np.ndarray, nominal: np.ndarray) -> float:
    return float(abs(varied.sum() / nominal.sum() - 1.0))


def _combined_channels(dataset, options, source, data, recoil, forms, neutrons, nominal, prompt_neutrons,  # noqa: ANN001
                       steady_state, ac, labels) -> list[Channel]:
    """Channels with one Gaussian normalisation per sample: flux (+) quenching (+) acceptance on the signal,
    25% (+) acceptance on the prompt neutrons (each the change of the window's SM count; in quadrature)."""
    sm = nominal[:, :, 0, 0]
    qf, dqf = options.quenching_factor, options.quenching_factor_uncertainty
    qf_width = 0.5 * (_relative_change(forms(qf + dqf, options.acceptance)[:, :, 0, 0], sm)
                      + _relative_change(forms(qf - dqf, options.acceptance)[:, :, 0, 0], sm))
    acc_width = 0.5 * (_relative_change(forms(qf, options.acceptance_up)[:, :, 0, 0], sm)
                       + _relative_change(forms(qf, options.acceptance_down)[:, :, 0, 0], sm))
    acc_neutrons = 0.5 * (_relative_change(neutrons(options.acceptance_up), prompt_neutrons)
                          + _relative_change(neutrons(options.acceptance_down), prompt_neutrons))
    widths = {c.name: c.normalization_uncertainty for c in source.components}
    if len(set(widths.values())) != 1:
        raise ConfigError(f"dataset {dataset.name!r}: systematics_model = 'combined-norm' needs one flux uncertainty "
                          f"for all components of source {source.name!r}")
    flux = next(iter(widths.values()))
    shapes = set(options.shape_systematics)
    signal_width = float(np.sqrt(flux**2 + (qf_width**2 if "quenching" in shapes else 0.0)
                                 + (acc_width**2 if "acceptance" in shapes else 0.0)))
    neutron_width = float(np.sqrt(options.prompt_neutron_uncertainty**2 + (acc_neutrons**2 if "acceptance" in shapes else 0.0)))
    ss = systematic(f"ss_{dataset.name}", "free-norm", ["steady_state"], range=tuple(options.steady_state_range))
    component_nuisances = {c: (f"norm_{dataset.name}_signal", signal_width) for c in recoil.component_names} if signal_width > 0 else {}
    background_nuisances = {"prompt_neutrons": (f"norm_brn_{dataset.name}", neutron_width)} if neutron_width > 0 else {}
    n_bins = nominal.shape[0]
    signal = Channel(dataset.name, nominal, recoil.component_names, component_nuisances,
                     {"prompt_neutrons": prompt_neutrons, "steady_state": steady_state}, background_nuisances,
                     [ss, *dataset.systematics], data.coincidence[_window(options)].ravel(),
                     [f"{dataset.name}[{x}]" for x in labels], recoil.smallest_q2_MeV2)
    anti = Channel(f"{dataset.name}/AC", np.zeros((n_bins, 0) + nominal.shape[2:]), (), {}, {"steady_state": steady_state},
                   {}, [ss], ac.ravel(), [f"{dataset.name}/AC[{x}]" for x in labels])
    return [signal, anti]


def build_channels(dataset, scenario, physics) -> list[Channel]:  # noqa: ANN001
    """The coincidence and anti-coincidence channels of the release (module docstring)."""
    options = parse_options(Coherent2017Options, dataset)
    data = read_release(options.data_dir)
    source = release_source(dataset, scenario, "stopped-pion")
    exposure_kg_day = options.mass_kg * live_time_days(dataset, scenario, options.live_time_days)
    pe_win, t_win = _window(options)

    # recoil range: every recoil whose light can reach the window (Poisson tails included)
    lowest_qf = options.quenching_factor - options.quenching_factor_uncertainty
    pe_per_keV_min = max(lowest_qf, 0.2 * options.quenching_factor) * options.light_yield_pe_per_keVee
    t_max = (PE_EDGES[pe_win.stop] + 10.0 * np.sqrt(PE_EDGES[pe_win.stop])) / pe_per_keV_min
    t_min = 0.5 / ((options.quenching_factor + options.quenching_factor_uncertainty) * options.light_yield_pe_per_keVee)
    recoil = recoil_kernels(dataset.name, source, "CsI", t_min, t_max, options.recoil_bins, exposure_kg_day, physics)

    time_pdf = np.array([data.time_prompt if is_prompt(c) else data.time_delayed for c in source.components])[:, t_win]
    n_pe, n_t = pe_win.stop - pe_win.start, t_win.stop - t_win.start

    def forms(quenching_factor: float, acceptance_parameters: list[float]) -> np.ndarray:
        response = pe_response(recoil.edges_keV, options, quenching_factor, acceptance_parameters)[pe_win]
        pe_forms = recoil.fold(response)
        return np.einsum("pcab,ct->ptcab", pe_forms, time_pdf).reshape(n_pe * n_t, *pe_forms.shape[1:])

    nominal = forms(options.quenching_factor, options.acceptance)
    components = recoil.component_names

    # prompt beam neutrons: release spectrum per GWhr x exposure x acceptance (1-PE), x neutron time PDF
    def neutrons(acceptance_parameters: list[float]) -> np.ndarray:
        centres = 0.5 * (FINE_PE_EDGES[1:] + FINE_PE_EDGES[:-1])
        spectrum = rebin_matrix(FINE_PE_EDGES, PE_EDGES) @ (
            data.neutron_pe_per_GWhr * options.beam_exposure_GWhr * acceptance(centres, *acceptance_parameters))
        return np.outer(spectrum[pe_win], data.time_neutrons[t_win]).ravel()

    prompt_neutrons = neutrons(options.acceptance)

    # steady state: factorised template (PE projection x time projection of the chosen samples), normalised to
    # the beam-on anti-coincidence count in the window
    ac = data.anticoincidence[pe_win, t_win]
    samples = sum(data.steady_state_samples[k][pe_win, t_win] for k in options.steady_state_samples)
    total = ac.sum()
    if total <= 0 or samples.sum() <= 0:
        raise ConfigError(f"dataset {dataset.name!r}: the steady-state samples hold no events in the window")
    time_shape = (samples.sum(axis=0) / samples.sum() if options.steady_state_time == "projection"
                  else np.full(ac.shape[1], 1.0 / ac.shape[1]))
    steady_state = np.outer(samples.sum(axis=1) / samples.sum() * total, time_shape).ravel()

    if options.systematics_model == "combined-norm":
        return _combined_channels(dataset, options, source, data, recoil, forms, neutrons, nominal, prompt_neutrons,
                                  steady_state, ac, labels_of(options))
    ss_name = f"ss_{dataset.name}"
    ss = systematic(ss_name, "free-norm", ["steady_state"], range=tuple(options.steady_state_range))
    systematics = [ss]
    nominal_sm = np.einsum("bcpq->bc", nominal[:, :, :1, :1])
    for kind in options.shape_systematics:
        if kind == "quenching" and options.quenching_factor_uncertainty > 0:
            qf, dqf = options.quenching_factor, options.quenching_factor_uncertainty
            up, down = forms(qf + dqf, options.acceptance), forms(qf - dqf, options.acceptance)
            if options.quenching_treatment == "norm":
                # the change of the SM signal in the window, as one log-normal normalisation
                total = nominal_sm.sum()
                width = 0.5 * (abs(up[:, :, 0, 0].sum() / total - 1.0) + abs(1.0 - down[:, :, 0, 0].sum() / total))
                systematics.append(systematic(f"{kind}_{dataset.name}", "lognorm", ["signal"], uncertainty=float(width)))
                continue
            pairs = {c: (up[:, k, 0, 0], down[:, k, 0, 0]) for k, c in enumerate(components)}
        elif kind == "acceptance":
            up, down = forms(options.quenching_factor, options.acceptance_up), forms(options.quenching_factor, options.acceptance_down)
            pairs = {c: (up[:, k, 0, 0], down[:, k, 0, 0]) for k, c in enumerate(components)}
            pairs["prompt_neutrons"] = (neutrons(options.acceptance_up), neutrons(options.acceptance_down))
        else:
            continue
        for sample, (hi, lo) in pairs.items():
            base = prompt_neutrons if sample == "prompt_neutrons" else nominal_sm[:, components.index(sample)]
            ratio_up = np.divide(hi, base, out=np.ones_like(base), where=base > 0)
            ratio_down = np.divide(lo, base, out=np.ones_like(base), where=base > 0)
            systematics.append(systematic(f"{kind}_{dataset.name}", "shape", [sample],
                                          up=ratio_up.tolist(), down=ratio_down.tolist()))

    labels = labels_of(options)
    backgrounds = {"prompt_neutrons": prompt_neutrons, "steady_state": steady_state}
    background_nuisances = {}
    if options.prompt_neutron_uncertainty > 0:
        background_nuisances["prompt_neutrons"] = (f"norm_brn_{dataset.name}", options.prompt_neutron_uncertainty)
    signal = Channel(dataset.name, nominal, components, flux_nuisances(source, options.flux_nuisances), backgrounds,
                     background_nuisances, systematics + list(dataset.systematics),
                     data.coincidence[pe_win, t_win].ravel(), [f"{dataset.name}[{x}]" for x in labels],
                     recoil.smallest_q2_MeV2)
    anti = Channel(f"{dataset.name}/AC", np.zeros((n_pe * n_t, 0) + nominal.shape[2:]), (), {},
                   {"steady_state": steady_state}, {}, [ss], ac.ravel(), [f"{dataset.name}/AC[{x}]" for x in labels])
    return [signal, anti]
