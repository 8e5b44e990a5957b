"""Solar neutrino source (8B, hep): tabulated spectra, total fluxes and the flavour content at the Earth.

Spectra: the unit-normalised 8B (Winter et al., Phys. Rev. C 73 (2006) 025503) and hep (Bahcall)
shapes as tabulated by C. A. J. O'Hare, Phys. Rev. Lett. 127 (2021) 251802 (``cevns/data/solar``,
MIT license, REFERENCE.md there), linearly interpolated.

Fluxes (cm^-2 s^-1, 1-sigma relative uncertainty), :data:`FLUX_MODELS`:
* ``"B16-GS98"``: standard solar model, Vinyoles et al., ApJ 835 (2017) 202, Table 6:
  8B 5.46e6 +- 12%, hep 7.98e3 +- 30%;
* ``"SNO-NC"``: the total active 8B flux measured by SNO, 5.25 +- 0.16 (stat) +0.11 -0.13 (syst) e6
  (Aharmim et al., Phys. Rev. C 88 (2013) 025501, combined analysis of all phases): 3.8% (errors in
  quadrature, the larger systematic side); hep as B16-GS98 (SNO sees no hep signal).

Flavour content: electron-neutrino survival probability of the MSW-LMA solution, adiabatic, averaged
over the oscillation phase, with the three-flavour correction (e.g. Maltoni & Smirnov, Eur. Phys. J.
A 52 (2016) 87, eqs. 3.1-3.3; PDG Review "Neutrino masses, mixing and oscillations"):

    P_ee(E) = cos^4(theta13) P2(E) + sin^4(theta13),
    P2 = 1/2 + 1/2 cos(2 theta12) cos(2 theta12_m),
    cos(2 theta12_m) = (cos 2theta12 - beta) / sqrt((cos 2theta12 - beta)^2 + sin^2 2theta12),
    beta = 2 sqrt(2) G_F n_e cos^2(theta13) E / dm2_21,

with n_e the electron density where the neutrinos are produced. The rest is split between nu_mu and
nu_tau as cos^2(theta23) : sin^2(theta23) (delta_CP and theta13 terms of that split neglected).
Approximations (docs/solar.md): one production density instead of an average over the production
region, no day-night (Earth matter) effect, adiabatic propagation (exact to < 1e-3 for LMA).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import scipy.constants as sc

from .. import units
from ..physics.flavors import Flavor
from ..spec.vocabulary import SOLAR_BRANCHES, SOLAR_FLUX_MODELS
from .base import ContinuousSpectrum, Source, SourceComponent

#: Total fluxes (cm^-2 s^-1) and relative 1-sigma uncertainties per model and branch (module docstring).
FLUX_MODELS: dict[str, dict[str, tuple[float, float]]] = {
    "B16-GS98": {"8B": (5.46e6, 0.12), "hep": (7.98e3, 0.30)},
    # SNO NC (PRC 88 (2013) 025501): sqrt(0.16^2 + 0.13^2) / 5.25 = 0.0392; the collaboration's
    # statistical model takes 0.0381 (light_wimp_data_release, statistical_model_base.yaml)
    "SNO-NC": {"8B": (5.25e6, float(np.hypot(0.16, 0.13) / 5.25)), "hep": (7.98e3, 0.30)},
}


@dataclass(frozen=True)
class OscillationParameters:
    """Three-flavour mixing for solar neutrinos.

    Defaults: NuFIT 5.0, normal ordering with the Super-Kamiokande atmospheric data (Esteban et al.,
    JHEP 09 (2020) 178, Table 1 / www.nu-fit.org v5.0): sin^2 theta12 = 0.304, sin^2 theta13 = 0.02219,
    sin^2 theta23 = 0.573, dm2_21 = 7.42e-5 eV^2.

    ``electron_density_NA_per_cm3``: electron density at production in units of Avogadro's number per
    cm^3. Default 100: the centre of the standard solar model (density 150 g cm^-3, hydrogen mass
    fraction 0.35, n_e = rho (1 + X)/2 N_A = 101 N_A cm^-3; Bahcall, Serenelli & Basu, ApJ 621 (2005)
    L85, BS05 model; 8B is made within 0.1 solar radii of the centre). docs/solar.md gives what a
    20% change does to P_ee.
    """

    sin2_theta12: float = 0.304
    sin2_theta13: float = 0.02219
    sin2_theta23: float = 0.573
    dm2_21_eV2: float = 7.42e-5
    electron_density_NA_per_cm3: float = 100.0

    def __post_init__(self) -> None:
        for name in ("sin2_theta12", "sin2_theta13", "sin2_theta23"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if not self.dm2_21_eV2 > 0 or not self.electron_density_NA_per_cm3 >= 0:
            raise ValueError("dm2_21_eV2 must be > 0 and electron_density_NA_per_cm3 >= 0")


def matter_potential_eV(electron_density_NA_per_cm3: float) -> float:
    """V_CC = sqrt(2) G_F n_e in eV for n_e in N_A cm^-3 (G_F from CODATA via :mod:`cevns.units`)."""
    n_e_per_MeV3 = electron_density_NA_per_cm3 * sc.N_A * units.HBARC_MeV_cm**3  # cm^-3 -> MeV^3
    return float(np.sqrt(2.0) * units.G_FERMI_MeV2 * n_e_per_MeV3 * 1.0e6)


def survival_probability(e_nu_MeV: np.ndarray, osc: OscillationParameters | None = None) -> np.ndarray:
    """P_ee(E) of the MSW-LMA solution, adiabatic, three-flavour corrected (module docstring)."""
    osc = osc or OscillationParameters()
    e_eV = np.asarray(e_nu_MeV, dtype=float) * 1.0e6
    c13 = 1.0 - osc.sin2_theta13
    cos2 = 1.0 - 2.0 * osc.sin2_theta12
    sin2_2 = 4.0 * osc.sin2_theta12 * (1.0 - osc.sin2_theta12)
    beta = 2.0 * matter_potential_eV(osc.electron_density_NA_per_cm3) * c13 * e_eV / osc.dm2_21_eV2
    cos2_matter = (cos2 - beta) / np.sqrt((cos2 - beta) ** 2 + sin2_2)
    p2 = 0.5 + 0.5 * cos2 * cos2_matter
    return c13**2 * p2 + osc.sin2_theta13**2


def flavour_probability(e_nu_MeV: np.ndarray, flavor: Flavor, osc: OscillationParameters | None = None) -> np.ndarray:
    """P(nu_e -> nu_flavor) at the Earth (see :func:`flavour_probabilities`)."""
    osc = osc or OscillationParameters()
    p_ee = survival_probability(e_nu_MeV, osc)
    if flavor == Flavor.NU_E:
        return p_ee
    return (1.0 - p_ee) * (osc.sin2_theta23 if flavor == Flavor.NU_TAU else 1.0 - osc.sin2_theta23)


def flavour_probabilities(e_nu_MeV: np.ndarray, osc: OscillationParameters | None = None) -> dict[Flavor, np.ndarray]:
    """P(nu_e -> nu_a) at the Earth for a = e, mu, tau (they sum to 1)."""
    osc = osc or OscillationParameters()
    p_ee = survival_probability(e_nu_MeV, osc)
    return {Flavor.NU_E: p_ee, Flavor.NU_MU: (1.0 - p_ee) * (1.0 - osc.sin2_theta23),
            Flavor.NU_TAU: (1.0 - p_ee) * osc.sin2_theta23}


@cache
def spectrum_table(branch: str) -> tuple[np.ndarray, np.ndarray]:
    """(energy MeV, unit-normalised density MeV^-1) of ``branch`` ("8B", "hep") from the package's table."""
    if branch not in SOLAR_BRANCHES:
        raise ValueError(f"solar branch must be one of {SOLAR_BRANCHES}, not {branch!r}")
    text = resources.files("cevns").joinpath("data", "solar", f"{branch}.txt").read_text()
    table = np.array([[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()])
    if table.ndim != 2 or table.shape[1] != 2 or np.any(np.diff(table[:, 0]) <= 0) or np.any(table[:, 1] < 0):
        raise ValueError(f"solar spectrum table {branch}.txt is malformed")
    return table[:, 0], table[:, 1]


#: Quadrature of a tabulated solar spectrum: segments of this many table rows, Gauss-Legendre nodes
#: per segment (the interpolated density is linear between rows; the tests check the normalisation
#: against the trapezoid sum of the table to 1e-6).
ROWS_PER_SEGMENT, NODES_PER_SEGMENT = 25, 12


def _density(branch: str, weight=None):  # noqa: ANN001, ANN202
    energy, density = spectrum_table(branch)

    def pdf(e_nu: np.ndarray) -> np.ndarray:
        value = np.interp(e_nu, energy, density, left=0.0, right=0.0)
        return value if weight is None else value * weight(e_nu)
    return pdf


def solar_spectrum(branch: str, weight=None, label: str = "") -> ContinuousSpectrum:  # noqa: ANN001
    """The branch's spectrum (optionally times ``weight(E)``, e.g. a flavour probability), normalised."""
    energy, _ = spectrum_table(branch)
    breakpoints = tuple(energy[ROWS_PER_SEGMENT:-1:ROWS_PER_SEGMENT])
    return ContinuousSpectrum(_density(branch, weight), float(energy[0]), float(energy[-1]), breakpoints,
                              label=label or branch, n_nodes=NODES_PER_SEGMENT)


def flavour_fractions(branch: str, osc: OscillationParameters | None = None) -> dict[Flavor, float]:
    """Flux-averaged fraction of each flavour at the Earth: Integral phi(E) P_ea(E) dE."""
    osc = osc or OscillationParameters()
    total = solar_spectrum(branch).integral
    return {flavor: solar_spectrum(branch, lambda e, f=flavor: flavour_probability(e, f, osc)).integral / total
            for flavor in (Flavor.NU_E, Flavor.NU_MU, Flavor.NU_TAU)}


def branch_of(component_name: str) -> str:
    """The production branch ("8B", "hep") of a solar component name such as ``"8B_nu_tau"``."""
    return component_name.split("_", 1)[0]


def solar_flux_nuisances(source: Source) -> dict[str, tuple[str, float]]:
    """Component -> (parameter ``norm_<source>_<branch>``, sigma): the flavours of one branch share its flux
    normalisation (oscillations split one flux; they are not independent fluxes)."""
    return {c.name: (f"norm_{source.name}_{branch_of(c.name)}", c.normalization_uncertainty)
            for c in source.components if c.normalization_uncertainty > 0}


def solar_source(name: str = "sun", flux_model: str = "B16-GS98", branches: tuple[str, ...] = SOLAR_BRANCHES,
                 fluxes_cm2_s: dict[str, float] | None = None, uncertainties: dict[str, float] | None = None,
                 oscillations: OscillationParameters | None = None) -> Source:
    """A solar source: for each branch, three components (nu_e, nu_mu, nu_tau), named ``<branch>_<flavour>``.

    Component spectra are the branch spectrum times the flavour probability, normalised; their fluxes
    are the branch's total flux (``flux_model`` or ``fluxes_cm2_s``) times the flux-averaged flavour
    fraction. All three components of a branch carry its relative uncertainty (one nuisance per branch,
    shared by the components: see :func:`branch_of`).
    """
    if flux_model not in FLUX_MODELS:
        raise ValueError(f"solar flux_model must be one of {SOLAR_FLUX_MODELS}, not {flux_model!r}")
    osc = oscillations or OscillationParameters()
    components = []
    for branch in branches:
        flux, sigma = FLUX_MODELS[flux_model][branch]
        flux = (fluxes_cm2_s or {}).get(branch, flux)
        sigma = (uncertainties or {}).get(branch, sigma)
        fractions = flavour_fractions(branch, osc)
        for flavor, fraction in fractions.items():
            spectrum = solar_spectrum(branch, lambda e, f=flavor: flavour_probability(e, f, osc), f"{branch} {flavor.value}")
            components.append(SourceComponent(f"{branch}_{flavor.value}", flavor, spectrum, flux * fraction, sigma))
    return Source(name, "solar", tuple(components), f"the Sun ({', '.join(branches)}; {flux_model} fluxes, MSW-LMA)")
