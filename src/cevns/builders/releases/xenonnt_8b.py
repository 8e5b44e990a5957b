"""XENONnT solar 8B CEvNS release (2026): one channel of 81 bins per science run.

Sources: E. Aprile et al. (XENON), Phys. Rev. Lett. 133 (2024) 191002, arXiv:2408.02877 (SR0 + SR1);
arXiv:2604.06002 (SR0 + SR1 + SR2); data release Zenodo 10.5281/zenodo.20576156 (CC-BY-4.0), converted
by ``scripts/convert_xenonnt_8b.py`` into ``cevns/data/xenonnt-8b-2026/templates.npz`` (REFERENCE.md).

Per science run (docs/solar.md):

* Observables: cS2 x S2-shadow quantile x S1 BDT x S2 BDT, 3 bins each, 81 bins (C order of the
  release's 3 x 3 x 3 x 3 histograms); observed counts = the release's events binned.
* Signal: the package's recoil spectrum of every source component on natural xenon, integrated over
  the 0.1-keVnr slices centred on the release's 46 mono-energetic recoil energies (0.5 ... 5.0 keVnr,
  slices 0.45-5.05 keVnr), times each slice's efficiency template, times the run's exposure: the
  response matrix R[o, j] = efficiency_j[o] on :class:`~cevns.builders.releases.response.RecoilKernels`
  quadratic forms, so every physics option applies. No efficiency below 0.45 keVnr (none released).
* Light- and charge-yield nuisances ``t_ly_<name>``, ``t_qy_<name>`` (N(0, 1), shared by the runs as
  in the collaboration's model): one histosys (pyhf code 4p) per axis from the grid's (+-1, 0) and
  (0, +-1) templates, on the signal (per component: ratio of folded signals) and on the neutron
  background. Neglected: the cross term of the two yields (the grid's (+-1, +-1) corners) and the
  grid's shape beyond +-1 sigma (code 4p extrapolates linearly); docs/solar.md gives their size.
* Backgrounds (events per tonne-year x exposure): accidental coincidences (per run), electronic
  recoils and radiogenic neutrons at the grid's nominal point. Their Gaussian normalisations and the
  signal-efficiency normalisation are those of the collaboration's statistical model for the same
  SR0/SR1 data (XENONnT/light_wimp_data_release, commit a09cd8f,
  ``light_wimp_data_release/data/statistical_model_base.yaml``, for PRL 134 (2025) 111802): AC SR0
  9.04%, AC SR1 5.76%, ER 100%, neutrons 58%, signal efficiency 25%. SR2 is not in that model: its AC
  uncertainty defaults to SR1's (an assumption, an option).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from ... import units
from ...detectors import Detector, make_target
from ...errors import ConfigError
from ...experiment import Experiment, ExperimentError
from ...sources.solar import solar_flux_nuisances
from ...spec import Channel
from ._common import ReleaseOptions, flux_nuisances, parse_options, release_source, systematic
from ._io import release_folder
from .response import RecoilKernels

FOLDER = "xenonnt-8b-2026"
RUNS = ("sr0", "sr1", "sr2")
#: live exposures (tonne-years) of the release's example notebook ``plot.ipynb``; SR0 and SR1 also in the
#: collaboration's statistical model (``livetime_sr0/1`` of statistical_model_base.yaml): SR0 + SR1 = 3.51
EXPOSURE_T_YR = {"sr0": 1.174398, "sr1": 2.342593, "sr2": 3.249665}
#: relative Gaussian uncertainties of statistical_model_base.yaml (module docstring); SR2: SR1's (assumed)
AC_UNCERTAINTY = {"sr0": 0.0904, "sr1": 0.0576, "sr2": 0.0576}
ER_UNCERTAINTY, NEUTRON_UNCERTAINTY, SIGNAL_EFFICIENCY_UNCERTAINTY = 1.0, 0.58, 0.25
#: the release's mono-energetic recoil energies (keVnr) and slice width
MONO_STEP_KEV = 0.1
#: Gauss-Legendre nodes per 0.1-keV slice (the recoil spectrum is smooth across a slice: 8 nodes agree
#: with the experiment's default 32 to 1e-9, tests/test_xenonnt.py)
SLICE_NODES = 8
N_AXIS_BINS, N_BINS = 3, 81
AXIS_NAMES = ("cS2", "S2 shadow", "S1 BDT", "S2 BDT")


class XenonNT8BOptions(ReleaseOptions):
    """Options of the ``xenonnt-8b-2026`` release (defaults: module docstring)."""

    runs: list[str] = Field(default_factory=lambda: ["sr0", "sr1"], min_length=1)
    #: "per-branch": one flux normalisation per solar branch (norm_<source>_8B, _hep); "common": one for
    #: all components (needs one uncertainty); "none": fluxes fixed (e.g. with a free 8B normalisation)
    flux_nuisances: str = Field("per-branch", pattern="^(per-branch|common|none)$")
    exposures_t_yr: dict[str, float] = Field(default_factory=dict)
    ac_uncertainty: dict[str, float] = Field(default_factory=dict)
    er_uncertainty: float = Field(ER_UNCERTAINTY, ge=0)
    neutron_uncertainty: float = Field(NEUTRON_UNCERTAINTY, ge=0)
    signal_efficiency_uncertainty: float = Field(SIGNAL_EFFICIENCY_UNCERTAINTY, ge=0)
    #: "per-axis": histosys in t_ly and t_qy from the grid's +-1 sigma templates; "none": nominal yields
    yield_nuisances: str = Field("per-axis", pattern="^(per-axis|none)$")

    @model_validator(mode="after")
    def _runs(self) -> XenonNT8BOptions:
        for field, keys in (("runs", self.runs), ("exposures_t_yr", self.exposures_t_yr),
                            ("ac_uncertainty", self.ac_uncertainty)):
            unknown = sorted(set(keys) - set(RUNS))
            if unknown:
                raise ValueError(f"{field}: unknown science run(s) {unknown}; runs: {', '.join(RUNS)}")
        if len(set(self.runs)) != len(self.runs):
            raise ValueError(f"runs {self.runs} repeat a run")
        if any(v <= 0 for v in self.exposures_t_yr.values()) or any(v < 0 for v in self.ac_uncertainty.values()):
            raise ValueError("exposures_t_yr must be > 0 and ac_uncertainty >= 0")
        return self


@dataclass(frozen=True)
class RunData:
    """One science run of the package's copy (``templates.npz``; scripts/convert_xenonnt_8b.py)."""

    edges: tuple[np.ndarray, ...]   # 4 x (4,) bin edges
    mono: np.ndarray                # (46, 7, 7, 81) efficiency per mono-energetic recoil and yield grid point
    neutron: np.ndarray             # (7, 7, 81) events per tonne-year
    ac: np.ndarray                  # (81,) events per tonne-year
    er: np.ndarray                  # (81,)
    events: np.ndarray              # (n, 4)


