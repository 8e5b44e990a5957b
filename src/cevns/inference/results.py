"""Posterior summaries: HPD credible sets (unions of intervals), 2-D levels, effective NSI (SPEC S5)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Neutron/electron ratio of the Earth's matter, Y_n ~ 1.05 (SPEC S5; e.g. the paper,
#: arXiv:1711.03521 section IV, and Gonzalez-Garcia & Maltoni, JHEP 09 (2013) 152).
EARTH_NEUTRON_ELECTRON_RATIO = 1.05
CREDIBLE_LEVELS = (0.68, 0.90, 0.95)
#: Histogram resolution of 1-D HPD sets over the prior range, and Gaussian smoothing (bins).
HPD_BINS = 200
HPD_SMOOTHING_BINS = 1.5
HPD_EDGE_DECIMALS = 10


def effective_nsi(eps_u: np.ndarray, eps_d: np.ndarray, y_n: float = EARTH_NEUTRON_ELECTRON_RATIO) -> np.ndarray:
    """Effective matter NSI eps_aa = Y_u eps^u_aa + Y_d eps^d_aa, Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n.

    Quarks per electron in neutral matter with Y_n neutrons per electron (SPEC S5).
    """
    return (2.0 + y_n) * np.asarray(eps_u) + (1.0 + 2.0 * y_n) * np.asarray(eps_d)


def equal_weight_samples(samples: np.ndarray, log_weights: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Resample weighted samples into equal-weight ones (systematic resampling)."""
    weights = np.exp(log_weights - np.max(log_weights))
    weights /= weights.sum()
    n_eff = int(1.0 / np.sum(weights**2))
    n = n or max(n_eff, 1)
    positions = (rng.uniform() + np.arange(n)) / n
    index = np.searchsorted(np.cumsum(weights), positions)
    return samples[np.minimum(index, len(samples) - 1)]


def hpd_intervals(values: np.ndarray, weights: np.ndarray, level: float, bounds: tuple[float, float] | None = None,
                  n_bins: int = HPD_BINS, smoothing: float = HPD_SMOOTHING_BINS) -> list[list[float]]:
    """Highest-posterior-density set of a 1-D marginal at ``level``, as a list of disjoint [lo, hi].

    A histogram over ``bounds`` (the prior range), lightly smoothed, is filled from
    the densest bin down until the enclosed mass reaches ``level``; contiguous
    selected bins merge into intervals, so a multimodal posterior gives a union.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float) / np.sum(weights)
    lo, hi = bounds if bounds is not None else (values.min(), values.max())
    hist, edges = np.histogram(values, bins=n_bins, range=(lo, hi), weights=weights)
    if smoothing > 0:
        hist = ndimage.gaussian_filter1d(hist, smoothing, mode="constant")
    hist = hist / hist.sum()
    order = np.argsort(hist)[::-1]
    cumulative = np.cumsum(hist[order])
    n_keep = int(np.searchsorted(cumulative, level) + 1)
    selected = np.zeros(n_bins, dtype=bool)
    selected[order[:n_keep]] = True
    edges = np.round(edges, HPD_EDGE_DECIMALS)  # bin edges, without float noise such as -0.04500000000000015
    intervals, start = [], None
    for i, flag in enumerate(selected):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            intervals.append([float(edges[start]), float(edges[i])])
            start = None
    if start is not None:
        intervals.append([float(edges[start]), float(edges[-1])])
    return intervals


def density_levels_2d(hist: np.ndarray, levels: tuple[float, ...]) -> list[float]:
    """Density thresholds enclosing the given probability masses of a 2-D histogram (for contours)."""
    flat = np.sort(hist.ravel())[::-1]
    cumulative = np.cumsum(flat) / flat.sum()
    return [float(flat[min(np.searchsorted(cumulative, lv), flat.size - 1)]) for lv in levels]


def credible_region_2d(x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x, bounds_y,  # noqa: ANN001
                       levels: tuple[float, ...] = (0.68, 0.95), n_bins: int = 80, smoothing: float = 1.0):
    """2-D credible regions: (x centres, y centres, smoothed density, thresholds for ``levels``)."""
    hist, xe, ye = np.histogram2d(x, y, bins=n_bins, range=[bounds_x, bounds_y], weights=weights)
    if smoothing > 0:
        hist = ndimage.gaussian_filter(hist, smoothing)
    hist = hist / hist.sum()
    return 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), hist.T, density_levels_2d(hist, levels)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cdf = np.cumsum(weights[order]) / np.sum(weights)
    return float(np.interp(q, cdf, values[order]))
