"""Targets (isotope mixtures) and detector response (Dent et al., arXiv:1711.03521, eqs. 1-2; Dent et al., arXiv:1711.03521).

A :class:`Target` is built from a chemical formula (``"CsI"``, ``"Ge"``) with
natural isotopic abundances and atomic masses from ``periodictable``; every
isotope keeps its own Z, N, nuclear mass and number of nuclei per kg.

A :class:`Detector` adds the analysis: threshold and upper edge of the window
(recoil energy, keV), binning, an efficiency curve in recoil energy, and a
flat background in counts/(kg day keV) with a Gaussian normalization
uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import units
from .errors import CevnsError
from .physics.kinematics import momentum_transfer_squared
from .spec.vocabulary import COHERENT_2017_ACCEPTANCE


class TargetError(CevnsError, ValueError):
    """A target material that cannot be built (unknown element or formula)."""


@dataclass(frozen=True)
class Isotope:
    """One nuclide of a target.

    Attributes
    ----------
    symbol : str       element symbol, e.g. ``"Ge"``
    z, n : int         proton and neutron numbers
    mass_MeV : float   nuclear mass (atomic mass minus Z electron masses), MeV
    nuclei_per_kg : float  number of such nuclei per kg of target material
    """

    symbol: str
    z: int
    n: int
    mass_MeV: float
    nuclei_per_kg: float

    @property
    def mass_number(self) -> int:
        return self.z + self.n

    @property
    def label(self) -> str:
        return f"{self.mass_number}{self.symbol}"


@dataclass(frozen=True)
class Target:
    """A target material: a chemical formula resolved into isotopes."""

    name: str
    isotopes: tuple[Isotope, ...]

    @property
    def nuclei_per_kg(self) -> float:
        return float(sum(i.nuclei_per_kg for i in self.isotopes))

    def smallest_q2_MeV2(self, t_recoil_keV: float) -> float:
        """The smallest momentum transfer squared 2 m_N T (MeV^2) at recoil energy ``t_recoil_keV``: on the
        lightest isotope."""
        return min(float(momentum_transfer_squared(t_recoil_keV * units.keV, i.mass_MeV)) for i in self.isotopes)

    @property
    def beta(self) -> float:
        """Isotope-averaged Z/N ratio, sum_i w_i Z_i / sum_i w_i N_i (Dent et al., arXiv:1711.03521, sec. II), w_i = nuclei per kg."""
        z = sum(i.nuclei_per_kg * i.z for i in self.isotopes)
        n = sum(i.nuclei_per_kg * i.n for i in self.isotopes)
        return float(z / n)


#: Abundances below this fraction are dropped (periodictable lists traces at 0).
MIN_ABUNDANCE_FRACTION = 1e-6


def make_target(formula: str) -> Target:
    """Build a :class:`Target` from a chemical formula with natural abundances.

    Nuclear mass = atomic mass (periodictable, AME) * u - Z m_e (electron
    binding energies, < 0.1 MeV, neglected). Nuclei per kg = (atoms of the
    element per formula unit) * (isotopic abundance) * N_A / (molar mass of
    the formula in kg/mol).
    """
    import periodictable

    symbol = formula.capitalize()
    if formula != symbol and hasattr(periodictable, symbol) and isinstance(getattr(periodictable, symbol), periodictable.core.Element):
        # e.g. "SI" parses as sulfur + iodine: refuse rather than guess
        raise TargetError(f"{formula!r} reads as a compound of {', '.join(e.symbol for e in periodictable.formula(formula).atoms) or 'nothing'}; "
                          f"write {symbol!r} for the element (formulas are case-sensitive)")
    try:
        compound = periodictable.formula(formula)
    except Exception as err:  # periodictable raises ValueError or pyparsing errors
        raise TargetError(f"cannot parse target formula {formula!r}: {err}") from None
    atoms = compound.atoms
    if not atoms:
        raise TargetError(f"target formula {formula!r} has no elements")
    molar_mass_kg = compound.mass / units.GRAMS_PER_KG  # g/mol -> kg/mol
    isotopes = []
    for element, count in atoms.items():
        if getattr(element, "isotope", None) is not None:  # an explicit isotope like Ge[76]
            fractions = [(element, 1.0)]
        else:
            fractions = [
                (element[a], element[a].abundance / 100.0)
                for a in element.isotopes
                if element[a].abundance / 100.0 > MIN_ABUNDANCE_FRACTION
            ]
        if not fractions:
            raise TargetError(f"element {element.symbol} in {formula!r} has no stable isotopes")
        for nuclide, fraction in fractions:
            z = int(nuclide.number)
            a = int(nuclide.isotope)
            isotopes.append(
                Isotope(
                    symbol=nuclide.symbol,
                    z=z,
                    n=a - z,
                    mass_MeV=float(nuclide.mass) * units.AMU_MeV - z * units.ELECTRON_MASS_MeV,
                    nuclei_per_kg=count * fraction * units.AVOGADRO_PER_MOL / molar_mass_kg,
                )
            )
    return Target(formula, tuple(isotopes))


# --- efficiency --------------------------------------------------------------
EfficiencyFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Efficiency:
    """Detection efficiency as a function of recoil energy T (MeV).

    ``breakpoints_MeV`` lists recoil energies where the curve jumps, so that
    quadrature splits there.
    """

    function: EfficiencyFunction
    breakpoints_MeV: tuple[float, ...] = ()
    description: str = "100%"

    def __call__(self, t_recoil_MeV: np.ndarray) -> np.ndarray:
        return self.function(np.asarray(t_recoil_MeV, dtype=float))


def unit_efficiency() -> Efficiency:
    return Efficiency(lambda t: np.ones_like(t))


@dataclass(frozen=True)
class Coherent2017Acceptance:
    """COHERENT 2017 CsI[Na] acceptance (Akimov et al., Science 357 (2017) 1123,
    arXiv:1708.01294; data release arXiv:1804.09459).

    Photoelectrons PE = QF * LY * T[keV] with quenching factor QF = 0.0878 and
    light yield LY = 13.348 PE/keVee. Acceptance
    a / (1 + exp(-k (PE - x0))), a = 0.6655, k = 0.4942, x0 = 10.8507, zero
    below 5 PE and halved between 5 and 6 PE (data release, acceptance note).
    """

    quenching_factor: float = COHERENT_2017_ACCEPTANCE["quenching_factor"]
    light_yield_pe_per_keVee: float = COHERENT_2017_ACCEPTANCE["light_yield_pe_per_keVee"]
    amplitude: float = COHERENT_2017_ACCEPTANCE["amplitude"]
    steepness_per_pe: float = COHERENT_2017_ACCEPTANCE["steepness_per_pe"]
    midpoint_pe: float = COHERENT_2017_ACCEPTANCE["midpoint_pe"]
    zero_below_pe: float = COHERENT_2017_ACCEPTANCE["zero_below_pe"]
    half_below_pe: float = COHERENT_2017_ACCEPTANCE["half_below_pe"]

    def pe_per_keV(self) -> float:
        return self.quenching_factor * self.light_yield_pe_per_keVee

    def photoelectrons(self, t_recoil_MeV: np.ndarray) -> np.ndarray:
        return self.pe_per_keV() * np.asarray(t_recoil_MeV) / units.keV

    def __call__(self, t_recoil_MeV: np.ndarray) -> np.ndarray:
        pe = self.photoelectrons(t_recoil_MeV)
        value = self.amplitude / (1.0 + np.exp(-self.steepness_per_pe * (pe - self.midpoint_pe)))
        value = np.where(pe < self.half_below_pe, 0.5 * value, value)
        return np.where(pe < self.zero_below_pe, 0.0, value)

    def as_efficiency(self) -> Efficiency:
        breaks = tuple(pe / self.pe_per_keV() * units.keV for pe in (self.zero_below_pe, self.half_below_pe))
        return Efficiency(self, breaks, "COHERENT 2017 CsI acceptance (arXiv:1804.09459)")


def tabulated_efficiency(recoil_keV: Sequence[float], efficiency: Sequence[float]) -> Efficiency:
    """Efficiency linearly interpolated in recoil energy (keV), 0 outside the table."""
    x = np.asarray(recoil_keV, dtype=float) * units.keV
    y = np.asarray(efficiency, dtype=float)
    return Efficiency(lambda t: np.interp(t, x, y, left=0.0, right=0.0), (), "tabulated")


# --- detector ----------------------------------------------------------------
@dataclass(frozen=True)
class Detector:
    """Target plus analysis window, binning, efficiency and background.

    Attributes
    ----------
    target : Target
    threshold_keV, window_max_keV : float
        Analysis window in nuclear-recoil energy (keV).
    n_bins : int
        Number of bins over the window.
    binning : {"linear", "log"}
    efficiency : Efficiency
    background_per_kg_day_keV : float
        Flat background rate, counts/(kg day keV).
    background_uncertainty : float
        Relative 1-sigma Gaussian uncertainty of the background normalization.
    """

    target: Target
    threshold_keV: float
    window_max_keV: float
    n_bins: int = 10
    binning: str = "linear"
    efficiency: Efficiency = field(default_factory=unit_efficiency)
    background_per_kg_day_keV: float = 0.0
    background_uncertainty: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.threshold_keV < self.window_max_keV:
            raise ValueError(
                f"need 0 < threshold_keV ({self.threshold_keV}) < window_max_keV ({self.window_max_keV})"
            )
        if self.n_bins < 1:
            raise ValueError(f"bins must be >= 1, got {self.n_bins}")
        if self.binning not in ("linear", "log"):
            raise ValueError(f"binning must be 'linear' or 'log', got {self.binning!r}")

    @property
    def bin_edges_keV(self) -> np.ndarray:
        if self.binning == "log":
            return np.geomspace(self.threshold_keV, self.window_max_keV, self.n_bins + 1)
        return np.linspace(self.threshold_keV, self.window_max_keV, self.n_bins + 1)
