"""Profile-likelihood scans in one and two parameters with Wilks intervals (unions where disjoint):
:func:`profile_1d`, :func:`profile_2d` (sweeps that take the best of the neighbours' solutions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from ...errors import ConfigError
from ..results import Profile1D, Profile2D
from .optimiser import (MAX_SWEEPS, REFINE_ITERATIONS, SCAN_GRID_POINTS, SCAN_STARTS, START_SEPARATION, SWEEP_IMPROVEMENT,
                        MaximumLikelihood, Profiler, _distinct, fit_mle, wilks_threshold)


# --------------------------------------------------------------------------------------------------------
# profile scans
# --------------------------------------------------------------------------------------------------------
def _scan(profiler: Profiler, scanned: np.ndarray, targets: np.ndarray, seeds: np.ndarray,
          neighbours: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Minimise at every target of the ``scanned`` columns over the other free parameters, all targets at once.

    ``targets`` (n, len(scanned)); ``seeds`` (S, d_free): candidate starts for the other
    columns at every target (a grid and the global fit's modes), evaluated in one batched
    call; batched Newton from the :data:`SCAN_STARTS` best distinct ones per target. Then
    back-and-forth sweeps: where a neighbour's solution (``neighbours[i]``) is better at
    point i than its own, Newton again from there, until nothing improves.
    """
    n, d = targets.shape[0], len(profiler.free_names)
    others = np.setdiff1d(np.arange(d), scanned)
    seeds = np.asarray(seeds, dtype=float).reshape(-1, d)
    candidates = np.repeat(seeds[None], n, axis=0)
    candidates[:, :, scanned] = targets[:, None, :]
    grid_values = profiler.nll(candidates.reshape(-1, d)).reshape(n, -1)
    if others.size == 0:
        return candidates[:, 0], grid_values[:, 0]
    starts, owner = [], []
    for i in range(n):
        for c in _distinct(candidates[i], np.argsort(grid_values[i], kind="stable"), profiler.span, SCAN_STARTS, START_SEPARATION):
            starts.append(candidates[i, c])
            owner.append(i)
    x, v = profiler.newton(np.array(starts), others)
    owner = np.array(owner)
    solutions, values = np.empty((n, d)), np.full(n, np.inf)
    for row, i in enumerate(owner):
        if v[row] < values[i]:
            solutions[i], values[i] = x[row], v[row]
    # continuation both ways: Newton at point i from each neighbour j's solution that is lower than i's
    # own (and from the secant predictor 2 x_j - x_k, k the next point beyond j), until nothing improves
    changed = np.ones(n, dtype=bool)
    for _ in range(MAX_SWEEPS):
        trial, owner = [], []
        for i in range(n):
            for j in neighbours[i]:
                if not changed[j] or not values[j] < values[i]:
                    continue
                start = solutions[j].copy()
                start[scanned] = targets[i]
                trial.append(start)
                owner.append(i)
                k = _beyond(neighbours, targets, i, j)
                if k is not None:
                    predicted = 2.0 * solutions[j] - solutions[k]
                    predicted[scanned] = targets[i]
                    trial.append(predicted)
                    owner.append(i)
        if not trial:
            break
        x, v = profiler.newton(np.array(trial), others)
        changed = np.zeros(n, dtype=bool)
        for i, xi, vi in zip(owner, x, v, strict=True):
            if vi < values[i] - SWEEP_IMPROVEMENT:
                solutions[i], values[i], changed[i] = xi, vi, True
        if not changed.any():
            break
    return solutions, values


def _beyond(neighbours: Sequence[Sequence[int]], targets: np.ndarray, i: int, j: int) -> int | None:
    """The neighbour k of j on the far side from i (targets[k] - targets[j] = targets[j] - targets[i]), if any."""
    direction = targets[j] - targets[i]
    for k in neighbours[j]:
        if k != i and np.allclose(targets[k] - targets[j], direction, rtol=1e-6, atol=1e-12):
            return k
    return None


def _scan_seeds(profiler: Profiler, scanned: np.ndarray, mle: MaximumLikelihood, n_grid: int) -> np.ndarray:
    d = len(profiler.free_names)
    others = np.setdiff1d(np.arange(d), scanned)
    seeds = [m for m, _ in mle.modes]
    if others.size:
        grid = profiler.grid(n_grid, others, seed=1)
        block = np.repeat(mle.best[None], len(grid), axis=0)
        block[:, others] = grid
        seeds += list(block)
    return np.array(seeds)


