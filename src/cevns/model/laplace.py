"""Constrained nuisances integrated out per point: the conditional mode and the Laplace approximation.

For a point of the free parameters (couplings, physics parameters, free normalisations) the
constrained nuisances nu are set to their conditional mode by damped Newton on log Poisson + log
Gaussian constraints (the Poisson Hessian in the Gauss-Newton form plus, where a factor is not
linear in its nuisance, the curvature term), and

    log L_marg(free) = log L(free, nu*) + log N(nu* | centres, sigmas) + (M/2) log 2pi - (1/2) log det(-H)

(Laplace around the mode). Independent groups of nuisances (experiments that share none) are
integrated separately when some group is non-linear (:meth:`LaplaceMarginal.laplace_components`).
:meth:`LaplaceMarginal.log_marginal_importance` corrects the approximation by importance sampling
around the same Gaussian. :class:`LaplaceMarginal` is a mixin of :class:`cevns.model.Model`: it reads
the model's samples, modifiers and expected counts through the model's own methods.
"""

from __future__ import annotations

from collections.abc import Sequence
import numpy as np

from .modifiers import MODIFIERS
from .newton import NewtonPlan
from .samples import Modifier, ModelError, PhysicsGrid, Sample

#: Floor on expected counts inside the log: keeps log L finite when a bin's
#: expectation vanishes (e.g. destructive NSI interference with zero background).
LAMBDA_FLOOR = 1e-300
#: Newton iterations for the Laplace approximation (converged well before; tests check it).
NEWTON_ITERATIONS = 8
#: With shape, log-normal or products of modifiers (not concave in general): more damped Newton
#: iterations, each with up to this many step halvings (backtracking on the objective).
NONLINEAR_NEWTON_ITERATIONS = 30
BACKTRACKING_HALVINGS = 12
#: Convergence of the Newton iteration: largest step of any nuisance ...
NEWTON_TOLERANCE = 1e-10
#: ... or the gain in log L the quadratic model still predicts (half the Newton decrement).
DECREMENT_TOLERANCE = 1e-10
#: The same for the guide (:meth:`LaplaceMarginal.log_marginal_likelihood` with ``guide=True``): the Newton plan's
#: iteration stops once the quadratic model predicts less than this gain, so a warm-started point takes one or two
#: evaluations instead of three or four. The guide is for steering a sampler only (smc tempers on it; its importance
#: stage, which gives log Z and the samples, calls the exact value). Measured in docs/sampling.md ("A guide for the
#: tempering").
GUIDE_DECREMENT_TOLERANCE = 1e-3
#: Width factor of the importance-sampling proposal around the Laplace Gaussian (any value > 0
#: is unbiased; ~1-1.5 has the smallest variance here).
IMPORTANCE_INFLATION = 1.2
#: Points per block of the Laplace path (Newton on (n, M, M) systems); measured with
#: `cevns bench` (see docs/architecture.md).
MARGINAL_CHUNK = 128


#: Floor of the expected counts in the Newton weights D/lambda^2: lambda^2 at the 1e-300 log floor
#: underflows to 0 (and D/0 to inf, then NaN); a bin predicted at 1e-150 with data is hopeless anyway.
WEIGHT_FLOOR = 1e-150


def _curvature_weights(data: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """D / lambda^2 of the Poisson Hessian, finite: zero where D = 0, lambda floored at WEIGHT_FLOOR."""
    return np.where(data > 0, data / np.maximum(lam, WEIGHT_FLOOR) ** 2, 0.0)


def _same_modifiers(a: Sequence[Modifier], b: Sequence[Modifier]) -> bool:
    """Whether two samples' modifiers are the same factors: kind, parameter, width and templates."""
    def same_array(x: np.ndarray | None, y: np.ndarray | None) -> bool:
        return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))

    return len(a) == len(b) and all(
        p.kind == q.kind and p.index == q.index and p.sigma == q.sigma
        and same_array(p.delta_up, q.delta_up) and same_array(p.delta_down, q.delta_down) for p, q in zip(a, b, strict=True))


