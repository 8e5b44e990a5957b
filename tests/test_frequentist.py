"""Frequentist estimators against known exact answers (cevns.inference.frequentist).

References: a linear Gaussian model, where the profile likelihood is exactly quadratic and the
Wilks interval is theta_hat +- sqrt(chi2_1(CL)) sigma_profiled (Wilks, Ann. Math. Stat. 9 (1938) 60,
exact in this case); Feldman & Cousins, Phys. Rev. D 57 (1998) 3873, Table IV (90% C.L. intervals of a
Poisson signal with known background); classical Poisson intervals (Garwood 1936, chi^2 closed form);
and plain iminuit over every parameter of the future-combined model.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import optimize, special, stats

import cevns
from cevns.errors import ConfigError
from cevns.inference import frequentist as fr


@dataclass
class _Par:
    name: str
    kind: str
    bounds: tuple
    init: float
    center: float = 0.0
    sigma: float = 0.0

    @property
    def constrained(self) -> bool:
        return self.kind == "normsys"


class GaussianModel:
    """y ~ N(A theta + B nu, s^2 I), nu ~ N(0, 1): the profile likelihood of theta is exactly quadratic."""

    def __init__(self, a: np.ndarray, b: np.ndarray, s: float, bound: float) -> None:
        self.a, self.b, self.s = np.atleast_2d(a), np.atleast_2d(b), s
        k = self.a.shape[1]
        m = self.b.shape[1]
        self.parameters = tuple([_Par(f"theta{i}", "coupling", (-bound, bound), 0.0) for i in range(k)]
                                + [_Par(f"nu{i}", "normsys", (-10.0, 10.0), 0.0, 0.0, 1.0) for i in range(m)])
        self.parameter_names = [p.name for p in self.parameters]
        self.free_indices = np.arange(k)
        self.constrained_indices = np.arange(k, k + m)
        self.sigmas = np.array([p.sigma for p in self.parameters])
        self.centers = np.zeros(k + m)
        self.init = np.zeros(k + m)

    def logpdf(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray:
        pars = np.atleast_2d(pars)
        k = self.a.shape[1]
        mean = pars[:, :k] @ self.a.T + pars[:, k:] @ self.b.T
        nu = pars[:, k:]
        return (-0.5 * np.sum((data - mean) ** 2, axis=1) / self.s**2 - 0.5 * np.sum((nu - self.centers[k:]) ** 2, axis=1)
                - 0.5 * nu.shape[1] * np.log(2 * np.pi))

    def conditional_mode(self, free: np.ndarray, data: np.ndarray):
        k = self.a.shape[1]
        residual = data - free @ self.a.T
        precision = self.b.T @ self.b / self.s**2 + np.eye(self.b.shape[1])
        nu = np.linalg.solve(precision, (residual @ self.b / self.s**2 + self.centers[k:]).T).T
        full = np.concatenate([free, nu], axis=1)
        value = self.logpdf(full, data) + 0.5 * nu.shape[1] * np.log(2 * np.pi)  # cevns convention: no normalisation
        return full, value, np.broadcast_to(-precision, (len(free),) + precision.shape)

    def exact(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """theta_hat and its covariance (nu integrated = profiled for a linear Gaussian model)."""
        k = self.a.shape[1]
        design = np.hstack([self.a, self.b]) / self.s
        prior = np.zeros((design.shape[1], design.shape[1]))
        prior[k:, k:] = np.eye(self.b.shape[1])
        info = design.T @ design + prior
        cov = np.linalg.inv(info)
        hat = cov @ (design.T @ (data / self.s))
        return hat[:k], cov[:k, :k]


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_wilks_interval_is_exact_for_a_gaussian_likelihood(scale):
    rng = np.random.default_rng(7)
    a = rng.normal(size=(12, 2)) / scale
    b = rng.normal(size=(12, 3)) * 0.3
    model = GaussianModel(a, b, 0.5, bound=50 * scale)
    truth = np.array([0.3 * scale, -0.2 * scale])
    data = a @ truth + b @ rng.normal(size=3) + 0.5 * rng.normal(size=12)
    hat, cov = model.exact(data)
    profile = fr.profile_1d(model, data, "theta0", values=np.linspace(hat[0] - 6 * np.sqrt(cov[0, 0]), hat[0] + 6 * np.sqrt(cov[0, 0]), 61))
    for level in (0.68, 0.95):
        (low, high), = profile.interval(level)
        half = np.sqrt(stats.chi2.ppf(level, 1) * cov[0, 0])
        assert low == pytest.approx(hat[0] - half, rel=1e-6, abs=1e-9 * scale)
        assert high == pytest.approx(hat[0] + half, rel=1e-6, abs=1e-9 * scale)
    # the whole curve is the exact parabola
    assert profile.q == pytest.approx((profile.values - hat[0]) ** 2 / cov[0, 0], abs=1e-6)
    # 2-D: q on a grid is the exact quadratic form with the joint covariance
    prof2 = fr.profile_2d(model, data, ("theta0", "theta1"), n_points=7)
    xx, yy = np.meshgrid(prof2.x - hat[0], prof2.y - hat[1], indexing="ij")
    d = np.stack([xx, yy], axis=-1)
    expected = np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)
    assert prof2.q == pytest.approx(expected, abs=1e-6 * max(1.0, expected.max()))


def test_disjoint_wilks_sets_are_a_union():
    """Two separated Gaussian modes (a mirror solution): q = min((x-1)^2, (x+1)^2)/s^2 -> two intervals."""

    class Mirror(GaussianModel):
        def logpdf(self, pars, data):
            pars = np.atleast_2d(pars)
            x = pars[:, 0]
            return -0.5 * np.minimum((x - 1) ** 2, (x + 1) ** 2) / 0.01**2

        def conditional_mode(self, free, data):
            full = np.concatenate([free, np.zeros((len(free), 0))], axis=1)
            return full, self.logpdf(full, data), np.zeros((len(free), 0, 0))

    model = Mirror(np.ones((1, 1)), np.zeros((1, 0)), 1.0, bound=2.0)
    model.constrained_indices = np.arange(0)
    model.sigmas = np.zeros(1)
    profile = fr.profile_1d(model, np.zeros(1), "theta0", n_points=401)
    half = 0.01 * np.sqrt(stats.chi2.ppf(0.95, 1))
    got = profile.interval(0.95)
    assert len(got) == 2
    for (lo, hi), centre in zip(got, (-1.0, 1.0), strict=True):
        assert lo == pytest.approx(centre - half, abs=1e-7) and hi == pytest.approx(centre + half, abs=1e-7)


# Feldman & Cousins 1998, Table IV (90% C.L.): (n0, b) -> (low, high)
FC_TABLE_IV = {
    (0, 0.0): (0.00, 2.44), (1, 0.0): (0.11, 4.36), (2, 0.0): (0.53, 5.91), (3, 0.0): (1.10, 7.42), (4, 0.0): (1.47, 8.60),
    (0, 1.0): (0.00, 1.61), (1, 1.0): (0.00, 3.36), (2, 1.0): (0.00, 4.91), (3, 1.0): (0.10, 6.42), (4, 1.0): (0.74, 7.60),
    (6, 3.0): (0.15, 8.47),
}


@pytest.mark.parametrize(("n0", "b"), list(FC_TABLE_IV))
def test_feldman_cousins_matches_their_table_iv(n0, b):
    low, high = fr.poisson_feldman_cousins(n0, b, 0.9, mu_max=20.0)
    ref_low, ref_high = FC_TABLE_IV[(n0, b)]
    assert low == pytest.approx(ref_low, abs=0.006) and high == pytest.approx(ref_high, abs=0.006)


@pytest.mark.parametrize("n0", [0, 1, 5, 20, 100])
def test_classical_poisson_intervals_have_exact_coverage_edges(n0):
    """Garwood's interval: P(N >= n0 | low) = P(N <= n0 | high) = (1 - CL)/2; upper limit P(N <= n0 | up) = 1 - CL."""
    low, high = fr.poisson_central(n0, 0.9)
    assert stats.poisson.cdf(n0, high) == pytest.approx(0.05, rel=1e-9)
    if n0 > 0:
        assert stats.poisson.sf(n0 - 1, low) == pytest.approx(0.05, rel=1e-9)
    assert stats.poisson.cdf(n0, fr.poisson_upper_limit(n0, 0.9)) == pytest.approx(0.1, rel=1e-9)
    if n0 == 0:
        assert fr.poisson_upper_limit(0, 0.9) == pytest.approx(2.302585, rel=1e-6)  # -ln(0.1)


