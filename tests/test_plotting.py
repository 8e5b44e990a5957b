"""Labels and posterior figures: needle-thin islands are drawn as needles, ranges follow the posterior."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cevns.plotting as plotting  # noqa: E402
from cevns.labels import html_label, latex_label, register_label  # noqa: E402
from cevns.inference.summaries import credible_region, estimator_bounds, triangle_summary  # noqa: E402
from cevns.plotting import corner_figure, overlay_figure, plot_credible_region, posterior_panel  # noqa: E402

PRIOR = (-1.5, 1.5)
ALONG, ACROSS = 0.012, 0.0008  # needle: sigma along and across a degeneracy line (future-combined ee: ~0.01, ~0.001)
DIRECTION = np.array([1.0, -0.6]) / np.hypot(1.0, -0.6)
NORMAL = np.array([-DIRECTION[1], DIRECTION[0]])
CENTRES = np.array([[-0.35, 0.68], [0.0, 0.0]])


def needles(n=60_000, seed=0, scale=1.0):
    """Two needle-thin islands (0.3/0.7) along a line through the SM point, like future-combined's ee modes."""
    rng = np.random.default_rng(seed)
    k = (rng.random(n) < 0.7).astype(int)
    xy = CENTRES[k] + (rng.normal(0, ALONG * scale, n)[:, None] * DIRECTION
                       + rng.normal(0, ACROSS * scale, n)[:, None] * NORMAL)
    return {"eps_u_ee": xy[:, 0], "eps_d_ee": xy[:, 1]}, np.ones(n)


@pytest.mark.parametrize(("name", "latex", "html"), [
    ("eps_u_ee", r"$\varepsilon^{u}_{ee}$", "&epsilon;<sup>u</sup><sub>ee</sub>"),
    ("eps_d_mutau", r"$\varepsilon^{d}_{\mu\tau}$", "&epsilon;<sup>d</sup><sub>&mu;&tau;</sub>"),
    ("eff_eps_mumu", r"$\varepsilon_{\mu\mu}$", "&epsilon;<sub>&mu;&mu;</sub>"),
    ("norm_bkg_SNS-NaI", r"$N^{\rm bkg}_{\mathrm{SNS}\text{-}\mathrm{NaI}}$", "N<sup>bkg</sup><sub>SNS-NaI</sub>"),
    ("norm_sns_prompt_nu_mu", r"$N^{\mathrm{sns}}_{\mathrm{prompt}\,\nu_{\mu}}$",
     "N<sup>sns</sup><sub>prompt &nu;<sub>&mu;</sub></sub>"),
    ("norm_reactor_reactor_nubar_e", r"$N^{\mathrm{reactor}}_{\mathrm{reactor}\,\bar\nu_{e}}$",
     "N<sup>reactor</sup><sub>reactor &nu;&#772;<sub>e</sub></sub>"),
    ("sin2_theta_w", "sin2_theta_w", "sin2_theta_w"),
    ("eps_u_xy", "eps_u_xy", "eps_u_xy"),
    ("a<b", "a<b", "a&lt;b"),
])
def test_labels(name, latex, html):
    assert latex_label(name) == latex
    assert html_label(name) == html
    body = latex_label(name, math=False)
    assert "$" not in body
    fig, ax = plt.subplots()
    ax.set_title(latex_label(name))  # mathtext can typeset every label
    fig.canvas.draw()
    plt.close(fig)


def test_register_label_and_getdist_fallback():
    register_label("m_zprime", r"$m_{Z'}$", "m<sub>Z'</sub>")
    assert latex_label("m_zprime") == "$m_{Z'}$" and latex_label("m_zprime", math=False) == "m_{Z'}"
    assert html_label("m_zprime") == "m<sub>Z'</sub>"
    assert latex_label("plain_name", math=False) == r"\mathrm{plain\_name}"