class LaplaceMarginal:
    """The Laplace path of :class:`cevns.model.Model` (module docstring)."""

    def _laplace_groups(self) -> list[tuple[Sample, list[Sample]]]:
        """(representative, members): samples on the same bins with the same modifiers, whose expected counts
        are (sum of their nominals) x the shared factors, so the Jacobian and curvature loops visit each group
        once (argon: the three CEvNS flavour components share their five modifiers). Only for non-linear
        models; linear ones (the paper's) keep one group per sample, so their numbers stay bit for bit."""
        groups = self.__dict__.get("_groups_cache")
        if groups is None:
            groups = []
            for sample in self.samples:
                for representative, members in groups:
                    if (not self._linear_nuisances and representative.bins == sample.bins
                            and _same_modifiers(representative.modifiers, sample.modifiers)):
                        members.append(sample)
                        break
                else:
                    groups.append((sample, [sample]))
            self._groups_cache = groups
        return groups

    def _group_nominal(self, members: Sequence[Sample], signal: np.ndarray, n: int) -> np.ndarray:
        """The summed nominal counts (n, n_bins) of a group's samples."""
        nominal = self._sample_nominal(members[0], signal, n)
        for member in members[1:]:
            nominal = nominal + self._sample_nominal(member, signal, n)
        return nominal

    @staticmethod
    def _factor_derivative(modifier: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:
        """d factor / d (its parameter); ``factor``: the factor at ``pars`` if already computed (histosys)."""
        return MODIFIERS[modifier.kind].derivative(modifier, pars, n_bins, factor)

    @staticmethod
    def _factor_second_derivative(modifier: Modifier, pars: np.ndarray) -> np.ndarray | None:
        """d^2 f / d p^2 of a modifier's own parameter (None where it vanishes: linear factors)."""
        return MODIFIERS[modifier.kind].second_derivative(modifier, pars)

    def _curvature(self, full: np.ndarray, signal: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """sum_k residual_k d^2 lambda_k / d nu_a d nu_b, (n, M, M): the Hessian term Gauss-Newton drops."""
        n, m_total = full.shape[0], self.constrained_indices.size
        position = {int(i): m for m, i in enumerate(self.constrained_indices)}
        out = np.zeros((n, m_total, m_total))
        for sample, members in self._laplace_groups():
            n_bins = sample.bins.stop - sample.bins.start
            mods = [(j, mod) for j, mod in enumerate(sample.modifiers) if mod.index in position]
            if not mods:
                continue
            nominal = self._group_nominal(members, signal, n)
            factors = [self._factor(mod, full, n_bins) for mod in sample.modifiers]
            r = residual[:, sample.bins]

            def rest(skip: tuple[int, ...]) -> np.ndarray:
                value = nominal
                for k, f in enumerate(factors):
                    if k not in skip:
                        value = value * f
                return np.broadcast_to(value, (n, n_bins))

            def columns(mod: Modifier) -> list[tuple[int, np.ndarray]]:
                """(nuisance position, per-bin mask) pairs: one for a scalar factor, one per bin for staterror."""
                m0 = position[mod.index]
                if mod.kind == "staterror":
                    return [(m0 + k, np.eye(n_bins)[k]) for k in range(n_bins)]
                return [(m0, np.ones(n_bins))]

            for a, (ja, ma) in enumerate(mods):
                second = self._factor_second_derivative(ma, full)
                if second is not None:
                    (pa, _), = columns(ma)
                    out[:, pa, pa] += np.sum(r * rest((ja,)) * second, axis=1)
                for jb, mb in mods[a + 1:]:
                    term = r * rest((ja, jb)) * self._factor_derivative(ma, full, n_bins) * self._factor_derivative(mb, full, n_bins)
                    for pa, mask_a in columns(ma):
                        for pb, mask_b in columns(mb):
                            value = np.sum(term * mask_a * mask_b, axis=1)
                            out[:, pa, pb] += value
                            out[:, pb, pa] += value
        return out

    def _expand(self, free: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
        """Full parameter vectors from free-parameter ones, constrained parameters at the constraint centres
        (``centers`` (d,) or (n, d), default the nominal ones)."""
        centers = self.centers if centers is None else centers
        full = np.broadcast_to(self.init, (free.shape[0], len(self.parameters))).copy()
        full[:, self.free_indices] = free
        full[:, self.constrained_indices] = centers[..., self.constrained_indices]
        return full

    def _lambda_jacobian(self, full: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """lambda (n, K) and d lambda / d constrained (n, K, M) at full parameter vectors.

        d/d p_j of nominal * f_1 ... f_m is (nominal f_1 ... f_{j-1}) f_j' (f_{j+1} ... f_m): prefix and
        suffix products, 3m multiplications instead of m^2. The Jacobian is filled as (n, M, K), whose
        rows are contiguous, and returned as its (n, K, M) view.
        """
        n = full.shape[0]
        position = {int(i): m for m, i in enumerate(self.constrained_indices)}
        lam = np.zeros((n, self.n_bins))
        jac = np.zeros((n, self.constrained_indices.size, self.n_bins))
        for sample, members in self._laplace_groups():
            n_bins = sample.bins.stop - sample.bins.start
            nominal = self._group_nominal(members, signal, n)
            factors = [self._factor(m, full, n_bins) for m in sample.modifiers]
            prefix = [nominal]
            for f in factors:
                prefix.append(prefix[-1] * f)
            lam[:, sample.bins] += prefix[-1]
            suffix = None  # product of the factors after j
            for j in range(len(factors) - 1, -1, -1):
                modifier = sample.modifiers[j]
                if modifier.index in position:
                    others = prefix[j] * self._factor_derivative(modifier, full, n_bins, factors[j])
                    if suffix is not None:
                        others = others * suffix
                    m0 = position[modifier.index]
                    if modifier.kind == "staterror":
                        columns = np.arange(sample.bins.start, sample.bins.stop)
                        jac[:, m0 + np.arange(n_bins), columns] += others
                    else:
                        jac[:, m0, sample.bins] += others
                suffix = factors[j] if suffix is None else suffix * factors[j]
        return lam, np.swapaxes(jac, 1, 2)

    def newton_plan(self) -> NewtonPlan | None:
        """The exact-Hessian Newton of :mod:`cevns.model.newton` for this model, or None where it does not apply
        (linear models, which converge in a few exact steps here, and kinds it does not differentiate) or is
        switched off (``exact_newton = False``: the general Gauss-Newton path, the reference of the tests)."""
        if not self.exact_newton:
            return None
        plan = self.__dict__.get("_newton_plan", False)
        if plan is False:
            plan = self._newton_plan = NewtonPlan.of(self)
        return plan

    def has_guide(self) -> bool:
        """Whether ``log_marginal_likelihood(..., guide=True)`` differs from the exact value: the model or one of its
        Laplace parts has a Newton plan (:meth:`newton_plan`), whose tolerance the guide loosens."""
        if self.constrained_indices.size == 0:
            return False
        parts = self._split_parts()
        if parts is not None:
            return any(sub.has_guide() for _, sub in parts)
        return self.newton_plan() is not None

    def _split_parts(self) -> list[tuple[np.ndarray, LaplaceMarginal]] | None:
        """:meth:`laplace_components` where the model splits (``split_laplace``), each part with this model's
        ``exact_newton`` switch; else None."""
        parts = self.laplace_components() if self.split_laplace else None
        for _, sub in parts or []:
            sub.exact_newton = self.exact_newton
        return parts

    def forget_modes(self) -> None:
        """Empty the Newton plans' remembered modes (this model's and its parts'): the next call starts as the first
        one did (``cevns bench`` times calls this way; the values differ only within the Newton tolerance)."""
        for _, sub in [*(self.laplace_components() or []), (None, self)]:  # the parts' plans and the joint one
            plan = sub.newton_plan()
            if plan is not None:
                plan.cache.clear()

    def conditional_mode(self, free: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Constrained parameters maximising L * prior at fixed free parameters.

        Returns (full parameter vectors at the mode (n, d), log L + log prior exponent at the
        mode (n,), Hessian (n, M, M)). Newton's method; each step is shortened where needed so
        that every expected count stays positive (fraction-to-boundary rule, 0.9 of the way at
        most). When lambda is linear in the constrained parameters (normalisations only, the
        paper's model) the Hessian -J^T diag(D/lambda^2) J - diag(1/sigma^2) is exact and the
        conditional log-posterior concave; with shape, log-normal or products of modifiers the
        Newton steps use this Gauss-Newton Hessian and the returned Hessian (which the Laplace
        determinant uses) adds the exact curvature term sum_k (D_k/lambda_k - 1) d^2 lambda_k.
        ``data``: main counts, optionally followed by the auxiliary data (the constraint centres).
        """
        data, all_centers = self.split_data(self.check_data(data))
        full = self._expand(free, all_centers)
        idx = self.constrained_indices
        if idx.size == 0:  # nothing to maximise over
            return full, self.log_likelihood(full, data), np.zeros((len(full), 0, 0))
        inv_var = 1.0 / self.sigmas[idx] ** 2
        centers = all_centers[..., idx]  # (M,), or (n, M) with one data set per point
        plan = self.newton_plan()
        if plan is not None:
            return plan.conditional_mode(full, data, centers, NONLINEAR_NEWTON_ITERATIONS, NEWTON_TOLERANCE,
                                         DECREMENT_TOLERANCE)[:3]
        signal = self.signal_columns(full)
        lam, jac = self._lambda_jacobian(full, signal)

        def objective(lam_: np.ndarray, nu_: np.ndarray, data_: np.ndarray, centers_: np.ndarray) -> np.ndarray:
            value_ = self._poisson(lam_, data_) - 0.5 * np.sum((nu_ - centers_) ** 2 * inv_var, axis=1)
            return np.where(np.isfinite(value_), value_, -np.inf)

        def rows_of(array: np.ndarray, rows: np.ndarray) -> np.ndarray:  # one data set (K,) or one per point (n, K)
            return array if array.ndim == 1 else array[rows]

        current = None if self._linear_nuisances else objective(lam, full[:, idx], data, centers)
        iterations = NEWTON_ITERATIONS if self._linear_nuisances else NONLINEAR_NEWTON_ITERATIONS
        # Non-linear models iterate only the points still moving: a point leaves once its step is below
        # NEWTON_TOLERANCE (argon release: 14-25 Jacobians per point alone, 307 for a block of 64 iterated
        # together). Linear models converge in a few exact Newton steps together, and copying the rows
        # would cost more than it saves (future-combined: 25% slower), so they keep the whole block.
        active = np.arange(len(full))
        everything = True  # every point still active: work on views, not copies
        for _ in range(iterations):
            if active.size == 0:
                break
            rows_now = slice(None) if everything else active
            data_a, centers_a = rows_of(data, rows_now), rows_of(centers, rows_now)
            lam_a, jac_a, full_a = lam[rows_now], jac[rows_now], full[rows_now]
            safe = np.maximum(lam_a, LAMBDA_FLOOR)
            nu = full_a[:, idx]
            jac_t = np.swapaxes(jac_a, 1, 2)
            gradient = (jac_t @ (data_a / safe - 1.0)[..., None])[..., 0] - (nu - centers_a) * inv_var
            hessian = -(jac_t * _curvature_weights(data_a, lam_a)[:, None, :]) @ jac_a - np.diag(inv_var)
            step = np.linalg.solve(-hessian, gradient[..., None])[..., 0]
            delta = (jac_a @ step[..., None])[..., 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                limits = np.where(delta < 0, -0.9 * safe / delta, np.inf)
            alpha = np.minimum(1.0, limits.min(axis=1))
            if self._linear_nuisances:  # exact Newton on a concave function: no line search needed (all rows)
                full[:, idx] = nu + alpha[:, None] * step
                lam = lam_a + alpha[:, None] * delta
            else:  # damped Newton: halve the step until the objective does not decrease (backtracking)
                trial = full_a.copy()
                trial[:, idx] = nu + alpha[:, None] * step
                signal_a = signal[active]
                current_a = current[active]
                lam_t, jac_t2 = self._lambda_jacobian(trial, signal_a)
                value_t = objective(lam_t, trial[:, idx], data_a, centers_a)
                for _halving in range(BACKTRACKING_HALVINGS):
                    bad = ~(value_t >= current_a - 1e-12)
                    if not bad.any():
                        break
                    alpha[bad] *= 0.5
                    rows = np.flatnonzero(bad)
                    trial[np.ix_(rows, idx)] = nu[rows] + alpha[rows, None] * step[rows]
                    lam_b, jac_b = self._lambda_jacobian(trial[rows], signal_a[rows])
                    lam_t[rows], jac_t2[rows] = lam_b, jac_b
                    value_t[rows] = objective(lam_b, trial[rows][:, idx], rows_of(data_a, rows), rows_of(centers_a, rows))
                keep = value_t >= current_a - 1e-12  # a point whose step never helped stays where it is
                alpha = np.where(keep, alpha, 0.0)
                kept = active[keep]
                full[kept] = trial[keep]
                lam[kept], jac[kept], current[kept] = lam_t[keep], jac_t2[keep], value_t[keep]
            # converged: the step is negligible, or the quadratic model predicts a gain in the objective
            # below DECREMENT_TOLERANCE (half the Newton decrement g^T (-H)^-1 g = g^T step)
            moving = ((np.max(np.abs(alpha[:, None] * step), axis=1) >= NEWTON_TOLERANCE)
                      & (0.5 * np.sum(gradient * step, axis=1) >= DECREMENT_TOLERANCE))
            if self._linear_nuisances:
                if not moving.any():
                    break
            else:
                active = active[moving]
                everything = everything and bool(moving.all())
        safe = np.maximum(lam, LAMBDA_FLOOR)
        value = self._poisson(lam, data) - 0.5 * np.sum((full[:, idx] - centers) ** 2 * inv_var, axis=1)
        jac_t = np.swapaxes(jac, 1, 2)
        hessian = -(jac_t * _curvature_weights(data, lam)[:, None, :]) @ jac - np.diag(inv_var)
        if not self._linear_nuisances:
            hessian = hessian + self._curvature(full, signal, data / safe - 1.0)
        return full, value, hessian

    def laplace_components(self) -> list[tuple[np.ndarray, LaplaceMarginal]] | None:
        """The model split into independent parts for the Laplace integral: [(bins, sub-model)], or None
        when it does not split or no part is non-linear.

        Experiments that share no constrained parameter are independent given the free parameters, so
        the integral over the nuisances factorises: log Z = sum over parts (the Newton iterations of a
        cheap, linear part, e.g. CsI 2021, no longer wait for the argon release's shape nuisances, and
        each part solves only its own M x M system). A part holds connected experiments (linked by a
        shared constrained parameter) and marginalises only their parameters; experiments without
        constrained parameters form one more part, evaluated directly. Each sub-model keeps the full
        parameter vector (same indices), restricted samples and coefficient columns.
        """
        if self._components is not False:
            return self._components
        names = list(self.experiment_bins)
        parent = {name: name for name in names}

        def root(name: str) -> str:
            while parent[name] != name:
                name = parent[name]
            return name

        touched: dict[int, set[str]] = {}  # constrained parameter -> experiments whose samples it modifies
        for sample in self.samples:
            n_bins = sample.bins.stop - sample.bins.start
            for m in sample.modifiers:
                indices = range(m.index, m.index + n_bins) if m.kind == "staterror" else (m.index,)
                for i in indices:
                    if self.parameters[i].constrained:
                        touched.setdefault(i, set()).add(sample.experiment)
        for experiments in touched.values():
            first, *rest = sorted(experiments)
            for other in rest:
                parent[root(other)] = root(first)
        constrained_of: dict[str, list[int]] = {}
        for i, experiments in touched.items():
            constrained_of.setdefault(root(next(iter(experiments))), []).append(i)
        groups: dict[str, list[str]] = {}
        for name in names:
            key = root(name) if root(name) in constrained_of else "direct"
            groups.setdefault(key, []).append(name)
        parts = None  # built whole, then published once (another thread may ask meanwhile)
        if len(groups) >= 2 and all(s.experiment in self.experiment_bins for s in self.samples):
            parts = [self._restricted(members, sorted(constrained_of.get(key, []))) for key, members in groups.items()]
            # Only a non-linear part gains: linear parts converge together in a few exact Newton steps (splitting
            # future-combined measured 25% slower), and where the conditional mode lies far out (log L 2000 below
            # the peak) their 8-step iterations end at different places split and joint.
            if not any(not sub._linear_nuisances and sub.constrained_indices.size for _, sub in parts):
                parts = None
        self._components = parts
        return parts

    def _restricted(self, experiments: Sequence[str], constrained: Sequence[int]) -> tuple[np.ndarray, LaplaceMarginal]:
        """(global bin indices, sub-model) of some experiments, marginalising only ``constrained``."""
        bins, experiment_bins, offset = [], {}, 0
        for name in experiments:
            sl = self.experiment_bins[name]
            bins.append(np.arange(sl.start, sl.stop))
            experiment_bins[name] = slice(offset, offset + sl.stop - sl.start)
            offset += sl.stop - sl.start
        bins = np.concatenate(bins)
        samples, columns = [], []
        n_columns = 0
        for sample in self.samples:
            if sample.experiment not in experiment_bins:
                continue
            start = experiment_bins[sample.experiment].start + sample.bins.start - self.experiment_bins[sample.experiment].start
            local = slice(start, start + sample.bins.stop - sample.bins.start)
            sub_columns = None
            if sample.is_signal:
                width = sample.columns.stop - sample.columns.start
                columns.append(np.arange(sample.columns.start, sample.columns.stop))
                sub_columns, n_columns = slice(n_columns, n_columns + width), n_columns + width
            samples.append(Sample(sample.name, sample.experiment, sample.component, local, sub_columns,
                                  sample.nominal, list(sample.modifiers)))
        taken = np.concatenate(columns) if columns else np.zeros(0, dtype=np.intp)
        grids = [PhysicsGrid(g.index, g.nodes, g.coefficients[:, :, taken]) for g in self.physics_grids]
        sub = type(self)(self.parameters, samples, self.coefficients[:, taken], self.coupling_indices,
                    [self.bin_labels[k] for k in bins], experiment_bins, physics_grids=grids,
                    name=f"{self.name}[{','.join(experiments)}]", fixed=self.fixed)
        sub.constrained_indices = np.asarray(constrained, dtype=np.intp)
        sub.centers, sub.sigmas = self.centers, self.sigmas  # the parent's (the same parameter vector)
        sub._components = None
        return bins, sub

    def log_marginal_likelihood(self, free: np.ndarray, data: np.ndarray, guide: bool = False) -> np.ndarray:
        """log of Integral L(free, nu) prod N(nu | center, sigma) dnu, Laplace approximation, (n,).

        ``free``: (n, d_free) in ``sampled_names("marginalized")`` order. log Z = g(nu*) - (1/2) log
        det(-H) - sum_m log sigma_m, g the log-likelihood plus the Gaussian exponent (2 pi factors cancel).
        ``guide``: the Newton plan's iteration stops at GUIDE_DECREMENT_TOLERANCE instead of DECREMENT_TOLERANCE (a
        cheaper approximation, for steering a sampler; parts without a plan give their exact value).
        """
        free = self._check_pars(free, self.free_indices.size, "free parameters")
        data = self.check_data(data)
        if data.ndim != 1:
            raise ModelError("the marginal likelihood takes one data set of shape (K,) or (K + M,)")
        main, centers = self.split_data(data)
        if self.constrained_indices.size == 0:
            return self.log_likelihood(self._expand(free, centers), main)
        parts = self._split_parts()
        if parts is not None:  # each part reads its own bins and the centres of its own nuisances
            return sum(sub.log_marginal_likelihood(free, np.concatenate([main[bins], centers[sub.aux_indices]]), guide)
                       for bins, sub in parts)

        plan = self.newton_plan()
        if plan is not None:  # warm starts across the whole call, blocks of MARGINAL_CHUNK
            return plan.log_marginal(self._expand(free, centers), main, centers[self.constrained_indices], MARGINAL_CHUNK,
                                     NONLINEAR_NEWTON_ITERATIONS, NEWTON_TOLERANCE,
                                     GUIDE_DECREMENT_TOLERANCE if guide else DECREMENT_TOLERANCE)

        def block(points: np.ndarray, d: np.ndarray) -> np.ndarray:
            _, value, hessian = self.conditional_mode(points, d)
            sign, logdet = np.linalg.slogdet(-hessian)
            return np.where(sign > 0, value - 0.5 * logdet - np.sum(np.log(self.sigmas[self.constrained_indices])), -np.inf)

        return self._chunked(block, free, data, MARGINAL_CHUNK)

    def log_marginal_importance(self, free: np.ndarray, data: np.ndarray, rng: np.random.Generator,
                                n_draws: int = 4000, inflate: float = IMPORTANCE_INFLATION) -> tuple[np.ndarray, np.ndarray]:
        """The integral of :meth:`log_marginal_likelihood` by importance sampling (a second method).

        Draws the constrained parameters from N(nu*, inflate^2 (-H)^-1) around the conditional mode and
        averages L * prior / q: unbiased for the exact integral whatever the proposal, so its difference
        from the Laplace value is the Laplace error. Returns (log integral, its Monte Carlo standard
        error in log) per point.
        """
        free = self._check_pars(free, self.free_indices.size, "free parameters")
        data = self.check_data(data)
        full, _, hessian = self.conditional_mode(free, data)
        idx = self.constrained_indices
        cov = inflate**2 * np.linalg.inv(-hessian)
        chol = np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2)))
        m = idx.size
        out, err = np.empty(len(free)), np.empty(len(free))
        for i in range(len(free)):
            z = rng.standard_normal((n_draws, m))
            points = np.repeat(full[i : i + 1], n_draws, axis=0)
            points[:, idx] = full[i, idx] + z @ chol[i].T
            log_q = -0.5 * np.sum(z**2, axis=1) - np.sum(np.log(np.diag(chol[i]))) - 0.5 * m * np.log(2 * np.pi)
            log_w = self.logpdf(points, data) - log_q
            top = np.max(log_w)
            w = np.exp(log_w - top)
            out[i] = top + np.log(np.mean(w))
            err[i] = np.std(w) / np.sqrt(n_draws) / np.mean(w)
        return out, err

    def sample_nuisances(self, free: np.ndarray, data: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Full parameter vectors with the constrained parameters drawn from their Laplace (Gaussian)
        conditional posterior at each point of ``free``."""
        free = self._check_pars(free, self.free_indices.size, "free parameters")
        data = self.check_data(data)
        idx = self.constrained_indices
        # the normal draws first, for all points at once (the same numbers whatever the block size); then the
        # conditional modes block by block: memory bounded by MARGINAL_CHUNK points (each holds a (K, M)
        # Jacobian), not by the number of points (a fit passes every equal-weight draw here)
        z = rng.standard_normal((len(free), idx.size)) if idx.size else None
        parts = self.laplace_components() if self.split_laplace else None
        if idx.size and data.ndim == 1 and (parts is not None or self.newton_plan() is not None):
            return self._sample_nuisances_by_part(free, data, z, parts or [(np.arange(self.n_bins), self)])
        out = np.empty((len(free), len(self.parameters)))
        for i in range(0, len(free), MARGINAL_CHUNK):
            block = slice(i, i + MARGINAL_CHUNK)
            full, _, hessian = self.conditional_mode(free[block], data if data.ndim == 1 else data[block])
            if idx.size:
                cov = np.linalg.inv(-hessian)
                chol = np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2)))
                full[:, idx] += np.einsum("nij,nj->ni", chol, z[block])
            out[block] = full
        return out

    def _sample_nuisances_by_part(self, free: np.ndarray, data: np.ndarray, z: np.ndarray,
                                  parts: list[tuple[np.ndarray, LaplaceMarginal]]) -> np.ndarray:
        """:meth:`sample_nuisances` of a non-linear model: each independent part's conditional mode and Hessian (the
        joint Hessian is block diagonal across parts) by its own path, Newton's with warm starts where it applies,
        once per distinct point (equal-weight draws repeat points); ``z`` (n, M) the standard normal draws."""
        main, centers = self.split_data(data)
        out = self._expand(free, centers)
        unique, inverse = np.unique(free, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for bins, sub in parts:
            sub_idx = sub.constrained_indices
            if sub_idx.size == 0:
                continue
            positions = np.searchsorted(self.constrained_indices, sub_idx)
            sub_data = np.concatenate([main[bins], centers[sub.aux_indices]]) if sub is not self else data
            sub_main, sub_centers = sub.split_data(sub_data)
            lookup = np.empty(len(unique), dtype=np.intp)

            def consume(rows: np.ndarray, mode: np.ndarray, _value: np.ndarray, hessian: np.ndarray,
                        sub_idx: np.ndarray = sub_idx, positions: np.ndarray = positions) -> None:
                cov = np.linalg.inv(-hessian)
                chol = np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2)))
                lookup[rows] = np.arange(rows.size)
                draws = np.flatnonzero(np.isin(inverse, rows))
                at = lookup[inverse[draws]]
                out[np.ix_(draws, sub_idx)] = mode[at][:, sub_idx] + np.einsum("nij,nj->ni", chol[at], z[np.ix_(draws, positions)])

            plan = sub.newton_plan()
            if plan is not None:
                plan.modes(sub._expand(unique, sub_centers), sub_main, sub_centers[sub_idx], MARGINAL_CHUNK,
                           NONLINEAR_NEWTON_ITERATIONS, NEWTON_TOLERANCE, DECREMENT_TOLERANCE, consume)
            else:
                for i in range(0, len(unique), MARGINAL_CHUNK):
                    mode, value, hessian = sub.conditional_mode(unique[i : i + MARGINAL_CHUNK], sub_data)
                    consume(np.arange(i, i + len(mode)), mode, value, hessian)
        return out