@dataclass(frozen=True)
class ReleaseData:
    mono_keV: np.ndarray            # (46,)
    grid_sigma: np.ndarray          # (7,)
    runs: dict[str, RunData]

    def grid_index(self, sigma: float) -> int:
        return int(np.argmin(np.abs(self.grid_sigma - sigma)))


@cache
def _read_cached(path: str) -> ReleaseData:
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"data file {path} cannot be read as npz ({type(err).__name__}: {err})") from None
    try:
        mono_keV, grid = np.asarray(arrays["mono_keV"], float), np.asarray(arrays["grid_sigma"], float)
        runs = {}
        for run in RUNS:
            data = RunData(tuple(np.asarray(arrays[f"{run}_edges_{k}"], float) for k in range(4)),
                           np.asarray(arrays[f"{run}_mono"], float), np.asarray(arrays[f"{run}_rg"], float),
                           np.asarray(arrays[f"{run}_ac"], float), np.asarray(arrays[f"{run}_er"], float),
                           np.asarray(arrays[f"{run}_events"], float))
            shapes = {"mono": (mono_keV.size, grid.size, grid.size, N_BINS), "neutron": (grid.size, grid.size, N_BINS),
                      "ac": (N_BINS,), "er": (N_BINS,)}
            for key, shape in shapes.items():
                value = getattr(data, key)
                if value.shape != shape or not np.all(np.isfinite(value)) or np.any(value < 0):
                    raise ConfigError(f"data file {path}: {run}_{key} is not a finite non-negative array of shape {shape}")
            if any(e.shape != (N_AXIS_BINS + 1,) or np.any(np.diff(e) <= 0) for e in data.edges):
                raise ConfigError(f"data file {path}: {run} bin edges must be 4 increasing values per axis")
            if data.events.ndim != 2 or data.events.shape[1] != 4 or not np.all(np.isfinite(data.events)):
                raise ConfigError(f"data file {path}: {run}_events must be finite rows of 4 observables")
            runs[run] = data
    except KeyError as err:
        raise ConfigError(f"data file {path} lacks the array {err.args[0]!r} (truncated or not this release)") from None
    if not np.allclose(np.diff(mono_keV), MONO_STEP_KEV) or grid.size < 3 or not np.any(np.isclose(grid, 0.0)):
        raise ConfigError(f"data file {path}: mono_keV must step by {MONO_STEP_KEV} keV and grid_sigma hold 0, +-1")
    return ReleaseData(mono_keV, grid, runs)