class CountingModel:
    """One Poisson bin, lambda = mu + b with known b: the model of Feldman & Cousins sec. IV B."""

    def __init__(self, background: float, mu_max: float = 20.0) -> None:
        self.b = background
        self.parameters = (_Par("mu", "coupling", (0.0, mu_max), 0.0),)
        self.parameter_names = ["mu"]
        self.free_indices = np.array([0])
        self.constrained_indices = np.arange(0)
        self.sigmas = np.zeros(1)
        self.centers = np.zeros(1)
        self.init = np.zeros(1)

    aux_indices = np.arange(0)  # no constrained parameter, no auxiliary data

    def expected_counts(self, pars):
        return np.atleast_2d(pars)[:, :1] + self.b

    def toy(self, pars, rng, n=None, auxiliary=False):
        lam = self.expected_counts(np.asarray(pars, dtype=float))[0]
        return rng.poisson(lam, size=lam.shape if n is None else (n, lam.size)).astype(float)

    def logpdf(self, pars, data):
        lam = np.maximum(self.expected_counts(pars), 1e-300)
        return np.sum(data * np.log(lam) - lam - special.gammaln(data + 1.0), axis=1)


def test_toy_neyman_construction_reproduces_feldman_cousins():
    """The toy construction (likelihood-ratio ordering) accepts mu inside FC's exact interval and rejects it
    outside (points away from the edges, where the toys' quantile error could flip the discrete acceptance)."""
    model = CountingModel(0.0)
    data = np.array([3.0])  # FC Table IV: [1.10, 7.42] at 90%
    rng = np.random.default_rng(11)
    result = fr.neyman_critical_values(model, data, "mu", [0.6, 1.6, 6.0, 9.5], rng, n_toys=300, level=0.9)
    assert [r["value"] for r in result["rows"] if r["t_observed"] <= r["critical"]] == [1.6, 6.0]


