"""Dresden-II reactor germanium (reactor ON spectrum, 0.2-1.5 keVee).

Measurement: J. Colaresi et al., Phys. Rev. Lett. 129 (2022) 211802, arXiv:2202.09672. The two files
(``cevns/data/dresden-ii-2022``) come from a public third-party analysis repository
(LeireLarizgoitia/Reactor_CEnuNS, commit 2242059e) that states them to be the collaboration's data
release: **their provenance is probable, not certain** (REFERENCE.md). The model below follows that
repository's reading of them where the files say nothing (units, resolution, background model).

* Data: reactor-ON rate per 10-eV bin per day for the 2.924 kg detector (96.4 days) with errors that
  combine statistics and the signal-acceptance uncertainty. The likelihood is Poisson in *effective
  counts*: n_j = (D_j / sigma_j)^2 with scale s_j = D_j / sigma_j^2, expected s_j lambda_j (a Poisson
  with the published variance at the data; docs/data.md).
* Signal: package recoil spectrum for the scenario's reactor source (flux and fission fractions
  there) on natural Ge -> electron-equivalent energy Eee = QF(T) T with the tabulated quenching
  (iron-filter or YBe column) or the Lindhard model (``quenching = "lindhard"``, k from ``lindhard_k``,
  Lindhard's value for Ge by default; ``lindhard_k_uncertainty`` > 0 adds the shape nuisance
  ``quenching_nuisance`` = ``quenching_k_Ge``, one parameter for every germanium channel that names it)
  -> Gaussian resolution sigma^2 = sigma_noise^2 + F eta Eee
  (sigma_noise 68.5 eV, Fano 0.11, eta 2.96 eV per pair) -> 10-eV bins.
* Backgrounds (free normalisations, flat priors on 0 .. 3 times their least-squares values on the
  ON data with the SM signal): a constant, an exponential exp(-C Eee) (epithermal neutrons) whose
  slope C is fitted once to the reactor-OFF spectrum, the Ge-71 L1 electron-capture peak at
  1.297 keV with its L2 companion (1.142 keV, 0.8% of L1), and the M-shell peak at 0.158 keV
  (0.16 of L1 with a 3% Gaussian uncertainty), each Gaussian with the resolution's width.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator
from scipy import optimize, special

from ...errors import ConfigError
from ...spec import Channel
from ._common import ReleaseOptions, flux_nuisances, parse_options, release_source, systematic
from ._io import check_column, read_table, release_folder
from ...physics.quenching import lindhard_k, lindhard_quenching
from .response import gaussian_response, recoil_kernels

FOLDER = "dresden-ii-2022"
EDGES_KEVEE = np.round(np.arange(0.200, 1.5001, 0.010), 3)

#: peak energies (keV) and ratios as in the third-party analysis (its fnc_fitON), from Ge-71 electron capture
L1_KEV, L2_KEV, M_KEV = 1.297, 1.142, 0.158
L2_OVER_L1, M_OVER_L1, M_OVER_L1_UNCERTAINTY = 0.008, 0.16, 0.03


class DresdenOptions(ReleaseOptions):
    """Options of the ``dresden-ii-2022`` release (defaults: the third-party analysis's numbers)."""

    flux_nuisances: str = Field("per-flavor", pattern="^(per-flavor|common|none)$")
    energy_window_keVee: list[float] = Field(default_factory=lambda: [0.2, 1.5], min_length=2, max_length=2)
    mass_kg: float = Field(2.924, gt=0)
    quenching: str = Field("iron-filter", pattern="^(iron-filter|ybe|lindhard)$")
    #: Lindhard k (``quenching = "lindhard"``); None: Lindhard's 0.133 Z^(2/3) A^(-1/2) for natural Ge (0.157)
    lindhard_k: float | None = Field(None, gt=0)
    #: +-1 sigma of k as a shape nuisance (0: k fixed); e.g. 0.004 (Bonhomme et al., EPJC 82 (2022) 815)
    lindhard_k_uncertainty: float = Field(0.0, ge=0)
    #: name of that nuisance: germanium channels that give the same name share one parameter
    quenching_nuisance: str = Field("quenching_k_Ge", min_length=1)
    noise_sigma_keV: float = Field(0.0685, gt=0)
    fano_factor: float = Field(0.11, gt=0)
    pair_energy_keV: float = Field(2.96e-3, gt=0)
    exponential_slope_per_keV: float | None = Field(None, gt=0)
    background_range: float = Field(3.0, gt=1)
    recoil_bins: int = Field(400, ge=50, le=20000)

    @model_validator(mode="after")
    def _window(self) -> DresdenOptions:
        lo, hi = self.energy_window_keVee
        if not (lo < hi and np.any(np.isclose(EDGES_KEVEE, lo)) and np.any(np.isclose(EDGES_KEVEE, hi))):
            raise ValueError(f"energy_window_keVee {self.energy_window_keVee} must be [low, high] on the 10-eV edges 0.2 ... 1.5")
        if self.quenching != "lindhard" and (self.lindhard_k is not None or self.lindhard_k_uncertainty > 0):
            raise ValueError("lindhard_k and lindhard_k_uncertainty need quenching = 'lindhard'")
        if self.lindhard_k is not None and self.lindhard_k <= self.lindhard_k_uncertainty:
            raise ValueError("lindhard_k_uncertainty must be smaller than lindhard_k")
        return self


def germanium_z_a() -> tuple[int, float]:
    """Germanium's atomic number and mean atomic mass (periodictable): the Lindhard model's Z and A."""
    import periodictable

    return periodictable.Ge.number, periodictable.Ge.mass


def read_release(data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(spectrum table (130, 5), quenching table (n, 3)) with binning and sign checks."""
    folder = release_folder(FOLDER, data_dir)
    path = folder / "data_release.txt"
    table = read_table(path, 5, nonnegative=(1, 2, 3, 4), n_rows=EDGES_KEVEE.size - 1, header_allowed=False)
    check_column(path, table, 0, 0.5 * (EDGES_KEVEE[1:] + EDGES_KEVEE[:-1]), "bin centre (keVee)", rtol=1e-4)
    zero = np.where(table[:, 2] <= 0)[0]
    if zero.size:
        raise ConfigError(f"data file {path}, data row {zero[0] + 1}: the reactor-ON error must be > 0")
    qpath = folder / "QF_Fef_YBe.txt"
    quenching = read_table(qpath, 3, nonnegative=(0, 1, 2), header_allowed=False)
    if np.any(np.diff(quenching[:, 0]) <= 0):
        row = int(np.argmax(np.diff(quenching[:, 0]) <= 0)) + 2
        raise ConfigError(f"data file {qpath}, data row {row}: recoil energies must increase")
    return table, quenching


def resolution_keV(eee_keV: np.ndarray, options: DresdenOptions) -> np.ndarray:
    """sigma(Eee) = sqrt(sigma_noise^2 + F eta Eee) (keV)."""
    return np.sqrt(options.noise_sigma_keV**2 + options.fano_factor * options.pair_energy_keV * np.asarray(eee_keV))


def _peak(edges: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Fraction of a unit-area Gaussian in each bin."""
    return np.diff(special.ndtr((edges - centre) / sigma))


def _exponential(edges: np.ndarray, slope: float) -> np.ndarray:
    """Integral of exp(-slope E) over each bin, per 10 eV (the data's unit)."""
    return (np.exp(-slope * edges[:-1]) - np.exp(-slope * edges[1:])) / slope / 0.010


def _templates(edges: np.ndarray, slope: float, options: DresdenOptions) -> dict[str, np.ndarray]:
    """Background shapes in data units (per 10 eV per day) at unit normalisation."""
    l1 = _peak(edges, L1_KEV, float(resolution_keV(L1_KEV, options))) + L2_OVER_L1 * _peak(edges, L2_KEV, float(resolution_keV(L2_KEV, options)))
    return {"flat": np.ones(edges.size - 1), "epithermal": _exponential(edges, slope), "l1_peaks": l1,
            "m_shell": M_OVER_L1 * _peak(edges, M_KEV, options.noise_sigma_keV)}


def _least_squares(rate: np.ndarray, error: np.ndarray, edges: np.ndarray, options: DresdenOptions,
                   signal: np.ndarray | None, slope: float | None) -> tuple[float, np.ndarray]:
    """Slope and (flat, epithermal, L1) amplitudes minimising chi^2 (signal fixed, M tied to L1)."""
    def residual(p: np.ndarray) -> np.ndarray:
        t = _templates(edges, p[3] if slope is None else slope, options)
        model = p[0] * t["flat"] + p[1] * t["epithermal"] + p[2] * (t["l1_peaks"] + t["m_shell"])
        return (model + (0.0 if signal is None else signal) - rate) / error
    start = np.array([1.0, 50.0, 5.0, 4.0])
    n = 4 if slope is None else 3
    fit = optimize.least_squares(lambda p: residual(np.append(p, slope) if slope is not None else p), start[:n],
                                 bounds=(np.zeros(n), np.full(n, np.inf)))
    return (fit.x[3] if slope is None else slope), fit.x[:3]


def build_channels(dataset, scenario, physics) -> list[Channel]:  # noqa: ANN001
    """The reactor-ON channel (module docstring)."""
    options = parse_options(DresdenOptions, dataset)
    table, quenching = read_release(options.data_dir)
    source = release_source(dataset, scenario, "reactor")
    lo = int(np.argmin(abs(EDGES_KEVEE - options.energy_window_keVee[0])))
    hi = int(np.argmin(abs(EDGES_KEVEE - options.energy_window_keVee[1])))
    edges = EDGES_KEVEE[lo:hi + 1]
    rate, error = table[lo:hi, 1], table[lo:hi, 2]
    scale = rate / error**2  # effective counts per unit rate
    observed = (rate / error) ** 2

    recoil_keV = quenching[:, 0]  # the table's recoil grid (keVnr), also the range of the Lindhard model here
    z, a = germanium_z_a()
    k = options.lindhard_k or lindhard_k(z, a)

    def eee_of(model: str, k_value: float = k):  # noqa: ANN202
        """Eee(T) (keV) of a quenching model: the release's table (interpolated) or Lindhard with k_value."""
        if model == "lindhard":
            return lambda t_keV: lindhard_quenching(t_keV, z, k_value) * np.asarray(t_keV, dtype=float)
        table = recoil_keV * quenching[:, 1 if model == "iron-filter" else 2]
        return lambda t_keV: np.interp(t_keV, recoil_keV, table)

    eee = eee_of(options.quenching)
    eee_grid = eee(recoil_keV)
    # recoils whose light can reach the window (5 sigma of the noise below its low edge), up to the end-point
    t_min = float(np.interp(max(edges[0] - 5.0 * options.noise_sigma_keV, eee_grid[1]), eee_grid, recoil_keV))
    if options.lindhard_k_uncertainty > 0:  # the lowest k gives the least light: start low enough for it
        low = eee_of("lindhard", k - options.lindhard_k_uncertainty)(recoil_keV)
        t_min = min(t_min, float(np.interp(max(edges[0] - 5.0 * options.noise_sigma_keV, low[1]), low, recoil_keV)))
    recoil = recoil_kernels(dataset.name, source, "Ge", t_min, float(recoil_keV[-1]), options.recoil_bins,
                            options.mass_kg * 1.0, physics)  # per day: the data are daily rates

    def daily_forms(eee_fn) -> np.ndarray:  # noqa: ANN001
        """Quadratic forms of the counts per day per bin with the quenching Eee(T) = eee_fn(T)."""
        return recoil.fold(gaussian_response(recoil.edges_keV, eee_fn, lambda t: resolution_keV(eee_fn(t), options), edges))

    daily = daily_forms(eee)
    sm_rate = daily[:, :, 0, 0].sum(axis=1)
    forms = daily * scale[:, None, None, None]

    off_rate, off_error = table[lo:hi, 3], table[lo:hi, 4]
    slope = options.exponential_slope_per_keV
    if slope is None:
        slope, _ = _least_squares(off_rate, np.maximum(off_error, 1e-9), edges, options, None, None)
    _, amplitudes = _least_squares(rate, error, edges, options, sm_rate, slope)
    templates = _templates(edges, slope, options)
    nominal = {"flat": amplitudes[0], "epithermal": amplitudes[1], "l1_peaks": amplitudes[2], "m_shell": amplitudes[2]}
    backgrounds = {k: np.maximum(nominal[k], 1e-3 * max(amplitudes.max(), 1.0)) * templates[k] * scale for k in templates}
    r = (0.0, float(options.background_range))
    quenching_systematics = []
    if options.lindhard_k_uncertainty > 0:
        sm = daily[:, :, 0, 0]
        ratios = [np.divide(daily_forms(eee_of("lindhard", k + sign * options.lindhard_k_uncertainty))[:, :, 0, 0], sm,
                            out=np.ones_like(sm), where=sm > 0) for sign in (+1.0, -1.0)]
        quenching_systematics = [systematic(options.quenching_nuisance, "shape", [c], up=ratios[0][:, i].tolist(),
                                            down=ratios[1][:, i].tolist()) for i, c in enumerate(recoil.component_names)]
    systematics = [*quenching_systematics, systematic(f"flat_{dataset.name}", "free-norm", ["flat"], range=r),
                   systematic(f"epithermal_{dataset.name}", "free-norm", ["epithermal"], range=r),
                   systematic(f"l1_{dataset.name}", "free-norm", ["l1_peaks", "m_shell"], range=r),
                   *dataset.systematics]
    labels = [f"{dataset.name}[{a:.3f}-{b:.3f} keVee]" for a, b in zip(edges[:-1], edges[1:])]
    return [Channel(dataset.name, forms, recoil.component_names, flux_nuisances(source, options.flux_nuisances),
                    backgrounds, {"m_shell": (f"m_shell_{dataset.name}", M_OVER_L1_UNCERTAINTY)}, systematics,
                    observed, labels, recoil.smallest_q2_MeV2)]