def read_release(data_dir: str | None = None) -> ReleaseData:
    """The package's copy of the release (or ``templates.npz`` in ``data_dir``), checked."""
    return _read_cached(str(Path(release_folder(FOLDER, data_dir)) / "templates.npz"))


def bin_events(events: np.ndarray, edges: tuple[np.ndarray, ...]) -> np.ndarray:
    """Counts (81,) of events in the 3 x 3 x 3 x 3 bins (C order), half-open [lo, hi), last edge included."""
    counts, _ = np.histogramdd(events, bins=list(edges))
    return counts.ravel()


def slice_kernels(name: str, source, mono_keV: np.ndarray, exposure_kg_day: float, physics,  # noqa: ANN001
                  recoil_nodes: int = SLICE_NODES) -> RecoilKernels:
    """Recoil-level quadratic forms in the 0.1-keVnr slices centred on ``mono_keV`` (slices above every
    component's kinematic end-point on every isotope are zero). The one integration is
    :meth:`cevns.experiment.Experiment.kernels` (unit efficiency)."""
    edges = np.append(mono_keV - 0.5 * MONO_STEP_KEV, mono_keV[-1] + 0.5 * MONO_STEP_KEV)
    target = make_target("Xe")
    try:
        detector = Detector(target, float(edges[0]), float(edges[-1]), edges.size - 1, "linear")
        experiment = Experiment(name, source, detector, exposure_kg_day, physics, recoil_nodes)
        with np.errstate(over="ignore", invalid="ignore"):
            kernels = experiment.kernels()
    except (ExperimentError, ValueError) as err:
        raise ConfigError(f"dataset {name!r}: {err}") from None
    if not np.allclose(detector.bin_edges_keV, edges) or not np.all(np.isfinite(kernels.quadratic_forms)):
        raise ConfigError(f"dataset {name!r}: recoil slices not aligned or expected counts not finite")
    return RecoilKernels(detector.bin_edges_keV, kernels.quadratic_forms, tuple(kernels.component_names),
                         target.smallest_q2_MeV2(float(edges[0])))


def _ratio(varied: np.ndarray, nominal: np.ndarray) -> list[float]:
    return np.divide(varied, nominal, out=np.ones_like(nominal), where=nominal > 0).tolist()


def bin_labels(run: str, edges: tuple[np.ndarray, ...]) -> list[str]:
    index = np.indices((N_AXIS_BINS,) * 4).reshape(4, -1).T
    return [f"{run} " + ", ".join(f"{AXIS_NAMES[k]} {edges[k][i]:.4g}-{edges[k][i + 1]:.4g}" for k, i in enumerate(row))
            for row in index]