def test_plotting_draws_and_never_estimates():
    """The plotting package imports no estimator, fit, reproduction or CLI module: it draws what it is handed."""
    imported = set()
    for path in Path(plotting.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or ""))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    banned = [m for m in imported if any(k in m for k in ("inference", "fit", "reproduce", "cli", "model", "app"))]
    assert not banned, banned


def panel(ax, samples, weights, x, y, bounds, levels=(0.68, 0.95), **style):
    region = credible_region(samples[x], samples[y], weights, bounds.get(x), bounds.get(y), levels)
    return posterior_panel(ax, region, x, y, bounds, **style)


def _outer_segments(region):
    """Vertices of the outermost contour drawn for a CredibleRegion2D (line contours of its artists)."""
    out = []
    for artist in region.artists:
        segs = artist.allsegs
        if segs and not artist.filled:
            out += [s for s in segs[0] if len(s) > 2]
    return out


def test_needle_islands_are_drawn_as_needles(tmp_path):
    samples, weights = needles()
    bounds = {"eps_u_ee": PRIOR, "eps_d_ee": PRIOR}
    fig, ax = plt.subplots(figsize=(5, 4.5))
    panel(ax, samples, weights, "eps_u_ee", "eps_d_ee", bounds)
    # the range follows the posterior, not the prior
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert -0.5 < x0 < -0.36 and 0.01 < x1 < 0.15 and -0.15 < y0 < 0 and 0.69 < y1 < 0.85
    # both islands are small in this range (< INSET_MAX_FRACTION of it): each has a zoomed inset,
    # whose range is a few times the island's
    assert len(ax.child_axes) == 2
    for inset in ax.child_axes:
        assert np.ptp(inset.get_xlim()) < 0.3 * np.ptp(ax.get_xlim())
    region = ax._cevns_regions[0][0]
    segments = _outer_segments(region)
    assert len(segments) >= 2
    for seg in segments:  # every outer contour is a needle: long along the line, thin across
        along = (seg - seg.mean(axis=0)) @ DIRECTION
        across = (seg - seg.mean(axis=0)) @ NORMAL
        length, width = np.ptp(along), np.ptp(across)
        # exact 95% ellipse: half-axes sqrt(chi2_2(0.95)) sigma = 2.45 sigma (at the common threshold, less)
        assert width < 2 * 2.45 * ACROSS * 1.3
        assert length / width > 10
    fig.savefig(tmp_path / "needles.png", dpi=80)
    assert (tmp_path / "needles.png").stat().st_size > 0
    plt.close(fig)


def test_overlaid_panels_share_the_range_and_redraw_insets():
    narrow, w1 = needles(seed=1)
    wide, w2 = needles(seed=2, scale=4.0)
    bounds = {"eps_u_ee": PRIOR, "eps_d_ee": PRIOR}
    fig, ax = plt.subplots()
    panel(ax, wide, w2, "eps_u_ee", "eps_d_ee", bounds, levels=(0.9,), color="C1", filled=False, label="1 bin")
    panel(ax, narrow, w1, "eps_u_ee", "eps_d_ee", bounds, levels=(0.9,), color="C0", filled=False, label="10 bins")
    x0, x1 = ax.get_xlim()
    assert x0 < -0.35 - 2 * 4 * ALONG * DIRECTION[0]  # the wide fit's island fits
    assert len(ax._cevns_regions) == 2
    assert len(ax.child_axes) <= plotting.MAX_INSETS  # insets of the last call only, not stacked
    plt.close(fig)


