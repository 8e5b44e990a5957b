"""CEvNS differential cross section (Dent et al., arXiv:1711.03521, eqs. 1-2).

    dsigma/dT = G_F^2 m_N / pi * K(T, E) * F^2(q) * sum_b |Q_ab|^2

with K the kinematic factor (:func:`cevns.physics.kinematics.kinematic_factor`)
and Q the vector charge (:mod:`cevns.physics.couplings`). Standard form:
Barranco, Miranda & Rashba, JHEP 12 (2005) 021, eq. 1; with Q = -Q_W/2 this is
the familiar G_F^2 m_N Q_W^2/(4 pi) (1 - m_N T/(2E^2)) F^2 (Freedman 1974).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import units
from .kinematics import kinematic_factor, t_recoil_max

#: G_F^2 (hbar c)^2 / pi in cm^2 / MeV^2: converts G_F^2 m_N/pi [MeV^-3] to cm^2/MeV.
CROSS_SECTION_PREFACTOR_cm2_per_MeV2 = units.G_FERMI_MeV2**2 * units.HBARC_MeV_cm**2 / np.pi


def reduced_differential_cross_section(
    t_recoil: ArrayLike,
    e_nu: ArrayLike,
    m_nucleus: float,
    form_factor_squared: ArrayLike = 1.0,
    kinematics: str = "standard",
) -> np.ndarray:
    """dsigma/dT per unit squared charge, in cm^2/MeV: G_F^2 m_N/pi * K * F^2.

    Multiply by sum_b |Q_ab|^2 for the full cross section. Energies in MeV.
    """
    return (
        CROSS_SECTION_PREFACTOR_cm2_per_MeV2
        * m_nucleus
        * kinematic_factor(t_recoil, e_nu, m_nucleus, kinematics)
        * np.asarray(form_factor_squared, dtype=float)
    )


def differential_cross_section(
    t_recoil: ArrayLike,
    e_nu: ArrayLike,
    m_nucleus: float,
    charge_squared: ArrayLike,
    form_factor_squared: ArrayLike = 1.0,
    kinematics: str = "standard",
) -> np.ndarray:
    """dsigma/dT in cm^2/MeV for recoil T and neutrino energy E (MeV).

    Parameters
    ----------
    charge_squared : array
        sum_b |Q_ab|^2 for the incoming flavor a (SM: (Z g_p + N g_n)^2).
    form_factor_squared : array
        F^2(q^2 = 2 m_N T).
    kinematics : {"standard", "paper"}
        Kinematic factor form (Dent et al., arXiv:1711.03521, eqs. 1-2).
    """
    return reduced_differential_cross_section(
        t_recoil, e_nu, m_nucleus, form_factor_squared, kinematics
    ) * np.asarray(charge_squared, dtype=float)


def total_cross_section_pointlike(e_nu: ArrayLike, m_nucleus: float, charge_squared: float) -> np.ndarray:
    """Closed-form total cross section (cm^2) for F = 1, standard kinematics.

    sigma = G_F^2 m_N Q^2 / pi * [T_max - m_N T_max^2 / (4 E^2)], the integral of
    the standard form from 0 to T_max (used as an analytic check).
    """
    e_nu = np.asarray(e_nu, dtype=float)
    t_max = t_recoil_max(e_nu, m_nucleus)
    return (
        CROSS_SECTION_PREFACTOR_cm2_per_MeV2
        * m_nucleus
        * charge_squared
        * (t_max - m_nucleus * t_max**2 / (4.0 * e_nu**2))
    )
