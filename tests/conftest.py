import matplotlib

matplotlib.use("Agg")

import pytest


@pytest.fixture(scope="session")
def fast_reproduction(tmp_path_factory):
    """`cevns reproduce --fast --only fig1,fig2,table3` once per session (its fits serve several tests)."""
    from cevns.cli import main

    out = tmp_path_factory.mktemp("results")
    assert main(["reproduce", "--out", str(out), "--fast", "--only", "fig1,fig2,table3", "--quiet"]) == 0
    return out


@pytest.fixture
def check_laplace_against_importance():
    """Check a finished future-combined fit: at ``n_points`` posterior draws the Laplace marginal matches the
    importance-sampled exact nuisance integral (within 5 Monte Carlo errors + 0.01), and reweighting the
    draws by exact/Laplace leaves every 95% HPD set unchanged to one histogram bin. Returns the draws."""
    import numpy as np

    from cevns import Model, Scenario, load_fit
    from cevns.inference.density import hpd_intervals

    def check(folder, n_points, seed):
        fit = load_fit(folder)
        model = Model.from_scenario(Scenario.load(fit.scenario))
        data = model.asimov()
        names = fit.poi_names
        rng = np.random.default_rng(seed)
        index = rng.choice(len(fit.weights), size=n_points, p=fit.weights)
        columns = fit.columns
        theta = np.column_stack([columns[n][index] for n in names])
        laplace = model.log_marginal_likelihood(theta, data)
        exact, error = model.log_marginal_importance(theta, data, rng, n_draws=4000)
        assert np.all(np.abs(exact - laplace) < 5 * error + 0.01)
        ratio = np.exp(exact - laplace)
        for j, name in enumerate(names):
            lo, hi = fit.bounds[name]
            plain = hpd_intervals(theta[:, j], np.ones(len(theta)), 0.95, (lo, hi))
            reweighted = hpd_intervals(theta[:, j], ratio, 0.95, (lo, hi))
            assert len(plain) == len(reweighted), name
            for (a0, a1), (b0, b1) in zip(plain, reweighted, strict=True):
                assert a0 == pytest.approx(b0, abs=(hi - lo) / 200) and a1 == pytest.approx(b1, abs=(hi - lo) / 200)
        return dict(zip(names, theta.T, strict=True)), exact - laplace

    return check
