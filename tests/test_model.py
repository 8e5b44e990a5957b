"""The statistical model layer: shapes, parameter kinds, modifiers, data as an argument (issue: model layer)."""

import copy

import numpy as np
import pytest
from scipy import special, stats

import cevns
from cevns.spec.config import resolve_raw, validate_config
from cevns.model import Model, ModelError
from cevns.model.parameters import histosys_delta, histosys_delta_derivative, histosys_delta_second_derivative
from cevns.builders.scenario import Scenario


def _scenario(name: str, edit=None) -> Scenario:  # noqa: ANN001
    raw = resolve_raw(name)
    if edit is not None:
        edit(raw)
    return Scenario(validate_config(raw, name), name)


@pytest.fixture(scope="module")
def combined():
    return Model.from_scenario(Scenario.load("future-combined"))


def test_parameter_table_and_kinds(combined):
    assert combined.poi_names == ["eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu"]
    assert len(combined.parameter_names) == 12
    assert set(combined.kinds.values()) == {"coupling", "normsys"}
    assert combined.bounds["eps_u_ee"] == (-1.5, 1.5)
    assert combined.sampled_names("marginalized") == combined.poi_names
    sns = combined.parameters[combined.index("norm_sns_prompt_nu_mu")]
    assert (sns.center, sns.sigma, sns.prior) == (1.0, 0.10, "normal")  # paper Table 1: 10% per flavor


def test_logpdf_shape_errors_name_the_columns(combined):
    data = combined.asimov()
    two = Model.from_scenario(Scenario.load("coherent-2017-2p"))
    with pytest.raises(ModelError, match=r"shape \(n, 6\).*eps_u_ee, eps_u_mumu"):
        two.logpdf(np.zeros((1, 3)), two.observed())  # a (1, 3) array for a 6-parameter model
    with pytest.raises(ModelError, match=r"\(n, 12\)"):
        combined.log_likelihood(np.zeros((4, 4)), data)  # couplings only, nuisances missing
    with pytest.raises(ModelError, match=r"data must have shape \(40,\)"):
        combined.logpdf(combined.init, data[:-1])
    with pytest.raises(ModelError, match="unknown parameter 'eps_q_ee'"):
        combined.pars(eps_q_ee=0.1)
    with pytest.raises(ModelError, match="finite and non-negative"):
        combined.logpdf(combined.init, -data)
    assert combined.logpdf(combined.init, data).shape == (1,)
    assert combined.logpdf(np.tile(combined.init, (7, 1)), data).shape == (7,)


def test_logpdf_is_poisson_plus_gaussian_constraints(combined):
    data = np.round(combined.asimov())
    rng = np.random.default_rng(2)
    pars = combined.prior_transform(rng.uniform(size=(5, 12)), "sampled")
    lam = combined.expected_counts(pars)
    constrained = combined.constrained_indices
    expected = (np.sum(stats.poisson.logpmf(data, lam), axis=1)
                + np.sum(stats.norm.logpdf(pars[:, constrained], combined.centers[constrained], combined.sigmas[constrained]), axis=1))
    assert combined.logpdf(pars, data) == pytest.approx(expected, rel=1e-12)


def test_expected_matches_the_response_kernels():
    scenario = Scenario.load("future-combined")
    model = Model.from_scenario(scenario)
    pars = model.pars(eps_u_ee=0.2, eps_d_mumu=-0.1, norm_sns_delayed_nu_e=1.1, **{"norm_bkg_SNS-Ar": 0.9})
    per_experiment = model.expected(pars)
    from cevns.physics.couplings import nsi_vector

    eps = nsi_vector({"eps_u_ee": 0.2, "eps_d_mumu": -0.1})
    for exp in scenario.experiments:
        signal = exp.kernels.signal(eps)
        for c, name in enumerate(exp.kernels.component_names):
            scale = 1.1 if name == "delayed_nu_e" else 1.0
            assert per_experiment[exp.name][name][0] == pytest.approx(scale * signal[:, c], rel=1e-12)
        assert per_experiment[exp.name]["background"][0] == pytest.approx(
            exp.background * (0.9 if exp.name == "SNS-Ar" else 1.0), rel=1e-12)


