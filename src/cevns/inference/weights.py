"""Weighted posterior samples: resampling to equal weights, weighted quantiles, the Kish effective sample size.

The basics every estimator (:mod:`cevns.inference.density`, :mod:`cevns.inference.regions`) and every
result (:class:`cevns.inference.fitting.FitResult`) uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def equal_weight_samples(samples: np.ndarray, log_weights: np.ndarray, rng: np.random.Generator | int | None = None,
                         n: int | None = None) -> np.ndarray:
    """Resample weighted samples into equal-weight ones (systematic resampling).

    ``n`` defaults to the Kish effective sample size. ``rng`` (a Generator or a seed;
    None = seed 0) fixes the single uniform offset, so the result is deterministic.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    weights = np.exp(np.asarray(log_weights, dtype=float) - np.max(log_weights))
    weights /= weights.sum()
    n_eff = int(1.0 / np.sum(weights**2))
    n = n or max(n_eff, 1)
    positions = (rng.uniform() + np.arange(n)) / n
    index = np.searchsorted(np.cumsum(weights), positions)
    return np.asarray(samples)[np.minimum(index, len(weights) - 1)]


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> float | np.ndarray:
    """Quantile(s) ``q`` of weighted samples (linear interpolation of the weighted CDF)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order]) / np.sum(weights)
    out = np.interp(q, cdf, values[order])
    return float(out) if np.ndim(out) == 0 else out


def _clean(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite samples with positive weight, sorted, weights normalized to 1."""
    values, weights = np.asarray(values, dtype=float).ravel(), np.asarray(weights, dtype=float).ravel()
    if values.shape != weights.shape:
        raise ValueError(f"values and weights differ in length: {values.size} != {weights.size}")
    keep = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        raise ValueError("no samples with finite value and positive weight")
    order = np.argsort(values, kind="stable")
    return values[order], weights[order] / weights.sum()


def _n_eff(w: np.ndarray) -> float:
    """Kish effective sample size (sum w)^2 / sum w^2."""
    return float(np.sum(w) ** 2 / np.sum(w**2))


def _sorted_quantiles(x: np.ndarray, w: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Weighted quantiles of sorted ``x`` (midpoint CDF, so equal weights give the usual quantiles)."""
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(q, cdf, x)