def test_profiled_nll_is_minus_twice_logpdf_at_the_conditional_mode():
    model = cevns.Model.from_scenario(cevns.Scenario.load("future-combined"))
    data = model.asimov()
    profiler = fr.Profiler(model, data)
    free = np.array([[0.01, -0.02, 0.1, 0.0], [-0.3, 0.6, 0.0, 0.0]])
    full, nll = profiler.full(free)
    # the profiler sums the Poisson terms over all bins at once, logpdf experiment by experiment (the evaluation
    # plan): the terms D log(lambda) and lambda (~5e6 here) cancel to ~600, so compare at their double precision
    lam = model.expected_counts(full)
    terms = np.sum(data * np.abs(np.log(lam)) + lam, axis=1)
    assert np.all(np.abs(nll + 2 * model.logpdf(full, data)) < 1e-14 * terms)


def test_future_combined_profile_matches_plain_iminuit_and_the_bayesian_set():
    """The 200-point profile of eps_u_ee (3 couplings minimised, 8 nuisances profiled) against Migrad over
    all 11 other parameters at a few points; the 95% set against the Bayesian HPD set (~[-0.014, 0.014] and a
    mirror near -0.36, docs/statistics.md)."""
    from iminuit import Minuit

    model = cevns.Model.from_scenario(cevns.Scenario.load("future-combined"))
    data = model.asimov()
    profile = fr.profile_1d(model, data, "eps_u_ee", n_points=200)
    sm, = [iv for iv in profile.interval(0.95) if iv[0] < 0 < iv[1]]
    mirror, = [iv for iv in profile.interval(0.95) if iv[1] < -0.2]
    assert sm[0] == pytest.approx(-0.014, abs=0.0015) and sm[1] == pytest.approx(0.014, abs=0.0015)
    assert -0.39 < mirror[0] < -0.36 < mirror[1] < -0.34
    bounds = [p.bounds if not p.constrained else (None, None) for p in model.parameters]  # nuisances unbounded, as profiled
    for v in (-0.37, -0.2, 0.0, 0.1):  # scan points in the mirror piece, between, in the SM piece, outside
        i = int(np.argmin(np.abs(profile.values - v)))
        x0 = model.pars(dict(zip(profile.free_names, profile.solutions[i], strict=True)))
        fixed_value = profile.values[i]

        def nll(*rest):
            pars = np.concatenate([[fixed_value], rest])
            return float(-2 * model.logpdf(pars, data)[0])

        minuit = Minuit(nll, *x0[1:])
        minuit.errordef = Minuit.LEAST_SQUARES
        minuit.limits = bounds[1:]
        minuit.strategy = 2
        minuit.migrad()
        assert minuit.valid
        # Migrad from the profile's solution finds nothing lower (within its tolerance), and lands on the same value
        assert minuit.fval >= profile.nll[i] - 2e-4
        assert minuit.fval == pytest.approx(profile.nll[i], abs=2e-3)


