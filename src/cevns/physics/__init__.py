"""Pure numpy physics: kinematics, form factors, vector charges, cross section.

Extensions beyond heavy-mediator NSI (each one equation per function, with its source):
coupling conventions (tree / radiative) and sin^2(theta_W) as a linear parameter
(:mod:`.couplings`), separate proton and neutron form factors (:mod:`.form_factors`),
light vector mediators (:mod:`.mediators`) and the neutrino magnetic moment
(:mod:`.electromagnetic`).
"""

from .couplings import (
    COUPLING_CONVENTIONS,
    NSI_NAMES,
    charge_coefficients,
    charge_coefficients_with_sin2,
    nucleon_charge_coefficients,
    sm_vector_charge,
    vector_charge,
    weak_nucleon_charges,
)
from .cross_section import differential_cross_section, total_cross_section_pointlike
from .electromagnetic import magnetic_moment_cross_section_per_mu2
from .flavors import Flavor
from .form_factors import FORM_FACTORS, helm, helm_with_radius
from .kinematics import e_nu_min, t_recoil_max
from .mediators import propagator_basis, propagator_factor

__all__ = [
    "COUPLING_CONVENTIONS",
    "FORM_FACTORS",
    "NSI_NAMES",
    "Flavor",
    "charge_coefficients",
    "charge_coefficients_with_sin2",
    "differential_cross_section",
    "e_nu_min",
    "helm",
    "helm_with_radius",
    "magnetic_moment_cross_section_per_mu2",
    "nucleon_charge_coefficients",
    "propagator_basis",
    "propagator_factor",
    "sm_vector_charge",
    "t_recoil_max",
    "total_cross_section_pointlike",
    "vector_charge",
    "weak_nucleon_charges",
]