def test_data_is_an_argument_not_state(combined):
    """The same model evaluates Asimov data at any truth, observed-like data and toys."""
    truth = combined.pars(eps_u_ee=0.05)
    at_truth = combined.asimov(truth)
    assert combined.log_likelihood(truth, at_truth) > combined.log_likelihood(combined.init, at_truth)
    assert combined.log_likelihood(combined.init, combined.asimov()) > combined.log_likelihood(truth, combined.asimov())
    toys = combined.toy(truth, np.random.default_rng(0), n=3)
    per_point = combined.log_likelihood(np.tile(truth, (3, 1)), toys)
    singles = [combined.log_likelihood(truth, toy)[0] for toy in toys]
    # einsum vs matmul: the same sums in another order; the terms are ~1e6 and cancel to ~-240,
    # so compare at the terms' double precision (1e-6 absolute ~ 1e-12 of the terms)
    assert per_point == pytest.approx(singles, abs=1e-6)


def test_toys_have_poisson_mean_and_variance():
    model = Model.from_scenario(Scenario.load("coherent-2017-2p"))
    pars = model.pars(eps_u_ee=0.1)
    lam = model.asimov(pars)
    toys = model.toy(pars, np.random.default_rng(11), n=200_000)
    assert toys.shape == (200_000, model.n_bins)
    n = toys.shape[0]
    # mean within 5 standard errors sqrt(lam/n); variance within 5 standard errors of a Poisson
    # sample variance, sqrt((lam + 2 lam^2)/n) (fourth central moment of Poisson: lam + 3 lam^2)
    assert np.abs(toys.mean(axis=0) - lam) < 5 * np.sqrt(lam / n)
    assert np.abs(toys.var(axis=0) - lam) < 5 * np.sqrt((lam + 2 * lam**2) / n)


def _with_systematics(raw):  # noqa: ANN001
    for exp in raw["experiments"]:
        if exp["name"] == "SNS-NaI":
            exp["systematics"] = [
                {"name": "quenching", "kind": "shape", "applies_to": ["signal"],
                 "up": list(np.linspace(1.2, 0.9, 10)), "down": list(np.linspace(0.85, 1.05, 10))},
                {"name": "sns_efficiency", "kind": "norm", "uncertainty": 0.05},
                {"name": "mc_stats", "kind": "staterror", "applies_to": ["background"], "relative": [0.02] * 10},
            ]
            exp["background_nuisance"] = "sns_background"
        if exp["name"] == "SNS-Ar":
            exp["systematics"] = [{"name": "sns_efficiency", "kind": "norm", "uncertainty": 0.05},
                                  {"name": "ar_lognorm", "kind": "lognorm", "applies_to": ["prompt_nu_mu"], "uncertainty": 0.3}]
            exp["background_nuisance"] = "sns_background"


@pytest.fixture(scope="module")
def systematic_model():
    return Model.from_scenario(_scenario("future-combined", _with_systematics))


def test_shape_nuisance_reproduces_its_templates_exactly(systematic_model):
    model = systematic_model
    up, down = np.linspace(1.2, 0.9, 10), np.linspace(0.85, 1.05, 10)
    nominal = model.expected(model.init)["SNS-NaI"]
    for alpha, ratio in ((1.0, up), (-1.0, down), (0.0, np.ones(10))):
        shifted = model.expected(model.pars(quenching=alpha))["SNS-NaI"]
        for component in ("prompt_nu_mu", "delayed_nu_e", "delayed_nubar_mu"):
            assert shifted[component][0] == pytest.approx(nominal[component][0] * ratio, rel=1e-14)
        assert shifted["background"][0] == pytest.approx(nominal["background"][0], rel=1e-14)  # signal only
    assert model.kinds["quenching"] == "histosys"