def test_toys_carry_their_auxiliary_measurements_as_data():
    """pyhf's convention: a toy is the counts followed by the auxiliary data, drawn from N(truth, sigma); the
    model is not copied or changed, and logpdf reads the constraint centres from the data."""
    model = cevns.Model.from_scenario(cevns.Scenario.load("coherent-2017-2p"))
    truth = model.pars()
    rng = np.random.default_rng(0)
    data = fr.draw_toy(model, truth, rng)
    k, idx = model.n_bins, model.aux_indices
    assert data.shape == (k + idx.size,) and np.all(data[:k] == np.round(data[:k]))
    assert np.allclose(model.centers[idx], 1.0)  # the model is untouched
    many = model.toy(truth, rng, n=20_000, auxiliary=True)[:, k:]
    sigma = model.sigmas[idx]
    # the auxiliary draws are N(truth, sigma): mean within 5 standard errors, sd within 3%
    assert np.all(np.abs(many.mean(axis=0) - truth[idx]) < 5 * sigma / np.sqrt(len(many)))
    np.testing.assert_allclose(many.std(axis=0), sigma, rtol=0.03)
    assert fr.draw_toy(model, truth, rng, auxiliary=False).shape == (k,)
    # logpdf with auxiliary data a = the nominal logpdf + the closed-form change of the Gaussian terms
    pars = model.prior_transform(np.random.default_rng(1).uniform(size=(5, len(model.parameters))), "sampled")
    aux = data[k:]
    shift = np.sum(-0.5 * ((pars[:, idx] - aux) / sigma) ** 2 + 0.5 * ((pars[:, idx] - model.centers[idx]) / sigma) ** 2, axis=1)
    np.testing.assert_allclose(model.logpdf(pars, data), model.logpdf(pars, data[:k]) + shift, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(model.logpdf(pars, model.with_auxdata(data[:k])), model.logpdf(pars, data[:k]))


def test_profiled_nuisance_follows_its_auxiliary_measurement():
    """With the counts at their Asimov values for the truth, the conditional mode of a normalisation nuisance sits
    between its auxiliary value and the truth; with the auxiliary value at the truth it is the truth exactly."""
    model = cevns.Model.from_scenario(cevns.Scenario.load("coherent-2017-2p"))
    truth = model.pars()
    main = model.asimov(truth)
    free = truth[model.free_indices][None]
    idx = model.constrained_indices
    at_truth, _, _ = model.conditional_mode(free, model.with_auxdata(main, truth[model.aux_indices]))
    np.testing.assert_allclose(at_truth[0, idx], truth[idx], atol=1e-8)
    shifted_aux = truth[model.aux_indices] + 2.0 * model.sigmas[model.aux_indices]
    shifted, _, _ = model.conditional_mode(free, model.with_auxdata(main, shifted_aux))
    moved = shifted[0, idx] - truth[idx]
    assert np.all(moved > 0) and np.all(moved < 2.0 * model.sigmas[idx])


def test_grid_hpd_of_a_gaussian_is_the_central_interval():
    axis = np.linspace(-5, 5, 2001)
    p = stats.norm.pdf(axis)
    (low, high), = fr.grid_hpd_intervals(axis, p / p.sum(), 0.95)
    assert low == pytest.approx(-1.96, abs=0.01) and high == pytest.approx(1.96, abs=0.01)


def test_true_runs_against_a_brute_force():
    from cevns.inference.frequentist.profile import true_runs

    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 7, 40):
        for _ in range(20):
            mask = rng.uniform(size=n) < 0.5
            brute, start = [], None
            for i, m in enumerate(list(mask) + [False]):
                if m and start is None:
                    start = i
                elif not m and start is not None:
                    brute.append((start, i - 1))
                    start = None
            assert true_runs(mask) == brute
    assert fr.accepted_to_intervals([0.0, 0.5, 1.0, 1.5], [True, True, False, True]) == [[0.0, 0.5], [1.5, 1.5]]


def test_models_satisfy_the_inference_protocols():
    from cevns.model import Model, ProfileModel, SampledModel, ToyModel
    from cevns.builders.scenario import Scenario

    model = Model.from_scenario(Scenario.load("coherent-2017-2p"))
    assert isinstance(model, ToyModel) and isinstance(model, SampledModel)
    assert isinstance(GaussianModel(np.eye(2), np.ones((2, 1)), 0.5, bound=5.0), ProfileModel)
    assert not isinstance(object(), ProfileModel)


