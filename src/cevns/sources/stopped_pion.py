"""Stopped-pion (pi+ decay at rest) neutrino source, e.g. the SNS (Dent et al., arXiv:1711.03521).

pi+ -> mu+ nu_mu gives a prompt nu_mu line at E = (m_pi^2 - m_mu^2)/(2 m_pi);
mu+ -> e+ nu_e nubar_mu at rest gives the Michel spectra (massless electron,
x = E/m_mu, 0 <= x <= 1/2):

    nu_e:     dN/dE = (192/m_mu) x^2 (1/2 - x)
    nubar_mu: dN/dE = (64/m_mu)  x^2 (3/4 - x)

(e.g. Louis, Los Alamos Science 25 (1997) 94; the paper arXiv:1711.03521,
section III). Masses from the PDG tables via ``particle``.
"""

from __future__ import annotations

import numpy as np

from .. import units
from ..physics.flavors import Flavor
from .base import ContinuousSpectrum, LineSpectrum, Source, SourceComponent, isotropic_flux_cm2_s

# Normalization constants of the Michel spectra above (dimensionless, exact).
NU_E_MICHEL_NORM = 192.0
NUBAR_MU_MICHEL_NORM = 64.0


def prompt_line_energy_MeV() -> float:
    """Energy of the prompt nu_mu from pi+ decay at rest: (m_pi^2 - m_mu^2)/(2 m_pi), MeV."""
    m_pi, m_mu = units.pion_mass_MeV(), units.muon_mass_MeV()
    return (m_pi**2 - m_mu**2) / (2.0 * m_pi)


def nu_e_density(e_nu: np.ndarray) -> np.ndarray:
    """Delayed nu_e spectrum (MeV^-1), normalized on [0, m_mu/2]."""
    m_mu = units.muon_mass_MeV()
    x = np.asarray(e_nu, dtype=float) / m_mu
    return np.where(x <= 0.5, NU_E_MICHEL_NORM / m_mu * x**2 * (0.5 - x), 0.0)


def nubar_mu_density(e_nu: np.ndarray) -> np.ndarray:
    """Delayed nubar_mu spectrum (MeV^-1), normalized on [0, m_mu/2]."""
    m_mu = units.muon_mass_MeV()
    x = np.asarray(e_nu, dtype=float) / m_mu
    return np.where(x <= 0.5, NUBAR_MU_MICHEL_NORM / m_mu * x**2 * (0.75 - x), 0.0)


def flux_per_flavor_from_beam(
    protons_on_target: float, nu_per_proton: float, distance_m: float, live_time_days: float
) -> float:
    """Time-averaged flux per flavor (cm^-2 s^-1): r POT / (4 pi d^2) / live time.

    COHERENT 2017 (Akimov et al., Science 357 (2017) 1123): 1.76e23 POT over
    308.1 live days, r = 0.08, d = 19.3 m; the paper rounds to 1.05e7 at 20 m.
    """
    live_time_s = live_time_days * units.day
    return isotropic_flux_cm2_s(protons_on_target * nu_per_proton / live_time_s, distance_m * units.m)


def stopped_pion_source(
    name: str = "sns",
    flux_per_flavor_cm2_s: float = 1.05e7,
    normalization_uncertainty: float = 0.10,
) -> Source:
    """The three-component stopped-pion source with a common per-flavor flux.

    Defaults are the paper's (arXiv:1711.03521, Table 1): 1.05e7 cm^-2 s^-1 per
    flavor at 20 m, 10% uncertainty on each flavor's normalization.
    """
    m_mu = units.muon_mass_MeV()
    e_end = m_mu / 2.0
    components = (
        SourceComponent(
            "prompt_nu_mu", Flavor.NU_MU, LineSpectrum(prompt_line_energy_MeV()),
            flux_per_flavor_cm2_s, normalization_uncertainty,
        ),
        SourceComponent(
            "delayed_nu_e", Flavor.NU_E, ContinuousSpectrum(nu_e_density, 0.0, e_end, label="nu_e Michel"),
            flux_per_flavor_cm2_s, normalization_uncertainty,
        ),
        SourceComponent(
            "delayed_nubar_mu", Flavor.NUBAR_MU,
            ContinuousSpectrum(nubar_mu_density, 0.0, e_end, label="nubar_mu Michel"),
            flux_per_flavor_cm2_s, normalization_uncertainty,
        ),
    )
    return Source(name, "stopped-pion", components, "pi+ decay at rest (prompt nu_mu, delayed nu_e, nubar_mu)")