def test_prior_range_option_and_old_signature():
    samples, weights = needles(n=20_000)
    bounds = {"eps_u_ee": PRIOR, "eps_d_ee": PRIOR}
    fig, ax = plt.subplots()
    panel(ax, samples, weights, "eps_u_ee", "eps_d_ee", bounds, prior_range=True, insets=False)
    assert ax.get_xlim() == PRIOR and ax.get_ylim() == PRIOR and not ax.child_axes
    region = plot_credible_region(ax, credible_region(samples["eps_u_ee"], samples["eps_d_ee"], weights, PRIOR, PRIOR))
    assert region.artists and len(region.thresholds) == 2
    # bounds that cut the samples are a view box, not prior edges (callers pass zoomed ranges)
    assert estimator_bounds(samples["eps_u_ee"], (-0.1, 0.1)) is None
    assert estimator_bounds(samples["eps_u_ee"], PRIOR) == PRIOR
    plot_credible_region(ax, credible_region(samples["eps_u_ee"], samples["eps_d_ee"], weights, (-0.1, 0.1), (-0.1, 0.1)))
    plt.close(fig)


def test_corner_figure_ranges_follow_the_posterior(tmp_path):
    samples, weights = needles(n=30_000)
    rng = np.random.default_rng(5)
    third = rng.normal(0.2, 0.3, weights.size)
    array = np.column_stack([samples["eps_u_ee"], samples["eps_d_ee"], third])
    names = ["eps_u_ee", "eps_d_ee", "norm_bkg_SNS-NaI"]
    bounds = {"eps_u_ee": PRIOR, "eps_d_ee": PRIOR, "norm_bkg_SNS-NaI": (-3.0, 3.0)}
    fig = corner_figure(triangle_summary(array, weights, names, bounds))
    axes = np.array(fig.axes).reshape(3, 3)
    assert np.ptp(axes[1, 0].get_xlim()) < 0.8 and np.ptp(axes[1, 0].get_ylim()) < 1.2
    assert axes[2, 2].get_xlim()[0] == pytest.approx(0.2 - 3 * 0.3 * 1.3, abs=0.3)
    assert axes[2, 0].get_ylabel() == latex_label("norm_bkg_SNS-NaI")
    fig.savefig(tmp_path / "corner.png", dpi=60)
    plt.close(fig)
    fig = corner_figure(triangle_summary(array, weights, names, bounds, prior_range=True), insets=True)
    assert np.array(fig.axes).reshape(-1)[0].get_xlim() == PRIOR
    plt.close(fig)


def test_overlay_figure(tmp_path):
    fits = []
    for seed, scale in ((3, 4.0), (4, 1.0)):
        samples, weights = needles(n=30_000, seed=seed, scale=scale)
        samples["eff_eps_ee"] = 3.05 * samples["eps_u_ee"] + 3.1 * samples["eps_d_ee"]
        fits.append({"samples": samples, "weights": weights, "bounds": {"eps_u_ee": PRIOR, "eps_d_ee": PRIOR}})
    params = ["eps_u_ee", "eps_d_ee", "eff_eps_ee"]
    summaries = [triangle_summary(f["samples"], f["weights"], params, f["bounds"]) for f in fits]
    fig = overlay_figure(summaries, labels=["1 bin", "10 bins"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6
    legend = fig.legends[0]
    # one entry per fit, then which line style is which level, then the SM point
    assert [t.get_text() for t in legend.get_texts()] == ["1 bin", "10 bins", "95% HPD", "68% HPD", "Standard Model"]
    # the diagonal shows both fits' marginals and the SM line; the 2-D panels both fits' regions (2 levels each)
    diag = np.array(fig.axes).reshape(3, 3)[0, 0]
    assert len(diag.lines) == 3 and diag.lines[-1].get_color() == "red"
    lower = np.array(fig.axes).reshape(3, 3)[1, 0]
    colours = {tuple(np.round(c.get_edgecolor()[0][:3], 3)) for c in lower.collections}
    assert len(colours) == 2
    fig.savefig(tmp_path / "overlay.png", dpi=60)
    plt.close(fig)
    with pytest.raises(ValueError, match="label"):
        overlay_figure(summaries, labels=["only one"])
    single = overlay_figure([triangle_summary(fits[0]["samples"], fits[0]["weights"], ["eps_u_ee"], fits[0]["bounds"])])
    plt.close(single)