@pytest.mark.parametrize("scenario, nuisance, sigma", [
    ("coherent-csi-2021", "norm_sns_flux", 0.10),               # the SNS flux, 10% (arXiv:2110.07730)
    ("dresden-ii", "norm_dresden_reactor_nubar_e", 0.05),      # the reactor flux, 5%
])
def test_profile_of_a_nuisance_degenerate_with_a_free_norm_is_its_prior(scenario, nuisance, sigma):
    """With the CEvNS normalisation mu_cevns free, a flux normalisation that scales the same signal is not
    constrained by the data: its profile likelihood is its Gaussian constraint, q = ((nu - 1) / sigma)^2, so
    the Wilks sets are exactly 1 +- sigma sqrt(chi2_1(CL)) (two scales of sigma)."""
    from cevns.model import Model
    from cevns.builders.scenario import Scenario

    base = Model.from_scenario(Scenario.load(scenario))
    model = base.with_free([nuisance])
    assert nuisance in model.sampled_names("marginalized") and nuisance not in base.sampled_names("marginalized")
    profiler = fr.Profiler(model, model.observed())
    profile = fr.profile_1d(profiler, model.observed(), nuisance, n_points=41)
    for level in (0.68, 0.95):
        (lo, hi), = profile.intervals[f"{level:.2f}"]
        half = sigma * np.sqrt(stats.chi2.ppf(level, 1))
        assert lo == pytest.approx(1.0 - half, abs=2e-4) and hi == pytest.approx(1.0 + half, abs=2e-4)
    # the rest of the model is unchanged: logpdf keeps the nuisance's Gaussian term
    pars = base.init[None].copy()
    pars[0, base.index(nuisance)] = 1.0 + sigma
    assert model.logpdf(pars, base.observed()) == pytest.approx(base.logpdf(pars, base.observed()), rel=1e-12)


class _SignalPlusBackground:
    """One Poisson bin, lambda = mu s + beta b: mu and the background level beta (which the floor holds fixed)."""

    def __init__(self, s: float, b: float) -> None:
        self.s, self.b = s, b
        self.bounds = {"mu": (0.0, 10.0), "beta": (0.0, 10.0)}

    def index(self, name: str) -> int:
        return ["mu", "beta"].index(name)

    def log_likelihood(self, pars, data):
        lam = pars[:, 0] * self.s + pars[:, 1] * self.b
        return data[0] * np.log(lam) - lam - special.gammaln(data[0] + 1.0)


@pytest.mark.parametrize("n_signal, n_background", [(10.0, 5.0), (300.0, 1200.0), (2e4, 1e5)])
def test_statistical_floor_is_the_fixed_background_wilks_interval(n_signal, n_background):
    """The floor of mu with the background fixed: the roots of 2 [lam - n - n ln(lam / n)] = 1 (1 sigma, the default)
    or chi2_1(0.95) at n = s + b (Asimov at mu = 1), solved by brentq independently, across three orders of magnitude
    of counts; a scan started too narrow widens itself."""
    model = _SignalPlusBackground(n_signal, n_background)
    n = n_signal + n_background
    for level, threshold in ((fr.statistical_floor.__defaults__[0], 1.0), (0.95, stats.chi2.ppf(0.95, 1))):
        q = lambda mu: 2.0 * (mu * n_signal + n_background - n - n * np.log((mu * n_signal + n_background) / n)) - threshold  # noqa: E731
        exact = [optimize.brentq(q, 1e-9, 1.0), optimize.brentq(q, 1.0, 10.0)]
        for span in (0.5, 1e-3):
            lo, hi = fr.statistical_floor(model, np.array([n]), "mu", np.array([1.0, 1.0]), level=level, span=span,
                                          n_points=4001)
            assert [lo, hi] == pytest.approx(exact, rel=3e-4)
    # Gaussian limit: the 1-sigma half-width tends to sqrt(s + b) / s
    if n > 1e4:
        lo, hi = fr.statistical_floor(model, np.array([n]), "mu", np.array([1.0, 1.0]), n_points=4001)
        assert 0.5 * (hi - lo) == pytest.approx(np.sqrt(n) / n_signal, rel=1e-3)
    with pytest.raises(ConfigError, match="reaches the parameter's bounds"):
        fr.statistical_floor(_SignalPlusBackground(0.01, n_background), np.array([n_background]), "mu", np.array([1.0, 1.0]))
