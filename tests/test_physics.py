"""Physics core (SPEC S1) against analytic limits and closed forms."""

import numpy as np
import pytest
from scipy import integrate, optimize, special

from cevns import units
from cevns.physics import couplings, cross_section, form_factors, kinematics

M_GE72 = 71.92207582 * units.AMU_MeV  # a representative nuclear mass (MeV)


def test_helm_is_one_at_zero_momentum():
    # F(q) -> 1 as q -> 0 (normalization of the Helm form factor, Lewin & Smith eq. 4.7)
    q = np.array([0.0, 1e-6, 1e-3])
    assert form_factors.helm(q, 133) == pytest.approx(1.0, abs=1e-9)


def test_helm_first_zero_is_first_zero_of_j1():
    # F vanishes where j1(q r_n) = 0; the first root of j1 (tan x = x) found independently with scipy
    x0 = optimize.brentq(lambda x: special.spherical_jn(1, x), 3.0, 5.0)
    assert x0 == pytest.approx(4.493409457909064, rel=1e-12)  # Abramowitz & Stegun Table 10.6
    for a in (28, 73, 133):
        q_zero = x0 * (units.HBARC_MeV_cm / units.fm) / form_factors.helm_radius_fm(a)
        assert abs(form_factors.helm(q_zero, a)) < 1e-12
        assert form_factors.helm(0.99 * q_zero, a) * form_factors.helm(1.01 * q_zero, a) < 0


def test_kinematic_endpoint_and_inverse():
    e = np.array([1.0, 10.0, 29.79, 52.8])
    t_max = kinematics.t_recoil_max(e, M_GE72)
    assert kinematics.e_nu_min(t_max, M_GE72) == pytest.approx(e, rel=1e-12)
    # non-relativistic limit T_max -> 2 E^2 / m_N
    assert t_max[0] == pytest.approx(2 * 1.0**2 / M_GE72, rel=1e-4)
    # cross section vanishes beyond the end-point, positive just below
    below = cross_section.differential_cross_section(0.999 * t_max, e, M_GE72, 1.0)
    above = cross_section.differential_cross_section(1.001 * t_max, e, M_GE72, 1.0)
    assert np.all(below > 0) and np.all(above == 0)


@pytest.mark.parametrize("e_nu", [2.0, 10.0, 30.0, 52.8])
def test_total_cross_section_matches_closed_form(e_nu):
    t_max = float(kinematics.t_recoil_max(e_nu, M_GE72))
    numeric, _ = integrate.quad(
        lambda t: float(cross_section.differential_cross_section(t, e_nu, M_GE72, 1.0)), 0, t_max, epsabs=0, epsrel=1e-12
    )
    assert numeric == pytest.approx(float(cross_section.total_cross_section_pointlike(e_nu, M_GE72, 1.0)), rel=1e-10)


def test_heavy_nucleus_limit_is_freedman():
    # sigma -> G_F^2 Q_W^2 E^2 / (4 pi) for E << m_N (Freedman, PRD 9 (1974) 1389), Q_W = -2 Q
    z, n, e = 55, 78, 1.0
    q = couplings.sm_vector_charge(z, n, 0.2387)
    q_w = n - (1 - 4 * 0.2387) * z
    sigma = cross_section.total_cross_section_pointlike(e, 1e9, q**2)
    freedman = units.G_FERMI_MeV2**2 * q_w**2 * e**2 / (4 * np.pi) * units.HBARC_MeV_cm**2
    assert sigma == pytest.approx(freedman, rel=1e-8)


def test_paper_kinematics_agrees_at_leading_order():
    e = 30.0
    t = np.array([1e-6, 1e-5]) * e
    standard = kinematics.kinematic_factor(t, e, M_GE72, "standard")
    paper = kinematics.kinematic_factor(t, e, M_GE72, "paper")
    # difference is -T/E + T^2/(2E^2): of order T/E
    assert paper - standard == pytest.approx(-t / e + t**2 / (2 * e**2), rel=1e-6)


def test_vector_charge_matches_affine_coefficients():
    rng = np.random.default_rng(0)
    eps = rng.normal(size=couplings.N_NSI)
    eps_u, eps_d = couplings.nsi_matrices(eps)
    assert np.allclose(eps_u, eps_u.T) and np.allclose(eps_d, eps_d.T)
    q = couplings.vector_charge(32, 40, eps_u, eps_d, 0.2387)
    coeff = couplings.charge_coefficients(32, 40, 0.2387)
    x = np.concatenate([[1.0], eps])
    assert coeff @ x == pytest.approx(q, rel=1e-12)
    # Barranco et al. (2005) eq. 2, written out for the ee entry
    g_p, g_n = 0.5 - 2 * 0.2387, -0.5
    u, d = eps_u[0, 0], eps_d[0, 0]
    assert q[0, 0] == pytest.approx(32 * (g_p + 2 * u + d) + 40 * (g_n + u + 2 * d), rel=1e-12)


def test_nsi_names_and_symmetric_aliases():
    assert len(couplings.NSI_NAMES) == 12
    assert couplings.canonical_nsi_name("eps_d_mue") == "eps_d_emu"
    with pytest.raises(couplings.UnknownCouplingError):
        couplings.parse_nsi_name("eps_s_ee")
