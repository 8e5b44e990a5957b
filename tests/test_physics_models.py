"""Physics beyond one form factor and contact NSI, wired into the kernels and the model (issue: physics extensions).

Each check names its reference: an independent integration path (charge evaluated at every recoil node),
a closed form, or a limit.
"""

import numpy as np
import pytest

from cevns import Model, Scenario
from cevns.spec.config import resolve_raw, validate_config
from cevns.detectors import Detector, make_target
from cevns.experiment import LINEAR_PARAMETERS, MU_NU_UNIT, N_LINEAR, Experiment, PhysicsOptions
from cevns.physics.couplings import N_NSI, NSI_NAMES, sm_vector_charge
from cevns.physics.electromagnetic import MAGNETIC_PREFACTOR_cm2
from cevns.sources import stopped_pion_source
from cevns import units


def _experiment(target="CsI", threshold=3.0, window=40.0, bins=6, form_factor="helm", **physics):
    det = Detector(make_target(target), threshold, window, bins)
    return Experiment("t", stopped_pion_source(), det, 1000.0, PhysicsOptions(form_factor=form_factor, **physics))


@pytest.mark.parametrize("physics", [
    {},
    {"couplings": "radiative", "sin2_theta_w": 0.2312},
    {"neutron_radius_fm": 5.5},
    {"log10_mediator_mass_MeV": 1.0},
    {"neutron_radius_fm": 4.9, "log10_mediator_mass_MeV": 1.5, "couplings": "radiative"},
])
def test_kernels_equal_direct_integration_with_every_linear_parameter(physics):
    """x^T H x from the kernels equals the rate integrated with the charge evaluated at every recoil node."""
    exp = _experiment(**physics)
    kernels = exp.kernels()
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.uniform(-0.5, 0.5, N_LINEAR)
        x[LINEAR_PARAMETERS.index("mu_nu")] = rng.uniform(0, 50)  # in 1e-10 Bohr magnetons
        assert kernels.signal(x) == pytest.approx(exp.direct_signal(x), rel=1e-10)


def test_heavy_mediator_limit_is_contact_nsi():
    """m -> infinity: the propagator -> 1, and eps_zprime is universal NSI eps^u_aa = eps^d_aa = eps_zprime."""
    eps = 0.07
    contact = np.zeros(N_NSI)
    for name in ("eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu", "eps_u_tautau", "eps_d_tautau"):
        contact[NSI_NAMES.index(name)] = eps
    x = np.zeros(N_LINEAR)
    x[LINEAR_PARAMETERS.index("eps_zprime")] = eps
    reference = _experiment().kernels().signal(contact)
    assert _experiment().kernels().signal(x) == pytest.approx(reference, rel=1e-12)
    # 1 TeV: P = 1/(1 + 2 m_N T/m^2) differs from 1 by < 2e-7 at these recoils
    heavy = _experiment(log10_mediator_mass_MeV=6.0).kernels().signal(x)
    assert heavy == pytest.approx(reference, rel=1e-6)
    # a light mediator (10 MeV) suppresses the Z' term by P = m^2/(m^2 + 2 m_N T) < 0.1 at CsI recoils above
    # 3 keV (2 m_N T > 700 MeV^2): the rate stays within a tenth of the contact shift from the SM
    sm = _experiment().kernels().signal(np.zeros(N_NSI))
    light = _experiment(log10_mediator_mass_MeV=1.0).kernels().signal(x)
    assert np.sum(np.abs(light - sm)) < 0.1 * np.sum(np.abs(reference - sm))


def test_magnetic_moment_term_against_closed_form():
    """Line source, point nucleus (F = 1), unit efficiency: counts in [T1, T2] per mu^2 are
    N phi pi alpha^2/m_e^2 Z^2 [ln(T2/T1) - (T2 - T1)/E] (integral of Vogel & Engel 1989's cross section)."""
    det = Detector(make_target("Ar[40]"), 5.0, 60.0, 1)
    exp = Experiment("em", stopped_pion_source(flux_per_flavor_cm2_s=1e7), det, 1000.0, PhysicsOptions(form_factor="none"))
    kernels = exp.kernels()
    mu = LINEAR_PARAMETERS.index("mu_nu") + 1
    (iso,) = exp.detector.target.isotopes
    prompt = exp.source.component("prompt_nu_mu")
    e_nu = prompt.spectrum.energy_MeV
    t1 = 5.0 * units.keV
    t2 = min(60.0 * units.keV, float(2 * e_nu**2 / (iso.mass_MeV + 2 * e_nu)))
    closed = MAGNETIC_PREFACTOR_cm2 * iso.z**2 * (np.log(t2 / t1) - (t2 - t1) / e_nu) * MU_NU_UNIT**2
    expected = exp.exposure_kg_day * units.day * iso.nuclei_per_kg * prompt.flux_cm2_s * closed
    c = exp.source.components.index(prompt)
    assert kernels.quadratic_forms[0, c, mu, mu] == pytest.approx(expected, rel=1e-9)


