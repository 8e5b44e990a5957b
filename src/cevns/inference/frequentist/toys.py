"""Toys and coverage: data and auxiliary measurements drawn at a truth, the test statistic, the Bayesian
grid posterior used as a cheap coverage reference, and the Neyman construction by toys (likelihood-ratio
ordering: Feldman-Cousins with nuisances)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...errors import ConfigError
from .optimiser import START_SEPARATION, MaximumLikelihood, Profiler, _distinct, fit_mle, wilks_threshold
from .profile import true_runs


# --------------------------------------------------------------------------------------------------------
# toys: data and auxiliary measurements drawn at a truth
# --------------------------------------------------------------------------------------------------------
def draw_toy(model, truth: np.ndarray, rng: np.random.Generator, auxiliary: bool = True) -> np.ndarray:  # noqa: ANN001
    """One frequentist toy at ``truth`` (full parameter vector): Poisson counts and (``auxiliary``) the
    auxiliary measurements drawn from N(truth, sigma), appended as pyhf does (``model.toy``, shape (K + M,)).
    With ``auxiliary=False`` only the counts fluctuate and the constraints keep their nominal centres (K,)."""
    return model.toy(np.asarray(truth, dtype=float), rng, auxiliary=auxiliary and model.aux_indices.size > 0)


def test_statistic(profiler: Profiler, names: Sequence[str], values: Sequence[float], mle: MaximumLikelihood,
                   starts: Sequence[np.ndarray] = ()) -> tuple[float, np.ndarray]:
    """Profile-likelihood ratio t = nll(names = values) - nll_min (>= 0), and the free vector of the conditional fit.

    The conditional fit starts from the global fit's modes and ``starts`` with the named parameters set.
    """
    scanned = np.array([profiler.index(n) for n in names])
    others = np.setdiff1d(np.arange(len(profiler.free_names)), scanned)
    candidates = [m.copy() for m, _ in mle.modes] + [np.asarray(s, dtype=float).copy() for s in starts]
    for c in candidates:
        c[scanned] = values
    if others.size == 0:
        best_value, best_x = float(profiler.nll(candidates[0][None])[0]), candidates[0]
    else:
        values_at = profiler.nll(np.array(candidates))
        picks = _distinct(np.array(candidates), np.argsort(values_at, kind="stable"), profiler.span, 3, START_SEPARATION)
        xs, vs = profiler.newton(np.array([candidates[i] for i in picks]), others)
        best_x, best_value = xs[np.argmin(vs)], float(np.min(vs))
    return max(0.0, best_value - mle.nll), best_x


# --------------------------------------------------------------------------------------------------------
# Bayesian sets on a grid (small dimension): the cheap reference for coverage
# --------------------------------------------------------------------------------------------------------
def grid_posterior(model, data: np.ndarray, n_points: int = 201) -> tuple[list[np.ndarray], np.ndarray]:  # noqa: ANN001
    """Posterior of the free parameters on a regular grid (flat priors on their bounds, constrained nuisances
    integrated out per point by ``model.log_marginal_likelihood``, the Laplace integral). For 1 or 2 free
    parameters. Returns (axes, normalised probability per cell of shape (n_points,)*d)."""
    free = np.asarray(model.free_indices)
    if free.size not in (1, 2):
        raise ConfigError(f"a grid posterior needs 1 or 2 free parameters, the model has {free.size}; use cevns.fit")
    axes = [np.linspace(*model.parameters[i].bounds, n_points) for i in free]
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.column_stack([m.ravel() for m in mesh])
    log_post = model.log_marginal_likelihood(points, data).reshape(mesh[0].shape)
    p = np.exp(log_post - np.max(log_post))
    return axes, p / p.sum()


def hpd_threshold(probabilities: np.ndarray, level: float) -> float:
    """Density threshold of the highest-density set holding ``level`` of the (gridded) probability."""
    p = np.sort(probabilities.ravel())[::-1]
    k = int(np.searchsorted(np.cumsum(p), level))
    return float(p[min(k, p.size - 1)])


def grid_hpd_intervals(axis: np.ndarray, probabilities: np.ndarray, level: float) -> list[list[float]]:
    """1-D HPD set of a gridded density as a union of intervals (cell edges at mid-points)."""
    half = 0.5 * (axis[1] - axis[0])
    return [[float(max(axis[0], axis[i] - half)), float(min(axis[-1], axis[j] + half))]
            for i, j in true_runs(probabilities >= hpd_threshold(probabilities, level))]


def grid_covers(axes: Sequence[np.ndarray], probabilities: np.ndarray, truth: Sequence[float], level: float) -> bool:
    """Whether the gridded HPD set at ``level`` holds ``truth`` (density at the nearest grid node vs the threshold)."""
    index = tuple(int(np.argmin(np.abs(a - t))) for a, t in zip(axes, truth, strict=True))
    return bool(probabilities[index] >= hpd_threshold(probabilities, level))


# --------------------------------------------------------------------------------------------------------
# Neyman construction by toys (likelihood-ratio ordering: Feldman-Cousins with nuisances)
# --------------------------------------------------------------------------------------------------------
def toy_statistics(model, truth: np.ndarray, names: Sequence[str], rng: np.random.Generator, n_toys: int,  # noqa: ANN001
                   auxiliary: bool = True, n_grid: int = 256) -> np.ndarray:
    """t = -2 Delta log L at the true values of ``names`` for ``n_toys`` toys drawn at ``truth`` (full vector)."""
    truth = np.asarray(truth, dtype=float)
    free_truth = truth[np.asarray(model.free_indices)]
    values = [float(truth[model.parameter_names.index(n)]) for n in names]
    out = np.empty(n_toys)
    for i in range(n_toys):
        profiler = Profiler(model, draw_toy(model, truth, rng, auxiliary))
        mle = fit_mle(profiler, n_grid=n_grid, n_starts=3, extra_starts=[free_truth])
        out[i] = test_statistic(profiler, names, values, mle, starts=[free_truth])[0]
    return out


def neyman_critical_values(model, data: np.ndarray, name: str, values: Sequence[float], rng: np.random.Generator,  # noqa: ANN001
                           n_toys: int = 200, level: float = 0.95, auxiliary: bool = True) -> dict:
    """Feldman-Cousins (likelihood-ratio ordered Neyman) construction for one parameter, by toys.

    At each value: the nuisances and other free parameters at their conditional fit to ``data``
    (profile construction), ``n_toys`` toys, and the ``level`` quantile c(value) of t. The
    interval is {value: t_obs(value) <= c(value)}. Serial; :mod:`cevns.app.tasks` spreads the values.
    """
    profiler = Profiler(model, data)
    mle = fit_mle(profiler)
    profiler.index(name)  # a ConfigError for a parameter that is not free
    rows = []
    for v in values:
        t_obs, x = test_statistic(profiler, [name], [v], mle)
        truth = profiler.full(x[None])[0][0]
        t = toy_statistics(model, truth, [name], rng, n_toys, auxiliary)
        rows.append({"value": float(v), "t_observed": t_obs, "critical": float(np.quantile(t, level, method="inverted_cdf")),
                     "wilks": wilks_threshold(level, 1), "truth": truth.tolist()})
    accepted = [r["value"] for r in rows if r["t_observed"] <= r["critical"]]
    return {"parameter": name, "level": level, "rows": rows, "accepted": accepted}


def accepted_to_intervals(values: Sequence[float], accepted: Sequence[bool]) -> list[list[float]]:
    """Runs of accepted grid values as [first, last] pairs (the grid resolution is the error)."""
    if len(values) != len(accepted):
        raise ValueError(f"values and accepted differ in length: {len(values)} != {len(accepted)}")
    return [[float(values[i]), float(values[j])] for i, j in true_runs(accepted)]


def named_vector(model, values: Mapping[str, float]) -> np.ndarray:  # noqa: ANN001
    """``model.pars(values)`` with a ConfigError for unknown names."""
    unknown = sorted(set(values) - set(model.parameter_names))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; the model has: {', '.join(model.parameter_names)}")
    vector = np.array(model.init, dtype=float)
    for name, value in values.items():
        vector[model.parameter_names.index(name)] = float(value)
    return vector
