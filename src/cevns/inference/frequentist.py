"""Frequentist inference: maximum likelihood, profile likelihoods, Wilks, Neyman and Feldman-Cousins sets.

Everything here is built on one function of the model and one data set, the profile
over the Gaussian-constrained nuisances,

    nll(theta) = -2 max_nu log p(data, nu | theta) = -2 model.logpdf((theta, nu*(theta)), data),

where ``theta`` are the model's free parameters (couplings, physics parameters, free
normalisations) and ``nu*`` the conditional mode of the constrained nuisances, found by
:meth:`cevns.model.Model.conditional_mode` (exact Newton, batched over points). Only the
free parameters are left to a minimiser: MINUIT's Migrad through iminuit (F. James and
M. Roos, Comput. Phys. Commun. 10 (1975) 343; H. Dembinski et al., iminuit,
doi:10.5281/zenodo.3949207), with the gradient from one batched call (central differences
of the profiled ``nll``). Because the NSI rates are quadratic in the couplings, the
likelihood has mirror solutions; every fit starts from the best points of a vectorised
grid (Sobol points) over the free parameters, and profile scans sweep back and forth so
that each scan point takes the best of its neighbours' solutions.

Intervals
---------
* Wilks (S. S. Wilks, Ann. Math. Stat. 9 (1938) 60): ``{theta: q(theta) <= chi2_k(CL)}`` with
  ``q = nll(theta) - nll_min`` and k the number of scanned parameters; a union of disjoint
  intervals where the likelihood has separated modes. Edges are refined by root finding.
* Neyman construction with the likelihood-ratio ordering, i.e. Feldman and Cousins
  (G. J. Feldman and R. D. Cousins, Phys. Rev. D 57 (1998) 3873, arXiv:physics/9711021):
  exact for a Poisson count with known background (:func:`poisson_feldman_cousins`,
  checked against their Table IV), and by toys for a model (:func:`neyman_critical_values`,
  nuisances at their conditional fit to the observed data: the "profile construction").
* Classical central Poisson intervals (Garwood 1936) in closed form (:func:`poisson_central`).

The model protocol
------------------
The functions need only: ``parameters`` (``name``, ``kind``, ``bounds``, ``constrained``,
``center``, ``sigma``), ``parameter_names``, ``free_indices``, ``constrained_indices``,
``sigmas``, ``centers``, ``init``, ``conditional_mode(free, data)``, ``logpdf(pars, data)``,
``expected_counts(pars)``. :class:`cevns.model.Model` has them; the tests use a linear
Gaussian model and a Poisson counting experiment with the same methods, whose answers are
known in closed form.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from ..errors import ConfigError

#: Points per block of conditional-mode evaluations (cevns.model.laplace.MARGINAL_CHUNK: measured fastest).
CHUNK = 128
#: Sobol points of the multi-start grid of a global fit (2^11), and of the remaining parameters per scan point.
GRID_POINTS = 2048
SCAN_GRID_POINTS = 64
#: Starts of a global fit taken from the grid (distinct basins), and their minimal separation
#: in units of each parameter's range.
N_STARTS = 6
START_SEPARATION = 0.05
#: Central-difference step of the batched gradient, relative to each parameter's range.
GRADIENT_STEP = 1e-7
#: Two minima closer than this (relative to the range, every coordinate) are one mode.
MODE_TOLERANCE = 1e-3
#: MINUIT convergence: Migrad stops at EDM < 0.002 * tol * errordef; 0.01 puts -2 log L within ~2e-5.
MIGRAD_TOLERANCE = 0.01
#: Batched Newton: relative finite-difference step of the Jacobian (exact for the quadratic couplings),
#: step of the finite-difference Hessian (non-Poisson models), iteration cap, initial Levenberg-Marquardt
#: damping (x the largest Hessian eigenvalue) and the Newton decrement (in -2 log L) that ends a point.
NEWTON_STEP = 1e-4
FD_STEP = 1e-4
NEWTON_MAX_ITERATIONS = 100
NEWTON_DAMPING = 1e-9
NEWTON_DECREMENT = 1e-10
#: Candidate starts per scan point (the best distinct points of the grid and of the global fit's modes).
SCAN_STARTS = 2
#: Maximum back-and-forth sweeps of a profile scan; regula-falsi iterations of an interval edge.
REFINE_ITERATIONS = 30
#: A continuation start replaces a scan point's solution when it lowers -2 log L by more than this.
SWEEP_IMPROVEMENT = 1e-7
MAX_SWEEPS = 50


def wilks_threshold(level: float, n_parameters: int = 1) -> float:
    """chi^2 quantile with ``n_parameters`` degrees of freedom: the Wilks cut on q = -2 Delta log L."""
    if not 0 < level < 1:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}")
    return float(stats.chi2.ppf(level, n_parameters))


# --------------------------------------------------------------------------------------------------------
# the profiled objective
# --------------------------------------------------------------------------------------------------------
class Profiler:
    """-2 log L of one data set with the constrained nuisances profiled, as a function of the free parameters.

    ``nll(free)`` takes points of shape (n, d_free) (columns ``free_names``) and returns -2 times
    ``model.logpdf`` at the conditional mode of the nuisances, in blocks of :data:`CHUNK` points.
    """

    def __init__(self, model, data: np.ndarray, hessian: str = "gauss-newton") -> None:  # noqa: ANN001
        if hessian not in ("gauss-newton", "finite-difference"):
            raise ConfigError(f"hessian must be 'gauss-newton' or 'finite-difference', not {hessian!r}")
        self.hessian = hessian
        self.model = model
        self.data = np.asarray(data, dtype=float)
        self.free_indices = np.asarray(model.free_indices, dtype=np.intp)
        self.free_names = [model.parameter_names[i] for i in self.free_indices]
        self.bounds = np.array([model.parameters[i].bounds for i in self.free_indices], dtype=float).reshape(-1, 2)
        self.span = self.bounds[:, 1] - self.bounds[:, 0]
        sigmas = np.asarray(model.sigmas)[np.asarray(model.constrained_indices, dtype=np.intp)]
        # conditional_mode's value leaves out the Gaussian normalisation; add it so nll = -2 logpdf
        self._constant = -np.sum(np.log(sigmas)) - 0.5 * sigmas.size * np.log(2.0 * np.pi)
        self.n_calls = 0

    def index(self, name: str) -> int:
        """Column of a free parameter (ConfigError naming the free parameters otherwise)."""
        if name not in self.free_names:
            raise ConfigError(f"{name!r} is not a free parameter of the model; free parameters: {', '.join(self.free_names)} "
                              "(constrained nuisances are always profiled)")
        return self.free_names.index(name)

    def _block(self, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        if len(model.constrained_indices) == 0:
            full = np.broadcast_to(np.asarray(model.init, dtype=float), (free.shape[0], len(model.parameters))).copy()
            full[:, self.free_indices] = free
            return full, -2.0 * model.logpdf(full, self.data)
        full, value, _ = model.conditional_mode(free, self.data)
        return full, -2.0 * (value + self._constant)

    def full(self, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full parameter vectors at the nuisances' conditional mode (n, d), and nll (n,)."""
        free = np.atleast_2d(np.asarray(free, dtype=float))
        fulls, values = [], []
        for i in range(0, free.shape[0], CHUNK):
            f, v = self._block(free[i : i + CHUNK])
            fulls.append(f)
            values.append(v)
        self.n_calls += free.shape[0]
        return np.concatenate(fulls), np.concatenate(values)

    def nll(self, free: np.ndarray) -> np.ndarray:
        """-2 log L profiled over the constrained nuisances, (n,); NaN (a failed Newton) reads as +inf."""
        values = self.full(free)[1]
        return np.where(np.isfinite(values), values, np.inf)

    # -- minimisation ------------------------------------------------------------------------------------
    def minimize(self, start: np.ndarray, floating: np.ndarray, strategy: int = 0) -> tuple[np.ndarray, float, bool]:
        """Migrad over the free parameters ``floating`` (indices), the others fixed at ``start``.

        Returns (free vector at the minimum, nll there, Migrad's validity flag).
        """
        start = np.asarray(start, dtype=float)
        floating = np.asarray(floating, dtype=np.intp)
        if floating.size == 0:
            return start.copy(), float(self.nll(start[None])[0]), True
        from iminuit import Minuit

        k = floating.size
        step = GRADIENT_STEP * self.span[floating]
        points = np.repeat(start[None], 1 + 2 * k, axis=0)
        cache: dict[bytes, tuple[float, np.ndarray]] = {}

        def evaluate(y: np.ndarray) -> tuple[float, np.ndarray]:
            y = np.asarray(y, dtype=float)
            key = y.tobytes()
            if key not in cache:
                points[:, floating] = y
                points[1 + np.arange(k), floating] += step
                points[1 + k + np.arange(k), floating] -= step
                values = self.nll(points)
                gradient = (values[1 : 1 + k] - values[1 + k :]) / (2.0 * step)
                cache.clear()
                cache[key] = (float(values[0]), np.where(np.isfinite(gradient), gradient, 0.0))
            return cache[key]

        x0 = np.clip(start[floating], self.bounds[floating, 0], self.bounds[floating, 1])
        minuit = Minuit(lambda y: evaluate(y)[0], x0, grad=lambda y: evaluate(y)[1],
                        name=[self.free_names[i] for i in floating])
        minuit.errordef = Minuit.LEAST_SQUARES  # the objective is -2 log L
        minuit.limits = [tuple(b) for b in self.bounds[floating]]
        minuit.errors = np.maximum(0.01 * self.span[floating], 1e-12)
        minuit.strategy = strategy
        minuit.tol = MIGRAD_TOLERANCE
        minuit.migrad()
        best = start.copy()
        best[floating] = np.asarray(minuit.values)
        value = float(self.nll(best[None])[0])
        return best, value, bool(minuit.valid)

    # -- batched Newton over free parameters, nuisances profiled ---------------------------------------
    def _derivatives(self, x: np.ndarray, full: np.ndarray, floating: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (n, k) and positive semi-definite Hessian (n, k, k) of ``nll`` in the ``floating`` columns.

        Poisson models (``expected_counts``): Gauss-Newton. With q = (floating, nuisances) and the
        Jacobian J = d lambda / d q (central differences of ``expected_counts``: exact for the
        couplings, on which lambda is quadratic, and for linear nuisances), the Hessian of -log p is
        A = J^T diag(D / lambda^2) J + diag(0, 1/sigma^2); profiling the nuisances leaves the Schur
        complement A_ff - A_fn A_nn^-1 A_nf, and, at the conditional mode, the gradient -J_f^T (D/lambda - 1)
        (envelope theorem). Other models: central finite differences of ``nll``.
        """
        model = self.model
        n, k = x.shape[0], floating.size
        if not hasattr(model, "expected_counts") or self.hessian == "finite-difference":
            return self._fd_derivatives(x, floating)
        columns = np.concatenate([self.free_indices[floating], np.asarray(model.constrained_indices, dtype=np.intp)])
        p = columns.size
        step = np.concatenate([NEWTON_STEP * self.span[floating], NEWTON_STEP * np.ones(p - k)])
        points = np.repeat(full[:, None, :], 2 * p + 1, axis=1)
        points[:, 1 + np.arange(p), columns] += step
        points[:, 1 + p + np.arange(p), columns] -= step
        lam = np.asarray(model.expected_counts(points.reshape(-1, full.shape[1]))).reshape(n, 2 * p + 1, -1)
        jac = np.swapaxes((lam[:, 1 : 1 + p] - lam[:, 1 + p :]) / (2.0 * step[None, :, None]), 1, 2)  # (n, K, p)
        safe = np.maximum(lam[:, 0], 1e-150)  # lambda^2 stays a normal float
        data = self.data if self.data.ndim == 2 else self.data[None, :]
        residual = data / safe - 1.0
        weight = data / safe**2
        a = np.einsum("nkp,nk,nkq->npq", jac, weight, jac)
        idx = np.asarray(model.constrained_indices, dtype=np.intp)
        a[:, np.arange(k, p), np.arange(k, p)] += 1.0 / np.asarray(model.sigmas)[idx] ** 2
        gradient = -np.einsum("nkp,nk->np", jac[:, :, :k], residual)
        hessian = a[:, :k, :k]
        if p > k:
            hessian = hessian - a[:, :k, k:] @ np.linalg.solve(a[:, k:, k:], a[:, k:, :k])
        return 2.0 * gradient, 2.0 * hessian

    def _fd_derivatives(self, x: np.ndarray, floating: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = x.shape[0], floating.size
        h = FD_STEP * self.span[floating]
        offsets = [np.zeros(k)]
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            offsets += [e, -e]
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        for i, j in pairs:
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(k)
                e[i], e[j] = si * h[i], sj * h[j]
                offsets.append(e)
        offsets = np.array(offsets)
        points = np.repeat(x[:, None, :], len(offsets), axis=1)
        points[:, :, floating] += offsets[None]
        v = self.nll(points.reshape(-1, x.shape[1])).reshape(n, len(offsets))
        f0 = v[:, 0]
        gradient = np.stack([(v[:, 1 + 2 * i] - v[:, 2 + 2 * i]) / (2 * h[i]) for i in range(k)], axis=1)
        hessian = np.empty((n, k, k))
        for i in range(k):
            hessian[:, i, i] = (v[:, 1 + 2 * i] - 2 * f0 + v[:, 2 + 2 * i]) / h[i] ** 2
        base = 1 + 2 * k
        for m, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = (v[:, base + 4 * m + r] for r in range(4))
            hessian[:, i, j] = hessian[:, j, i] = (pp - pm - mp + mm) / (4 * h[i] * h[j])
        return gradient, hessian

    def newton(self, starts: np.ndarray, floating: np.ndarray, max_iterations: int = NEWTON_MAX_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
        """Minimise ``nll`` over the ``floating`` columns from every row of ``starts`` at once (batched).

        Damped Newton (Levenberg-Marquardt on the eigenvalues of the Hessian of :meth:`_derivatives`),
        steps projected onto the bounds, a step kept only where it lowers ``nll``. A point stops when
        its Newton decrement g^T H^-1 g falls below :data:`NEWTON_DECREMENT`. Returns (points, nll).
        """
        x = np.atleast_2d(np.asarray(starts, dtype=float)).copy()
        floating = np.asarray(floating, dtype=np.intp)
        lo, hi = self.bounds[floating, 0], self.bounds[floating, 1]
        x[:, floating] = np.clip(x[:, floating], lo, hi)
        full, f = self.full(x)
        if floating.size == 0:
            return x, np.where(np.isfinite(f), f, np.inf)
        damping = np.full(x.shape[0], NEWTON_DAMPING)
        active = np.isfinite(f)
        for _ in range(max_iterations):
            rows = np.flatnonzero(active)
            if rows.size == 0:
                break
            gradient, hessian = self._derivatives(x[rows], full[rows], floating)
            # projected Newton (active set): a coordinate on a bound that the gradient pushes outwards stays there
            span = self.span[floating]
            pinned = (((x[rows][:, floating] - lo) <= 1e-12 * span) & (gradient > 0)) | \
                     (((hi - x[rows][:, floating]) <= 1e-12 * span) & (gradient < 0))
            gradient = np.where(pinned, 0.0, gradient)
            free_pair = ~pinned[:, :, None] | ~pinned[:, None, :]
            hessian = np.where(free_pair, hessian, 0.0)
            hessian = np.where(pinned[:, :, None] | pinned[:, None, :], 0.0, hessian)
            diagonal = np.einsum("nii->ni", hessian)
            diagonal += np.where(pinned, np.max(np.abs(diagonal), axis=1, keepdims=True) + 1.0, 0.0)
            values, vectors = np.linalg.eigh(0.5 * (hessian + np.swapaxes(hessian, 1, 2)))
            scale = np.maximum(np.max(np.abs(values), axis=1), 1e-300)
            values = np.maximum(np.abs(values), 1e-12 * scale[:, None]) + damping[rows, None] * scale[:, None]
            projected = np.einsum("nij,ni->nj", vectors, gradient)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # flat directions: the bounds stop the step
                step = np.nan_to_num(-np.einsum("nij,nj->ni", vectors, projected / values), nan=0.0, posinf=1e300, neginf=-1e300)
                decrement = np.nan_to_num(np.sum(projected**2 / values, axis=1), nan=np.inf)
            trial = x[rows].copy()
            trial[:, floating] = np.clip(trial[:, floating] + step, lo, hi)
            trial_full, trial_f = self.full(trial)
            better = np.isfinite(trial_f) & (trial_f <= f[rows])
            keep = rows[better]
            x[keep], full[keep], f[keep] = trial[better], trial_full[better], trial_f[better]
            damping[keep] = np.maximum(damping[keep] / 10.0, NEWTON_DAMPING)
            damping[rows[~better]] *= 10.0
            done = (decrement < NEWTON_DECREMENT) | (damping[rows] > 1e12)
            active[rows[done]] = False
        return x, np.where(np.isfinite(f), f, np.inf)

    def grid(self, n_points: int, floating: np.ndarray, seed: int = 0) -> np.ndarray:
        """Unit-cube Sobol points mapped onto the bounds of ``floating`` (n_points, len(floating)); deterministic."""
        floating = np.asarray(floating, dtype=np.intp)
        sobol = stats.qmc.Sobol(floating.size, scramble=True, seed=seed)
        unit = sobol.random_base2(int(np.ceil(np.log2(max(n_points, 2)))))
        return self.bounds[floating, 0] + unit * self.span[floating]


def _distinct(points: np.ndarray, order: np.ndarray, span: np.ndarray, n_keep: int, separation: float) -> list[int]:
    """Indices (in ``order``) of up to ``n_keep`` points, each at least ``separation`` (x range) from those kept."""
    kept: list[int] = []
    for i in order:
        if len(kept) >= n_keep:
            break
        if all(np.max(np.abs(points[i] - points[j]) / span) > separation for j in kept):
            kept.append(int(i))
    return kept


# --------------------------------------------------------------------------------------------------------
# maximum likelihood
# --------------------------------------------------------------------------------------------------------
@dataclass
class MaximumLikelihood:
    """A global fit: the best point and every distinct local minimum found (mirror solutions).

    ``nll`` is -2 log L (``logpdf``, constraints included) at the best point; ``modes`` are
    (free vector, nll) sorted by nll; ``full`` the full parameter vector at the best point.
    """

    names: list[str]
    best: np.ndarray
    nll: float
    full: np.ndarray
    modes: list[tuple[np.ndarray, float]]
    n_evaluations: int
    parameter_names: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, float]:
        return dict(zip(self.names, map(float, self.best), strict=True))

    def to_dict(self) -> dict:
        return {"best": self.values, "nll": self.nll,
                "all_parameters": dict(zip(self.parameter_names, map(float, self.full), strict=True)),
                "modes": [{"values": dict(zip(self.names, map(float, x), strict=True)), "nll": v, "q": v - self.nll} for x, v in self.modes],
                "n_evaluations": self.n_evaluations}


def fit_mle(profiler: Profiler, n_grid: int = GRID_POINTS, n_starts: int = N_STARTS,
            extra_starts: Sequence[np.ndarray] = (), seed: int = 0, polish: bool = True) -> MaximumLikelihood:
    """Global maximum-likelihood fit over the free parameters (nuisances profiled).

    Batched Newton from the ``n_starts`` best distinct points of a Sobol grid of ``n_grid``
    points and from ``extra_starts``; then (``polish``) Migrad from the best minimum. Every
    distinct minimum is kept in ``modes`` (the NSI mirror solutions)."""
    floating = np.arange(len(profiler.free_names))
    calls_before = profiler.n_calls
    if floating.size == 0:
        full, value = profiler.full(np.zeros((1, 0)))
        return MaximumLikelihood([], np.zeros(0), float(value[0]), full[0], [(np.zeros(0), float(value[0]))], 1,
                                 list(profiler.model.parameter_names))
    points = profiler.grid(n_grid, floating, seed)
    values = profiler.nll(points)
    chosen = _distinct(points, np.argsort(values, kind="stable"), profiler.span, n_starts, START_SEPARATION)
    starts = np.array([points[i] for i in chosen] + [np.asarray(s, dtype=float) for s in extra_starts])
    x, v = profiler.newton(starts, floating)  # every start at once
    minima = list(zip(x, v, strict=True))
    if polish:  # Migrad from the best Newton minimum: the reference minimiser, and HESSE-ready
        minima.append(profiler.minimize(x[np.argmin(v)], floating, strategy=1)[:2])
    modes = _unique_modes(minima, profiler.span)
    best, value = modes[0]
    full = profiler.full(best[None])[0][0]
    return MaximumLikelihood(list(profiler.free_names), best, value, full, modes, profiler.n_calls - calls_before,
                             list(profiler.model.parameter_names))


def _unique_modes(minima: Sequence[tuple[np.ndarray, float]], span: np.ndarray) -> list[tuple[np.ndarray, float]]:
    modes: list[tuple[np.ndarray, float]] = []
    for x, v in sorted(minima, key=lambda item: item[1]):
        if np.isfinite(v) and all(np.max(np.abs(x - m) / span) > MODE_TOLERANCE for m, _ in modes):
            modes.append((x, v))
    return modes


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


@dataclass
class Profile1D:
    """A 1-D profile likelihood: q(value) = nll(value) - nll_min on a scan, with Wilks intervals.

    ``solutions`` (n, d_free) are the free parameters at each scan point; ``intervals`` maps a
    level ("0.68", "0.95") to a union of disjoint [low, high] (edges refined by root finding).
    """

    name: str
    values: np.ndarray
    nll: np.ndarray
    nll_min: float
    solutions: np.ndarray
    free_names: list[str]
    mle: MaximumLikelihood
    bounds: tuple[float, float]
    intervals: dict[str, list[list[float]]] = field(default_factory=dict)

    @property
    def q(self) -> np.ndarray:
        return self.nll - self.nll_min

    def interval(self, level: float = 0.95) -> list[list[float]]:
        return self.intervals[f"{level:.2f}"]

    def to_dict(self) -> dict:
        return {"parameter": self.name, "nll_min": self.nll_min, "bounds": list(self.bounds),
                "wilks_intervals": self.intervals,
                "thresholds": {k: wilks_threshold(float(k), 1) for k in self.intervals},
                "mle": self.mle.to_dict(),
                "scan": {"values": self.values.tolist(), "q": self.q.tolist(),
                         "solutions": {n: self.solutions[:, j].tolist() for j, n in enumerate(self.free_names)}}}

    def to_csv(self) -> str:
        header = ",".join([self.name + "_scan", "q"] + [f"{n}_hat" for n in self.free_names])
        rows = [",".join([repr(float(v)), repr(float(q))] + [repr(float(x)) for x in s])
                for v, q, s in zip(self.values, self.q, self.solutions, strict=True)]
        return "\n".join([header, *rows]) + "\n"


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


def _wilks_intervals(profiler: Profiler, profile: Profile1D, threshold: float, refine: bool) -> list[list[float]]:
    """Union of intervals where q <= threshold; edges by the Illinois (regula falsi) method on the profile,
    every edge in one batched Newton call per iteration, from the two bracketing scan points' solutions."""
    x, q = profile.values, profile.q
    inside = q <= threshold
    j = profiler.index(profile.name)
    runs, i = [], 0
    while i < x.size:
        if inside[i]:
            start = i
            while i + 1 < x.size and inside[i + 1]:
                i += 1
            runs.append((start, i))
        i += 1
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


@dataclass
class Profile2D:
    """A 2-D profile likelihood on a grid: q[ix, iy] with the Wilks regions (2 degrees of freedom)."""

    names: tuple[str, str]
    x: np.ndarray
    y: np.ndarray
    nll: np.ndarray           # (nx, ny)
    nll_min: float
    solutions: np.ndarray     # (nx, ny, d_free)
    free_names: list[str]
    mle: MaximumLikelihood

    @property
    def q(self) -> np.ndarray:
        return self.nll - self.nll_min

    def region(self, level: float = 0.95) -> np.ndarray:
        """Grid mask of the Wilks region at ``level`` (2 degrees of freedom)."""
        return self.q <= wilks_threshold(level, 2)

    def to_dict(self) -> dict:
        cell = (self.x[1] - self.x[0]) * (self.y[1] - self.y[0]) if self.x.size > 1 and self.y.size > 1 else 0.0
        return {"parameters": list(self.names), "nll_min": self.nll_min, "x": self.x.tolist(), "y": self.y.tolist(),
                "q": self.q.tolist(), "mle": self.mle.to_dict(),
                "thresholds": {f"{lv:.2f}": wilks_threshold(lv, 2) for lv in (0.68, 0.95)},
                "region_area": {f"{lv:.2f}": float(self.region(lv).sum() * cell) for lv in (0.68, 0.95)}}

    def to_csv(self) -> str:
        rows = [f"{self.names[0]},{self.names[1]},q"]
        rows += [f"{float(a)!r},{float(b)!r},{float(v)!r}" for ia, a in enumerate(self.x) for ib, b in enumerate(self.y)
                 for v in [self.q[ia, ib]]]
        return "\n".join(rows) + "\n"


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


# --------------------------------------------------------------------------------------------------------
# toys: data and auxiliary measurements drawn at a truth
# --------------------------------------------------------------------------------------------------------
def with_centers(model, centers: np.ndarray):  # noqa: ANN001, ANN201
    """A shallow copy of ``model`` whose Gaussian constraints are centred on ``centers`` (one per constrained
    parameter): the auxiliary measurements of a frequentist toy. The kernels are shared, not copied."""
    idx = np.asarray(model.constrained_indices, dtype=np.intp)
    out = copy.copy(model)
    out.centers = np.array(model.centers, dtype=float)
    out.centers[idx] = centers
    parameters = list(model.parameters)
    for m, i in enumerate(idx):
        if dataclasses.is_dataclass(parameters[i]):
            parameters[i] = dataclasses.replace(parameters[i], center=float(centers[m]))
    out.parameters = tuple(parameters)
    return out


def draw_toy(model, truth: np.ndarray, rng: np.random.Generator, auxiliary: bool = True):  # noqa: ANN001, ANN201
    """Poisson counts at ``truth`` and (``auxiliary``) the constraint centres drawn from N(truth, sigma).

    Returns (data (K,), the model with its constraints centred on the drawn auxiliary values).
    With ``auxiliary=False`` the constraints stay at their nominal centres (``model.toy``'s convention).
    """
    truth = np.asarray(truth, dtype=float)
    lam = np.asarray(model.expected_counts(truth[None]))[0]
    data = rng.poisson(lam).astype(float)
    if not auxiliary or len(model.constrained_indices) == 0:
        return data, model
    idx = np.asarray(model.constrained_indices, dtype=np.intp)
    centers = truth[idx] + np.asarray(model.sigmas)[idx] * rng.standard_normal(idx.size)
    return data, with_centers(model, centers)


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
    inside = probabilities >= hpd_threshold(probabilities, level)
    half = 0.5 * (axis[1] - axis[0])
    out, i = [], 0
    while i < axis.size:
        if inside[i]:
            j = i
            while j + 1 < axis.size and inside[j + 1]:
                j += 1
            out.append([float(max(axis[0], axis[i] - half)), float(min(axis[-1], axis[j] + half))])
            i = j
        i += 1
    return out


def grid_covers(axes: Sequence[np.ndarray], probabilities: np.ndarray, truth: Sequence[float], level: float) -> bool:
    """Whether the gridded HPD set at ``level`` holds ``truth`` (density at the nearest grid node vs the threshold)."""
    index = tuple(int(np.argmin(np.abs(a - t))) for a, t in zip(axes, truth, strict=True))
    return bool(probabilities[index] >= hpd_threshold(probabilities, level))


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
        data, toy_model = draw_toy(model, truth, rng, auxiliary)
        profiler = Profiler(toy_model, data)
        mle = fit_mle(profiler, n_grid=n_grid, n_starts=3, extra_starts=[free_truth])
        out[i] = test_statistic(profiler, names, values, mle, starts=[free_truth])[0]
    return out


def neyman_critical_values(model, data: np.ndarray, name: str, values: Sequence[float], rng: np.random.Generator,  # noqa: ANN001
                           n_toys: int = 200, level: float = 0.95, auxiliary: bool = True) -> dict:
    """Feldman-Cousins (likelihood-ratio ordered Neyman) construction for one parameter, by toys.

    At each value: the nuisances and other free parameters at their conditional fit to ``data``
    (profile construction), ``n_toys`` toys, and the ``level`` quantile c(value) of t. The
    interval is {value: t_obs(value) <= c(value)}. Serial; :mod:`cevns.tasks` spreads the values.
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
    out, current = [], None
    for v, a in zip(values, accepted, strict=True):
        if a and current is None:
            current = [float(v), float(v)]
        elif a:
            current[1] = float(v)
        elif current is not None:
            out.append(current)
            current = None
    if current is not None:
        out.append(current)
    return out


def named_vector(model, values: Mapping[str, float]) -> np.ndarray:  # noqa: ANN001
    """``model.pars(values)`` with a ConfigError for unknown names."""
    unknown = sorted(set(values) - set(model.parameter_names))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; the model has: {', '.join(model.parameter_names)}")
    vector = np.array(model.init, dtype=float)
    for name, value in values.items():
        vector[model.parameter_names.index(name)] = float(value)
    return vector
