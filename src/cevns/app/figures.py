"""Posterior figures of fit results: the summaries estimated (:mod:`cevns.inference.summaries`), then drawn
(:mod:`cevns.plotting`). The one place that joins the two, for ``cevns fit``, ``cevns plot`` and reproduce."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..inference.summaries import credible_region, triangle_summary
from ..plotting import corner_figure, overlay_figure, posterior_panel


def fit_corner_figure(result: Any, names: Sequence[str] | None = None, levels: tuple[float, ...] = (0.68, 0.95)) -> Any:
    """Triangle plot of a :class:`cevns.inference.fitting.FitResult`'s ``names`` (default: the parameters the
    fit is about, ``result.shown_names``), axes following the posterior."""
    names = list(result.shown_names if names is None else names)
    return corner_figure(triangle_summary(result.columns, result.weights, names, result.bounds, levels))


def fits_overlay_figure(results: Sequence[Any], params: Sequence[str], levels: tuple[float, ...] = (0.68, 0.95),
                        labels: Sequence[str] | None = None) -> Any:
    """Several fits' marginals and regions of ``params`` overlaid (``cevns plot``)."""
    summaries = [triangle_summary(r.columns, r.weights, params, r.bounds, levels) for r in results]
    return overlay_figure(summaries, labels)


def fit_posterior_panel(ax: Any, result: Any, x: str, y: str, levels: tuple[float, ...] = (0.68, 0.95),
                        **style: Any) -> Any:
    """One 2-D panel of (x, y) from a fit result; ``style``: :func:`cevns.plotting.posterior_panel`'s options."""
    columns = result.columns
    region = credible_region(columns[x], columns[y], result.weights, result.bounds.get(x), result.bounds.get(y), levels)
    return posterior_panel(ax, region, x, y, result.bounds, **style)