def test_histosys_interpolation_is_smooth_and_linear_outside():
    u, d = np.array([0.2, -0.1]), np.array([0.15, 0.05])
    for edge in (-1.0, 1.0):
        for h in (1e-6,):
            left, right = histosys_delta(np.array([[edge - h]]), u, d), histosys_delta(np.array([[edge + h]]), u, d)
            assert left == pytest.approx(right, abs=1e-5)  # continuous
            dl = histosys_delta_derivative(np.array([[edge - h]]), u, d)
            dr = histosys_delta_derivative(np.array([[edge + h]]), u, d)
            assert dl == pytest.approx(dr, abs=1e-5)  # first derivative continuous
    alpha = np.linspace(-2.5, 2.5, 501)[:, None]
    numeric = np.gradient(histosys_delta(alpha, u, d), alpha[:, 0], axis=0)
    assert histosys_delta_derivative(alpha, u, d)[1:-1] == pytest.approx(numeric[1:-1], abs=1e-3)
    assert histosys_delta(np.array([[2.0]]), u, d)[0] == pytest.approx(2 * u)
    assert histosys_delta(np.array([[-3.0]]), u, d)[0] == pytest.approx(-3 * d)


def test_histosys_matches_the_piecewise_code4p_formula_bin_by_bin():
    """The per-point coefficient form equals pyhf's code4p written out elementwise (ROOT HistFactory
    PiecewiseInterpolation code 4), and its derivatives equal finite differences of it."""
    rng = np.random.default_rng(3)
    u, d = rng.normal(0, 0.3, 50), rng.normal(0, 0.3, 50)
    alpha = np.concatenate([rng.uniform(-3, 3, 200), [-1.0, 0.0, 1.0]])[:, None]
    s, a = 0.5 * (u + d), (u - d) / 16
    piecewise = np.where(alpha > 1, alpha * u, np.where(alpha < -1, alpha * d,
                                                        alpha * (s + alpha * a * (15 + alpha**2 * (3 * alpha**2 - 10)))))
    assert histosys_delta(alpha, u, d) == pytest.approx(piecewise, abs=1e-14)
    assert histosys_delta(np.array([[1.0]]), u, d)[0] == pytest.approx(u, abs=1e-15)
    assert histosys_delta(np.array([[-1.0]]), u, d)[0] == pytest.approx(-d, abs=1e-15)
    h = 1e-6
    inner = alpha[np.abs(alpha[:, 0]) < 1 - 2 * h]
    first = (histosys_delta(inner + h, u, d) - histosys_delta(inner - h, u, d)) / (2 * h)
    assert histosys_delta_derivative(inner, u, d) == pytest.approx(first, abs=1e-8)
    second = (histosys_delta_derivative(inner + h, u, d) - histosys_delta_derivative(inner - h, u, d)) / (2 * h)
    assert histosys_delta_second_derivative(inner, u, d) == pytest.approx(second, abs=1e-7)
    outer = alpha[np.abs(alpha[:, 0]) > 1]
    assert np.all(histosys_delta_second_derivative(outer, u, d) == 0.0)


def test_shared_nuisance_moves_every_experiment_that_names_it(systematic_model):
    model = systematic_model
    assert model.parameter_names.count("sns_background") == 1 and model.parameter_names.count("sns_efficiency") == 1
    base = model.expected(model.init)
    moved = model.expected(model.pars(sns_background=1.1))
    for exp in ("SNS-NaI", "SNS-Ar"):
        assert moved[exp]["background"][0] == pytest.approx(1.1 * base[exp]["background"][0], rel=1e-14)
    for exp in ("reactor-Ge", "reactor-Si"):
        assert moved[exp]["background"][0] == pytest.approx(base[exp]["background"][0], rel=1e-14)
    eff = model.expected(model.pars(sns_efficiency=0.9))
    for exp in ("SNS-NaI", "SNS-Ar"):
        assert eff[exp]["delayed_nu_e"][0] == pytest.approx(0.9 * base[exp]["delayed_nu_e"][0], rel=1e-14)
    assert eff["reactor-Ge"]["reactor_nubar_e"][0] == pytest.approx(base["reactor-Ge"]["reactor_nubar_e"][0], rel=1e-14)
    # a staterror factor per bin, and a log-normal factor (1 + 0.3)^z
    gamma = model.pars({"mc_stats[SNS-NaI:3]": 1.05})
    assert model.expected(gamma)["SNS-NaI"]["background"][0][3] == pytest.approx(1.05 * base["SNS-NaI"]["background"][0][3])
    ln = model.expected(model.pars(ar_lognorm=-2.0))["SNS-Ar"]["prompt_nu_mu"][0]
    assert ln == pytest.approx(1.3**-2 * base["SNS-Ar"]["prompt_nu_mu"][0], rel=1e-12)


