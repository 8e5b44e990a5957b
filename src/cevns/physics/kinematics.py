"""Elastic two-body kinematics of neutrino-nucleus scattering.

All energies and masses in MeV. Standard relativistic kinematics for a
massless projectile on a nucleus at rest, e.g. Barranco, Miranda & Rashba,
JHEP 12 (2005) 021, and the paper (arXiv:1711.03521, section II).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..spec.vocabulary import KINEMATIC_FORMS  # noqa: F401  (the names; re-exported)


def t_recoil_max(e_nu: ArrayLike, m_nucleus: float) -> np.ndarray:
    """Maximum nuclear recoil kinetic energy T_max = 2 E^2 / (m_N + 2 E) (MeV)."""
    e_nu = np.asarray(e_nu, dtype=float)
    return 2.0 * e_nu**2 / (m_nucleus + 2.0 * e_nu)


def e_nu_min(t_recoil: ArrayLike, m_nucleus: float) -> np.ndarray:
    """Minimum neutrino energy (MeV) that can give recoil T: inverse of :func:`t_recoil_max`.

    E_min = (T + sqrt(T^2 + 2 m_N T)) / 2.
    """
    t_recoil = np.asarray(t_recoil, dtype=float)
    return 0.5 * (t_recoil + np.sqrt(t_recoil**2 + 2.0 * m_nucleus * t_recoil))


def momentum_transfer_squared(t_recoil: ArrayLike, m_nucleus: float) -> np.ndarray:
    """Squared three-momentum transfer q^2 = 2 m_N T (MeV^2), nucleus at rest."""
    return 2.0 * m_nucleus * np.asarray(t_recoil, dtype=float)


def kinematic_factor(t_recoil: ArrayLike, e_nu: ArrayLike, m_nucleus: float, form: str = "standard") -> np.ndarray:
    """Dimensionless kinematic factor of the CEvNS cross section.

    ``"standard"``: 1 - m_N T / (2 E^2) (Barranco et al. 2005; Dent et al., arXiv:1711.03521, eqs. 1-2).
    ``"paper"``: (1/2) (1 - m_N T / E^2 + (1 - T/E)^2) (arXiv:1711.03521, eq. 1),
    equal to the standard form up to terms of order T/E.

    Clipped at zero: beyond T_max the factor is unphysical and the
    cross section vanishes.
    """
    t_recoil = np.asarray(t_recoil, dtype=float)
    e_nu = np.asarray(e_nu, dtype=float)
    if form == "standard":
        value = 1.0 - m_nucleus * t_recoil / (2.0 * e_nu**2)
    elif form == "paper":
        value = 0.5 * (1.0 - m_nucleus * t_recoil / e_nu**2 + (1.0 - t_recoil / e_nu) ** 2)
    else:
        raise ValueError(f"kinematics must be 'standard' or 'paper', not {form!r}")
    physical = t_recoil <= t_recoil_max(e_nu, m_nucleus) * (1.0 + 1e-12)
    return np.where(physical, np.clip(value, 0.0, None), 0.0)

