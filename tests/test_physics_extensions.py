"""Physics beyond heavy-mediator NSI (issue 12): each function against a closed form or a published number.

References named per test: Barranco, Miranda & Rashba, JHEP 12 (2005) 021 (radiative
couplings); Cerdeno et al., JHEP 05 (2016) 118 (light Z'); Helm 1956 / Lewin & Smith 1996
(form factors); Vogel & Engel, PRD 39 (1989) 3378 (magnetic moment).
"""

import numpy as np
import pytest
import scipy.constants as sc
from scipy import integrate

from cevns import units
from cevns.physics import couplings, degeneracy, electromagnetic, form_factors, kinematics, mediators

M_GE74 = 73.9211777 * units.AMU_MeV - 32 * units.ELECTRON_MASS_MeV  # nuclear mass, MeV
RNG = np.random.default_rng(12)


# --- 1. coupling conventions ------------------------------------------------------------------

def test_radiative_couplings_reproduce_barranco_2005():
    # Barranco, Miranda & Rashba (2005) with sin^2 = 0.2312: g_V^p = 0.0304, g_V^n = -0.5122
    # (the issue quotes "about 0.030 and -0.512"); pyCEvNS uses the same numbers.
    g_p, g_n = couplings.weak_nucleon_charges(0.2312, convention="radiative")
    assert g_p == pytest.approx(0.030, abs=5e-4)
    assert g_n == pytest.approx(-0.512, abs=5e-4)
    # written out by hand from their formula: rho (1/2 - 2 kappa s^2) + 2 l_uL + 2 l_uR + l_dL + l_dR, etc.
    rho, kappa, l_ul, l_dl, l_dr = 1.0086, 0.9978, -0.0031, -0.0025, 7.5e-5
    l_ur = l_dr / 2
    assert g_p == pytest.approx(rho * (0.5 - 2 * kappa * 0.2312) + 2 * l_ul + 2 * l_ur + l_dl + l_dr, rel=1e-14)
    assert g_n == pytest.approx(-rho / 2 + l_ul + l_ur + 2 * l_dl + 2 * l_dr, rel=1e-14)
    assert units.SIN2_THETA_W_MSBAR_MZ_BMR2005 == 0.2312


def test_radiative_couplings_match_nudl_constants():
    # An independent implementation by one of the paper's authors: jaydenn/nuDL,
    # source/include/physicalConstants.h, hard-codes GVP = 0.0153037, GVN = -0.512213 with
    # SSW = 0.2387, i.e. the same radiative formula evaluated at the low-energy sin^2.
    g_p, g_n = couplings.weak_nucleon_charges(0.2387, convention="radiative")
    assert g_p == pytest.approx(0.0153037, abs=1e-7)
    assert g_n == pytest.approx(-0.512213, abs=1e-6)


def test_tree_default_is_unchanged_bit_for_bit():
    for s in (0.2387, 0.2312, 0.25):
        assert couplings.weak_nucleon_charges(s) == (0.5 - 2.0 * s, -0.5)
        assert couplings.weak_nucleon_charges(s, "tree") == couplings.weak_nucleon_charges(s)
    z, n, s = 55, 78, 0.2387
    assert couplings.sm_vector_charge(z, n, s) == z * (0.5 - 2.0 * s) + n * -0.5
    assert np.array_equal(couplings.charge_coefficients(z, n, s), couplings.charge_coefficients(z, n, s, "tree"))
    assert np.array_equal(couplings.charge_gram_matrices(z, n, s), couplings.charge_gram_matrices(z, n, s, convention="tree"))
    assert "tree" in couplings.COUPLING_CONVENTIONS and "radiative" in couplings.COUPLING_CONVENTIONS
    with pytest.raises(couplings.UnknownConventionError, match="radiative"):
        couplings.weak_nucleon_charges(s, "one-loop")


