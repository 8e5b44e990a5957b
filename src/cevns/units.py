"""Units and physical constants: the one home of every number with a unit.

Internal unit system (hepunits style): energies in MeV, lengths in cm, times
in s, masses of targets in kg. Values are converted to this system at the
edge (configuration files carry unit suffixes such as ``threshold_keV``) and
converted back only for display.

Every constant below names its source. CODATA values come from
:mod:`scipy.constants`; particle masses from the PDG tables shipped with the
``particle`` package.
"""

from __future__ import annotations

from functools import cache

import scipy.constants as sc

# --- unit conversions (exact, SI definitions) ----------------------------
MeV = 1.0
keV = 1.0e-3 * MeV
eV = 1.0e-6 * MeV
GeV = 1.0e3 * MeV
cm = 1.0
m = 100.0 * cm
fm = 1.0e-13 * cm
s = 1.0
day = sc.day * s  # 86400 s, scipy.constants
year = sc.Julian_year * s  # 365.25 d, scipy.constants
kg = 1.0
tonne = 1.0e3 * kg
MeV_in_J = sc.physical_constants["electron volt"][0] * 1.0e6  # CODATA, J per MeV
AVOGADRO_PER_MOL = sc.N_A  # CODATA 2018 (exact)
GRAMS_PER_KG = 1.0e3  # SI

# --- CODATA constants (scipy.constants) ----------------------------------
#: Fermi constant G_F/(hbar c)^3 in MeV^-2 (CODATA "Fermi coupling constant", GeV^-2).
G_FERMI_MeV2 = sc.physical_constants["Fermi coupling constant"][0] * 1.0e-6
#: hbar*c in MeV*cm (CODATA "reduced Planck constant times c in MeV fm").
HBARC_MeV_cm = sc.physical_constants["reduced Planck constant times c in MeV fm"][0] * fm
#: Atomic mass unit in MeV (CODATA "atomic mass constant energy equivalent in MeV").
AMU_MeV = sc.physical_constants["atomic mass constant energy equivalent in MeV"][0]
#: Electron mass in MeV (CODATA "electron mass energy equivalent in MeV").
ELECTRON_MASS_MeV = sc.physical_constants["electron mass energy equivalent in MeV"][0]

# --- electroweak ---------------------------------------------------------
#: Low-energy weak mixing angle sin^2(theta_W) in the MS-bar scheme at q -> 0,
#: PDG Review of Particle Physics, "Electroweak model and constraints on new
#: physics" (value used by the paper, arXiv:1711.03521). Configurable in scenarios.
SIN2_THETA_W_LOW_ENERGY = 0.2387
#: MS-bar sin^2(theta_W) at the Z pole used with the radiatively corrected couplings of
#: Barranco, Miranda & Rashba, JHEP 12 (2005) 021 (PDG 2004 value), and by the
#: paper's authors' pyCEvNS (``ssw = 0.2312``). Use it with ``convention="radiative"``.
SIN2_THETA_W_MSBAR_MZ_BMR2005 = 0.2312

# --- electromagnetic and nucleon-structure constants (added for physics extensions) ---
#: Fine-structure constant alpha (CODATA "fine-structure constant", scipy.constants).
FINE_STRUCTURE_CONSTANT = sc.physical_constants["fine-structure constant"][0]
#: Proton mass in MeV (CODATA "proton mass energy equivalent in MeV").
PROTON_MASS_MeV = sc.physical_constants["proton mass energy equivalent in MeV"][0]
#: Proton rms charge radius in fm (CODATA "proton rms charge radius", scipy.constants).
PROTON_RMS_CHARGE_RADIUS_fm = sc.physical_constants["proton rms charge radius"][0] * 1.0e15
#: Neutron mean-square charge radius <r_n^2> in fm^2: -0.1161 +- 0.0022 fm^2,
#: PDG Review of Particle Physics, neutron listing ("n MEAN-SQUARE CHARGE RADIUS", our average).
NEUTRON_MEAN_SQUARE_CHARGE_RADIUS_fm2 = -0.1161


@cache
def particle_mass_MeV(pdgid: int) -> float:
    """Mass of a particle in MeV from the PDG tables of the ``particle`` package.

    Parameters
    ----------
    pdgid : int
        PDG Monte Carlo code (211 for pi+, -13 for mu+).
    """
    from particle import Particle

    mass = Particle.from_pdgid(pdgid).mass
    if mass is None:  # pragma: no cover - only for massless/unknown ids
        raise ValueError(f"particle {pdgid} has no tabulated mass")
    return float(mass)


def pion_mass_MeV() -> float:
    """Charged pion mass in MeV (PDG, via ``particle``; PDG id 211)."""
    return particle_mass_MeV(211)


def muon_mass_MeV() -> float:
    """Muon mass in MeV (PDG, via ``particle``; PDG id 13)."""
    return particle_mass_MeV(13)