def run_channel(dataset, source, options: XenonNT8BOptions, data: ReleaseData, run: str,  # noqa: ANN001
                per_tonne_year: RecoilKernels) -> Channel:
    """The channel ``<name>/<run>`` (module docstring); ``per_tonne_year``: :func:`slice_kernels` for 1 t yr."""
    run_data = data.runs[run]
    exposure_t_yr = options.exposures_t_yr.get(run, EXPOSURE_T_YR[run])
    recoil = RecoilKernels(per_tonne_year.edges_keV, per_tonne_year.quadratic_forms * exposure_t_yr,
                           per_tonne_year.component_names, per_tonne_year.smallest_q2_MeV2)
    zero, plus, minus = data.grid_index(0.0), data.grid_index(1.0), data.grid_index(-1.0)
    nominal = recoil.fold(run_data.mono[:, zero, zero, :].T)
    components = recoil.component_names
    backgrounds = {"ac": run_data.ac * exposure_t_yr, "er": run_data.er * exposure_t_yr,
                   "neutron": run_data.neutron[zero, zero] * exposure_t_yr}
    sigmas = {"ac": (f"norm_ac_{run}_{dataset.name}", options.ac_uncertainty.get(run, AC_UNCERTAINTY[run])),
              "er": (f"norm_er_{dataset.name}", options.er_uncertainty),
              "neutron": (f"norm_neutron_{dataset.name}", options.neutron_uncertainty)}
    background_nuisances = {k: v for k, v in sigmas.items() if v[1] > 0}

    systematics = []
    if options.signal_efficiency_uncertainty > 0:
        systematics.append(systematic(f"signal_efficiency_{dataset.name}", "norm", ["signal"],
                                      uncertainty=options.signal_efficiency_uncertainty))
    if options.yield_nuisances == "per-axis":
        sm = nominal[:, :, 0, 0]
        neutron = run_data.neutron[zero, zero]
        for axis, (up_index, down_index) in (("t_ly", ((plus, zero), (minus, zero))), ("t_qy", ((zero, plus), (zero, minus)))):
            name = f"{axis}_{dataset.name}"
            up = recoil.fold(run_data.mono[:, up_index[0], up_index[1], :].T)[:, :, 0, 0]
            down = recoil.fold(run_data.mono[:, down_index[0], down_index[1], :].T)[:, :, 0, 0]
            for k, comp in enumerate(components):
                systematics.append(systematic(name, "shape", [comp], up=_ratio(up[:, k], sm[:, k]),
                                              down=_ratio(down[:, k], sm[:, k])))
            systematics.append(systematic(name, "shape", ["neutron"], up=_ratio(run_data.neutron[up_index], neutron),
                                          down=_ratio(run_data.neutron[down_index], neutron)))
    if options.flux_nuisances == "per-branch":
        component_nuisances = solar_flux_nuisances(source)
    else:
        component_nuisances = flux_nuisances(source, options.flux_nuisances)
    channel = f"{dataset.name}/{run}"
    return Channel(channel, nominal, components, component_nuisances, backgrounds, background_nuisances,
                   systematics + list(dataset.systematics), bin_events(run_data.events, run_data.edges),
                   [f"{dataset.name}[{x}]" for x in bin_labels(run, run_data.edges)], recoil.smallest_q2_MeV2)


def build_channels(dataset, scenario, physics) -> list[Channel]:  # noqa: ANN001
    """One channel per science run of ``options.runs`` (module docstring)."""
    options = parse_options(XenonNT8BOptions, dataset)
    data = read_release(options.data_dir)
    source = release_source(dataset, scenario, "solar")
    tonne_year_kg_day = units.tonne * units.year / units.day
    per_tonne_year = slice_kernels(dataset.name, source, data.mono_keV, tonne_year_kg_day, physics)
    return [run_channel(dataset, source, options, data, run, per_tonne_year) for run in options.runs]
