"""Likelihood, samplers and posterior summaries (SPEC S4, S5)."""

import json

import numpy as np
import pytest
from scipy import stats

from cevns.cli import main
from cevns.model import Model
from cevns.inference.density import hpd_intervals
from cevns.physics.effective import effective_nsi
from cevns.inference.samplers import run_sampler
from cevns.builders.scenario import Scenario


def test_likelihood_finite_with_zero_expectation():
    model = Model.from_scenario(Scenario.load("future-combined-nobkg"))
    # flux normalizations at 0 and no background: every SNS expectation is exactly 0
    point = model.pars(norm_sns_prompt_nu_mu=0.0, norm_sns_delayed_nu_e=0.0, norm_sns_delayed_nubar_mu=0.0)
    with np.errstate(all="raise"):
        value = model.log_likelihood(point, model.asimov())
    assert np.isfinite(value).all() and value[0] < -1e4


def test_laplace_marginal_matches_importance_sampling_on_future_combined_posterior(fast_reproduction,
                                                                                  check_laplace_against_importance):
    """Second method for the marginalized nuisances on future-combined (8 nuisances, both ee modes).

    At posterior draws of the fast fit, log of Integral L N(nu) dnu by importance sampling
    (unbiased) agrees with the Laplace value to within 5 Monte Carlo errors + 0.01, and
    reweighting the posterior by the exact/Laplace ratio leaves every 95% HPD set unchanged:
    sampling the nuisances would give the same sets up to the sampler's own noise.
    """
    draws, difference = check_laplace_against_importance(fast_reproduction / "fits-fast" / "future-combined", 400, 7)
    assert np.any(draws["eps_u_ee"] < -0.2) and np.any(draws["eps_u_ee"] > -0.1)  # both modes
    assert abs(np.mean(difference)) < 0.01


def test_effective_nsi_formula():
    # eps_aa = (2 + Y_n) eps^u + (1 + 2 Y_n) eps^d (SPEC S5)
    assert effective_nsi(0.1, -0.2, y_n=1.05) == pytest.approx(3.05 * 0.1 + 3.1 * -0.2, rel=1e-12)
    assert effective_nsi(1.0, 0.0, y_n=0.0) == pytest.approx(2.0)


def test_bimodal_hpd_is_a_union_of_two_intervals():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-1.0, 0.1, 50000), rng.normal(1.0, 0.1, 50000)])
    intervals = hpd_intervals(x, np.ones_like(x), 0.95, bounds=(-2, 2))
    assert len(intervals) == 2
    for (lo, hi), centre in zip(intervals, (-1.0, 1.0), strict=True):
        # each mode's 95% HPD interval is centre +- 1.96 sigma (Gaussian quantile)
        assert lo == pytest.approx(centre - 0.196, abs=0.03)
        assert hi == pytest.approx(centre + 0.196, abs=0.03)


@pytest.mark.parametrize("backend", ["nautilus", "ultranest", "dynesty"])
def test_sampler_recovers_gaussian_mean_width_and_evidence(backend):
    # N(mu, sigma) likelihood normalized inside a flat prior on [0, 1]^2: log Z = 0 analytically
    mu, sigma = np.array([0.4, 0.6]), 0.05

    def loglike(x):
        return np.sum(stats.norm.logpdf(x, mu, sigma), axis=1)

    out = run_sampler(backend, ["a", "b"], lambda c: c, loglike, n_live=300, tolerance=0.2, seed=1, verbose=False)
    w = np.exp(out.log_weights)
    mean = np.sum(w[:, None] * out.samples, axis=0)
    std = np.sqrt(np.sum(w[:, None] * (out.samples - mean) ** 2, axis=0))
    assert mean == pytest.approx(mu, abs=0.01)
    assert std == pytest.approx(sigma, rel=0.1)
    assert out.log_evidence == pytest.approx(0.0, abs=max(0.15, 4 * out.log_evidence_err))


