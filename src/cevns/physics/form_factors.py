"""Nuclear form factors F(q) (same for protons and neutrons, Dent et al., arXiv:1711.03521, eqs. 1-2).

Pluggable: :data:`FORM_FACTORS` maps a name to a function
``f(q_MeV, mass_number) -> F`` so scenarios can choose one by name.

For a neutron radius different from the proton radius, :func:`helm_with_radius`
gives the Helm form factor of a distribution with a given rms radius; the charge
then weights F_p and F_n separately (:func:`cevns.physics.couplings.nucleon_charge_coefficients`).
:data:`NUCLEAR_RADII` holds published radii for defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..spec.vocabulary import FORM_FACTOR_NAMES

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
assert tuple(FORM_FACTORS) == FORM_FACTOR_NAMES, "the spec's names and the implementations must agree"


# --- separate proton and neutron distributions (neutron radius) ---------------------------
#
# The Helm density is a uniform sphere of radius R0 (the "box" radius, r_n of Lewin & Smith)
# folded with a Gaussian of width s; mean squares add under folding, so its rms radius is
#
#     R_rms^2 = (3/5) R0^2 + 3 s^2        (Lewin & Smith 1996, section 4)
#
# The functions below take the rms radius, the quantity that nuclear data quote (charge,
# point-proton and neutron rms radii), and convert with this relation.


def helm_box_radius_fm(rms_radius_fm: ArrayLike, skin_fm: float = HELM_SKIN_THICKNESS_fm) -> np.ndarray:
    """Helm box radius R0 (fm) from the rms radius: R0 = sqrt(5/3 (R_rms^2 - 3 s^2)).

    Raises
    ------
    ValueError
        If R_rms^2 <= 3 s^2 (no Helm density has that rms radius with that skin).
    """
    rms = np.asarray(rms_radius_fm, dtype=float)
    box_squared = 5.0 / 3.0 * (rms**2 - 3.0 * skin_fm**2)
    if np.any(box_squared <= 0):
        raise ValueError(f"rms radius {rms} fm is too small for a Helm skin of {skin_fm} fm (needs R_rms > sqrt(3) s)")
    return np.sqrt(box_squared)


def helm_rms_radius_fm(box_radius_fm: ArrayLike, skin_fm: float = HELM_SKIN_THICKNESS_fm) -> np.ndarray:
    """rms radius (fm) of a Helm density with box radius R0: R_rms = sqrt(3/5 R0^2 + 3 s^2)."""
    box = np.asarray(box_radius_fm, dtype=float)
    return np.sqrt(0.6 * box**2 + 3.0 * skin_fm**2)


def helm_with_box_radius(q_MeV: ArrayLike, box_radius_fm: float, skin_fm: float = HELM_SKIN_THICKNESS_fm) -> np.ndarray:
    """Helm form factor for a given box radius R0 (fm) and skin s (fm): 3 j1(q R0)/(q R0) exp(-(q s)^2/2).

    Helm, Phys. Rev. 104 (1956) 1466; Lewin & Smith 1996, eq. 4.7. F(0) = 1. With
    R0 = :func:`helm_radius_fm` (A) and s = 0.9 fm this is :func:`helm`.
    """
    x = _q_times_length(q_MeV, box_radius_fm)
    qs = _q_times_length(q_MeV, skin_fm)
    ratio = np.where(np.abs(x) < 1e-3, 1.0 / 3.0 - x**2 / 30.0, spherical_j1(x) / np.where(x == 0, 1.0, x))
    return 3.0 * ratio * np.exp(-0.5 * qs**2)


def helm_with_radius(q_MeV: ArrayLike, rms_radius_fm: float, skin_fm: float = HELM_SKIN_THICKNESS_fm) -> np.ndarray:
    """Helm form factor of a distribution with rms radius ``rms_radius_fm`` (fm) and skin ``skin_fm``.

    F(q) = 3 j1(q R0)/(q R0) exp(-(q s)^2/2) with R0^2 = 5/3 (R_rms^2 - 3 s^2) (Helm 1956;
    Lewin & Smith 1996, section 4). Use the point-proton rms radius for F_p and the
    point-neutron rms radius for F_n (e.g. Cadeddu et al., PRL 120 (2018) 072501, who fit
    R_n with the Helm form and s = 0.9 fm). ``q_MeV``: |q| in MeV.
    """
    return helm_with_box_radius(q_MeV, float(helm_box_radius_fm(rms_radius_fm, skin_fm)), skin_fm)


def point_proton_radius_fm(
    charge_radius_fm: float, z: int, n: int, darwin_foldy: bool = True
) -> float:
    """Point-proton rms radius (fm) from the nuclear charge rms radius.

    R_ch^2 = R_p^2 + <r_p^2> + (N/Z) <r_n^2> + (3/4) (hbar/(m_p c))^2   (spin-orbit term neglected)

    with the nucleon charge radii <r_p^2> (CODATA, :data:`cevns.units.PROTON_RMS_CHARGE_RADIUS_fm`)
    and <r_n^2> = -0.1161 fm^2 (PDG), and the Darwin-Foldy term (3/4)(hbar/m_p c)^2 = 0.033 fm^2
    (e.g. Friar, Martorell & Sprung, Phys. Rev. A 56 (1997) 4579), dropped with
    ``darwin_foldy=False``. The corrections move R_p by about 0.05 fm for Cs and I.
    """
    hbarc_MeV_fm = units.HBARC_MeV_cm / units.fm
    r_squared = (
        charge_radius_fm**2
        - units.PROTON_RMS_CHARGE_RADIUS_fm**2
        - (n / z) * units.NEUTRON_MEAN_SQUARE_CHARGE_RADIUS_fm2
    )
    if darwin_foldy:
        r_squared -= 0.75 * (hbarc_MeV_fm / units.PROTON_MASS_MeV) ** 2
    return float(np.sqrt(r_squared))


@dataclass(frozen=True)
class NuclearRadii:
    """Charge and neutron rms radii of one isotope (fm), with sources.

    ``proton_radius_fm`` is the point-proton rms radius derived from the charge radius
    (:func:`point_proton_radius_fm`); ``neutron_radius_fm`` the point-neutron rms radius.
    """

    z: int
    n: int
    charge_radius_fm: float
    neutron_radius_fm: float
    charge_source: str
    neutron_source: str

    @property
    def proton_radius_fm(self) -> float:
        return point_proton_radius_fm(self.charge_radius_fm, self.z, self.n)

    @property
    def neutron_skin_fm(self) -> float:
        return self.neutron_radius_fm - self.proton_radius_fm


_ANGELI_MARINOVA = "Angeli & Marinova, At. Data Nucl. Data Tables 99 (2013) 69"
_CADEDDU_2018 = (
    "Cadeddu, Giunti, Li & Zhang, PRL 120 (2018) 072501: R_n = 5.5 +0.9 -1.1 fm, average of "
    "Cs-133 and I-127 from COHERENT 2017 (Helm form factor)"
)

#: Default radii for the split form factors, keyed as :func:`cevns.detectors.make_target`
#: names isotopes. Charge radii: Angeli & Marinova 2013. Neutron radii: CsI from COHERENT
#: (Cadeddu et al. 2018, one value for Cs and I); argon has no measured neutron radius, so
#: its default is the point-proton radius (zero skin) until a scenario sets one.
NUCLEAR_RADII: dict[str, NuclearRadii] = {
    "Cs[133]": NuclearRadii(55, 78, 4.8041, 5.5, _ANGELI_MARINOVA, _CADEDDU_2018),
    "I[127]": NuclearRadii(53, 74, 4.7500, 5.5, _ANGELI_MARINOVA, _CADEDDU_2018),
    "Ar[40]": NuclearRadii(
        18, 22, 3.4274, point_proton_radius_fm(3.4274, 18, 22), _ANGELI_MARINOVA,
        "no measurement: point-proton radius (zero neutron skin) as a placeholder",
    ),
}
