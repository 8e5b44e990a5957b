"""Posterior figures of fit results: the summaries estimated (:mod:`cevns.inference.summaries`), then drawn
(:mod:`cevns.plotting`). The one place that joins the two, for ``cevns fit``, ``cevns plot`` and reproduce, and
that names what a figure shows: the scenario, its data, the sampler settings and the Standard-Model point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..inference.samplers import points_phrase
from ..inference.summaries import credible_region, triangle_summary
from ..plotting import corner_figure, overlay_figure, posterior_panel
from ..units import SIN2_THETA_W_LOW_ENERGY

#: Standard-Model values of the parameters that have one: NSI couplings and the magnetic moment vanish,
#: normalisations and signal strengths are 1, sin^2 theta_W is the low-energy value (cevns.units). A
#: parameter absent here (a neutron radius: nuclear structure, not the SM) gets no SM marker.
SM_VALUES = {"mu_nu": 0.0, "eps_zprime": 0.0, "mu_cevns": 1.0, "sin2_theta_w": SIN2_THETA_W_LOW_ENERGY}


def sm_value(name: str) -> float:
    """The Standard-Model value of a parameter (NaN when it has none)."""
    if name.startswith(("eps_", "eff_eps_")):
        return 0.0
    if name.startswith("norm_"):
        return 1.0
    return SM_VALUES.get(name, float("nan"))


def fit_description(result: Any) -> str:
    """What a fit is, in one line: scenario, data, non-zero fixed parameters and the sampler's settings."""
    settings = result.settings
    parts = [f"{result.scenario}", f"{settings.get('data') or 'observed'} data"]
    fixed = {k: v for k, v in (result.fixed or {}).items() if v}
    if fixed:
        parts.append("fixed " + ", ".join(f"{k} = {v:g}" for k, v in fixed.items()))
    sampler = settings.get("sampler")
    if sampler:
        parts.append(f"{sampler}, {points_phrase(sampler, settings.get('nlive'))}, seed {settings.get('seed')}")
    return "; ".join(parts)


def fit_corner_figure(result: Any, names: Sequence[str] | None = None, levels: tuple[float, ...] = (0.68, 0.95),
                      title: str | None = None, insets: bool = False) -> Any:
    """Triangle plot of a :class:`cevns.inference.fitting.FitResult`'s ``names`` (default: the parameters the
    fit is about, ``result.shown_names``), axes following the posterior, titled with the fit's description
    (``title`` replaces it), the key titled with the scenario; ``insets``: zoomed insets of islands too small
    for their panel (the needles of future-combined's ee couplings)."""
    names = list(result.shown_names if names is None else names)
    summary = triangle_summary(result.columns, result.weights, names, result.bounds, levels)
    others = [n for n in result.poi_names if n not in names]
    note = f"; {', '.join(others)} marginalized" if others else ""
    return corner_figure(summary, truth=np.array([sm_value(n) for n in names]),
                         title=title or f"{fit_description(result)}{note}", label=result.scenario, insets=insets)


def fits_overlay_figure(results: Sequence[Any], params: Sequence[str], levels: tuple[float, ...] = (0.68, 0.95),
                        labels: Sequence[str] | None = None, title: str | None = None) -> Any:
    """Several fits' marginals and regions of ``params`` overlaid (``cevns plot``), titled with the scenarios
    (``title`` replaces it); ``labels`` default to the scenario names."""
    summaries = [triangle_summary(r.columns, r.weights, params, r.bounds, levels) for r in results]
    scenarios = list(dict.fromkeys(r.scenario for r in results))
    labels = list(labels) if labels is not None else [r.scenario for r in results]
    if len(set(labels)) < len(labels):  # the same scenario twice: tell the fits apart by their settings
        labels = [f"{label} ({fit_description(r).split('; ', 1)[1]})" for label, r in zip(labels, results, strict=True)]
    title = title or f"{', '.join(scenarios)}: posteriors of {', '.join(params)}"
    return overlay_figure(summaries, labels, title=title, truth=np.array([sm_value(p) for p in params]))


def fit_posterior_panel(ax: Any, result: Any, x: str, y: str, levels: tuple[float, ...] = (0.68, 0.95),
                        **style: Any) -> Any:
    """One 2-D panel of (x, y) from a fit result; ``style``: :func:`cevns.plotting.posterior_panel`'s options
    (the legend label defaults to the scenario, the SM point to the parameters' SM values)."""
    columns = result.columns
    region = credible_region(columns[x], columns[y], result.weights, result.bounds.get(x), result.bounds.get(y), levels)
    style.setdefault("label", result.scenario)
    style.setdefault("sm_point", (sm_value(x), sm_value(y)))
    return posterior_panel(ax, region, x, y, result.bounds, **style)