@pytest.mark.parametrize("convention", ["tree", "radiative"])
def test_convention_threads_through_every_charge_function(convention):
    z, n, s = 32, 42, 0.2312
    g_p, g_n = couplings.weak_nucleon_charges(s, convention)
    eps = RNG.normal(size=couplings.N_NSI)
    eps_u, eps_d = couplings.nsi_matrices(eps)
    q = couplings.vector_charge(z, n, eps_u, eps_d, s, convention)
    # Barranco et al. (2005) eq. 2 for the ee entry, with this convention's g_p, g_n
    assert q[0, 0] == pytest.approx(z * (g_p + 2 * eps_u[0, 0] + eps_d[0, 0]) + n * (g_n + eps_u[0, 0] + 2 * eps_d[0, 0]), rel=1e-12)
    x = np.concatenate([[1.0], eps])
    assert couplings.charge_coefficients(z, n, s, convention) @ x == pytest.approx(q, rel=1e-12)
    gram = couplings.charge_gram_matrices(z, n, s, convention)
    assert np.einsum("i,aij,j->a", x, gram, x) == pytest.approx((q**2).sum(axis=1), rel=1e-12)
    assert couplings.sm_vector_charge(z, n, s, convention) == pytest.approx(z * g_p + n * g_n, rel=1e-15)


# --- 2. sin^2(theta_W) as a linear parameter ------------------------------------------------

@pytest.mark.parametrize("convention", ["tree", "radiative"])
def test_charge_is_exactly_affine_in_sin2(convention):
    z, n, reference = 53, 74, 0.2387
    coeff = couplings.charge_coefficients_with_sin2(z, n, reference, convention)
    gram = couplings.charge_gram_matrices_with_sin2(z, n, reference, convention)
    assert coeff.shape == (3, 3, 14) and gram.shape == (3, 14, 14)
    assert np.array_equal(coeff[:, :, :13], couplings.charge_coefficients(z, n, reference, convention))
    for _ in range(20):
        s = RNG.uniform(0.15, 0.35)
        eps = RNG.uniform(-1.5, 1.5, size=couplings.N_NSI)
        eps_u, eps_d = couplings.nsi_matrices(eps)
        direct = couplings.vector_charge(z, n, eps_u, eps_d, s, convention)
        x = np.concatenate([[1.0], eps, [s - reference]])
        assert coeff @ x == pytest.approx(direct, rel=1e-12, abs=1e-12)
        assert np.einsum("i,aij,j->a", x, gram, x) == pytest.approx((direct**2).sum(axis=1), rel=1e-12)


def test_sin2_slopes_are_the_derivatives():
    # tree: dQ/ds = -2 Z; radiative: -2 rho kappa Z (Barranco et al. 2005)
    assert couplings.weak_nucleon_charge_slopes("tree") == (-2.0, 0.0)
    slope_p, slope_n = couplings.weak_nucleon_charge_slopes("radiative")
    g1 = couplings.weak_nucleon_charges(0.22, "radiative")
    g2 = couplings.weak_nucleon_charges(0.24, "radiative")
    assert (g2[0] - g1[0]) / 0.02 == pytest.approx(slope_p, rel=1e-10)
    assert slope_n == 0.0 and g2[1] == g1[1]


# --- 4. separate proton and neutron form factors --------------------------------------------