def test_radiative_couplings_scale_the_rate_by_the_charge_ratio():
    """One isotope, same kinematics: the SM rate scales as (Z g_p + N g_n)^2 between conventions."""
    tree = _experiment("Ar[40]").kernels().signal(np.zeros(N_NSI))
    radiative = _experiment("Ar[40]", couplings="radiative", sin2_theta_w=0.2312).kernels().signal(np.zeros(N_NSI))
    ratio = (sm_vector_charge(18, 22, 0.2312, "radiative") / sm_vector_charge(18, 22, units.SIN2_THETA_W_LOW_ENERGY)) ** 2
    assert radiative == pytest.approx(ratio * tree, rel=1e-12)


def test_neutron_radius_matters_at_high_momentum_transfer_only():
    """F_n -> 1 as q R_n -> 0: at reactor recoils (q R ~ 0.02) the radius changes nothing; at SNS
    CsI recoils a larger neutron radius lowers the rate (the weak charge is mostly neutrons)."""
    from cevns.sources import reactor_source

    def reactor_ge(r_n):  # noqa: ANN001
        det = Detector(make_target("Ge"), 0.1, 1.0, 1)
        return Experiment("r", reactor_source(), det, 1.0, PhysicsOptions(neutron_radius_fm=r_n)).kernels().signal(np.zeros(N_NSI))

    assert reactor_ge(4.0) == pytest.approx(reactor_ge(4.6), rel=2e-3)
    small = _experiment(neutron_radius_fm=4.8).kernels().signal(np.zeros(N_NSI)).sum()
    large = _experiment(neutron_radius_fm=5.8).kernels().signal(np.zeros(N_NSI)).sum()
    assert large < small


def _scenario(name, edit):  # noqa: ANN001
    raw = resolve_raw(name)
    edit(raw)
    return Scenario(validate_config(raw, name), name)


def test_model_frees_the_new_parameters():
    def edit(raw):  # noqa: ANN001
        raw["fit"]["free"] = {"eps_zprime": [-0.5, 0.5], "mu_nu": [0.0, 100.0], "neutron_radius_fm": [4.5, 6.5]}
        raw["fit"]["grid_points"] = {"neutron_radius_fm": 9}

    model = Model.from_scenario(_scenario("coherent-2017", edit))
    assert model.kinds["eps_zprime"] == "coupling" and model.kinds["mu_nu"] == "coupling"
    assert model.kinds["neutron_radius_fm"] == "physics"
    sm = model.expected_counts(model.pars(neutron_radius_fm=5.5))[0]
    assert model.expected_counts(model.pars(neutron_radius_fm=5.5, mu_nu=50.0))[0][0] > sm[0]
    # the grid reproduces the kernels at a node exactly
    raw = resolve_raw("coherent-2017")
    raw["physics"] = {"neutron_radius_fm": 5.5}
    direct = Model.from_scenario(Scenario(validate_config(raw), "x"))
    assert sm == pytest.approx(direct.expected_counts(direct.init)[0], rel=1e-12)


def test_grid_only_parameters_need_grid_points():
    from cevns import ConfigError

    def edit(raw):  # noqa: ANN001
        raw["fit"]["free"] = {"neutron_radius_fm": [4.5, 6.5]}

    with pytest.raises(ConfigError, match="grid_points"):
        _scenario("coherent-2017", edit)


def test_mediator_limits_heavy_limit_and_mass_scaling():
    """Heavy mediator: the allowed eps(0) is the contact fit's (P -> 1), so g_max grows as m (g^2 = sqrt2 G_F m^2 eps);
    light mediator (m^2 << 2 m_N T): the rate depends on g^2/(2 m_N T) only, so g_max stops depending on m."""
    from cevns.inference.density import hpd_intervals
    from cevns.app.limits import EFFECTIVE_COUPLING_RANGE, GRID_POINTS, _smallest_q2_MeV2, mediator_allowed_regions

    result = mediator_allowed_regions("coherent-2017", [-1.0, -0.5, 4.0, 4.5])
    (light_a, light_b, heavy_a, heavy_b) = (bands[0][1] for bands in result["allowed_g"])
    assert heavy_b / heavy_a == pytest.approx(10**0.5, rel=1e-2)
    assert light_b / light_a == pytest.approx(1.0, rel=1e-2)
    # contact model (no mass): the same HPD edge of eps_zprime on the same grid (the same range, so that the
    # second band's mass is counted alike)
    raw = resolve_raw("coherent-2017")
    raw["fit"] = {**raw["fit"], "free": {"eps_zprime": [0.0, 1.0]}}
    scenario = Scenario(validate_config(raw), "contact")
    model = Model.from_scenario(scenario)
    mass = 10**4.5
    eps_max = EFFECTIVE_COUPLING_RANGE * (mass**2 + _smallest_q2_MeV2(scenario, scenario.channels_at(None))) / mass**2
    grid = np.linspace(0.0, eps_max, GRID_POINTS)
    log_post = model.log_marginal_likelihood(grid[:, None], model.observed())
    contact = hpd_intervals(grid, np.exp(log_post - log_post.max()), 0.95, (0.0, eps_max))
    assert contact[0][1] == pytest.approx(result["allowed_eps0"][3][0][1], rel=2e-3)
