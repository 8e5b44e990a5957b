"""What figures and tables show of a posterior: credible sets drawn only where the samples resolve them (checked
on posteriors whose exact answer is known: a flat square has no HPD region, a Gaussian has its ellipse, a flat
top with Gaussian shoulders has an unresolved 68% and a resolved 95% set), modes, the headline estimate (set
first, a median outside it flagged), and the exports that carry every column (pandas, ArviZ without warnings)."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from cevns.app.figures import fit_corner_figure, fits_overlay_figure  # noqa: E402
from cevns.inference.density import density_1d  # noqa: E402
from cevns.inference.results import FitResult, headline, load_fit  # noqa: E402
from cevns.inference.summaries import (RESOLUTION_MARGIN, credible_region, flat_resolution, modes_1d,  # noqa: E402
                                       triangle_summary)
from cevns.plotting import corner_figure  # noqa: E402


def test_flat_resolution_is_the_noise_quantile_gap():
    # FLAT(l) = Phi^-1(1 - l/2) - Phi^-1(1 - l): 0.881 at 68%, 1.708 at 95%
    assert flat_resolution(0.68) == pytest.approx(0.4125 + 0.4677, abs=2e-3)
    assert flat_resolution(0.95) == pytest.approx(0.0627 + 1.6449, abs=2e-3)


@pytest.mark.parametrize("n", [2000, 20000])
def test_flat_posterior_has_no_resolved_region(n):
    """Uniform on [-3, 3]^2: every subset of the right area is an HPD set, so none is resolved at any size."""
    xy = np.random.default_rng(n).uniform(-3, 3, size=(n, 2))
    region = credible_region(xy[:, 0], xy[:, 1], np.ones(n), (-3, 3), (-3, 3))
    assert region.resolved == {0.68: False, 0.95: False}
    for level in (0.68, 0.95):  # the statistic sits near the flat posterior's own value, well below the cut
        assert region.resolution[level] < flat_resolution(level) + RESOLUTION_MARGIN - 0.3


@pytest.mark.parametrize("n", [1000, 20000])
def test_gaussian_region_resolved_with_its_exact_area(n):
    xy = np.random.default_rng(7).normal(size=(n, 2)) * [0.2, 0.05]
    region = credible_region(xy[:, 0], xy[:, 1], np.ones(n))
    assert region.resolved == {0.68: True, 0.95: True}
    if n == 20000:  # exact ellipse area: pi sx sy chi2_2(l)
        for level in (0.68, 0.95):
            exact = np.pi * 0.2 * 0.05 * stats.chi2.ppf(level, 2)
            assert region.area(level) == pytest.approx(exact, rel=0.05)


def test_flat_top_with_shoulders():
    """Density c on the unit disc, c exp(-(r - 1)^2 / (2 s^2)) beyond, s = 0.1: the disc holds
    pi / (pi + 2 pi (s^2 + s sqrt(pi / 2))) = 78.7% of the mass, so the 68% set cuts the plateau (unresolved)
    and the 95% set ends on the shoulder (resolved)."""
    rng = np.random.default_rng(3)
    n, s = 40000, 0.1
    outside = {"rayleigh": s * s, "shifted": s * np.sqrt(np.pi / 2)}  # the r-weighted shoulder, two terms
    masses = np.array([np.pi / (2 * np.pi), outside["rayleigh"], outside["shifted"]])
    plateau = masses[0] / masses.sum()
    assert plateau == pytest.approx(0.787, abs=1e-3)
    kind = rng.choice(3, size=n, p=masses / masses.sum())
    r = np.where(kind == 0, np.sqrt(rng.uniform(size=n)),
                 np.where(kind == 1, 1 + rng.rayleigh(s, size=n), 1 + np.abs(rng.normal(0, s, size=n))))
    phi = rng.uniform(0, 2 * np.pi, n)
    region = credible_region(r * np.cos(phi), r * np.sin(phi), np.ones(n))
    assert region.resolved == {0.68: False, 0.95: True}


def test_modes_of_known_marginals():
    rng = np.random.default_rng(11)
    flat = rng.uniform(-3, 3, 20000)
    assert modes_1d(density_1d(flat, np.ones(flat.size), (-3, 3))) == []
    gauss = rng.normal(0.3, 0.1, 20000)
    (mode,) = modes_1d(density_1d(gauss, np.ones(gauss.size)))
    assert mode == pytest.approx(0.3, abs=0.02)
    two = np.concatenate([rng.normal(-0.4, 0.05, 12000), rng.normal(0.4, 0.05, 8000)])
    modes = modes_1d(density_1d(two, np.ones(two.size)))
    assert len(modes) == 2 and modes[0] == pytest.approx(-0.4, abs=0.02) and modes[1] == pytest.approx(0.4, abs=0.02)


def _fit(columns: dict[str, np.ndarray], nuisance: np.ndarray, scenario: str = "toy") -> FitResult:
    """A FitResult of equal-weight samples: the given couplings (prior [-3, 3]) and one nuisance."""
    names = list(columns)
    samples = np.column_stack([columns[n] for n in names])
    n = len(samples)
    parameters = {**{k: {"kind": "coupling", "bounds": [-3.0, 3.0]} for k in names},
                  "norm_bkg_X": {"kind": "normsys", "bounds": [0.0, 2.0]}}
    equal = {**columns, "norm_bkg_X": nuisance}
    return FitResult(scenario, names, samples, np.full(n, -np.log(n)), np.zeros(n), -1.0, 0.01, n, 1.0,
                     {"sampler": "smc", "nlive": 1000, "seed": 0, "data": "asimov"}, parameters, {}, equal)


def test_median_outside_the_set_is_flagged():
    rng = np.random.default_rng(2)
    bimodal = np.concatenate([rng.normal(-0.4, 0.04, 5000), rng.normal(0.4, 0.04, 5000)])
    fit = _fit({"eps_u_ee": bimodal, "eps_d_ee": rng.normal(0.1, 0.05, 10000)}, rng.normal(1, 0.1, 10000))
    entry = fit.summary()["parameters"]["eps_u_ee"]
    assert abs(entry["median"]) < 0.3 and entry["median_in_hpd"]["0.95"] is False  # between the modes
    assert len(entry["hpd"]["0.95"]) == 2 and len(entry["modes"]) == 2
    line = headline(entry)
    assert line.startswith("95% HPD [") and line.endswith("(outside the set)") and "modes" in line
    assert headline(fit.summary()["parameters"]["eps_d_ee"]).endswith(f"median {entry['median']:+.4g}") is False
    assert "(outside" not in headline(fit.summary()["parameters"]["eps_d_ee"])
    assert "(outside the set)" in repr(fit)


def test_pandas_carries_every_column_and_arviz_summary_is_clean(tmp_path, caplog):
    pd = pytest.importorskip("pandas")
    az = pytest.importorskip("arviz")
    rng = np.random.default_rng(4)
    fit = _fit({"eps_u_ee": rng.normal(0, 0.1, 4000), "eps_u_mumu": rng.normal(0.2, 0.1, 4000)}, rng.normal(1, 0.1, 4000))
    loaded = load_fit(fit.save(tmp_path / "fit"))
    csv_columns = list(pd.read_csv(tmp_path / "fit" / "samples.csv").columns)
    frame = loaded.to_pandas()
    assert list(frame.columns) == csv_columns + ["weight"] and "norm_bkg_X" in csv_columns
    assert frame["weight"].sum() == pytest.approx(1.0)
    assert "log_likelihood" in loaded.to_pandas(weighted=True).columns
    with caplog.at_level(logging.WARNING):
        table = az.summary(loaded.to_arviz())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert list(table.index) == csv_columns
    assert np.all(np.isfinite(table["r_hat"])) and np.all(np.abs(table["r_hat"] - 1) < 0.01)


def test_figures_name_the_fit_and_key_the_levels():
    rng = np.random.default_rng(9)
    flat = _fit({"eps_u_ee": rng.uniform(-3, 3, 6000), "eps_u_mumu": rng.uniform(-3, 3, 6000)},
                rng.normal(1, 0.1, 6000), scenario="flat-toy")
    fig = fit_corner_figure(flat)
    assert fig._suptitle.get_text().startswith("flat-toy; asimov data; smc")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert fig.legends[0].get_title().get_text() == "flat-toy"
    assert texts[:3] == ["95% HPD", "68% HPD", "Standard Model"]
    assert "not drawn where the posterior\nis flat" in texts[3]
    panel = np.array(fig.axes).reshape(2, 2)[1, 0]
    assert not panel.collections  # no region drawn on the flat posterior: it looks flat
    assert any("flat within sampling noise" in t.get_text() for t in panel.texts)
    plt.close(fig)
    gauss = _fit({"eps_u_ee": rng.normal(0, 0.1, 6000), "eps_u_mumu": rng.normal(0, 0.2, 6000)},
                 rng.normal(1, 0.1, 6000), scenario="gauss-toy")
    fig = fits_overlay_figure([flat, gauss], ["eps_u_ee", "eps_u_mumu"])
    assert "flat-toy" in fig._suptitle.get_text() and "gauss-toy" in fig._suptitle.get_text()
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[:5] == ["flat-toy", "gauss-toy", "95% HPD", "68% HPD", "Standard Model"]
    plt.close(fig)


def test_corner_without_sm_value_draws_no_marker():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(3000, 2))
    summary = triangle_summary(xy, np.ones(3000), ["eps_u_ee", "neutron_radius_fm"], {})
    fig = corner_figure(summary, truth=np.array([0.0, np.nan]))
    axes = np.array(fig.axes).reshape(2, 2)
    def red(ax):
        return [line for line in ax.lines if line.get_color() == "red"]

    assert len(red(axes[0, 0])) == 1  # the SM line of eps_u_ee
    assert not red(axes[1, 1]) and not red(axes[1, 0])  # a radius has no SM value: no line, no cross
    assert axes[1, 1].get_xlabel().endswith("[fm]")
    plt.close(fig)
