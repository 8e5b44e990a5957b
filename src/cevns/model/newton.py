"""The conditional mode of non-linear factor models by Newton's method with the exact Hessian (the fast Laplace path).

:meth:`cevns.model.laplace.LaplaceMarginal.conditional_mode` maximises, at fixed free parameters,

    g(nu) = sum_k [D_k log lambda_k(nu) - lambda_k(nu)] - (1/2) sum_m (nu_m - c_m)^2 / sigma_m^2

over the constrained nuisances nu. Its general path steps with the Gauss-Newton Hessian and assembles the
Jacobian (points x bins x nuisances) column by column; on the argon release (960 bins, 10 nuisances, shape
templates) that took 14-25 Jacobians per point and 97% of a fit's time. This plan computes the same mode for
models whose expected counts are

    lambda_k = sum_groups  N_gk(couplings) * prod_{scalar modifiers s} s(nu) * prod_{shape modifiers a} h_a,k(nu_a)

(normalisations: ``normsys``, ``lognormsys``, ``normfactor``; shapes: ``histosys``, pyhf ``code4p``) with

* the **exact Hessian** in the Newton step (quadratic convergence near the mode: 3-6 steps from the
  constraint centres on the argon release), falling back to the Gauss-Newton Hessian at a point where the
  exact one is not negative definite (far from the mode), with the same fraction-to-boundary rule and
  backtracking as the general path (Nocedal & Wright, Numerical Optimization, 2nd ed., ch. 3.1 and 3.5);
* the Jacobian in **factored form**: each column is a scalar times one of a few per-bin vectors (Q_g, the
  group's counts without its scalar factors, or R_ga = N_g h'_a prod_{b != a} h_b), so the gradient and the
  Gauss-Newton part of the Hessian are V w and V diag(W) V^T over the V distinct vectors (V <= the number of
  nuisances), and the curvature term sum_k w_k d^2 lambda_k needs only the pairs of shape modifiers of one
  group (U_gab = N_g h'_a h'_b prod_{c != a, b} h_c, Z_ga = N_g h''_a prod_{b != a} h_b);
* each point leaving the iteration once its Newton decrement is below the tolerance, at the point where it
  was measured (no extra evaluation for the returned value and Hessian);
* warm starts: from the nearest solved point of the same call, or from the nearest of the last calls' points
  whose modes the plan remembers (a point asked for again starts at its own mode).

It returns what the general path returns (mode, g at the mode, exact Hessian there); tests/test_newton.py checks
both against each other and against finite differences on every built-in scenario that has such a part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scipy.spatial import cKDTree

from .evaluation import HistosysFloor
from .modes import ModeCache, local_start
from .newton_steps import EXACT_HESSIAN_RCOND, definite as exact_definite  # noqa: F401 (the constant: its home)
from .point_cache import PointCache
from .modifiers import MODIFIERS, PER_POINT_KINDS
from .parameters import code4p_templates

#: Row-wise dot product of two (n, k) arrays (numpy >= 2.0: np.vecdot, twice as fast as einsum).
_rowdot = getattr(np, "vecdot", None) or (lambda a, b: np.einsum("nk,nk->n", a, b))
#: Kinds the plan differentiates: per-point normalisations and code4p shapes. A part with another kind (staterror)
#: keeps the general path.
NEWTON_KINDS = (*PER_POINT_KINDS, "histosys")
#: Floors of the Poisson terms, the same as the general path's (cevns.model.laplace).
LAMBDA_FLOOR = 1e-300
WEIGHT_FLOOR = 1e-150
#: Warm starts (:meth:`NewtonPlan.modes`), a call's first points: every WARM_START_STRIDE-th point is solved from the
#: constraint centres, the others in waves, each as large as the points solved before it (at least WAVE_POINTS), from
#: a local fit (a quadratic or a plane) through the modes of solved points near it in warm key
#: (cevns.model.modes.local_start). Measured on the argon release, 1000 prior draws, Newton evaluations per point (the
#: values equal to ~2e-5 in log L): 7.7 cold; 4.4 with every 16th point cold and the others from the nearest seed's
#: mode (before waves; strides 4 / 8 gave 4.8 / 4.4); in waves from the nearest solved point's mode 3.95 / 3.85 / 3.78
#: / 3.76 with strides 16 / 32 / 64 / 128; from a local plane 3.40 and a local quadratic 3.01 (stride 64).
#: Dresden-II: 3.10 -> 2.12. Calls with fewer than COLD_CALL_POINTS points are solved cold.
WARM_START_STRIDE = 64
WAVE_POINTS = 16
COLD_CALL_POINTS = 32
#: A call's new points start from the modes the plan remembers (the local fit through the nearest
#: remembered points in :meth:`NewtonPlan.warm_key`, no cold seeds) once it remembers REMEMBERED_POINTS or more.
#: Measured, cevns fit coherent-lar-2020-4p --fast --seed 1 through the API (22 748 calls), from the nearest
#: remembered point's mode: 3.99 -> 3.06 Newton evaluations per call, fit CPU 10.9 / 12.0 s -> 7.5 / 9.1 s (two
#: interleaved pairs beside other jobs), log Z -1740.29317 -> -1740.29303. False: the within-call warm starts only
#: (the A/B switch of that measurement).
NEAREST_REMEMBERED = True
REMEMBERED_POINTS = 16
#: Calls whose decrement tolerance is above this (smc's guide, cevns.model.laplace.GUIDE_DECREMENT_TOLERANCE = 1e-3)
#: start from the nearest solved point's mode, not a local fit: a fit's start is often within that tolerance, so the
#: iteration stops at it and the guide returns an unconverged point's value, whose error varies smoothly with the
#: fit's. Measured, measured-combined-coherent-4p --fast, seeds 0-2, 5, 9, 10: importance ESS / draws 0.09-0.45
#: (mean 0.18) with local fits on the guide, 0.26-0.45 (mean 0.38) with the nearest mode (0.15-0.47, mean 0.38, before
#: the waves).
LOCAL_FIT_TOLERANCE = 1e-6
#: Groups on adjoining bin ranges with the same factors merged into one (:func:`_merge_adjacent`). False: one group per
#: range (the A/B switch of its measurement).
MERGE_ADJACENT = True


@dataclass
class _Scalar:
    modifier: object
    position: int          # column among the constrained nuisances; -1: not marginalised (a constant factor)


@dataclass
class _Shape:
    modifier: object
    position: int
    up: np.ndarray         # delta_up, delta_down per bin of the group (of its bin ranges in order, merged groups)
    down: np.ndarray
    templates: np.ndarray = field(init=False)   # (4, bins): [S, A, u, d] of code4p, from up and down
    floor: HistosysFloor = field(init=False)
    with_ones: np.ndarray = field(init=False)   # (5, bins): [1, S, A, u, d], so that h = [1, c(alpha)] @ with_ones

    def __post_init__(self) -> None:
        self.templates = code4p_templates(self.up, self.down)
        self.floor = HistosysFloor.of(self.up, self.down)
        self.with_ones = np.vstack([np.ones(self.templates.shape[1]), self.templates])


@dataclass
class _Group:
    members: list           # samples with the same bins and modifiers (their nominals summed)
    bins: slice             # local bins of the part
    scalars: list[_Scalar]
    shapes: list[_Shape]
    parts: list | None = None  # a merged group: the members of each of its bin ranges, in order (None: one range)


def _merge_adjacent(groups: list[_Group]) -> list[_Group]:
    """Groups whose bin ranges adjoin and whose factors are the same functions of the parameters (scalars: kind,
    parameter and width; shapes: parameter, templates concatenated) as one group over both ranges, paired in order.
    The counts are the same per bin; the loops of :meth:`NewtonPlan._counts` and :meth:`NewtonPlan._derivatives` visit
    fewer, longer groups (XENONnT: 27 groups on three ranges of 81 bins -> 11; sums over bins change in the last
    bits)."""
    out: list[_Group] = []
    ending: dict[tuple, list[int]] = {}  # (signature, last bin + 1) -> indices into out, oldest first
    for group in groups:
        signature = (tuple((t.modifier.kind, t.modifier.index, t.modifier.sigma, t.position) for t in group.scalars),
                     tuple((t.modifier.index, t.position) for t in group.shapes))
        waiting = ending.get((signature, group.bins.start))
        if not waiting:
            out.append(group)
            ending.setdefault((signature, group.bins.stop), []).append(len(out) - 1)
            continue
        i = waiting.pop(0)
        first = out[i]
        shapes = [_Shape(a.modifier, a.position, np.concatenate([a.up, b.up]), np.concatenate([a.down, b.down]))
                  for a, b in zip(first.shapes, group.shapes, strict=True)]
        out[i] = _Group(first.members + group.members, slice(first.bins.start, group.bins.stop), first.scalars, shapes,
                        (first.parts or [first.members]) + [group.members])
        ending.setdefault((signature, group.bins.stop), []).append(i)
    return out


class NewtonPlan:
    """Exact-Hessian Newton for the conditional mode of a :class:`~cevns.model.laplace.LaplaceMarginal` (module
    docstring). :meth:`of` returns None for a model it does not cover (another modifier kind, a parameter twice on
    one sample, or no non-linear nuisance)."""

    def __init__(self, model, groups: list[_Group]) -> None:  # noqa: ANN001
        self.model, self.groups = model, groups
        self.m = model.constrained_indices.size
        # the distinct per-bin vectors of the factored Jacobian, per block of overlapping bin ranges (vectors on disjoint
        # ranges have no Gauss-Newton products): Q_g when the group has a marginalised scalar factor, R_ga per
        # marginalised shape; a group narrower than its block (beside a merged group) fills its part, zeros elsewhere
        spans: list[list[int]] = []
        for start, stop in sorted((g.bins.start, g.bins.stop) for g in groups):
            if spans and start < spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], stop)
            else:
                spans.append([start, stop])
        self.block_of = [next((a, b) for a, b in spans if a <= g.bins.start and g.bins.stop <= b) for g in groups]
        self.padded = {tuple(s): False for s in spans}
        self.block_sizes: dict[tuple[int, int], int] = {}
        for group, key in zip(groups, self.block_of, strict=True):
            count = int(any(t.position >= 0 for t in group.scalars)) + sum(t.position >= 0 for t in group.shapes)
            self.block_sizes[key] = self.block_sizes.get(key, 0) + count
            self.padded[key] |= count > 0 and (group.bins.start, group.bins.stop) != key
        self.cache = ModeCache(self.m, REMEMBERED_POINTS)
        self.shape_indices = tuple(dict.fromkeys(t.modifier.index for g in groups for t in g.shapes))

    def __getstate__(self) -> dict:  # a pickled model (a process pool's copy) starts with an empty cache
        return self.__dict__ | {"cache": ModeCache(self.m, REMEMBERED_POINTS)}

    def __setstate__(self, state: dict) -> None:  # a plan pickled before shape_indices existed (a dynesty checkpoint)
        self.__dict__.update(state)
        if "shape_indices" not in state:
            self.shape_indices = tuple(dict.fromkeys(t.modifier.index for g in self.groups for t in g.shapes))

    @classmethod
    def of(cls, model) -> NewtonPlan | None:  # noqa: ANN001
        if model.constrained_indices.size == 0 or model._linear_nuisances or model.physics_grids:
            return None
        position = {int(i): m for m, i in enumerate(model.constrained_indices)}
        groups = []
        for sample, members in model._laplace_groups():
            kinds = [m.kind for m in sample.modifiers]
            indices = [m.index for m in sample.modifiers]
            if any(k not in NEWTON_KINDS for k in kinds) or len(set(indices)) != len(indices):
                return None
            scalars = [_Scalar(m, position.get(m.index, -1)) for m in sample.modifiers if m.kind in PER_POINT_KINDS]
            shapes = [_Shape(m, position.get(m.index, -1), np.asarray(m.delta_up, float), np.asarray(m.delta_down, float))
                      for m in sample.modifiers if m.kind == "histosys"]
            groups.append(_Group(members, sample.bins, scalars, shapes))
        return cls(model, _merge_adjacent(groups) if MERGE_ADJACENT else groups)

    # -- the factors -------------------------------------------------------------------------------------
    def _nominals(self, full: np.ndarray) -> list[np.ndarray]:
        """Each group's summed nominal counts (n, bins) at ``full`` (the couplings do not move in the iteration)."""
        signal, n = self.model.signal_columns(full), len(full)
        return [np.ascontiguousarray(self.model._group_nominal(g.members, signal, n) if g.parts is None else
                                     np.hstack([self.model._group_nominal(p, signal, n) for p in g.parts]))
                for g in self.groups]

    def _counts(self, full: np.ndarray, nominals: list[np.ndarray]) -> tuple[np.ndarray, list[dict]]:
        """lambda (n, K) and, per group, what the derivatives need: the scalar factors (n, S), the shape factors
        h (n, bins) with their floored entries (the model floors 1 + Delta at zero,
        :class:`cevns.model.modifiers.histosys.HistoSys`; there the derivatives vanish), the prefix products
        N h_1 ... h_j and Q = N prod h."""
        n, n_bins = full.shape[0], self.model.n_bins
        lam = None
        states = []
        cache = PointCache(full)
        cache.code4p_all(self.shape_indices, (0,))
        for group, nominal in zip(self.groups, nominals, strict=True):
            s = np.ones((n, len(group.scalars)))
            for j, term in enumerate(group.scalars):
                s[:, j] = cache.scalar(term.modifier, 0)
            factors, masks = [], []
            for shape in group.shapes:
                h = cache.code4p(shape.modifier.index, 0, with_one=True) @ shape.with_ones
                floor, mask = shape.floor, None
                highest, lowest = cache.extremes(shape.modifier.index)
                if floor.inside.size or highest > floor.first_up or lowest < floor.first_down:
                    mask = h <= 0.0
                    if mask.any():
                        h[mask] = 0.0
                    else:
                        mask = None
                factors.append(h)
                masks.append(mask)
            prefix = [nominal]
            for h in factors:
                prefix.append(prefix[-1] * h)
            sigma = s[:, 0] * s[:, 1] if s.shape[1] == 2 else s[:, 0].copy() if s.shape[1] == 1 else np.prod(s, axis=1)
            if lam is None and group.bins.start == 0 and group.bins.stop == n_bins:
                lam = sigma[:, None] * prefix[-1]
            else:
                if lam is None:
                    lam = np.zeros((n, n_bins))
                lam[:, group.bins] += sigma[:, None] * prefix[-1]
            states.append({"s": s, "sigma": sigma, "h": factors, "masks": masks, "prefix": prefix})
        return (np.zeros((n, n_bins)) if lam is None else lam), states

    @staticmethod
    def _assign(states: list[dict], rows: np.ndarray, part: list[dict]) -> None:
        """Writes the :meth:`_counts` states of some rows (``part``, computed for those rows alone) into ``states``."""
        for state, sub in zip(states, part, strict=True):
            state["s"][rows], state["sigma"][rows] = sub["s"], sub["sigma"]
            for a, (h, h_sub) in enumerate(zip(state["h"], sub["h"], strict=True)):
                h[rows] = h_sub
                mask, mask_sub = state["masks"][a], sub["masks"][a]
                if mask_sub is not None:
                    if mask is None:
                        mask = state["masks"][a] = np.zeros(h.shape, dtype=bool)
                    mask[rows] = mask_sub
                elif mask is not None:
                    mask[rows] = False
            for prefix, prefix_sub in zip(state["prefix"][1:], sub["prefix"][1:], strict=True):
                prefix[rows] = prefix_sub

    @staticmethod
    def _others(s: np.ndarray, skip: tuple[int, ...]) -> np.ndarray:
        """prod of the scalar factors except ``skip``, (n,) (one factor left: that column itself, as np.prod gives it)."""
        keep = [j for j in range(s.shape[1]) if j not in skip]
        if len(keep) == 1:
            return s[:, keep[0]]
        return np.prod(s[:, keep], axis=1) if keep else np.ones(s.shape[0])

    def _derivatives(self, full: np.ndarray, lam: np.ndarray, states: list[dict], data: np.ndarray,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(gradient of the Poisson part (n, M), its Gauss-Newton Hessian (n, M, M), the curvature term (n, M, M),
        the Jacobian as [(bins, vectors V (n, V, bins), coefficients C (n, V, M))] per bin range, J = V^T C).

        The shape derivatives are linear in the code4p templates, h'_a = c'(alpha) . T_a, so the sums over bins
        of the curvature term go through the templates: sum_k X_k h''_a,k = c''(alpha) . (T_a X) with
        X = w N prod_{b != a} h_b zeroed where h_a is floored; only R_a = N h'_a prod_{b != a} h_b, a column of
        the Jacobian, is formed bin by bin."""
        n, m = lam.shape[0], self.m
        w = data / np.maximum(lam, LAMBDA_FLOOR) - 1.0
        # D / lambda^2 as the general path's _curvature_weights: zero where D = 0 without its where (the floored
        # denominator is positive; an infinite lambda gives 0, a NaN one marks the point non-finite either way)
        weights = data / np.square(np.maximum(lam, WEIGHT_FLOOR))
        # the vectors (V, n, bins): each written as one contiguous (n, bins) array (2x faster than a strided (n, V, bins)
        # slice), read per point through a transposed view (BLAS takes its strides)
        blocks = {key: ((np.zeros if self.padded[key] else np.empty)((size, n, key[1] - key[0])), np.zeros((n, size, m)))
                  for key, size in self.block_sizes.items()}
        rows = dict.fromkeys(self.block_sizes, 0)
        curvature = np.zeros((n, m, m))
        cache = PointCache(full)
        cache.code4p_all(self.shape_indices, (1, 2))
        for group, state, key in zip(self.groups, states, self.block_of, strict=True):
            s, sigma, factors, masks, prefix = state["s"], state["sigma"], state["h"], state["masks"], state["prefix"]
            w_g = w[:, group.bins]
            vectors, coeff = blocks[key]
            inside = slice(group.bins.start - key[0], group.bins.stop - key[0])  # the group's bins in its block
            row = rows[key]
            scalar_terms = [(j, t.position) for j, t in enumerate(group.scalars) if t.position >= 0]
            slopes: dict[int, np.ndarray] = {}
            shape_terms = [(a, t.position) for a, t in enumerate(group.shapes) if t.position >= 0]
            if scalar_terms:  # column p: s_p' prod_{q != p} s_q * Q
                vectors[row, :, inside] = prefix[-1]
                wq = _rowdot(prefix[-1], w_g)
                for j, p in scalar_terms:
                    s1, second = cache.scalar(group.scalars[j].modifier, 1), cache.scalar(group.scalars[j].modifier, 2)
                    rest = self._others(s, (j,))
                    slopes[j] = s1 * rest  # d (prod of the scalar factors) / d s_j, also used by the shape terms below
                    coeff[:, row, p] = slopes[j]
                    if second is not None:
                        curvature[:, p, p] += second * rest * wq
                    for j2, p2 in scalar_terms:
                        if j2 > j:
                            value = s1 * cache.scalar(group.scalars[j2].modifier, 1) * self._others(s, (j, j2)) * wq
                            curvature[:, p, p2] += value
                            curvature[:, p2, p] += value
                row += 1
            if not shape_terms:
                rows[key] = row
                continue
            # products of the shape factors after each one: suffix[a] = h_a ... h_m
            suffix: list[np.ndarray | None] = [None] * (len(factors) + 1)
            for a in range(len(factors) - 1, 0, -1):
                suffix[a] = factors[a] if suffix[a + 1] is None else factors[a] * suffix[a + 1]
            w_nominal = None
            for a, pa in shape_terms:
                shape = group.shapes[a]
                templates = shape.templates
                c1, c2 = cache.code4p(shape.modifier.index, 1), cache.code4p(shape.modifier.index, 2)
                slope = c1 @ templates  # h'_a
                if masks[a] is not None:
                    slope[masks[a]] = 0.0
                without = prefix[a] if suffix[a + 1] is None else prefix[a] * suffix[a + 1]  # N prod_{b != a} h_b
                np.multiply(without, slope, out=vectors[row, :, inside])  # R_a
                coeff[:, row, pa] = sigma
                x = w_g * without
                if masks[a] is not None:
                    x[masks[a]] = 0.0
                y = x @ templates.T  # (n, 4): sums of X against [S, A, u, d]
                wr = _rowdot(c1, y)
                curvature[:, pa, pa] += sigma * _rowdot(c2, y)
                for j, p in scalar_terms:  # d^2 / d s_p d alpha_a = s_p' prod_{q != p} s_q R_a
                    value = slopes[j] * wr
                    curvature[:, p, pa] += value
                    curvature[:, pa, p] += value
                later = [(b, pb) for b, pb in shape_terms if b > a]
                if later:
                    if w_nominal is None:
                        w_nominal = w_g * state["prefix"][0]
                    base = w_nominal * slope
                    for b, pb in later:
                        u = base
                        for c, h in enumerate(factors):
                            if c not in (a, b):
                                u = u * h
                        if masks[b] is not None:
                            u = np.where(masks[b], 0.0, u)
                        value = sigma * _rowdot(cache.code4p(group.shapes[b].modifier.index, 1),
                                                  u @ group.shapes[b].templates.T)
                        curvature[:, pa, pb] += value
                        curvature[:, pb, pa] += value
                row += 1
            rows[key] = row
        gradient, gauss_newton = np.zeros((n, m)), np.zeros((n, m, m))
        jacobian = []
        for (start, stop), (vectors, coeff) in blocks.items():
            if vectors.shape[0] == 0:
                continue
            per_point = np.swapaxes(vectors, 0, 1)  # (n, V, bins), a view
            y = (per_point @ w[:, start:stop, None])[..., 0]  # a batched matrix product: 3x faster than einsum here
            gradient += np.einsum("nv,nvm->nm", y, coeff)
            gram = np.swapaxes(vectors * weights[None, :, start:stop], 0, 1) @ vectors.transpose(1, 2, 0)
            gauss_newton -= np.swapaxes(coeff, 1, 2) @ gram @ coeff
            jacobian.append((slice(start, stop), per_point, coeff))
        return gradient, gauss_newton, curvature, jacobian

    # -- Newton's method -------------------------------------------------------------------------------
    def warm_key(self, full: np.ndarray) -> np.ndarray:
        """Where a point's conditional mode lies, in a few numbers (n, q): log of each coupling-dependent sample's
        total nominal count times its group's fixed factors (argon: the prompt nu_mu, delayed nu_e and nu_mu-bar
        yields). Points with close keys have close modes; the couplings act on the mode only through them."""
        signal = self.model.signal_columns(full)
        keys = []
        for group in self.groups:
            fixed = np.ones(full.shape[0])
            for term in group.scalars:
                if term.position < 0:
                    fixed = fixed * MODIFIERS[term.modifier.kind].factor(term.modifier, full, 1)[:, 0]
            for member in group.members:
                if member.is_signal:
                    keys.append(np.log(np.abs(fixed * signal[:, member.columns].sum(axis=1)) + 1e-12))
        return np.stack(keys, axis=1) if keys else np.zeros((full.shape[0], 0))

    def modes(self, full: np.ndarray, data: np.ndarray, centers: np.ndarray, chunk: int, iterations: int,
              step_tolerance: float, decrement_tolerance: float, consume) -> None:  # noqa: ANN001
        """The conditional modes of all points of ``full`` (n, d) (nuisances at the centres), in blocks of ``chunk``
        points, with warm starts: every WARM_START_STRIDE-th point from the centres, the others in waves from a local
        fit through the modes of solved points near it in :meth:`warm_key`
        (:func:`cevns.model.modes.local_start`). ``consume(rows, full, value, hessian)`` receives each block's
        results; a point whose warm start stalled (a line search that found no ascent, e.g. across a histosys floor)
        is solved again from the centres and passed again only if its g is higher (measured: 1 of 300 prior draws
        of dresden-ii-lindhard). A point whose mode the plan remembers (:class:`cevns.model.modes.ModeCache`, the
        last calls' points at the same data) starts from it instead, and once the plan remembers enough points every
        new point starts from the prediction through the nearest remembered ones (NEAREST_REMEMBERED), without cold
        seeds. Memory: a few blocks, whatever n, and the cache. ``data`` (K,), ``centers`` (M,)."""
        n = full.shape[0]
        idx = self.model.constrained_indices
        best = np.full(n, -np.inf)  # g at the mode each point's result was taken at
        self.cache.bind(data, centers)
        point_keys = [row.tobytes() for row in full]
        warm_keys = self.warm_key(full) if idx.size else None
        fit = decrement_tolerance <= LOCAL_FIT_TOLERANCE

        def solve(rows: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            modes, done = np.empty((rows.size, idx.size)), np.empty(rows.size, dtype=bool)
            for i in range(0, rows.size, chunk):
                mode, value, hessian, converged = self.conditional_mode(start[i : i + chunk], data, centers, iterations,
                                                                        step_tolerance, decrement_tolerance)
                block = rows[i : i + chunk]
                better = value > best[block]
                if better.all():
                    consume(block, mode, value, hessian)
                elif better.any():
                    consume(block[better], mode[better], value[better], hessian[better])
                best[block[better]] = value[better]
                modes[i : i + chunk], done[i : i + chunk] = mode[:, idx], converged
                keep = converged & better
                self.cache.store([point_keys[r] for r in block[keep]], mode[keep][:, idx], warm_keys[block[keep]])
            return modes, done

        def solve_from(rows: np.ndarray, modes: np.ndarray) -> np.ndarray:  # warm; a stalled one again from the centres
            start = full[rows]
            start[:, idx] = modes
            found, converged = solve(rows, start)
            if not converged.all():
                found[~converged] = solve(rows[~converged], full[rows[~converged]])[0]
            return found

        todo = np.arange(n)
        if idx.size:
            hits, remembered = self.cache.lookup(point_keys)
            if hits.size:
                solve_from(hits, remembered)
                todo = np.setdiff1d(todo, hits)
        if todo.size < COLD_CALL_POINTS or idx.size == 0:
            if todo.size:
                solve(todo, full[todo])
            return
        remembered = self.cache.nearest(warm_keys[todo], fit) if NEAREST_REMEMBERED else None
        if remembered is not None:
            solve_from(todo, remembered)
            return
        seeds = todo[::WARM_START_STRIDE]
        rest = np.setdiff1d(todo, seeds)
        solved_keys, solved_modes = warm_keys[seeds], solve(seeds, full[seeds])[0]
        while rest.size:  # waves: each from the modes of all points solved before it
            size = max(WAVE_POINTS, len(solved_keys))
            wave, rest = rest[:size], rest[size:]
            found = solve_from(wave, local_start(solved_keys, solved_modes, cKDTree(solved_keys), warm_keys[wave], fit))
            solved_keys, solved_modes = np.vstack([solved_keys, warm_keys[wave]]), np.vstack([solved_modes, found])

    def log_marginal(self, full: np.ndarray, data: np.ndarray, centers: np.ndarray, chunk: int, iterations: int,
                     step_tolerance: float, decrement_tolerance: float) -> np.ndarray:
        """log of the Laplace integral over the nuisances, (n,): g(nu*) - (1/2) log det(-H) - sum_m log sigma_m, at the
        modes of :meth:`modes`."""
        norm = np.sum(np.log(self.model.sigmas[self.model.constrained_indices]))
        out = np.empty(full.shape[0])

        def consume(rows: np.ndarray, _mode: np.ndarray, value: np.ndarray, hessian: np.ndarray) -> None:
            sign, logdet = np.linalg.slogdet(-hessian)
            out[rows] = np.where(sign > 0, value - 0.5 * logdet - norm, -np.inf)

        self.modes(full, data, centers, chunk, iterations, step_tolerance, decrement_tolerance, consume)
        return out

    def conditional_mode(self, full: np.ndarray, data: np.ndarray, centers: np.ndarray, iterations: int,
                         step_tolerance: float, decrement_tolerance: float,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(full parameters at the mode (n, d), g at the mode (n,), exact Hessian there (n, M, M), whether each point
        converged (n,)), from ``full``
        (the free parameters set, the nuisances at their starting point). ``data``: (K,) or (n, K); ``centers``:
        the constraint centres (M,) or (n, M)."""
        # a point far out may overflow its counts: it ends there (not converged, g = -inf or NaN -> -inf), silently
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._iterate(full, data, centers, iterations, step_tolerance, decrement_tolerance)

    def _iterate(self, full: np.ndarray, data: np.ndarray, centers: np.ndarray, iterations: int, step_tolerance: float,
                 decrement_tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        model = self.model
        idx = model.constrained_indices
        inv_var = 1.0 / model.sigmas[idx] ** 2
        n = full.shape[0]
        full = np.array(full, dtype=float)
        nominals = self._nominals(full)

        def rows_of(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return array if array.ndim == 1 else array[rows]

        def objective(lam: np.ndarray, nu: np.ndarray, d: np.ndarray, c: np.ndarray) -> np.ndarray:
            value = model._poisson(lam, d) - 0.5 * np.sum((nu - c) ** 2 * inv_var, axis=1)
            return np.where(np.isfinite(value), value, -np.inf)

        value = np.empty(n)
        converged = np.zeros(n, dtype=bool)  # left with a negligible step (not stalled, not out of iterations)
        hessian = np.zeros((n, self.m, self.m))
        active = np.arange(n)
        lam, states = self._counts(full, nominals)
        current = objective(lam, full[:, idx], data, centers)
        for iteration in range(iterations + 1):
            d_a, c_a = rows_of(data, active), rows_of(centers, active)
            nu = full[active][:, idx]
            grad_p, gauss_newton, curvature, jacobian = self._derivatives(full[active], lam, states, d_a)
            gradient = grad_p - (nu - c_a) * inv_var
            exact = gauss_newton + curvature - np.diag(inv_var)
            hessian[active] = exact
            value[active] = current
            if iteration == iterations:
                break
            # the exact Hessian where -H is positive definite, else the Gauss-Newton one (far from the mode, where the
            # exact one is often indefinite: 98% of the argon release's prior draws at the centres; measured: the
            # modified Newton step with |eigenvalues| (Nocedal & Wright, section 3.4) took 9.3 evaluations per point
            # there against 7.7 with this fallback)
            # a point whose counts overflowed (a start far out) stops there, not converged, rather than stop the block
            finite = np.isfinite(gradient).all(axis=1) & np.isfinite(exact).all(axis=(1, 2)) & np.isfinite(current)
            if not finite.all():
                exact = np.where(finite[:, None, None], exact, -np.eye(self.m))
                gauss_newton = np.where(finite[:, None, None], gauss_newton, 0.0)
                gradient = np.where(finite[:, None], gradient, 0.0)
            definite = exact_definite(-exact)
            system = np.where(definite[:, None, None], -exact, -(gauss_newton - np.diag(inv_var)))
            step = np.linalg.solve(system, gradient[..., None])[..., 0]
            decrement = 0.5 * np.sum(gradient * step, axis=1)
            moving = (decrement >= decrement_tolerance) & finite
            # fraction to the boundary on the linearised counts: at most 0.9 of the way to lambda = 0
            delta = None
            for bins, vectors, coeff in jacobian:
                part = (np.einsum("nvm,nm->nv", coeff, step)[:, None, :] @ vectors)[:, 0]
                if delta is None and bins == slice(0, lam.shape[1]):  # one block over all bins: no zeros to add to
                    delta = part
                else:
                    delta = np.zeros_like(lam) if delta is None else delta
                    delta[:, bins] += part
            # the largest alpha <= 1 with lambda + alpha delta >= 0.1 lambda in every bin, from the most negative
            # relative change (two passes over the bins instead of five; fmin skips a NaN bin, as np.where did)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lowest = (np.fmin.reduce(delta / np.maximum(lam, LAMBDA_FLOOR), axis=1) if delta is not None
                          else np.zeros(len(lam)))
                alpha = np.where(lowest < 0, np.minimum(1.0, -0.9 / lowest), 1.0)
            moving &= np.max(np.abs(alpha[:, None] * step), axis=1) >= step_tolerance
            converged[active[~moving & finite]] = True
            if not moving.any():
                break
            keep = np.flatnonzero(moving)
            rows = active[keep]
            nu, step, alpha, base = nu[keep], step[keep], alpha[keep], current[keep]
            d_m, c_m = rows_of(data, rows), rows_of(centers, rows)
            noms = nominals if keep.size == len(moving) else [nominal[keep] for nominal in nominals]
            trial = full[rows]
            trial[:, idx] = nu + alpha[:, None] * step
            lam_t, states_t = self._counts(trial, noms)
            value_t = objective(lam_t, trial[:, idx], d_m, c_m)
            for _halving in range(12):  # backtracking: halve until the objective does not decrease
                bad = np.flatnonzero(~(value_t >= base - 1e-12))
                if not bad.size:
                    break
                alpha[bad] *= 0.5
                trial[bad[:, None], idx] = nu[bad] + alpha[bad, None] * step[bad]
                lam_b, states_b = self._counts(trial[bad], [nominal[bad] for nominal in noms])
                lam_t[bad] = lam_b
                self._assign(states_t, bad, states_b)
                value_t[bad] = objective(lam_b, trial[bad][:, idx], rows_of(d_m, bad), rows_of(c_m, bad))
            accepted = value_t >= base - 1e-12
            if not accepted.all():  # a point whose step never helped stays where it is: done
                good = np.flatnonzero(accepted)
                trial, lam_t, value_t, rows = trial[good], lam_t[good], value_t[good], rows[good]
                noms = [nominal[good] for nominal in noms]
                states_t = None
            full[rows] = trial
            active, nominals, lam, current = rows, noms, lam_t, value_t
            if states_t is None:
                lam, states = self._counts(trial, noms)
            else:
                states = states_t
            if active.size == 0:
                break
        return full, value, hessian, converged
