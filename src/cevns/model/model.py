"""The statistical model: parameters, expected counts and ``logpdf(pars, data)`` (pyhf style).

A :class:`Model` is built once from a scenario (:meth:`Model.from_scenario`) and
is then pure array algebra: nothing integrates at evaluation time (the response
kernels are precomputed, SPEC S4). Data are an argument of every method, never
state, so toys, Asimov sets at any truth and profile scans reuse one model.

Expected counts in bin k (all experiments' bins concatenated, K in all):

    lambda_k(pars) = sum_samples  nominal_sk(theta) * prod_modifiers f_m(pars)

* a *signal sample* is one source component (flavor) seen by one experiment; its
  nominal is the exact quadratic form x^T H_k x in x = (1, couplings), with the
  reduced quadratic forms H of :class:`cevns.experiment.ResponseKernels`; a
  ``physics`` parameter (non-linear) interpolates H linearly between grid nodes;
* a *background sample* has a fixed nominal per bin;
* modifiers (``cevns.model.parameters``): normalisations (``normfactor``,
  ``normsys``, ``lognormsys``), shapes (``histosys``) and per-bin ``staterror``.

The log-density of pyhf: ``logpdf(pars, data) = log Poisson(data | lambda) +
sum log N(constrained | center, sigma)``. For samplers, whose prior carries the
constraints, :meth:`Model.log_likelihood` is the Poisson term alone and
:meth:`Model.log_marginal_likelihood` integrates the constrained parameters out
per point (Laplace approximation around the conditional mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..errors import ConfigError
from ..spec import Channel
from .build import compile_channels
from .evaluation import EvaluationPlan
from .samples import Modifier, ModelError, PhysicsGrid, Sample, _feature_index
from .parameters import Parameter, histosys_delta, histosys_delta_derivative, histosys_delta_second_derivative

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
#: Width factor of the importance-sampling proposal around the Laplace Gaussian (any value > 0
#: is unbiased; ~1-1.5 has the smallest variance here).
IMPORTANCE_INFLATION = 1.2
#: Points per block in batched evaluation with sampled nuisances: keeps the intermediate
#: arrays in cache (measured with `cevns bench`: 1024 is ~2x faster per point than 20000).
EVALUATION_CHUNK = 1024
#: The same bound in array elements (points x bins) for models with many bins: the block is
#: min(EVALUATION_CHUNK, EVALUATION_ELEMENTS // bins) points. Measured with the evaluation plan (one
#: core, workspace buffers reused): measured-combined (1288 bins) at 25/50/101/203/814 points per block
#: 61/76/83/93/84 k evaluations/s; the argon release alone (960 bins) at 68/136/273 points 105/112/108 k;
#: future-combined (40 bins) is flat from 819 points on (EVALUATION_CHUNK bounds it).
EVALUATION_ELEMENTS = 262144
#: The same for the sample-by-sample path (models with a ``physics`` grid), measured before the plan:
#: argon release at 16/64/136/1024 points per block: 24/35/27/17 k evaluations/s.
REFERENCE_EVALUATION_ELEMENTS = 65536
#: Points per block of the Laplace path (Newton on (n, M, M) systems); measured with
#: `cevns bench` (see docs/architecture.md).
MARGINAL_CHUNK = 128


#: Floor of the expected counts in the Newton weights D/lambda^2: lambda^2 at the 1e-300 log floor
#: underflows to 0 (and D/0 to inf, then NaN); a bin predicted at 1e-150 with data is hopeless anyway.
WEIGHT_FLOOR = 1e-150


def _curvature_weights(data: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """D / lambda^2 of the Poisson Hessian, finite: zero where D = 0, lambda floored at WEIGHT_FLOOR."""
    return np.where(data > 0, data / np.maximum(lam, WEIGHT_FLOOR) ** 2, 0.0)


class Model:
    """Expected counts and log-densities of a scenario's experiments (see the module docstring).

    Build with :meth:`from_scenario`. Parameters are ordered: couplings and physics
    parameters (``poi_names``: what a fit is about), free normalisations, then
    constrained nuisances. Every evaluation method takes ``pars`` of shape (n, d)
    (or (d,), read as one point) and returns one value per point.
    """

    def __init__(self, parameters: Sequence[Parameter], samples: Sequence[Sample], coefficients: np.ndarray,
                 coupling_indices: Sequence[int], bin_labels: Sequence[str], experiment_bins: Mapping[str, slice],
                 observed: np.ndarray | None = None, physics_grids: Sequence[PhysicsGrid] = (),
                 name: str = "model", fixed: Mapping[str, float] | None = None) -> None:
        self.name = name
        self.parameters = tuple(parameters)
        self.parameter_names = [p.name for p in self.parameters]
        names = self.parameter_names
        if len(set(names)) != len(names):
            raise ModelError(f"duplicate parameter names: {names}")
        self.samples = list(samples)
        self.coefficients = np.asarray(coefficients, dtype=float)  # (F, C)
        self.coupling_indices = np.asarray(coupling_indices, dtype=np.intp)
        self.bin_labels = list(bin_labels)
        self.experiment_bins = dict(experiment_bins)
        self.n_bins = len(self.bin_labels)
        self._observed = None if observed is None else np.asarray(observed, dtype=float)
        self.physics_grids = list(physics_grids)
        self.fixed = dict(fixed or {})
        self.feature_rows, self.feature_cols = _feature_index(len(self.coupling_indices))
        self.constrained_indices = np.array([i for i, p in enumerate(self.parameters) if p.constrained], dtype=np.intp)
        self.free_indices = np.array([i for i, p in enumerate(self.parameters) if not p.constrained], dtype=np.intp)
        self.centers = np.array([p.center for p in self.parameters])
        self.sigmas = np.array([p.sigma for p in self.parameters])
        self._plan: EvaluationPlan | None | bool = False  # built on first use (None: not applicable)
        self._components: list | None | bool = False       # Laplace factorisation, built on first use
        self.split_laplace = True  # integrate independent groups of nuisances separately (False: jointly)
        # the Laplace path is exact Newton when lambda is linear in the constrained parameters:
        # every sample carries at most one constrained factor, and that factor is linear in it
        self._linear_nuisances = all(
            sum(m.kind in ("normsys", "staterror", "lognormsys", "histosys") for m in s.modifiers) <= 1
            and all(m.kind not in ("lognormsys", "histosys") for m in s.modifiers)
            for s in self.samples
        )

    def __copy__(self) -> Model:
        """A shallow copy (kernels shared) whose Laplace split is rebuilt on first use: a copy may change its
        parameters' centres (``frequentist.with_centers``), which the split's sub-models hold."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out._components = False
        return out

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_channels(cls, channels: Sequence[Channel], free: Mapping[str, tuple[float, float]], **options) -> Model:  # noqa: ANN003
        """The model of ``channels`` (:class:`cevns.spec.Channel`) with flat priors on ``free``; ``options`` as
        :func:`cevns.model.build.compile_channels` (fixed, physics, grid_points, channels_at, name,
        free_norm_prior)."""
        return cls(**compile_channels(channels, free, **options))

    @classmethod
    def from_scenario(cls, scenario, grid_points: Mapping[str, int] | None = None) -> Model:  # noqa: ANN001
        """The model of a :class:`cevns.scenario.Scenario`: its channels (``scenario.channels_at``) with its
        ``[fit]`` settings. ``grid_points`` adds to ``[fit] grid_points``. The scenario is only read
        through these attributes (the model layer does not import the builders)."""
        fit = scenario.config.fit
        return cls.from_channels(scenario.channels_at(None), fit.free, fixed=fit.fixed, physics=scenario.physics,
                                 grid_points={**fit.grid_points, **(grid_points or {})},
                                 channels_at=scenario.channels_at, name=scenario.name,
                                 free_norm_prior=fit.free_norm_prior)

    # -- names and shapes ------------------------------------------------------------------------
    @property
    def poi_names(self) -> list[str]:
        """Couplings and physics parameters (what a fit is about)."""
        return [p.name for p in self.parameters if p.kind in ("coupling", "physics")]

    @property
    def nuisance_names(self) -> list[str]:
        """Free normalisations and constrained nuisances."""
        return [p.name for p in self.parameters if p.kind not in ("coupling", "physics")]

    @property
    def kinds(self) -> dict[str, str]:
        return {p.name: p.kind for p in self.parameters}

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        return {p.name: p.bounds for p in self.parameters}

    @property
    def init(self) -> np.ndarray:
        """Nominal parameter vector (the Standard Model point with nominal nuisances)."""
        return np.array([p.init for p in self.parameters])

    def index(self, name: str) -> int:
        try:
            return self.parameter_names.index(name)
        except ValueError:
            raise ModelError(f"unknown parameter {name!r}; the model has: {', '.join(self.parameter_names)}") from None

    def sampled_names(self, nuisances: str = "sampled") -> list[str]:
        """Parameters a sampler sees: all of them, or (``"marginalized"``) all but the constrained ones."""
        _check_mode(nuisances)
        if nuisances == "sampled":
            return list(self.parameter_names)
        return [self.parameter_names[i] for i in self.free_indices]

    def pars(self, values: Mapping[str, float] | None = None, **kwargs: float) -> np.ndarray:
        """A full parameter vector: nominal values with the named ones replaced (unknown names raise)."""
        vector = self.init.copy()
        for name, value in {**(values or {}), **kwargs}.items():
            vector[self.index(name)] = float(value)
        return vector

    def _check_pars(self, pars: np.ndarray, width: int | None = None, what: str = "pars") -> np.ndarray:
        pars = np.asarray(pars, dtype=float)
        if pars.ndim == 1:
            pars = pars[None, :]
        width = len(self.parameters) if width is None else width
        if pars.ndim != 2 or pars.shape[1] != width:
            raise ModelError(f"{what} must have shape (n, {width}) (or ({width},)), got {pars.shape}; "
                             f"columns: {', '.join(self._columns(width))}")
        return pars

    def _columns(self, width: int) -> list[str]:
        if width == len(self.parameters):
            return self.parameter_names
        return self.sampled_names("marginalized")

    def _check_data(self, data: np.ndarray) -> np.ndarray:
        data = np.asarray(data, dtype=float)
        if data.shape[-1:] != (self.n_bins,) or data.ndim > 2:
            raise ModelError(f"data must have shape ({self.n_bins},) or (n, {self.n_bins}) (bins: "
                             f"{', '.join(f'{k} {s.stop - s.start}' for k, s in self.experiment_bins.items())}), "
                             f"got {data.shape}")
        if not np.all(np.isfinite(data)) or np.any(data < 0):
            raise ModelError("data must be finite and non-negative counts")
        return data

    # -- expected counts ----------------------------------------------------------------------
    def _coefficients(self, pars: np.ndarray) -> np.ndarray | None:
        """Per-point interpolated coefficient matrices (n, F, C) when a physics parameter is free, else None."""
        if not self.physics_grids:
            return None
        (grid,) = self.physics_grids  # one non-linear physics parameter at a time
        value = pars[:, grid.index]
        g = np.clip(np.searchsorted(grid.nodes, value, side="right") - 1, 0, grid.nodes.size - 2)
        w = (value - grid.nodes[g]) / (grid.nodes[g + 1] - grid.nodes[g])
        w = np.clip(w, 0.0, 1.0)[:, None, None]
        return (1.0 - w) * grid.coefficients[g] + w * grid.coefficients[g + 1]

    def signal_columns(self, pars: np.ndarray) -> np.ndarray:
        """Nominal signal of every (sample, bin) column, shape (n, C): the quadratic forms in the couplings."""
        x = np.concatenate([np.ones((pars.shape[0], 1)), pars[:, self.coupling_indices]], axis=1)
        features = x[:, self.feature_rows] * x[:, self.feature_cols]
        coefficients = self._coefficients(pars)
        if coefficients is None:
            return features @ self.coefficients
        return np.einsum("nf,nfc->nc", features, coefficients)

    def _sample_nominal(self, sample: Sample, signal: np.ndarray, n: int) -> np.ndarray:
        if sample.is_signal:
            return signal[:, sample.columns]
        return np.broadcast_to(sample.nominal, (n, sample.nominal.size))

    @staticmethod
    def _factor(modifier: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:
        """The factor of one modifier, (n, 1) or (n, n_bins)."""
        i = modifier.index
        if modifier.kind in ("normfactor", "normsys"):
            return pars[:, i : i + 1]
        if modifier.kind == "lognormsys":
            return np.exp(pars[:, i : i + 1] * np.log1p(modifier.sigma))
        if modifier.kind == "histosys":  # floored at 0: the linear extrapolation beyond +-1 sigma can cross zero
            return np.maximum(1.0 + histosys_delta(pars[:, i : i + 1], modifier.delta_up, modifier.delta_down), 0.0)
        return pars[:, i : i + n_bins]  # staterror: one gamma per bin

    @staticmethod
    def _factor_derivative(modifier: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:
        """d factor / d (its parameter); ``factor``: the factor at ``pars`` if already computed (histosys)."""
        i = modifier.index
        if modifier.kind in ("normfactor", "normsys"):
            return np.ones((pars.shape[0], 1))
        if modifier.kind == "lognormsys":
            log_width = np.log1p(modifier.sigma)
            return log_width * np.exp(pars[:, i : i + 1] * log_width)
        if modifier.kind == "histosys":
            alpha = pars[:, i : i + 1]
            if factor is None:
                factor = 1.0 + histosys_delta(alpha, modifier.delta_up, modifier.delta_down)
            return np.where(factor > 0.0, histosys_delta_derivative(alpha, modifier.delta_up, modifier.delta_down), 0.0)
        return np.ones((pars.shape[0], n_bins))

    @staticmethod
    def _factor_second_derivative(modifier: Modifier, pars: np.ndarray) -> np.ndarray | None:
        """d^2 f / d p^2 of a modifier's own parameter (None where it vanishes: linear factors)."""
        i = modifier.index
        if modifier.kind == "lognormsys":
            log_width = np.log1p(modifier.sigma)
            return log_width**2 * np.exp(pars[:, i : i + 1] * log_width)
        if modifier.kind == "histosys":
            alpha = pars[:, i : i + 1]
            positive = 1.0 + histosys_delta(alpha, modifier.delta_up, modifier.delta_down) > 0.0
            return np.where(positive, histosys_delta_second_derivative(alpha, modifier.delta_up, modifier.delta_down), 0.0)
        return None

    def _curvature(self, full: np.ndarray, signal: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """sum_k residual_k d^2 lambda_k / d nu_a d nu_b, (n, M, M): the Hessian term Gauss-Newton drops."""
        n, m_total = full.shape[0], self.constrained_indices.size
        position = {int(i): m for m, i in enumerate(self.constrained_indices)}
        out = np.zeros((n, m_total, m_total))
        for sample in self.samples:
            n_bins = sample.bins.stop - sample.bins.start
            mods = [(j, mod) for j, mod in enumerate(sample.modifiers) if mod.index in position]
            if not mods:
                continue
            nominal = self._sample_nominal(sample, signal, n)
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

    def _sample_value(self, sample: Sample, signal: np.ndarray, pars: np.ndarray) -> np.ndarray:
        """A sample's expected counts (n, n_bins): nominal times every modifier's factor. The per-point
        factors (n, 1) are multiplied together first, so each full (n, n_bins) array is touched once per
        shape factor and once for all normalisations."""
        n_bins = sample.bins.stop - sample.bins.start
        scalar, shapes = None, []
        for modifier in sample.modifiers:
            factor = self._factor(modifier, pars, n_bins)
            if factor.shape[1] == 1:
                scalar = factor if scalar is None else scalar * factor
            else:
                shapes.append(factor)
        value = self._sample_nominal(sample, signal, pars.shape[0])
        value = value * scalar if scalar is not None else value
        for factor in shapes:
            value = value * factor
        return value

    @property
    def plan(self) -> EvaluationPlan | None:
        """The compiled evaluation (:mod:`cevns.model.evaluation`); None with a ``physics`` grid (per-point
        coefficients) or samples on overlapping bin ranges, which take the sample-by-sample path."""
        if self._plan is False:
            try:
                self._plan = None if self.physics_grids else EvaluationPlan(self)
            except ValueError:
                self._plan = None
        return self._plan

    def _expected(self, pars: np.ndarray) -> np.ndarray:
        if self.plan is None:
            return self._expected_by_sample(pars)
        # in blocks: the plan's workspace buffers are sized by the largest block a thread has evaluated
        chunk = self._chunk_points()
        if pars.shape[0] <= chunk:
            return self.plan.expected(pars)
        return np.concatenate([self.plan.expected(pars[i : i + chunk]) for i in range(0, pars.shape[0], chunk)])

    def _chunk_points(self) -> int:
        """Points per block of the sampled path (EVALUATION_CHUNK, EVALUATION_ELEMENTS; the sample-by-sample
        path, without workspace buffers, at REFERENCE_EVALUATION_ELEMENTS)."""
        elements = EVALUATION_ELEMENTS if self.plan is not None else REFERENCE_EVALUATION_ELEMENTS
        return max(1, min(EVALUATION_CHUNK, elements // max(self.n_bins, 1)))

    def _expected_by_sample(self, pars: np.ndarray) -> np.ndarray:
        """lambda (n, K) sample by sample (the reference the evaluation plan is tested against)."""
        signal = self.signal_columns(pars)
        lam = np.zeros((pars.shape[0], self.n_bins))
        for sample in self.samples:
            lam[:, sample.bins] += self._sample_value(sample, signal, pars)
        return lam

    def expected_counts(self, pars: np.ndarray) -> np.ndarray:
        """Expected counts lambda (n, K) of every bin (all experiments, in ``bin_labels`` order)."""
        return self._expected(self._check_pars(pars))

    def expected(self, pars: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Expected counts per experiment and sample: {experiment: {component: (n, n_bins)}}, modifiers applied."""
        pars = self._check_pars(pars)
        signal = self.signal_columns(pars)
        out: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.experiment_bins}
        for sample in self.samples:
            out[sample.experiment][sample.component] = np.array(self._sample_value(sample, signal, pars))
        return out

    # -- data sets ---------------------------------------------------------------------------------
    def asimov(self, pars: np.ndarray | Mapping[str, float] | None = None) -> np.ndarray:
        """Asimov data (K,): the expected counts at ``pars`` (default: the nominal, SM, point). Non-integer."""
        vector = self.pars(pars) if pars is None or isinstance(pars, Mapping) else np.asarray(pars, dtype=float)
        return self.expected_counts(vector)[0]

    def observed(self) -> np.ndarray:
        """Observed counts (K,) of the scenario's experiments."""
        if self._observed is None:
            raise ModelError("this model has no observed data (every experiment needs an [observed] block)")
        return self._observed.copy()

    def toy(self, pars: np.ndarray | Mapping[str, float] | None, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Poisson toy data drawn at ``pars``: (K,) or, with ``n``, (n, K).

        The constrained parameters stay at the values in ``pars`` (their priors are the
        fit's, not auxiliary measurements), so toys fluctuate the counts only.
        """
        lam = self.asimov(pars)
        return rng.poisson(lam, size=(lam.size,) if n is None else (n, lam.size)).astype(float)

    # -- log-densities --------------------------------------------------------------------------
    @staticmethod
    def _poisson(lam: np.ndarray, data: np.ndarray) -> np.ndarray:
        """sum_k D_k log(lam_k) - lam_k - log(D_k!) (Gamma continuation for non-integer Asimov data).

        With the floor, bins with D_k = 0 give -lam_k exactly."""
        lam = np.maximum(lam, LAMBDA_FLOOR)
        log_factorial = np.sum(special.gammaln(data + 1.0), axis=-1)
        main = np.log(lam) @ data if data.ndim == 1 else np.einsum("nk,nk->n", np.log(lam), data)
        return main - lam.sum(axis=-1) - log_factorial

    def _constraint(self, pars: np.ndarray) -> np.ndarray:
        idx = self.constrained_indices
        if idx.size == 0:
            return np.zeros(pars.shape[0])
        z = (pars[:, idx] - self.centers[idx]) / self.sigmas[idx]
        return -0.5 * np.sum(z**2, axis=1) - np.sum(np.log(self.sigmas[idx])) - 0.5 * idx.size * np.log(2.0 * np.pi)

    def _chunked(self, fn, pars: np.ndarray, data: np.ndarray, chunk: int) -> np.ndarray:  # noqa: ANN001
        out = np.empty(pars.shape[0])
        for i in range(0, pars.shape[0], chunk):
            d = data if data.ndim == 1 else data[i : i + chunk]
            out[i : i + chunk] = fn(pars[i : i + chunk], d)
        return out

    def log_likelihood(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray:
        """Poisson log-likelihood log L(data | lambda(pars)), (n,): no constraint terms (a sampler's
        prior carries them). ``data``: (K,) for all points, or (n, K) one data set per point."""
        pars = self._check_pars(pars)
        data = self._check_data(data)
        if data.ndim == 2 and data.shape[0] != pars.shape[0]:
            raise ModelError(f"data of shape {data.shape} for {pars.shape[0]} parameter points")
        chunk = self._chunk_points()
        plan = self.plan
        if plan is not None:
            return self._chunked(lambda p, d: plan.log_likelihood(p, d, LAMBDA_FLOOR), pars, data, chunk)
        return self._chunked(lambda p, d: self._poisson(self._expected(p), d), pars, data, chunk)

    def logpdf(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray:
        """log p(data, constrained | pars) = log L + sum log N(constrained | center, sigma), (n,) (pyhf convention).

        Flat priors are not included (they are constants inside their bounds)."""
        pars = self._check_pars(pars)
        return self.log_likelihood(pars, data) + self._constraint(pars)

    # -- nuisances integrated out per point (Laplace) ----------------------------------------------
    def _expand(self, free: np.ndarray) -> np.ndarray:
        """Full parameter vectors from free-parameter ones, constrained parameters at their centers."""
        full = np.broadcast_to(self.init, (free.shape[0], len(self.parameters))).copy()
        full[:, self.free_indices] = free
        full[:, self.constrained_indices] = self.centers[self.constrained_indices]
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
        for sample in self.samples:
            n_bins = sample.bins.stop - sample.bins.start
            nominal = self._sample_nominal(sample, signal, n)
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
        """
        full = self._expand(free)
        idx = self.constrained_indices
        if idx.size == 0:  # nothing to maximise over
            return full, self.log_likelihood(full, data), np.zeros((len(full), 0, 0))
        inv_var = 1.0 / self.sigmas[idx] ** 2
        centers = self.centers[idx]
        signal = self.signal_columns(full)
        lam, jac = self._lambda_jacobian(full, signal)

        def objective(lam_: np.ndarray, nu_: np.ndarray, data_: np.ndarray) -> np.ndarray:
            value_ = self._poisson(lam_, data_) - 0.5 * np.sum((nu_ - centers) ** 2 * inv_var, axis=1)
            return np.where(np.isfinite(value_), value_, -np.inf)

        def rows_of(array: np.ndarray, rows: np.ndarray) -> np.ndarray:  # one data set (K,) or one per point (n, K)
            return array if array.ndim == 1 else array[rows]

        current = None if self._linear_nuisances else objective(lam, full[:, idx], data)
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
            data_a = rows_of(data, rows_now)
            lam_a, jac_a, full_a = lam[rows_now], jac[rows_now], full[rows_now]
            safe = np.maximum(lam_a, LAMBDA_FLOOR)
            nu = full_a[:, idx]
            jac_t = np.swapaxes(jac_a, 1, 2)
            gradient = (jac_t @ (data_a / safe - 1.0)[..., None])[..., 0] - (nu - centers) * inv_var
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
                value_t = objective(lam_t, trial[:, idx], data_a)
                for _halving in range(BACKTRACKING_HALVINGS):
                    bad = ~(value_t >= current_a - 1e-12)
                    if not bad.any():
                        break
                    alpha[bad] *= 0.5
                    rows = np.flatnonzero(bad)
                    trial[np.ix_(rows, idx)] = nu[rows] + alpha[rows, None] * step[rows]
                    lam_b, jac_b = self._lambda_jacobian(trial[rows], signal_a[rows])
                    lam_t[rows], jac_t2[rows] = lam_b, jac_b
                    value_t[rows] = objective(lam_b, trial[rows][:, idx], rows_of(data_a, rows))
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

    def laplace_components(self) -> list[tuple[np.ndarray, Model]] | None:
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

    def _restricted(self, experiments: Sequence[str], constrained: Sequence[int]) -> tuple[np.ndarray, Model]:
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
        sub = Model(self.parameters, samples, self.coefficients[:, taken], self.coupling_indices,
                    [self.bin_labels[k] for k in bins], experiment_bins, physics_grids=grids,
                    name=f"{self.name}[{','.join(experiments)}]", fixed=self.fixed)
        sub.constrained_indices = np.asarray(constrained, dtype=np.intp)
        sub.centers, sub.sigmas = self.centers.copy(), self.sigmas.copy()  # the parent's, even if edited
        sub._components = None
        return bins, sub

    def log_marginal_likelihood(self, free: np.ndarray, data: np.ndarray) -> np.ndarray:
        """log of Integral L(free, nu) prod N(nu | center, sigma) dnu, Laplace approximation, (n,).

        ``free``: (n, d_free) in ``sampled_names("marginalized")`` order. log Z = g(nu*) - (1/2) log
        det(-H) - sum_m log sigma_m, g the log-likelihood plus the Gaussian exponent (2 pi factors cancel).
        """
        free = self._check_pars(free, self.free_indices.size, "free parameters")
        data = self._check_data(data)
        if data.ndim != 1:
            raise ModelError("the marginal likelihood takes one data set of shape (K,)")
        if self.constrained_indices.size == 0:
            return self.log_likelihood(self._expand(free), data)
        parts = self.laplace_components() if self.split_laplace else None
        if parts is not None:
            return sum(sub.log_marginal_likelihood(free, data[bins]) for bins, sub in parts)

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
        data = self._check_data(data)
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
        full, _, hessian = self.conditional_mode(free, self._check_data(data))
        if self.constrained_indices.size:
            cov = np.linalg.inv(-hessian)
            chol = np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2)))
            full[:, self.constrained_indices] += np.einsum("nij,nj->ni", chol, rng.standard_normal((len(free), chol.shape[1])))
        return full

    # -- what a sampler sees -----------------------------------------------------------------------
    def prior_transform(self, cube: np.ndarray, nuisances: str = "marginalized") -> np.ndarray:
        """Unit-cube points (n, d) to parameters in ``sampled_names(nuisances)`` order:
        flat on the bounds for couplings, physics parameters and free normalisations, N(center, sigma)
        for constrained parameters (sampled mode)."""
        _check_mode(nuisances)
        cube = np.atleast_2d(np.asarray(cube, dtype=float))
        indices = np.arange(len(self.parameters)) if nuisances == "sampled" else self.free_indices
        out = np.empty_like(cube)
        for j, i in enumerate(indices):
            p = self.parameters[i]
            if p.constrained:
                out[:, j] = p.center + p.sigma * special.ndtri(np.clip(cube[:, j], 1e-300, 1 - 1e-16))
            else:
                out[:, j] = p.bounds[0] + cube[:, j] * (p.bounds[1] - p.bounds[0])
        return out

    def sampler_likelihood(self, data: np.ndarray, nuisances: str = "marginalized") -> SamplerLikelihood:
        """The batched log-likelihood a sampler sees for one data set and nuisance treatment (picklable)."""
        _check_mode(nuisances)
        return SamplerLikelihood(self, self._check_data(data), nuisances)

    def sampler_prior(self, nuisances: str = "marginalized") -> SamplerPrior:
        """The prior transform a sampler sees (picklable)."""
        _check_mode(nuisances)
        return SamplerPrior(self, nuisances)

    def __repr__(self) -> str:
        return (f"<cevns.Model {self.name!r}: {len(self.parameters)} parameters "
                f"({len(self.poi_names)} of interest), {self.n_bins} bins in {len(self.experiment_bins)} experiment(s)>")


@dataclass
class SamplerLikelihood:
    """``model.log_likelihood`` (sampled) or ``model.log_marginal_likelihood`` (marginalized) on fixed data."""

    model: Model
    data: np.ndarray
    nuisances: str

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(points)
        if self.nuisances == "sampled":
            return self.model.log_likelihood(points, self.data)
        return self.model.log_marginal_likelihood(points, self.data)


@dataclass
class SamplerPrior:
    model: Model
    nuisances: str

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        return self.model.prior_transform(cube, self.nuisances)


def _check_mode(nuisances: str) -> None:
    if nuisances not in ("sampled", "marginalized"):
        raise ConfigError(f"nuisances must be 'sampled' or 'marginalized', not {nuisances!r}")
