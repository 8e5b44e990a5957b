"""What a figure shows of a posterior, estimated once here: marginal densities, 2-D credible regions
and axis ranges. :mod:`cevns.plotting` draws these summaries; it never estimates a density itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .density import Density1D, density_1d, posterior_range
from .regions import CredibleRegion2D, credible_region_2d


def estimator_bounds(values: np.ndarray, bounds: Sequence[float] | None) -> tuple[float, float] | None:
    """``bounds`` as hard prior edges when every sample lies inside them, else None (then they are only
    a view range, as a zoom box some callers pass)."""
    if bounds is None:
        return None
    lo, hi = float(bounds[0]), float(bounds[1])
    values = np.asarray(values)
    tol = 1e-9 * (hi - lo)
    return (lo, hi) if values.min() >= lo - tol and values.max() <= hi + tol else None


def credible_region(x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x: Sequence[float] | None = None,
                    bounds_y: Sequence[float] | None = None, levels: tuple[float, ...] = (0.68, 0.95)) -> CredibleRegion2D:
    """The 2-D credible regions of (x, y) at ``levels`` (:func:`cevns.inference.regions.credible_region_2d`), with
    ``bounds_x``/``bounds_y`` used as hard prior edges only where every sample lies inside them."""
    return credible_region_2d(x, y, weights, estimator_bounds(x, bounds_x), estimator_bounds(y, bounds_y), levels)


@dataclass
class TriangleSummary:
    """A posterior's marginals for a triangle plot: ``densities[i]`` of ``names[i]``, ``regions[(i, j)]`` of
    (names[j], names[i]) for j < i, ``views[i]`` the axis range of names[i], at credible ``levels``."""

    names: list[str]
    levels: tuple[float, ...]
    densities: list[Density1D]
    regions: dict[tuple[int, int], CredibleRegion2D]
    views: list[tuple[float, float]]


def triangle_summary(samples: Mapping[str, np.ndarray] | np.ndarray, weights: np.ndarray, names: Sequence[str],
                     bounds: Mapping[str, Sequence[float]], levels: tuple[float, ...] = (0.68, 0.95),
                     prior_range: bool = False, regions: bool = True) -> TriangleSummary:
    """Densities, regions and views of ``names`` (columns of ``samples``: a name -> values map, or an array with
    one column per name). Views follow the posterior (the hull of the 99.7% HPD set, padded) unless
    ``prior_range``, then the prior ranges of ``bounds``. ``regions=False`` skips the 2-D regions."""
    names = list(names)
    columns = ({n: np.asarray(samples[n]) for n in names} if isinstance(samples, Mapping)
               else {n: np.asarray(samples)[:, i] for i, n in enumerate(names)})
    edges = [estimator_bounds(columns[n], bounds.get(n)) for n in names]
    densities = [density_1d(columns[n], weights, edges[i]) for i, n in enumerate(names)]
    views = ([tuple(map(float, bounds[n])) for n in names] if prior_range
             else [posterior_range(columns[n], weights, edges[i]) for i, n in enumerate(names)])
    pairs = {}
    if regions:
        for i in range(len(names)):
            for j in range(i):
                pairs[(i, j)] = credible_region_2d(columns[names[j]], columns[names[i]], weights, edges[j], edges[i], levels)
    return TriangleSummary(names, tuple(levels), densities, pairs, views)