def profile_1d(model, data: np.ndarray, name: str, values: np.ndarray | None = None, n_points: int = 200,  # noqa: ANN001
               levels: Sequence[float] = (0.68, 0.95), mle: MaximumLikelihood | None = None,
               n_grid: int = SCAN_GRID_POINTS, refine: bool = True) -> Profile1D:
    """Profile likelihood of one free parameter, the other free parameters minimised and the nuisances profiled.

    Parameters
    ----------
    model, data
        A :class:`cevns.model.Model` (or the protocol of the module docstring) and one data set (K,).
    name
        The scanned free parameter.
    values
        Scan points (default: ``n_points`` evenly over the parameter's bounds). The global fit's
        modes are added, so a narrow mode between scan points is never missed.
    levels
        Confidence levels of the Wilks intervals (1 degree of freedom).
    refine
        Refine interval edges by root finding on the profile (Brent) instead of interpolating.
    """
    profiler = model if isinstance(model, Profiler) else Profiler(model, data)
    j = profiler.index(name)
    if mle is None:
        mle = fit_mle(profiler)
    lo, hi = profiler.bounds[j]
    values = np.linspace(lo, hi, n_points) if values is None else np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)):
        raise ConfigError(f"profile of {name}: give at least 2 finite scan values")
    values = np.unique(np.concatenate([values, [m[j] for m, _ in mle.modes if values.min() <= m[j] <= values.max()]]))
    scanned = np.array([j])
    n = values.size
    neighbours = [[k for k in (i - 1, i + 1) if 0 <= k < n] for i in range(n)]
    solutions, nll = _scan(profiler, scanned, values[:, None], _scan_seeds(profiler, scanned, mle, n_grid), neighbours)
    nll_min = float(min(mle.nll, nll.min()))
    result = Profile1D(name, values, nll, nll_min, solutions, list(profiler.free_names), mle, (float(lo), float(hi)))
    for level in levels:
        result.intervals[f"{level:.2f}"] = _wilks_intervals(profiler, result, wilks_threshold(level, 1), refine)
    return result


def true_runs(mask: Sequence[bool]) -> list[tuple[int, int]]:
    """The runs of True in a boolean sequence as (first, last) index pairs, inclusive."""
    mask = np.asarray(mask, dtype=bool)
    padded = np.concatenate([[False], mask, [False]])
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(change[::2], change[1::2], strict=True)]


def _wilks_intervals(profiler: Profiler, profile: Profile1D, threshold: float, refine: bool) -> list[list[float]]:
    """Union of intervals where q <= threshold; edges by the Illinois (regula falsi) method on the profile,
    every edge in one batched Newton call per iteration, from the two bracketing scan points' solutions."""
    x, q = profile.values, profile.q
    j = profiler.index(profile.name)
    runs = true_runs(q <= threshold)
    brackets = [(s - 1, s) for s, _ in runs if s > 0] + [(e, e + 1) for _, e in runs if e < x.size - 1]
    edges = {}
    if brackets:
        a = np.array([x[p] for p, _ in brackets], dtype=float)
        b = np.array([x[r] for _, r in brackets], dtype=float)
        ga = np.array([q[p] for p, _ in brackets]) - threshold
        gb = np.array([q[r] for _, r in brackets]) - threshold
        starts = np.array([[profile.solutions[p], profile.solutions[r]] for p, r in brackets])
        others = np.setdiff1d(np.arange(len(profiler.free_names)), [j])
        side = np.zeros(len(brackets), dtype=int)
        guess = a - ga * (b - a) / (gb - ga)
        for _ in range(REFINE_ITERATIONS if refine else 0):
            guess = a - ga * (b - a) / (gb - ga)
            trial = starts.copy()
            trial[:, :, j] = guess[:, None]
            xs, vs = profiler.newton(trial.reshape(-1, trial.shape[-1]), others)
            g = vs.reshape(-1, 2).min(axis=1) - profile.nll_min - threshold
            same_as_a = np.sign(g) == np.sign(ga)
            # Illinois: halve the retained end's value when the same end is replaced twice in a row
            gb = np.where(same_as_a & (side == 1), gb / 2, gb)
            ga = np.where(~same_as_a & (side == -1), ga / 2, ga)
            a, ga = np.where(same_as_a, guess, a), np.where(same_as_a, g, ga)
            b, gb = np.where(~same_as_a, guess, b), np.where(~same_as_a, g, gb)
            side = np.where(same_as_a, 1, -1)
            if np.all(np.abs(g) < 1e-7) or np.all(np.abs(b - a) < 1e-10 * (profile.bounds[1] - profile.bounds[0])):
                break
        guess = a - ga * (b - a) / (gb - ga)
        edges = {bracket: float(e) for bracket, e in zip(brackets, guess, strict=True)}
    return [[float(x[s]) if s == 0 else edges[(s - 1, s)], float(x[e]) if e == x.size - 1 else edges[(e, e + 1)]] for s, e in runs]


