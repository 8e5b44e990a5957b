"""The profiled objective and maximum likelihood: :class:`Profiler` (-2 log L with the constrained
nuisances at their conditional mode) and :func:`fit_mle` (multi-start Migrad over the free parameters;
the method and its sources: :mod:`cevns.inference.frequentist`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from ...errors import ConfigError
from ...model.protocol import ProfileModel
from ..results import MaximumLikelihood, wilks_threshold  # noqa: F401  (wilks_threshold re-exported)


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


# --------------------------------------------------------------------------------------------------------
# the profiled objective
# --------------------------------------------------------------------------------------------------------
class Profiler:
    """-2 log L of one data set with the constrained nuisances profiled, as a function of the free parameters.

    ``nll(free)`` takes points of shape (n, d_free) (columns ``free_names``) and returns -2 times
    ``model.logpdf`` at the conditional mode of the nuisances, in blocks of :data:`CHUNK` points.
    """

    def __init__(self, model: ProfileModel, data: np.ndarray, hessian: str = "gauss-newton") -> None:
        if hessian not in ("gauss-newton", "finite-difference"):
            raise ConfigError(f"hessian must be 'gauss-newton' or 'finite-difference', not {hessian!r}")
        self.hessian = hessian
        self.model = model
        # main counts, optionally followed by the auxiliary data (pyhf's main + auxdata): the Poisson terms read
        # the counts, the Gaussian constraints their centres
        self.data = model.check_data(data) if hasattr(model, "check_data") else np.asarray(data, dtype=float)
        self.counts, self.centers = (model.split_data(self.data) if hasattr(model, "split_data")
                                     else (self.data, getattr(model, "centers", None)))
        self.free_indices = np.asarray(model.free_indices, dtype=np.intp)
        self.free_names = [model.parameter_names[i] for i in self.free_indices]
        self.bounds = np.array([model.parameters[i].bounds for i in self.free_indices], dtype=float).reshape(-1, 2)
        self.span = self.bounds[:, 1] - self.bounds[:, 0]
        sigmas = np.asarray(model.sigmas)[np.asarray(model.constrained_indices, dtype=np.intp)]
        # conditional_mode's value leaves out the Gaussian normalisation; add it so nll = -2 logpdf
        self._constant = -np.sum(np.log(sigmas)) - 0.5 * sigmas.size * np.log(2.0 * np.pi)
        # constrained parameters scanned as free ones (Model.with_free): their Gaussian term, which the
        # conditional mode's value does not hold
        self._penalized = np.asarray(getattr(model, "penalized_indices", ()), dtype=np.intp)
        self.n_calls = 0

    def index(self, name: str) -> int:
        """Column of a free parameter (ConfigError naming the free parameters otherwise)."""
        if name not in self.free_names:
            raise ConfigError(f"{name!r} is not a free parameter of the model; free parameters: {', '.join(self.free_names)} "
                              "(a constrained nuisance is scanned on Model.with_free([name]))")
        return self.free_names.index(name)

    def _block(self, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        if len(model.constrained_indices) == 0:
            full = np.broadcast_to(np.asarray(model.init, dtype=float), (free.shape[0], len(model.parameters))).copy()
            full[:, self.free_indices] = free
            return full, -2.0 * model.logpdf(full, self.data)
        full, value, _ = model.conditional_mode(free, self.data)
        if self._penalized.size:  # the Gaussian terms of nuisances scanned as free (Model.with_free)
            value = value + model.gaussian_constraint(full, self._penalized, self.centers)
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
    def check_start(self, start: np.ndarray, what: str = "start") -> np.ndarray:
        """A starting point of the free parameters (``free_names`` order) as a float vector: the right length,
        finite and inside each parameter's range (a start outside it would be moved to the boundary without a
        word). ConfigError(field=``what``) naming the parameter and its range otherwise."""
        try:
            x = np.asarray(start, dtype=float)
        except (TypeError, ValueError):
            raise ConfigError(f"{what} must be numbers, got {str(start)[:40]!r}", field=what) from None
        if x.shape != (len(self.free_names),):
            raise ConfigError(f"{what} must hold {len(self.free_names)} values ({', '.join(self.free_names)}), got shape "
                              f"{x.shape}", field=what)
        for name, value, (lo, hi) in zip(self.free_names, x, self.bounds, strict=True):
            if not (np.isfinite(value) and lo <= value <= hi):
                raise ConfigError(f"{what} {name}={value:g} is outside the range of {name}, [{lo:g}, {hi:g}]; give a "
                                  "finite value inside it", field=what)
        return x

    def minimize(self, start: np.ndarray, floating: np.ndarray, strategy: int = 0) -> tuple[np.ndarray, float, bool]:
        """Migrad over the free parameters ``floating`` (indices), the others fixed at ``start`` (checked:
        :meth:`check_start`).

        Returns (free vector at the minimum, nll there, Migrad's validity flag).
        """
        start = self.check_start(start)
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
        data = self.counts if self.counts.ndim == 2 else self.counts[None, :]
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
def fit_mle(profiler: Profiler, n_grid: int = GRID_POINTS, n_starts: int = N_STARTS,
            extra_starts: Sequence[np.ndarray] = (), seed: int = 0, polish: bool = True) -> MaximumLikelihood:
    """Global maximum-likelihood fit over the free parameters (nuisances profiled).

    Batched Newton from the ``n_starts`` best distinct points of a Sobol grid of ``n_grid``
    points and from ``extra_starts`` (each checked: finite, inside the ranges); then (``polish``) Migrad from the best minimum. Every
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
    starts = np.array([points[i] for i in chosen] + [profiler.check_start(s, "extra_starts") for s in extra_starts])
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
