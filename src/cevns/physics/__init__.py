"""Pure numpy physics: kinematics, form factors, vector charges, cross section."""

from .couplings import NSI_NAMES, charge_coefficients, sm_vector_charge, vector_charge
from .cross_section import differential_cross_section, total_cross_section_pointlike
from .flavors import Flavor
from .form_factors import FORM_FACTORS, helm
from .kinematics import e_nu_min, t_recoil_max

__all__ = [
    "FORM_FACTORS",
    "NSI_NAMES",
    "Flavor",
    "charge_coefficients",
    "differential_cross_section",
    "e_nu_min",
    "helm",
    "sm_vector_charge",
    "t_recoil_max",
    "total_cross_section_pointlike",
    "vector_charge",
]
