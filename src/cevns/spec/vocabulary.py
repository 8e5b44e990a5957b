"""The names a configuration may use, kept once: the spec validates against them, the physics,
source and detector modules key their implementations by them (and tests check the two agree).

This module imports nothing of the package but its error base (cevns.errors), so the spec (:mod:`cevns.spec.config`) validates a
scenario file without loading any physics.
"""

from __future__ import annotations

from ..errors import CevnsError

#: Lepton flavors in index order (e=0, mu=1, tau=2): the rows of the NSI matrix.
LEPTON_FLAVORS = ("e", "mu", "tau")
QUARKS = ("u", "d")
#: Flavor pairs (a <= b) of the symmetric NSI matrix, in the order used everywhere.
FLAVOR_PAIRS = tuple((a, b) for a in range(3) for b in range(a, 3))
PAIR_LABELS = tuple(LEPTON_FLAVORS[a] + LEPTON_FLAVORS[b] for a, b in FLAVOR_PAIRS)
#: The twelve independent real NSI couplings, u first then d, pairs in FLAVOR_PAIRS order.
NSI_NAMES = tuple(f"eps_{q}_{label}" for q in QUARKS for label in PAIR_LABELS)
N_NSI = len(NSI_NAMES)

#: Coupling conventions of the weak nucleon charges (cevns.physics.couplings documents each).
COUPLING_CONVENTIONS = ("tree", "radiative")
#: Kinematic factors of the cross section (cevns.physics.kinematics.kinematic_factor).
KINEMATIC_FORMS = ("standard", "paper")
#: Nuclear form factors (cevns.physics.form_factors.FORM_FACTORS).
FORM_FACTOR_NAMES = ("helm", "klein-nystrand", "none")
#: Reactor fission isotopes and antineutrino spectrum models (cevns.sources.reactor).
FISSION_ISOTOPES = ("U235", "U238", "Pu239", "Pu241")
SPECTRUM_MODELS = ("huber-mueller", "vogel-engel")
#: Solar neutrino production branches and total-flux models (cevns.sources.solar.FLUX_MODELS).
SOLAR_BRANCHES = ("8B", "hep")
SOLAR_FLUX_MODELS = ("B16-GS98", "SNO-NC")

#: COHERENT 2017 CsI[Na] acceptance (Akimov et al., Science 357 (2017) 1123, arXiv:1708.01294; data
#: release arXiv:1804.09459, acceptance note): PE = QF * LY * T[keV] with QF = 0.0878 and LY = 13.348
#: PE/keVee; acceptance a / (1 + exp(-k (PE - x0))) with a = 0.6655, k = 0.4942, x0 = 10.8507, zero
#: below 5 PE and halved between 5 and 6 PE. The defaults of cevns.detectors.Coherent2017Acceptance
#: and of a scenario's ``model = "coherent-2017"`` efficiency.
COHERENT_2017_ACCEPTANCE = {
    "quenching_factor": 0.0878,
    "light_yield_pe_per_keVee": 13.348,
    "amplitude": 0.6655,
    "steepness_per_pe": 0.4942,
    "midpoint_pe": 10.8507,
    "zero_below_pe": 5.0,
    "half_below_pe": 6.0,
}


class UnknownCouplingError(CevnsError, ValueError):
    """An NSI coupling name outside :data:`NSI_NAMES`."""


def parse_nsi_name(name: str) -> tuple[str, int, int]:
    """Split ``eps_u_emu`` into (quark, a, b) with flavor indices a <= b.

    Raises
    ------
    UnknownCouplingError
        If ``name`` is not one of :data:`NSI_NAMES` (``eps_d_mue`` is accepted
        as the symmetric partner of ``eps_d_emu``).
    """
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "eps" and parts[1] in QUARKS:
        label = parts[2]
        for a, fa in enumerate(LEPTON_FLAVORS):
            for b, fb in enumerate(LEPTON_FLAVORS):
                if fa + fb == label:
                    return parts[1], min(a, b), max(a, b)
    raise UnknownCouplingError(
        f"unknown NSI coupling {name!r}; use one of: {', '.join(NSI_NAMES)}"
    )


def canonical_nsi_name(name: str) -> str:
    """The name in :data:`NSI_NAMES` that ``name`` refers to."""
    quark, a, b = parse_nsi_name(name)
    return f"eps_{quark}_{LEPTON_FLAVORS[a]}{LEPTON_FLAVORS[b]}"