def profile_2d(model, data: np.ndarray, names: tuple[str, str], x: np.ndarray | None = None, y: np.ndarray | None = None,  # noqa: ANN001
               n_points: int = 41, mle: MaximumLikelihood | None = None, n_grid: int = SCAN_GRID_POINTS) -> Profile2D:
    """Profile likelihood of two free parameters on a grid (default ``n_points`` x ``n_points`` over their bounds)."""
    profiler = model if isinstance(model, Profiler) else Profiler(model, data)
    if len(names) != 2 or names[0] == names[1]:
        raise ConfigError(f"a 2-D profile needs two different parameters, got {list(names)}")
    jx, jy = profiler.index(names[0]), profiler.index(names[1])
    if mle is None:
        mle = fit_mle(profiler)
    x = np.linspace(*profiler.bounds[jx], n_points) if x is None else np.asarray(x, dtype=float)
    y = np.linspace(*profiler.bounds[jy], n_points) if y is None else np.asarray(y, dtype=float)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    targets = np.column_stack([xx.ravel(), yy.ravel()])
    nx, ny = x.size, y.size
    neighbours = []
    for ix in range(nx):
        for iy in range(ny):
            neighbours.append([a * ny + b for a, b in ((ix - 1, iy), (ix + 1, iy), (ix, iy - 1), (ix, iy + 1)) if 0 <= a < nx and 0 <= b < ny])
    scanned = np.array([jx, jy])
    solutions, nll = _scan(profiler, scanned, targets, _scan_seeds(profiler, scanned, mle, n_grid), neighbours)
    nll_min = float(min(mle.nll, nll.min()))
    return Profile2D((names[0], names[1]), x, y, nll.reshape(nx, ny), nll_min, solutions.reshape(nx, ny, -1),
                     list(profiler.free_names), mle)


#: The probability inside +-1 standard deviation of a Gaussian, chi2_1.cdf(1): the floor's default level, so its
#: half-width is the "sigma" a Fisher-information estimate gives (Delta(-2 ln L) = 1).
ONE_SIGMA = float(stats.chi2.cdf(1.0, 1))


def statistical_floor(model, data: np.ndarray, name: str, pars: np.ndarray, level: float = ONE_SIGMA,  # noqa: ANN001
                      n_points: int = 801, span: float = 0.5) -> list[float]:
    """Wilks interval of one parameter with every other parameter *fixed* at ``pars`` (not profiled).

    The width a data set supports when every background level and nuisance is known exactly: the
    floor below which no treatment of the backgrounds can go (the statistical precision of the events
    alone). ``data`` is typically ``model.asimov(pars)`` (main and auxiliary data), so the floor is the
    expected one at ``pars``. Default level: +-1 sigma (Delta(-2 ln L) = 1). The scan starts on
    ``pars[name] * (1 -+ span)`` (or +-``span`` around 0) and doubles its span until the interval lies inside it
    or reaches the parameter's bounds (a ConfigError if the interval runs into a bound).
    """
    pars = np.asarray(pars, dtype=float)
    i = model.index(name)
    centre = pars[i]
    lo, hi = model.bounds[name]
    threshold = wilks_threshold(level, 1)
    half = span * abs(centre) if centre != 0 else span
    while True:
        grid = np.linspace(max(centre - half, lo), min(centre + half, hi), n_points)
        points = np.repeat(pars[None, :], grid.size, axis=0)
        points[:, i] = grid
        q = -2.0 * model.log_likelihood(points, data)
        q -= q.min()
        inside = np.where(q <= threshold)[0]
        if inside.size and inside[0] > 0 and inside[-1] < grid.size - 1:
            break
        if grid[0] <= lo and grid[-1] >= hi:
            raise ConfigError(f"statistical floor of {name}: the {level:.0%} interval reaches the parameter's bounds "
                              f"[{lo:g}, {hi:g}]")
        half *= 2.0
    a, b = inside[0], inside[-1]  # linear interpolation of the threshold crossing on each side
    left = grid[a - 1] + (threshold - q[a - 1]) * (grid[a] - grid[a - 1]) / (q[a] - q[a - 1])
    right = grid[b] + (threshold - q[b]) * (grid[b + 1] - grid[b]) / (q[b + 1] - q[b])
    return [float(left), float(right)]