@pytest.mark.parametrize("mass_number", [23, 28, 40, 74, 133])
def test_helm_with_lewin_smith_rms_radius_is_helm(mass_number):
    # F_p = F_n with the Lewin & Smith radius gives back today's helm to rounding
    q = np.linspace(0.0, 200.0, 41)
    rms = form_factors.helm_rms_radius_fm(form_factors.helm_radius_fm(mass_number))
    assert form_factors.helm_with_radius(q, rms) == pytest.approx(form_factors.helm(q, mass_number), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("rms_fm", [3.4, 4.8, 5.5])
def test_helm_rms_radius_relation_from_the_form_factor_slope(rms_fm):
    # F(q) = 1 - q^2 <r^2>/6 + ...: the slope at q = 0 measures R_rms^2 = 3/5 R0^2 + 3 s^2 (independent of the relation used inside)
    hbarc_MeV_fm = units.HBARC_MeV_cm / units.fm
    q = np.array([1e-2, 2e-2]) * hbarc_MeV_fm  # 0.01 and 0.02 fm^-1, in MeV
    f = form_factors.helm_with_radius(q, rms_fm)
    # Richardson-extrapolated slope -6 dF/d(q^2) in fm^2
    slopes = -6.0 * (f - 1.0) / (q / hbarc_MeV_fm) ** 2
    assert (4 * slopes[0] - slopes[1]) / 3 == pytest.approx(rms_fm**2, rel=1e-7)
    box = form_factors.helm_box_radius_fm(rms_fm)
    assert form_factors.helm_rms_radius_fm(box) == pytest.approx(rms_fm, rel=1e-14)
    with pytest.raises(ValueError, match="too small"):
        form_factors.helm_box_radius_fm(1.0)  # below sqrt(3) x 0.9 fm


def test_nucleon_split_reproduces_the_single_form_factor_charge():
    z, n, s = 55, 78, 0.2387
    proton, neutron = couplings.nucleon_charge_coefficients(z, n, s)
    assert np.array_equal(proton + neutron, couplings.charge_coefficients(z, n, s))
    weights_grams = couplings.nucleon_charge_gram_matrices(z, n, s)
    gram = couplings.charge_gram_matrices(z, n, s)
    q = np.linspace(1.0, 80.0, 9)
    f = form_factors.helm(q, z + n)
    eps = RNG.normal(size=couplings.N_NSI)
    x = np.concatenate([[1.0], eps])
    per_weight = np.einsum("i,waij,j->wa", x, weights_grams, x)  # (3 weights, 3 flavors)
    combined = f[:, None] ** 2 * (per_weight[0] + per_weight[1] + per_weight[2])
    assert combined == pytest.approx(f[:, None] ** 2 * np.einsum("i,aij,j->a", x, gram, x), rel=1e-12)
    # and the charge itself: F_p = F_n = F gives F Q
    eps_u, eps_d = couplings.nsi_matrices(eps)
    split = couplings.vector_charge_with_form_factors(z, n, eps_u, eps_d, s, f, f)
    assert split == pytest.approx(f[:, None, None] * couplings.vector_charge(z, n, eps_u, eps_d, s), rel=1e-12)


def test_nucleon_split_with_different_radii_is_a_quadratic_form():
    # Q_W(q) = Z g_p F_p + N g_n F_n (Cadeddu et al., PRL 120 (2018) 072501) with NSI weighting F_p and F_n alike
    z, n, s = 55, 78, 0.2387
    radii = form_factors.NUCLEAR_RADII["Cs[133]"]
    q = np.linspace(1.0, 80.0, 9)
    f_p = form_factors.helm_with_radius(q, radii.proton_radius_fm)
    f_n = form_factors.helm_with_radius(q, radii.neutron_radius_fm)
    eps = RNG.normal(size=couplings.N_NSI)
    eps_u, eps_d = couplings.nsi_matrices(eps)
    charge = couplings.vector_charge_with_form_factors(z, n, eps_u, eps_d, s, f_p, f_n)
    g_p, g_n = couplings.weak_nucleon_charges(s)
    ee = f_p * z * (g_p + 2 * eps_u[0, 0] + eps_d[0, 0]) + f_n * n * (g_n + eps_u[0, 0] + 2 * eps_d[0, 0])
    assert charge[:, 0, 0] == pytest.approx(ee, rel=1e-12)
    x = np.concatenate([[1.0], eps])
    grams = couplings.nucleon_charge_gram_matrices(z, n, s)
    weights = np.stack([f_p**2, f_p * f_n, f_n**2])
    quadratic = np.einsum("wq,i,waij,j->qa", weights, x, grams, x)
    assert quadratic == pytest.approx((charge**2).sum(axis=2), rel=1e-12)
    # R_n > R_p: F_n < F_p at finite q (the neutron radius suppresses the neutron part more)
    assert np.all(f_n[1:] < f_p[1:])


def test_point_proton_radii_from_charge_radii():
    # R_p^2 = R_ch^2 - <r_p^2> - (N/Z) <r_n^2> - 3/4 (hbar/m_p c)^2, by hand with CODATA r_p and PDG <r_n^2>
    r_p2 = sc.physical_constants["proton rms charge radius"][0] ** 2 * 1e30
    darwin = 0.75 * (sc.physical_constants["reduced Planck constant times c in MeV fm"][0]
                     / sc.physical_constants["proton mass energy equivalent in MeV"][0]) ** 2
    for key, (z, n, r_ch) in {"Cs[133]": (55, 78, 4.8041), "I[127]": (53, 74, 4.7500), "Ar[40]": (18, 22, 3.4274)}.items():
        radii = form_factors.NUCLEAR_RADII[key]
        assert (radii.z, radii.n, radii.charge_radius_fm) == (z, n, r_ch)
        expected = np.sqrt(r_ch**2 - r_p2 + (n / z) * 0.1161 - darwin)
        assert radii.proton_radius_fm == pytest.approx(expected, rel=1e-12)
        assert radii.proton_radius_fm < r_ch
    assert form_factors.NUCLEAR_RADII["Cs[133]"].neutron_radius_fm == 5.5  # Cadeddu et al. PRL 120 (2018) 072501


# --- 3. light vector mediator ----------------------------------------------------------------

def test_heavy_mediator_limit_is_contact_nsi():
    z, n, s = 32, 42, 0.2387
    eps = RNG.uniform(-0.5, 0.5, size=couplings.N_NSI)
    eps_u, eps_d = couplings.nsi_matrices(eps)
    contact = couplings.vector_charge(z, n, eps_u, eps_d, s)
    t = np.array([1e-4, 1e-3, 1e-2])  # MeV
    for mass in (1e6, 1e8):
        light = mediators.light_mediator_vector_charge(z, n, t, M_GE74, mass, eps, s)
        # P = 1 - q^2/m^2 + ...: the relative deviation is below q^2_max / m^2 (times |Q_NSI / Q| < 10)
        tolerance = 10 * 2 * M_GE74 * t.max() / mass**2 + 1e-14
        assert light == pytest.approx(np.broadcast_to(contact, light.shape), rel=tolerance, abs=1e-12)
    assert mediators.propagator_factor(t, M_GE74, np.inf) == pytest.approx(np.ones(3), rel=0)
    # at fixed g_nu g_q / m^2 the coupling tends to its contact value g g / (sqrt2 G_F m^2)
    gg = mediators.coupling_product_for_nsi(0.3, 5e4)
    q2 = kinematics.momentum_transfer_squared(t, M_GE74)
    assert mediators.effective_nsi(gg, 5e4, q2) == pytest.approx(0.3 * 5e4**2 / (5e4**2 + q2), rel=1e-13)
    assert mediators.effective_nsi(gg, 5e4) == pytest.approx(0.3, rel=1e-13)


def test_universal_mediator_matches_cerdeno_2016():
    # Cerdeno et al., JHEP 05 (2016) 118 (their G_V factor, as coded in bradkav/CEvNS, xsec_CEvNS):
    # Q_V G_V with Q_V = N - (1 - 4 s^2) Z, G_V = 1 - sqrt2/G_F (3 A g^2 / Q_V) / (q^2 + m^2);
    # in cevns' normalisation Q = -Q_V / 2.
    z, n, s, mass, g2 = 32, 42, 0.2387, 20.0, 1e-10
    t = np.geomspace(1e-5, 1e-2, 7)
    q2 = kinematics.momentum_transfer_squared(t, M_GE74)
    q_v = n - (1 - 4 * s) * z
    g_v = 1 - np.sqrt(2) / units.G_FERMI_MeV2 * (3 * (z + n) * g2 / q_v) / (q2 + mass**2)
    charge = mediators.light_mediator_vector_charge(z, n, t, M_GE74, mass, mediators.universal_mediator_nsi(g2, mass), s)
    assert charge[:, 0, 0] == pytest.approx(-q_v / 2 * g_v, rel=1e-12)
    assert np.all(charge[:, 0, 1] == 0) and np.all(g_v < 1)  # destructive for g_nu g_q > 0


def test_propagator_split_is_exact():
    # sum_b Q_ab(T)^2 = x^T G0 x + P x^T G1 x + P^2 x^T G2 x, x = (1, eps(0))
    z, n, s, mass = 55, 78, 0.2387, 15.0
    m_cs = 132.905452 * units.AMU_MeV
    t = np.geomspace(1e-4, 3e-2, 9)
    eps0 = mediators.mediator_nsi_vector([1.0, -0.5, 0.0], 2e-5, -1e-5, mass)
    gram = couplings.charge_gram_matrices(z, n, s)
    pieces = mediators.split_gram_by_propagator_power(gram)
    assert np.array_equal(pieces.sum(axis=0), gram)
    basis = mediators.propagator_basis(t, m_cs, mass)
    assert basis.shape == (3, t.size) and np.all(basis[0] == 1)
    assert basis[1] == pytest.approx(mass**2 / (mass**2 + 2 * m_cs * t), rel=1e-14)
    x = np.concatenate([[1.0], eps0])
    kernel_sum = np.einsum("pt,i,paij,j->ta", basis, x, pieces, x)
    charge = mediators.light_mediator_vector_charge(z, n, t, m_cs, mass, eps0, s)
    assert kernel_sum == pytest.approx((charge**2).sum(axis=2), rel=1e-12)
    # heavy NSI (power 0) and a light Z' (power 1) together: entry (i, j) carries P^(p_i + p_j)
    heavy = couplings.nsi_vector({"eps_u_ee": 0.2, "eps_d_mumu": -0.1})
    light = couplings.nsi_vector({"eps_d_ee": 0.15})
    coeff = couplings.charge_coefficients(z, n, s)
    big = np.concatenate([coeff, coeff[:, :, 1:]], axis=2)  # x = (1, eps_heavy, eps_light(0))
    powers = np.array([0] + [0] * couplings.N_NSI + [1] * couplings.N_NSI)
    big_pieces = mediators.split_gram_by_propagator_power(np.einsum("abi,abj->aij", big, big), powers)
    x = np.concatenate([[1.0], heavy, light])
    p = basis[1]
    direct = coeff[:, :, 0] + coeff[:, :, 1:] @ heavy + p[:, None, None] * (coeff[:, :, 1:] @ light)
    assert np.einsum("pt,i,paij,j->ta", basis, x, big_pieces, x) == pytest.approx((direct**2).sum(axis=2), rel=1e-12)
    with pytest.raises(ValueError, match="powers"):
        mediators.split_gram_by_propagator_power(gram, np.full(13, 2))


def test_mediator_nsi_vector_flavor_structure():
    # L_mu - L_tau-like neutrino couplings: only mumu and tautau entries, opposite signs
    eps = mediators.mediator_nsi_vector([0.0, 1.0, -1.0], 1e-4, 1e-4, 100.0)
    names = dict(zip(couplings.NSI_NAMES, eps, strict=True))
    unit = 1e-4 / (np.sqrt(2) * units.G_FERMI_MeV2 * 100.0**2)
    assert names["eps_u_mumu"] == pytest.approx(unit) and names["eps_d_tautau"] == pytest.approx(-unit)
    assert names["eps_u_ee"] == 0 and names["eps_d_emu"] == 0
    with pytest.raises(ValueError, match="symmetric"):
        mediators.mediator_nsi_vector(np.arange(9.0).reshape(3, 3), 1.0, 1.0, 10.0)
    with pytest.raises(ValueError, match="> 0"):
        mediators.propagator_factor(1e-3, M_GE74, 0.0)


# --- 5. neutrino magnetic moment -------------------------------------------------------------

def test_magnetic_prefactor_is_pi_classical_electron_radius_squared():
    # pi alpha^2 / m_e^2 (natural units) = pi r_e^2, r_e = alpha hbar c / m_e c^2 (CODATA classical electron radius)
    r_e_cm = sc.physical_constants["classical electron radius"][0] * 100.0
    assert electromagnetic.MAGNETIC_PREFACTOR_cm2 == pytest.approx(np.pi * r_e_cm**2, rel=1e-9)
    assert electromagnetic.MAGNETIC_PREFACTOR_cm2 == pytest.approx(2.4946e-25, rel=1e-4)


@pytest.mark.parametrize("e_nu", [3.0, 10.0, 30.0])
def test_magnetic_cross_section_integral_matches_closed_form(e_nu):
    z = 32
    t_max = float(kinematics.t_recoil_max(e_nu, M_GE74))
    t_min = 1e-3 * t_max
    numeric, _ = integrate.quad(
        lambda t: float(electromagnetic.magnetic_moment_cross_section_per_mu2(t, e_nu, M_GE74, z)),
        t_min, t_max, epsabs=0, epsrel=1e-12, limit=200,
    )
    closed = float(electromagnetic.magnetic_moment_total_cross_section_per_mu2(e_nu, M_GE74, z, t_min))
    assert numeric == pytest.approx(closed, rel=1e-10)
    # Vogel & Engel's shape by hand at one point, and zero outside 0 < T <= T_max
    t = 0.3 * t_max
    by_hand = np.pi * units.FINE_STRUCTURE_CONSTANT**2 / units.ELECTRON_MASS_MeV**2 * units.HBARC_MeV_cm**2 * z**2 * (1 / t - 1 / e_nu)
    assert float(electromagnetic.magnetic_moment_cross_section_per_mu2(t, e_nu, M_GE74, z, 0.81)) == pytest.approx(0.81 * by_hand, rel=1e-13)
    outside = electromagnetic.magnetic_moment_cross_section_per_mu2(np.array([0.0, 1.001 * t_max]), e_nu, M_GE74, z)
    assert np.all(outside == 0)


def test_magnetic_to_weak_ratio_closed_form():
    # ratio of the two cross sections at the same (T, E) in closed form (G_F and alpha in MeV units):
    #   (pi alpha^2 mu^2 Z^2 / m_e^2)(1/T - 1/E) / (G_F^2 m_N Q^2 / pi (1 - m_N T / 2E^2));
    # at T << E^2/m_N the weak term is flat and the ratio scales as 1/T.
    from cevns.physics import cross_section

    z, n, e = 32, 42, 10.0
    q2 = couplings.sm_vector_charge(z, n, 0.2387) ** 2
    t = np.array([1e-7, 1e-6, 1e-4])
    weak = cross_section.differential_cross_section(t, e, M_GE74, q2)
    em = electromagnetic.magnetic_moment_cross_section_per_mu2(t, e, M_GE74, z) * 1e-20  # mu = 1e-10 mu_B
    ratio = em / weak
    closed = np.pi * units.FINE_STRUCTURE_CONSTANT**2 * 1e-20 * z**2 * (1 / t - 1 / e) / (
        units.ELECTRON_MASS_MeV**2 * units.G_FERMI_MeV2**2 * M_GE74 * q2 / np.pi * (1 - M_GE74 * t / (2 * e**2)))
    assert ratio == pytest.approx(closed, rel=1e-12)
    assert ratio[0] / ratio[1] == pytest.approx(10.0, rel=1e-3)


# --- degeneracy under both conventions -------------------------------------------------------

@pytest.mark.parametrize(("convention", "sin2"), [("tree", 0.2387), ("radiative", 0.2312)])
def test_si_ge_mirror_point_under_both_conventions(convention, sin2):
    from cevns.detectors import make_target

    si = degeneracy.target_lines("Si", make_target("Si").beta, sin2, convention=convention)
    ge = degeneracy.target_lines("Ge", make_target("Ge").beta, sin2, convention=convention)
    crossing = degeneracy.intersections(si, ge)[1]
    assert crossing["lines"] == ("mirror", "mirror")
    point = degeneracy.mirror_point(sin2, convention)
    assert crossing["point"] == pytest.approx(point, rel=1e-12)
    # at that point Q = -Q_SM for every isotope (here 28Si, 30Si, 70Ge, 76Ge), in that convention
    eps_u, eps_d = np.zeros((3, 3)), np.zeros((3, 3))
    eps_u[0, 0], eps_d[0, 0] = point
    for z, n in ((14, 14), (14, 16), (32, 38), (32, 44)):
        q = couplings.vector_charge(z, n, eps_u, eps_d, sin2, convention)[0, 0]
        assert q == pytest.approx(-couplings.sm_vector_charge(z, n, sin2, convention), rel=1e-12)
    print(f"{convention} sin^2={sin2}: Si/Ge mirror point (eps_u, eps_d) = ({point[0]:+.5f}, {point[1]:+.5f})")


def test_radiative_convention_moves_the_mirror_point_by_a_few_hundredths():
    tree = degeneracy.mirror_point(0.2387, "tree")
    radiative = degeneracy.mirror_point(0.2312, "radiative")
    assert tree == pytest.approx((-0.36347, 0.68173), abs=1e-5)
    assert radiative == pytest.approx((-0.38201, 0.70322), abs=1e-5)
    shift = np.subtract(radiative, tree)
    assert 0.01 < abs(shift[0]) < 0.05 and 0.01 < abs(shift[1]) < 0.05


def test_degeneracy_defaults_unchanged_and_report_records_convention():
    default = degeneracy.target_lines("Ge", 0.786, 0.2387)
    assert default == degeneracy.target_lines("Ge", 0.786, 0.2387, convention="tree")
    report = degeneracy.degeneracy_report([("Si", 0.99), ("Ge", 0.786)], 0.2312, convention="radiative")
    assert report["coupling_convention"] == "radiative"
    assert report["pairs"][0]["intersections"][1] == pytest.approx(list(degeneracy.mirror_point(0.2312, "radiative")), rel=1e-12)
    assert degeneracy.degeneracy_report([("Si", 0.99)])["coupling_convention"] == "tree"
