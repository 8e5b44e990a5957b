"""Nuclear form factors F(q) (same for protons and neutrons, SPEC S1).

Pluggable: :data:`FORM_FACTORS` maps a name to a function
``f(q_MeV, mass_number) -> F`` so scenarios can choose one by name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .. import units

# Lewin & Smith, Astropart. Phys. 6 (1996) 87, section 4.1 (eq. 4.11 and text):
# surface thickness s = 0.9 fm, a = 0.52 fm, c = 1.23 A^(1/3) - 0.60 fm.
HELM_SKIN_THICKNESS_fm = 0.9
HELM_A_fm = 0.52
HELM_C_SLOPE_fm = 1.23
HELM_C_OFFSET_fm = -0.60

# Klein & Nystrand, Phys. Rev. C 60 (1999) 014903: hard sphere R_A = 1.2 A^(1/3) fm
# folded with a Yukawa potential of range a_k = 0.7 fm.
KLEIN_NYSTRAND_R0_fm = 1.2
KLEIN_NYSTRAND_RANGE_fm = 0.7


def spherical_j1(x: np.ndarray) -> np.ndarray:
    """Spherical Bessel function j1(x) = sin x / x^2 - cos x / x, with its x -> 0 series."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    exact = np.sin(xs) / xs**2 - np.cos(xs) / xs
    series = x / 3.0 - x**3 / 30.0
    return np.where(small, series, exact)


def helm_radius_fm(mass_number: float) -> float:
    """Helm effective radius r_n (fm): r_n^2 = c^2 + (7/3) pi^2 a^2 - 5 s^2 (Lewin & Smith 1996, eq. 4.11)."""
    c = HELM_C_SLOPE_fm * mass_number ** (1.0 / 3.0) + HELM_C_OFFSET_fm
    return float(np.sqrt(c**2 + 7.0 / 3.0 * np.pi**2 * HELM_A_fm**2 - 5.0 * HELM_SKIN_THICKNESS_fm**2))


def _q_times_length(q_MeV: ArrayLike, length_fm: float) -> np.ndarray:
    """Dimensionless q*r for q in MeV and r in fm: q r / (hbar c)."""
    hbarc_MeV_fm = units.HBARC_MeV_cm / units.fm
    return np.asarray(q_MeV, dtype=float) * length_fm / hbarc_MeV_fm


def helm(q_MeV: ArrayLike, mass_number: float) -> np.ndarray:
    """Helm form factor F(q) = 3 j1(q r_n)/(q r_n) exp(-(q s)^2 / 2).

    R. H. Helm, Phys. Rev. 104 (1956) 1466, with the Lewin & Smith
    (Astropart. Phys. 6 (1996) 87, eq. 4.7) parameters. F(0) = 1.

    Parameters
    ----------
    q_MeV : array
        Momentum transfer |q| in MeV.
    mass_number : float
        Nucleon number A.
    """
    x = _q_times_length(q_MeV, helm_radius_fm(mass_number))
    qs = _q_times_length(q_MeV, HELM_SKIN_THICKNESS_fm)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.abs(x) < 1e-3, 1.0 / 3.0 - x**2 / 30.0, spherical_j1(x) / np.where(x == 0, 1.0, x))
    return 3.0 * ratio * np.exp(-0.5 * qs**2)


def klein_nystrand(q_MeV: ArrayLike, mass_number: float) -> np.ndarray:
    """Klein-Nystrand form factor (Phys. Rev. C 60 (1999) 014903, eq. 14).

    F(q) = 3 j1(q R_A)/(q R_A) / (1 + q^2 a_k^2), R_A = 1.2 A^(1/3) fm, a_k = 0.7 fm.
    """
    radius = KLEIN_NYSTRAND_R0_fm * mass_number ** (1.0 / 3.0)
    x = _q_times_length(q_MeV, radius)
    qa = _q_times_length(q_MeV, KLEIN_NYSTRAND_RANGE_fm)
    ratio = np.where(np.abs(x) < 1e-3, 1.0 / 3.0 - x**2 / 30.0, spherical_j1(x) / np.where(x == 0, 1.0, x))
    return 3.0 * ratio / (1.0 + qa**2)


def unity(q_MeV: ArrayLike, mass_number: float) -> np.ndarray:
    """Point-like nucleus, F = 1 (for tests and the q -> 0 limit)."""
    return np.ones_like(np.asarray(q_MeV, dtype=float))


FORM_FACTORS: dict[str, Callable[[ArrayLike, float], np.ndarray]] = {
    "helm": helm,
    "klein-nystrand": klein_nystrand,
    "none": unity,
}
