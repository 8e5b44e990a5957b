"""Neutrino magnetic moment: the electromagnetic CEvNS cross section.

A neutrino magnetic moment mu_nu (in Bohr magnetons mu_B = e hbar / (2 m_e)) scatters
on the nuclear charge through photon exchange. The helicity flips, so the amplitude
does not interfere with the weak one and the two cross sections add (Vogel & Engel,
Phys. Rev. D 39 (1989) 3378, for electrons; for a nucleus of charge Z e with
charge form factor F: Kosmas et al., Phys. Rev. D 92 (2015) 013011, and Miranda et al.,
JHEP 05 (2020) 130):

    dsigma_EM/dT = (pi alpha^2 / m_e^2) mu_nu^2 Z^2 F^2(q) (1/T - 1/E),   0 < T <= T_max(E)

In cm^2/MeV, pi alpha^2 (hbar c)^2 / m_e^2 = pi r_e^2 (r_e the classical electron radius),
2.49e-25 cm^2. The rate is linear in mu_nu^2, so mu_nu^2 is one more linear parameter:
its kernel is the flux-weighted integral of :func:`magnetic_moment_cross_section_per_mu2`
with weight (1/T - 1/E) instead of the weak kinematic factor. With separate proton and
neutron form factors, F here is the charge (proton) form factor F_p.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import units
from .kinematics import t_recoil_max

#: pi alpha^2 (hbar c)^2 / m_e^2 in cm^2 (CODATA alpha, hbar c and m_e via scipy.constants).
MAGNETIC_PREFACTOR_cm2 = np.pi * units.FINE_STRUCTURE_CONSTANT**2 * units.HBARC_MeV_cm**2 / units.ELECTRON_MASS_MeV**2


def magnetic_moment_cross_section_per_mu2(
    t_recoil: ArrayLike,
    e_nu: ArrayLike,
    m_nucleus: float,
    z: int,
    form_factor_squared: ArrayLike = 1.0,
) -> np.ndarray:
    """dsigma_EM/dT per mu_nu^2 (mu_nu in Bohr magnetons), in cm^2/MeV.

    (pi alpha^2 / m_e^2) Z^2 F^2 (1/T - 1/E) for 0 < T <= T_max(E, m_N), zero elsewhere
    (Vogel & Engel, PRD 39 (1989) 3378; Kosmas et al., PRD 92 (2015) 013011).

    Parameters
    ----------
    t_recoil, e_nu : array
        Recoil kinetic energy T and neutrino energy E, MeV (broadcast).
    m_nucleus : float
        Nuclear mass, MeV (for the kinematic end-point only).
    z : int
        Proton number.
    form_factor_squared : array
        F^2(q^2 = 2 m_N T) of the nuclear charge distribution.
    """
    t_recoil = np.asarray(t_recoil, dtype=float)
    e_nu = np.asarray(e_nu, dtype=float)
    physical = (t_recoil > 0) & (t_recoil <= t_recoil_max(e_nu, m_nucleus) * (1.0 + 1e-12))
    safe_t = np.where(physical, t_recoil, 1.0)
    shape = 1.0 / safe_t - 1.0 / e_nu
    value = MAGNETIC_PREFACTOR_cm2 * z**2 * np.asarray(form_factor_squared, dtype=float) * shape
    return np.where(physical, value, 0.0)


def magnetic_moment_total_cross_section_per_mu2(e_nu: ArrayLike, m_nucleus: float, z: int, t_min: ArrayLike) -> np.ndarray:
    """Closed-form integral of :func:`magnetic_moment_cross_section_per_mu2` for F = 1, cm^2.

    sigma(T > T_min) = (pi alpha^2/m_e^2) Z^2 [ln(T_max/T_min) - (T_max - T_min)/E]
    (T_min > 0 is needed: the 1/T term diverges logarithmically). Zero if T_min >= T_max.
    """
    e_nu = np.asarray(e_nu, dtype=float)
    t_min = np.asarray(t_min, dtype=float)
    t_max = t_recoil_max(e_nu, m_nucleus)
    open_range = t_max > t_min
    lower = np.where(open_range, t_min, 1.0)
    upper = np.where(open_range, t_max, 1.0)
    value = MAGNETIC_PREFACTOR_cm2 * z**2 * (np.log(upper / lower) - (upper - lower) / e_nu)
    return np.where(open_range, value, 0.0)