def test_fit_coherent_2p_fast_ring_contains_sm(tmp_path, capsys):
    out = tmp_path / "fit"
    code = main(["fit", "coherent-2017-2p", "--fast", "--out", str(out), "--quiet", "--seed", "3"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "sampler", "seed", "version", "nlive", "log_evidence", "log_evidence_err",
                "n_likelihood_calls", "wall_seconds", "parameters"):
        assert key in summary
    header = (out / "samples.csv").read_text().splitlines()[0].split(",")
    assert {"eps_u_ee", "eps_u_mumu", "eff_eps_ee", "eff_eps_mumu", "norm_sns_prompt_nu_mu"} <= set(header)
    samples = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    x, y = samples[:, header.index("eps_u_ee")], samples[:, header.index("eps_u_mumu")]
    # ring: the posterior is a band around an ellipse through the SM point; little mass at its centre
    centre = np.array([np.median(x), np.median(y)])
    radius = np.hypot(x - centre[0], y - centre[1])
    assert np.quantile(radius, 0.05) > 0.05
    # SM point inside the 95% region: its density is above the 95% threshold
    from cevns.inference.regions import credible_region_2d

    xc, yc, density, (level68, level95) = credible_region_2d(x, y, np.ones_like(x), (-1.5, 1.5), (-1.5, 1.5))
    i, j = np.argmin(np.abs(yc)), np.argmin(np.abs(xc))
    assert density[i, j] >= level95
    for name in ("corner.png", "corner.pdf", "config.toml"):
        assert (out / name).stat().st_size > 0
    # the same seed gives the same numbers; a second run into the same folder is refused
    assert main(["fit", "coherent-2017-2p", "--fast", "--out", str(out), "--quiet", "--seed", "3"]) == 2
    again = tmp_path / "again"
    main(["fit", "coherent-2017-2p", "--fast", "--out", str(again), "--quiet", "--seed", "3"])
    other = json.loads((again / "summary.json").read_text())
    assert other["log_evidence"] == summary["log_evidence"]
    assert other["parameters"] == summary["parameters"]


def test_fit_resume_and_force(tmp_path, capsys):
    """--resume continues from the sampler checkpoint; a finished identical run is reused; --force refits."""
    out = tmp_path / "fit"
    argv = ["fit", "coherent-2017-2p", "--fast", "--out", str(out), "--quiet", "--seed", "5"]
    assert main(argv) == 0
    first = json.loads((out / "summary.json").read_text())
    assert (out / "smc_result.npz").exists()  # the default sampler of a marginalized 2-D fit keeps its result
    # a finished identical run: --resume reuses it without sampling (same wall time recorded)
    assert main(argv + ["--resume"]) == 0
    assert json.loads((out / "summary.json").read_text()) == first
    # a run stopped after sampling, before its outputs: --resume picks up the checkpoint
    (out / "summary.json").unlink()
    (out / "samples.csv").unlink()
    assert main(argv + ["--resume"]) == 0
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["log_evidence"] == pytest.approx(first["log_evidence"], abs=1e-9)
    assert resumed["parameters"]["eps_u_ee"]["hpd"] == first["parameters"]["eps_u_ee"]["hpd"]
    assert resumed["wall_seconds"] < first["wall_seconds"]
    # --resume with another configuration is refused; --force refits
    other = ["fit", "coherent-2017-4p", "--fast", "--out", str(out), "--quiet", "--resume"]
    assert main(other) == 2
    assert "different configuration" in capsys.readouterr().err
    # --resume of a finished run with another seed would relabel the old checkpoint: refused
    assert main(argv[:-2] + ["--seed", "6", "--resume"]) == 2
    assert "other settings" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["seed"] == 5
    assert main(argv[:-2] + ["--seed", "6", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 6


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fit", "coherent-2017-2p", "--out", "X", "--nlive", "2"], "--nlive"),
        (["fit", "coherent-2017-2p", "--out", "X", "--tolerance", "0"], "--tolerance"),
        (["fit", "nope", "--out", "X"], "unknown scenario"),
    ],
)
def test_fit_bad_input(capsys, tmp_path, argv, expected):
    argv = [a if a != "X" else str(tmp_path / "out") for a in argv]
    assert main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_empty_prior_range_and_unknown_parameter(capsys, tmp_path):
    for body, expected in (
        ('base = "coherent-2017"\nname = "x"\n[fit]\nfree = { eps_u_ee = [1.0, 1.0] }\n', "empty or inverted"),
        ('base = "coherent-2017"\nname = "x"\n[fit]\nfree = { eps_q_ee = [-1.0, 1.0] }\n', "unknown NSI coupling"),
    ):
        path = tmp_path / "s.toml"
        path.write_text(body)
        assert main(["fit", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
        assert expected in capsys.readouterr().err
