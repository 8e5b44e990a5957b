"""Exact intervals of a Poisson count with known background: central (Garwood 1936), upper limits and
Feldman-Cousins (Phys. Rev. D 57 (1998) 3873, Table IV): the references the model-based sets are tested
against."""

from __future__ import annotations


import numpy as np
from scipy import stats

from ...errors import ConfigError


# --------------------------------------------------------------------------------------------------------
# exact Poisson intervals (a count with known background): the references
# --------------------------------------------------------------------------------------------------------
def poisson_central(n_observed: int, level: float = 0.9) -> tuple[float, float]:
    """Classical central interval of a Poisson mean from ``n_observed`` counts (no background; Garwood 1936):
    [chi2_{a/2}(2n)/2, chi2_{1-a/2}(2n+2)/2], a = 1 - level."""
    alpha = 1.0 - level
    low = 0.0 if n_observed == 0 else 0.5 * stats.chi2.ppf(alpha / 2, 2 * n_observed)
    return float(low), float(0.5 * stats.chi2.ppf(1 - alpha / 2, 2 * n_observed + 2))


def poisson_upper_limit(n_observed: int, level: float = 0.9) -> float:
    """Classical (Neyman) upper limit of a Poisson mean, no background: chi2_{level}(2n+2)/2."""
    return float(0.5 * stats.chi2.ppf(level, 2 * n_observed + 2))


def poisson_feldman_cousins(n_observed: int, background: float, level: float = 0.9, mu_max: float = 50.0,
                            mu_step: float = 0.001) -> tuple[float, float]:
    """Feldman-Cousins interval of a Poisson signal mean mu >= 0 with known background b (arXiv:physics/9711021,
    sec. IV B): for each mu on a grid, counts n enter the acceptance region in decreasing order of
    R = P(n | mu + b) / P(n | mu_best + b), mu_best = max(0, n - b), until their probability reaches
    ``level``; the interval is the set of mu whose region holds ``n_observed`` (the grid step bounds its error)."""
    mu = np.arange(0.0, mu_max + mu_step / 2, mu_step)
    n_max = int(mu_max + background + 20 * np.sqrt(mu_max + background + 1) + 20)
    n = np.arange(n_max + 1)
    p = stats.poisson.pmf(n[None, :], mu[:, None] + background)
    best = stats.poisson.pmf(n, np.maximum(0.0, n - background) + background)
    ratio = p / best[None, :]
    order = np.argsort(-ratio, axis=1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=1)
    # counts enter until the cumulative probability reaches the level (the last one included)
    n_in = np.argmax(np.cumsum(sorted_p, axis=1) >= level, axis=1) + 1
    rank = np.argsort(order, axis=1, kind="stable")[:, n_observed]
    accepted = rank < n_in
    if not accepted.any():
        raise ConfigError(f"no mu in [0, {mu_max}] accepts n = {n_observed}; raise mu_max")
    return float(mu[accepted].min()), float(mu[accepted].max())