def test_conflicting_shared_names_are_refused():
    def edit(raw):  # noqa: ANN001
        raw["experiments"][0]["systematics"] = [{"name": "eff", "kind": "norm", "uncertainty": 0.05}]
        raw["experiments"][1]["systematics"] = [{"name": "eff", "kind": "norm", "uncertainty": 0.10}]

    with pytest.raises(cevns.ConfigError, match="'eff' is declared twice"):
        Model.from_scenario(_scenario("future-combined", edit))


def test_laplace_with_shape_nuisances_matches_importance_sampling(systematic_model):
    """Second method: with shape, log-normal and staterror modifiers (Gauss-Newton Hessian) the Laplace
    marginal still agrees with the unbiased importance-sampled integral."""
    model = systematic_model
    data = model.asimov(model.pars(quenching=0.5))
    rng = np.random.default_rng(5)
    free = np.array([[0.0, 0.0, 0.0, 0.0], [0.01, -0.01, 0.05, 0.02], [-0.35, 0.67, 0.0, 0.0]])
    laplace = model.log_marginal_likelihood(free, data)
    exact, error = model.log_marginal_importance(free, data, rng, n_draws=20000)
    assert np.all(np.abs(exact - laplace) < 5 * error + 0.02)


def test_laplace_matches_prior_monte_carlo_on_coherent():
    # log of Integral L(theta, nu) N(nu|1, sigma) dnu by brute-force prior Monte Carlo (1e6 draws)
    model = Model.from_scenario(Scenario.load("coherent-2017-4p"))
    data = model.observed()
    theta = np.array([[0.1, -0.05, 0.0, 0.02]])
    rng = np.random.default_rng(0)
    sig = model.sigmas[model.constrained_indices]
    nu = 1 + sig * rng.standard_normal((1_000_000, sig.size))
    values = model.log_likelihood(np.concatenate([np.repeat(theta, len(nu), axis=0), nu], axis=1), data)
    monte_carlo = np.logaddexp.reduce(values) - np.log(len(nu))
    assert model.log_marginal_likelihood(theta, data)[0] == pytest.approx(monte_carlo, abs=0.01)


def test_sin2_theta_w_is_an_exact_linear_coupling():
    """sin^2(theta_W) as a coupling: the quadratic form equals kernels rebuilt at that value."""
    def free_sin2(raw):  # noqa: ANN001
        raw["fit"]["free"] = {"eps_u_ee": [-1.0, 1.0], "sin2_theta_w": [0.15, 0.35]}

    scenario = _scenario("future-combined", free_sin2)
    model = Model.from_scenario(scenario)
    assert model.kinds["sin2_theta_w"] == "coupling" and model.pars()[model.index("sin2_theta_w")] == pytest.approx(0.2387)
    for value in (0.17, 0.2387, 0.31):
        pars = model.pars(sin2_theta_w=value, eps_u_ee=0.1)
        raw = resolve_raw("future-combined")
        raw["physics"] = {"sin2_theta_w": value}
        other = Model.from_scenario(Scenario(validate_config(raw), "x"))
        assert model.expected_counts(pars)[0] == pytest.approx(other.expected_counts(other.pars(eps_u_ee=0.1))[0], rel=1e-11)


