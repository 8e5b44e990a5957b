"""The model's expected counts compiled into a few matrix products per experiment (the fast path).

:meth:`cevns.model.Model.log_likelihood` evaluates, per block of points,

    lambda_k(pars) = sum_samples  nominal_sk(couplings) * prod_modifiers f_m(pars)

sample by sample (``Model._sample_value``): about fifty array operations per block for the argon
release (960 bins, six samples, nine modifiers), which bound the sampled likelihood of
``measured-combined`` at ~3e4 evaluations/s. The plan built here computes the same numbers with
far fewer passes over the (points x bins) arrays:

1. *Merge samples.* Samples in the same bins with the same modifiers (same kinds, parameters and
   templates) differ only in their nominal, so they are one sample whose nominal is the sum. A
   background is a signal whose quadratic form has only the constant feature (x_0 x_0 = 1), so
   signals and backgrounds merge alike: COHERENT's three flavors become one column block.
2. *One product per group.* In each experiment the merged samples that share their per-bin
   factors (the same shape modifiers, or none) contribute ``Z @ M``: ``Z`` (n, R) holds each
   sample's features times its scalar (normalisation) factors, ``M`` (R, bins) the stacked
   quadratic-form rows; an outer product (R = 1) is a broadcast multiply.
3. *Shapes as products.* A histosys factor 1 + Delta(alpha) is ``[1, c(alpha)] @ [1; S; A; u; d]``
   (pyhf code4p, :func:`cevns.model.parameters.code4p_coefficients`, the coefficients of every
   shape parameter computed together): one (n, 5) x (5, bins) product, multiplied into its group.
   The floor at zero touches only the bins and points that can cross zero (:class:`HistosysFloor`).
4. *Poisson per bin range* (an experiment's bins), in place in per-thread workspace buffers (fresh
   1-2 MB arrays per operation cost page faults): floor, sum, log, dot with the data.

The result equals the sample-by-sample path to rounding (checked on every built-in
scenario, tests/test_evaluation.py); ``cevns bench measured-combined`` measures the speed
(docs/data.md): 3.1e4 evaluations/s before, ~9e4 after on this project's 2-core machine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .modifiers import PER_POINT_KINDS
from .parameters import code4p_coefficients, code4p_templates

#: Modifiers whose factor is one number per point (the rest, histosys and staterror, vary per bin).
SCALAR_KINDS = PER_POINT_KINDS
#: The kinds the plan compiles (a parameter as the factor, lognormsys's exponential, histosys, staterror). A model
#: with another kind of the registry takes the sample-by-sample path (``Model.plan`` is None) until the plan learns it.
PLAN_KINDS = ("normfactor", "normsys", "lognormsys", "histosys", "staterror")


@dataclass
class _Shape:
    """A per-bin factor of a merged sample: histosys (templates with a leading row of ones) or staterror."""

    kind: str
    index: int                            # parameter index (staterror: the first bin's)
    templates: np.ndarray | None = None   # histosys: (5, bins), [1, S, A, u, d]
    position: int = -1                    # histosys: column of its parameter in ``histosys_index``
    floor: HistosysFloor | None = None    # histosys: the bins that can cross zero


@dataclass
class _Group:
    """Merged samples of one experiment sharing their per-bin factors: ``(features[:, rows] * scalars[:, slots])
    @ matrix`` (R, bins), times each shape factor."""

    rows: np.ndarray
    slots: np.ndarray
    matrix: np.ndarray
    shapes: list[_Shape] = field(default_factory=list)


#: Grid of alpha on [-1, 1] on which :class:`HistosysFloor` checks the code4p polynomial.
SAFE_RANGE_GRID = 2001
#: max over |alpha| <= 1 of |alpha (30 + alpha^2 (18 alpha^2 - 40))|, the A-part of d Delta / d alpha
#: (at alpha^2 = 1/3: 10.77; rounded up).
_CODE4P_SLOPE_A = 11.0
#: A column gather/scatter of k bins costs about as much as a contiguous pass over 8 k bins (measured:
#: the CsI 2021 efficiency template, 11 of 99 bins at risk, 0.52 vs 0.15 us per point for three groups).
GATHER_FRACTION = 8


@dataclass
class HistosysFloor:
    """Which parts of a shape factor 1 + Delta(alpha) (code4p) can be negative.

    Outside [-1, 1] the factor is linear: 1 + alpha u < 0 needs u < 0 and alpha > -1/u, and
    1 + alpha d < 0 needs d > 0 and alpha < -1/d, so no bin is negative for alpha between the largest
    -1/d and the smallest -1/u. Inside, each bin is checked on a grid of spacing h: the slope is at
    most L = |S| + 11 |A|, so a minimum above L h / 2 on the grid proves the factor positive in
    between; the bins that fail (templates that vanish at +-1 sigma, or polynomials that overshoot)
    are always at risk. Every other (point, bin) is provably >= 0.
    """

    inside: np.ndarray   # bins that may be negative for |alpha| <= 1
    first_up: float      # smallest alpha (>= 1) at which some bin's 1 + alpha u reaches zero; inf: none
    first_down: float    # largest alpha (<= -1) at which some bin's 1 + alpha d reaches zero; -inf: none

    @classmethod
    def of(cls, delta_up: np.ndarray, delta_down: np.ndarray) -> HistosysFloor:
        u, d = np.asarray(delta_up, dtype=float), np.asarray(delta_down, dtype=float)
        grid = np.linspace(-1.0, 1.0, SAFE_RANGE_GRID)
        slope = np.abs(0.5 * (u + d)) + _CODE4P_SLOPE_A * np.abs(0.0625 * (u - d))
        inside = 1.0 + code4p_coefficients(grid) @ code4p_templates(u, d)
        risky = np.flatnonzero(~(inside.min(axis=0) > 0.5 * slope * (grid[1] - grid[0])))
        first_up = float(np.min(-1.0 / u[u < 0.0], initial=np.inf))
        first_down = float(np.max(-1.0 / d[d > 0.0], initial=-np.inf))
        return cls(risky, first_up, first_down)

    def apply(self, factor: np.ndarray, alpha: np.ndarray, alpha_low: float, alpha_high: float, any_inside: bool) -> None:
        """Floor ``factor`` (n, bins) at zero in place, touching only what can be negative: the few bins at
        risk inside [-1, 1] (all points), and the points beyond the first linear zero crossing (whole rows:
        row-contiguous copies are ~3x cheaper per element than a gather of scattered bins). Equal to
        ``np.maximum(factor, 0)`` because every other (point, bin) is provably >= 0. ``alpha_low``,
        ``alpha_high``, ``any_inside``: min, max of ``alpha`` and whether some |alpha| <= 1 (per block)."""
        if any_inside and self.inside.size:
            if self.inside.size * GATHER_FRACTION > factor.shape[1]:  # a gather costs more than a full pass
                np.maximum(factor, 0.0, out=factor)
                return
            factor[:, self.inside] = np.maximum(factor[:, self.inside], 0.0)
        if alpha_high > self.first_up or alpha_low < self.first_down:
            rows = np.flatnonzero((alpha > self.first_up) | (alpha < self.first_down))
            factor[rows] = np.maximum(factor[rows], 0.0)


class EvaluationPlan:
    """Expected counts and Poisson log-likelihood of a model without ``physics`` grids (module docstring)."""

    def __init__(self, model) -> None:  # noqa: ANN001
        n_features = len(model.feature_rows)
        self.coupling_indices = model.coupling_indices
        self.feature_rows, self.feature_cols = model.feature_rows, model.feature_cols
        self.n_bins = model.n_bins
        scalar_columns: dict[tuple, int] = {}   # (kind, index, sigma) -> column of the scalar table V
        merged: dict[tuple[int, int], dict[tuple, list]] = {}
        unknown = sorted({m.kind for sample in model.samples for m in sample.modifiers} - set(PLAN_KINDS))
        if unknown:
            raise ValueError(f"no compiled path for modifier kind(s) {unknown}")
        for sample in model.samples:
            n_bins = sample.bins.stop - sample.bins.start
            if sample.is_signal:
                dense = np.array(model.coefficients[:, sample.columns], dtype=float)
            else:
                dense = np.zeros((n_features, n_bins))
                dense[0] = sample.nominal  # feature 0 is x_0 x_0 = 1
            scalars = tuple(sorted((m.kind, m.index, m.sigma) for m in sample.modifiers if m.kind in SCALAR_KINDS))
            shapes = []
            for m in sample.modifiers:
                if m.kind == "histosys":
                    shapes.append((m.kind, m.index, m.delta_up.tobytes(), m.delta_down.tobytes()))
                elif m.kind not in SCALAR_KINDS:
                    shapes.append((m.kind, m.index))
            key = (scalars, tuple(sorted(shapes)))
            for s in scalars:
                scalar_columns.setdefault(s, len(scalar_columns))
            by_key = merged.setdefault((sample.bins.start, sample.bins.stop), {})
            if key in by_key:
                by_key[key][0] = by_key[key][0] + dense
            else:
                by_key[key] = [dense, sample]
        # the scalar table V (n, S + 1): one column per distinct scalar modifier, then a column of ones
        self.scalar_index = np.array([s[1] for s in scalar_columns], dtype=np.intp)
        self.log_columns = np.array([c for s, c in scalar_columns.items() if s[0] == "lognormsys"], dtype=np.intp)
        self.log_widths = np.array([np.log1p(s[2]) for s in scalar_columns if s[0] == "lognormsys"])
        ones = len(scalar_columns)
        slots: list[list[int]] = []
        self.blocks: list[tuple[slice, list[_Group]]] = []
        for (start, stop), by_key in merged.items():
            groups: dict[tuple, list] = {}  # shape key -> [rows, slots, matrices, sample]
            for (scalars, shape_key), (dense, sample) in by_key.items():
                slot = len(slots)
                slots.append([scalar_columns[s] for s in scalars])
                rows = np.flatnonzero(np.any(dense != 0.0, axis=1))
                entry = groups.setdefault(shape_key, [[], [], [], sample])
                entry[0].append(rows)
                entry[1].append(np.full(rows.size, slot))
                entry[2].append(dense[rows])
            self.blocks.append((slice(start, stop), [
                _Group(np.concatenate(rows), np.concatenate(slot_of_row), np.vstack(matrices),
                       [_Shape(m.kind, m.index, None if m.kind != "histosys" else
                               np.vstack([np.ones(stop - start), code4p_templates(m.delta_up, m.delta_down)]))
                        for m in sample.modifiers if m.kind not in SCALAR_KINDS])
                for rows, slot_of_row, matrices, sample in groups.values()]))
        spans = sorted((bins.start, bins.stop) for bins, _ in self.blocks)
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            raise ValueError("samples cover overlapping but different bin ranges: no evaluation plan")
        covered = np.zeros(self.n_bins, dtype=bool)
        for start, stop in spans:
            covered[start:stop] = True
        self.uncovered = np.flatnonzero(~covered)  # bins no sample reaches: lambda = 0, floored
        # the histosys parameters, whose code4p coefficients are computed together per block
        self.histosys_index = np.array(sorted({shape.index for _, groups in self.blocks for group in groups
                                               for shape in group.shapes if shape.kind == "histosys"}), dtype=np.intp)
        for _, groups in self.blocks:
            for group in groups:
                for shape in group.shapes:
                    if shape.kind == "histosys":
                        shape.position = int(np.searchsorted(self.histosys_index, shape.index))
                        shape.floor = HistosysFloor.of(shape.templates[3], shape.templates[4])
        width = max((len(s) for s in slots), default=0)
        self.slots = np.array([s + [ones] * (width - len(s)) for s in slots], dtype=np.intp).reshape(len(slots), width)
        self.n_scalar = ones

    def _scalars(self, pars: np.ndarray) -> np.ndarray:
        """Product of each merged sample's scalar factors, (n, slots)."""
        table = np.ones((pars.shape[0], self.n_scalar + 1))
        table[:, : self.n_scalar] = pars[:, self.scalar_index]
        if self.log_columns.size:
            table[:, self.log_columns] = np.exp(table[:, self.log_columns] * self.log_widths)
        return np.prod(table[:, self.slots], axis=2) if self.slots.shape[1] else np.ones((pars.shape[0], len(self.slots)))

    def _workspace(self, n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per bin range (experiment), three (n, bins) buffers (lambda, a sample's value, a shape factor), reused from
        block to block: a fresh 1-2 MB array per operation costs page faults that doubled the time of
        the argon release (measured). One set per thread; not pickled."""
        local = self.__dict__.setdefault("_local", threading.local())
        work = getattr(local, "work", None)
        if work is None or work[0] < n:
            work = (n, [tuple(np.empty((n, bins.stop - bins.start)) for _ in range(3)) for bins, _ in self.blocks])
            local.work = work
        return [tuple(buffer[:n] for buffer in buffers) for buffers in work[1]]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_local", None)
        return state

    def blocks_expected(self, pars: np.ndarray):  # noqa: ANN201
        """Yield (bins, lambda (n, bins)) per bin range (experiment). The array is a workspace buffer that the caller
        may overwrite but must not keep: the next call reuses it."""
        x = np.concatenate([np.ones((pars.shape[0], 1)), pars[:, self.coupling_indices]], axis=1)
        features = x[:, self.feature_rows] * x[:, self.feature_cols]
        scalars = self._scalars(pars)
        n = pars.shape[0]
        if self.histosys_index.size:  # [1, c_S, c_A, c_u, c_d] per histosys parameter: (H, n, 5)
            coefficients = np.ones((self.histosys_index.size, n, 5))
            alpha_by_parameter = np.ascontiguousarray(pars[:, self.histosys_index].T)
            coefficients[:, :, 1:] = code4p_coefficients(alpha_by_parameter.reshape(-1)).reshape(self.histosys_index.size, n, 4)
            alpha_low, alpha_high = alpha_by_parameter.min(axis=1).tolist(), alpha_by_parameter.max(axis=1).tolist()
            any_inside = np.any(np.abs(alpha_by_parameter) <= 1.0, axis=1).tolist()
        for (bins, groups), (lam, value, factor) in zip(self.blocks, self._workspace(n), strict=True):
            for k, group in enumerate(groups):
                target = lam if k == 0 else value
                z = features[:, group.rows] * scalars[:, group.slots]
                if group.rows.size == 1:  # an outer product: ~5x faster as a broadcast multiply than a matmul
                    np.multiply(z, group.matrix[0], out=target)
                else:
                    np.matmul(z, group.matrix, out=target)
                for shape in group.shapes:
                    if shape.kind == "histosys":
                        np.matmul(coefficients[shape.position], shape.templates, out=factor)
                        # the linear extrapolation beyond +-1 sigma (and code4p's overshoot) can cross zero:
                        # floor what can (HistosysFloor)
                        p = shape.position
                        shape.floor.apply(factor, alpha_by_parameter[p], alpha_low[p], alpha_high[p], any_inside[p])
                        target *= factor
                    else:  # staterror: one gamma per bin
                        target *= pars[:, shape.index : shape.index + target.shape[1]]
                if k > 0:
                    lam += target
            if not groups:
                lam[...] = 0.0
            yield bins, lam

    def expected(self, pars: np.ndarray) -> np.ndarray:
        """lambda (n, K) of every bin."""
        out = np.zeros((pars.shape[0], self.n_bins))
        if pars.shape[0] == 0:
            return out
        for bins, lam in self.blocks_expected(pars):
            out[:, bins] = lam
        return out

    def log_likelihood(self, pars: np.ndarray, data: np.ndarray, floor: float) -> np.ndarray:
        """sum_k D_k log(max(lambda_k, floor)) - max(lambda_k, floor) - log(D_k!), (n,): ``Model._poisson``
        of :meth:`expected`, experiment by experiment and in place."""
        out = -np.sum(special.gammaln(data + 1.0), axis=-1) * np.ones(pars.shape[0])
        if pars.shape[0] == 0:
            return out
        if self.uncovered.size:
            out += np.sum(data[..., self.uncovered], axis=-1) * np.log(floor) - floor * self.uncovered.size
        for bins, lam in self.blocks_expected(pars):
            if lam.min() < floor:
                np.maximum(lam, floor, out=lam)
            out -= lam.sum(axis=1)
            np.log(lam, out=lam)
            d = data[..., bins]
            out += lam @ d if d.ndim == 1 else np.einsum("nk,nk->n", lam, d)
        return out