def test_grid_physics_parameter_interpolates_the_exact_answer():
    """A non-linear physics parameter (kernels on a grid, linear interpolation): checked on sin^2(theta_W), whose
    exact quadratic form is known; the error falls as the grid spacing squared."""
    def free_sin2(raw):  # noqa: ANN001
        raw["fit"]["free"] = {"eps_u_ee": [-1.0, 1.0], "sin2_theta_w": [0.2, 0.28]}

    scenario = _scenario("future-reactor", free_sin2)
    exact = Model.from_scenario(scenario)
    errors = []
    for points in (9, 17):
        grid = Model.from_scenario(scenario, grid_points={"sin2_theta_w": points})
        assert grid.kinds["sin2_theta_w"] == "physics"
        values = np.array([[0.1, s] for s in np.linspace(0.2, 0.28, 37)])
        full_exact = np.array([exact.pars(eps_u_ee=e, sin2_theta_w=s) for e, s in values])
        full_grid = np.array([grid.pars(eps_u_ee=e, sin2_theta_w=s) for e, s in values])
        a, b = exact.expected_counts(full_exact), grid.expected_counts(full_grid)
        errors.append(np.max(np.abs(b / a - 1)))
        nodes = np.linspace(0.2, 0.28, points)
        at_nodes = np.array([grid.pars(eps_u_ee=0.1, sin2_theta_w=s) for s in nodes])
        assert grid.expected_counts(at_nodes) == pytest.approx(
            exact.expected_counts(np.array([exact.pars(eps_u_ee=0.1, sin2_theta_w=s) for s in nodes])), rel=1e-11)
    # closed form: linear interpolation of f = Q^2, Q = Q_SM(s) + a eps affine in s with slope -2Z, errs by at most
    # h^2/8 max|f''| = h^2 Z^2 (relative to Q^2); the largest Z/|Q| is natural Si's at eps_u_ee = 0.1
    from cevns.detectors import make_target
    from cevns.physics.couplings import sm_vector_charge

    worst = max((iso.z / abs(sm_vector_charge(iso.z, iso.n, s) + (2 * iso.z + iso.n) * 0.1)) ** 2
                for target in ("Ge", "Si") for iso in make_target(target).isotopes for s in np.linspace(0.2, 0.28, 81))
    for points, error in zip((9, 17), errors, strict=True):
        assert error <= (0.08 / (points - 1)) ** 2 * worst
    assert errors[1] == pytest.approx(errors[0] / 4, rel=0.35)  # second order: halve the spacing, quarter the error


def test_asimov_at_non_sm_truth_is_recovered_by_a_fit():
    """Reactor Ge + Si with (eps_u_ee, eps_d_ee) free: each target's SM-equivalent line passes through the
    truth, two targets leave only their crossing; the mirror crossing (truth shifted by the SM mirror point,
    about (-0.46, +0.73)) lies outside the prior box, so the posterior is one mode at the truth."""
    def two_couplings(raw):  # noqa: ANN001
        raw["fit"]["free"] = {"eps_u_ee": [-0.5, 0.5], "eps_d_ee": [-0.5, 0.5]}

    model = Model.from_scenario(_scenario("future-reactor", two_couplings))
    truth = {"eps_u_ee": 0.1, "eps_d_ee": -0.05}
    data = model.asimov(model.pars(truth))
    result = cevns.fit(model, data, sampler="nautilus", n_live=300, tolerance=0.5, seed=1, verbose=False)
    columns, weights = result.columns, result.weights
    for name, value in truth.items():
        sets = result.hpd(name, 0.95)
        assert any(lo <= value <= hi for lo, hi in sets), (name, sets)
        assert not any(lo <= 0.0 <= hi for lo, hi in sets), (name, sets)  # the SM point is excluded
        assert np.sum(weights * columns[name]) == pytest.approx(value, abs=0.01)
    assert "eps_u_ee" in repr(result) and "log Z" in repr(result)


def test_model_pickles_for_checkpointing_samplers(combined):
    import pickle

    like = pickle.loads(pickle.dumps(combined.sampler_likelihood(combined.asimov(), "marginalized")))
    prior = pickle.loads(pickle.dumps(combined.sampler_prior("marginalized")))
    point = prior(np.full((1, 4), 0.5))
    assert like(point) == pytest.approx(combined.log_marginal_likelihood(point, combined.asimov()))


def test_gamma_continuation_for_non_integer_asimov_data(combined):
    data = combined.asimov()
    lam = combined.expected_counts(combined.init)
    expected = np.sum(data * np.log(lam) - lam - special.gammaln(data + 1))
    # terms D log(lam) and lam are ~1e6 each and cancel: compare at the terms' double precision
    assert combined.log_likelihood(combined.init, data)[0] == pytest.approx(expected, abs=1e-6)


def test_deep_copy_of_config_does_not_share_state():
    raw = resolve_raw("future-combined")
    edited = copy.deepcopy(raw)
    _with_systematics(edited)
    assert "systematics" not in raw["experiments"][2]
