"""The statistical model: parameters, expected counts and ``logpdf(pars, data)`` (pyhf style).

A :class:`Model` is built once from a scenario (:meth:`Model.from_scenario`) and
is then pure array algebra: nothing integrates at evaluation time (the response
kernels are precomputed, Dent et al., arXiv:1711.03521, its likelihood). Data are an argument of every method, never
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

import copy
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special

from ..errors import ConfigError
from ..spec import Channel
from .build import compile_channels
from .evaluation import EvaluationPlan
from .laplace import LAMBDA_FLOOR, LaplaceMarginal
from .modifiers import MODIFIERS
from .parameters import CONSTRAINED_KINDS, Parameter, finite_number
from .samples import Modifier, ModelError, PhysicsGrid, Sample, _feature_index
from .sampler_view import SamplerLikelihood, SamplerPrior

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
#: Most counts per bin a data set may hold: log L ~ D log D is ~3e13 at 1e12 counts, resolved to ~0.01 in double
#: precision; at 1e14 (``data * 1e12`` of a real data set) its differences between points are rounding noise.
MAX_COUNTS = 1e12


class Model(LaplaceMarginal):
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
        #: constrained parameters scanned like free ones (:meth:`with_free`): their Gaussian term stays in logpdf
        self.penalized_indices = np.array([], dtype=np.intp)
        self.centers = np.array([p.center for p in self.parameters])
        self.sigmas = np.array([p.sigma for p in self.parameters])
        self._plan: EvaluationPlan | None | bool = False  # built on first use (None: not applicable)
        self._components: list | None | bool = False       # Laplace factorisation, built on first use
        self.split_laplace = True  # integrate independent groups of nuisances separately (False: jointly)
        self.exact_newton = True  # the conditional mode by cevns.model.newton where it applies (False: Gauss-Newton)
        # the Laplace path is exact Newton when lambda is linear in the constrained parameters:
        # every sample carries at most one constrained factor, and that factor is linear in it
        self._linear_nuisances = all(
            sum(m.kind in CONSTRAINED_KINDS for m in s.modifiers) <= 1 and all(MODIFIERS[m.kind].linear for m in s.modifiers)
            for s in self.samples
        )

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_channels(cls, channels: Sequence[Channel], free: Mapping[str, tuple[float, float]], **options) -> Model:  # noqa: ANN003
        """The model of ``channels`` (:class:`cevns.spec.Channel`) with flat priors on ``free``; ``options`` as
        :func:`cevns.model.build.compile_channels` (fixed, physics, grid_points, channels_at, name,
        free_norm_prior)."""
        return cls(**compile_channels(channels, free, **options))

    @classmethod
    def from_scenario(cls, scenario, grid_points: Mapping[str, int] | None = None,  # noqa: ANN001
                      channels: Sequence[Channel] | None = None) -> Model:
        """The model of a :class:`cevns.builders.scenario.Scenario`: its channels (``scenario.channels_at``, or ``channels``
        when the caller has built them already) with its ``[fit]`` settings. ``grid_points`` adds to ``[fit]
        grid_points``. The scenario is only read through these attributes (the model layer does not import
        the builders)."""
        fit = scenario.config.fit
        channels = scenario.channels_at(None) if channels is None else channels
        return cls.from_channels(channels, fit.free, fixed=fit.fixed, physics=scenario.physics,
                                 grid_points={**fit.grid_points, **(grid_points or {})},
                                 channels_at=scenario.channels_at, name=scenario.name,
                                 free_norm_prior=fit.free_norm_prior)

    def with_free(self, names: Sequence[str]) -> Model:
        """A copy in which the named constrained parameters are free parameters of the profile likelihood: their
        Gaussian constraint stays a term of :meth:`logpdf` (``penalized_indices``), but the conditional mode
        and the Laplace step no longer set them. For ``cevns profile --params`` of a nuisance; not for
        sampling (a sampler's prior of a free parameter is flat). Free names are left as they are."""
        promote = sorted({self.index(n) for n in names} & set(self.constrained_indices.tolist()))
        if not promote:
            return self
        out = copy.copy(self)
        out.constrained_indices = np.array([i for i in self.constrained_indices if i not in promote], dtype=np.intp)
        out.free_indices = np.array(sorted([*self.free_indices.tolist(), *promote]), dtype=np.intp)
        out.penalized_indices = np.array(sorted([*self.penalized_indices.tolist(), *promote]), dtype=np.intp)
        out._components = False  # the Laplace split depends on which parameters are marginalised: rebuilt
        out.__dict__.pop("_newton_plan", None)  # so does the Newton plan (its nuisance positions)
        return out

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

    def prior_only_names(self, nuisances: str = "marginalized") -> list[str]:
        """Sampled couplings the likelihood does not depend on at all: every coefficient of their quadratic-form
        features is exactly zero, no modifier reads them, and no physics grid moves the coefficients (Dresden-II's
        reactor antineutrinos are all electron flavour: its eps_mumu). Their posterior is their prior, exactly, and
        independent of the rest; :func:`cevns.inference.fitting.fit` samples the others and draws these from the prior."""
        if self.physics_grids:
            return []
        read = {m.index for sample in self.samples for m in sample.modifiers}
        sampled = set(self.sampled_names(nuisances))
        out = []
        for j, index in enumerate(self.coupling_indices):
            rows = (self.feature_rows == j + 1) | (self.feature_cols == j + 1)
            name = self.parameter_names[index]
            if name in sampled and index not in read and not np.any(self.coefficients[rows]):
                out.append(name)
        return out

    def pars(self, values: Mapping[str, float] | None = None, **kwargs: float) -> np.ndarray:
        """A full parameter vector: nominal values with the named ones replaced (unknown names and values that
        are not finite real numbers raise ModelError naming the parameter)."""
        vector = self.init.copy()
        for name, value in {**(values or {}), **kwargs}.items():
            vector[self.index(name)] = finite_number(value, name)
        return vector

    def check_values(self, values: Mapping[str, float], what: str = "values") -> np.ndarray:
        """The full parameter vector of named values (nominal for the others), each one checked: a name the
        model lists, a finite real number inside the parameter's range (the flat prior's bounds; a constrained
        parameter's +-10 sigma box). For truths, fixed values and starting points given by a user: a value
        outside the prior would give a fit that can only end on the boundary. ConfigError(field=``what``)
        naming the parameter and its range."""
        vector = self.init.copy()
        for name, value in values.items():
            if name not in self.parameter_names:
                fixed = f" ({name} is fixed in this model)" if name in self.fixed else ""
                raise ConfigError(f"{what} {name!r}: not a parameter of {self.name}{fixed}; its parameters: "
                                  f"{', '.join(self.parameter_names)}", field=what)
            try:
                number = finite_number(value, name)
            except ModelError:
                lo, hi = self.bounds[name]
                raise ConfigError(f"{what} {name}={value!r}: give a finite number in the range of {name}, "
                                  f"[{lo:g}, {hi:g}]", field=what) from None
            lo, hi = self.bounds[name]
            if not lo <= number <= hi:
                raise ConfigError(f"{what} {name}={number:g} is outside the range of {name}, [{lo:g}, {hi:g}]; give a "
                                  "value inside it", field=what)
            vector[self.index(name)] = number
        return vector

    def check_ranges(self) -> None:
        """Refuse a parameter range whose ends give no finite expected counts (e.g. a prior of [-1e300, 1e300]:
        the quadratic form overflows), before a sampler or optimiser meets NaN: ConfigError(field="bounds")
        naming the parameter and its range. Each range end is evaluated with the other parameters nominal; first
        the nominal point itself, where only the fixed values (``[fit] fixed``) can overflow the counts."""
        with np.errstate(all="ignore"):
            nominal = self._expected(self.init[None])
        if not np.all(np.isfinite(nominal)):
            fixed = ", ".join(f"{k} = {v:g}" for k, v in sorted(self.fixed.items(), key=lambda kv: -abs(kv[1])))
            raise ConfigError(f"the expected counts at the nominal point are not finite numbers with the fixed values "
                              f"{fixed or '(none)'}; give smaller values (the scenario's [fit] fixed)", field="fixed")
        ends = []
        for i, p in enumerate(self.parameters):
            for end in p.bounds:
                if not np.isfinite(end):
                    raise ConfigError(f"the range of {p.name}, [{p.bounds[0]:g}, {p.bounds[1]:g}], must be finite", field="bounds")
                point = self.init.copy()
                point[i] = end
                ends.append(point)
        with np.errstate(all="ignore"):
            counts = self._expected(np.array(ends))
        bad = ~np.all(np.isfinite(counts), axis=1)
        if np.any(bad):
            p = self.parameters[int(np.argmax(bad)) // 2]
            raise ConfigError(f"the range of {p.name}, [{p.bounds[0]:g}, {p.bounds[1]:g}], is too wide: the expected "
                              "counts at its ends are not finite numbers; narrow it (the scenario's [fit] free)", field="bounds")

    def _check_pars(self, pars: np.ndarray, width: int | None = None, what: str = "pars") -> np.ndarray:
        """``pars`` as a float array (n, width) of finite numbers; ModelError naming ``what`` and the column."""
        try:
            pars = np.asarray(pars, dtype=float)
        except (TypeError, ValueError):
            raise ModelError(f"{what} must be an array of numbers, got {type(pars).__name__} {str(pars)[:40]!r}") from None
        if pars.ndim == 1:
            pars = pars[None, :]
        width = len(self.parameters) if width is None else width
        if pars.ndim != 2 or pars.shape[1] != width:
            raise ModelError(f"{what} must have shape (n, {width}) (or ({width},)), got {pars.shape}; "
                             f"columns: {', '.join(self._columns(width))}")
        finite = np.isfinite(pars)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise ModelError(f"{what}: {self._columns(width)[column]} is {pars[row, column]} at point {row}; "
                             "parameters must be finite")
        return pars

    def _columns(self, width: int) -> list[str]:
        if width == len(self.parameters):
            return self.parameter_names
        return self.sampled_names("marginalized")

    # -- data: main counts and auxiliary measurements (pyhf's main + auxdata) ----------------------------
    @property
    def aux_indices(self) -> np.ndarray:
        """Parameters whose Gaussian constraint is an auxiliary measurement (constrained, and constrained
        ones scanned as free by :meth:`with_free`), in index order: the order of the auxiliary data."""
        return np.sort(np.concatenate([self.constrained_indices, self.penalized_indices])).astype(np.intp)

    @property
    def auxdata(self) -> np.ndarray:
        """The nominal auxiliary data (M,): the centres of the Gaussian constraints, in :attr:`aux_indices` order."""
        return self.centers[self.aux_indices].copy()

    def with_auxdata(self, main: np.ndarray, aux: np.ndarray | None = None) -> np.ndarray:
        """Main counts (K,) or (n, K) followed by auxiliary data (M,) or (n, M) (default: :attr:`auxdata`):
        a data set of shape (K + M,) or (n, K + M) that every method taking ``data`` accepts."""
        main = np.asarray(main, dtype=float)
        aux = self.auxdata if aux is None else np.asarray(aux, dtype=float)
        aux = np.broadcast_to(aux, main.shape[:-1] + (self.aux_indices.size,))
        return np.concatenate([main, aux], axis=-1)

    def check_data(self, data: np.ndarray) -> np.ndarray:
        """``data`` as a float array of shape (K,) or (n, K) of finite non-negative counts of at most
        :data:`MAX_COUNTS` per bin, optionally followed by the M auxiliary data (K + M columns,
        :meth:`with_auxdata`; ModelError naming the data otherwise)."""
        try:
            data = np.asarray(data, dtype=float)
        except (TypeError, ValueError):
            raise ModelError(f"data must be an array of counts, got {type(data).__name__} {str(data)[:40]!r}") from None
        widths = (self.n_bins, self.n_bins + self.aux_indices.size)
        if data.ndim not in (1, 2) or data.shape[-1] not in widths:
            raise ModelError(f"data must have shape ({self.n_bins},) or (n, {self.n_bins}) (bins: "
                             f"{', '.join(f'{k} {s.stop - s.start}' for k, s in self.experiment_bins.items())}), "
                             f"or {self.n_bins + self.aux_indices.size} columns with the auxiliary data; got {data.shape}")
        if not np.all(np.isfinite(data)) or np.any(data[..., : self.n_bins] < 0):
            raise ModelError("data must be finite and non-negative counts")
        if np.any(data[..., : self.n_bins] > MAX_COUNTS):
            raise ModelError(f"data: {np.max(data[..., : self.n_bins]):.3g} counts in a bin; above {MAX_COUNTS:.0e} per bin "
                             "the Poisson log-likelihood cannot be resolved in double precision (give counts, not rates)")
        return data

    def split_data(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(main counts (K,) or (n, K), constraint centres (d,) or (n, d)) of checked ``data``: the auxiliary
        data, where given, replace the nominal centres of the constrained parameters."""
        main = data[..., : self.n_bins]
        if data.shape[-1] == self.n_bins:
            return main, self.centers
        centers = np.array(np.broadcast_to(self.centers, data.shape[:-1] + self.centers.shape))
        centers[..., self.aux_indices] = data[..., self.n_bins :]
        return main, centers

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
        return MODIFIERS[modifier.kind].factor(modifier, pars, n_bins)

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

    def toy(self, pars: np.ndarray | Mapping[str, float] | None, rng: np.random.Generator, n: int | None = None,
            auxiliary: bool = False) -> np.ndarray:
        """Poisson toy data drawn at ``pars``: (K,) or, with ``n``, (n, K).

        ``auxiliary=False``: the constrained parameters stay at the values in ``pars`` (their priors are the
        fit's, not auxiliary measurements), so toys fluctuate the counts only. ``auxiliary=True``: the
        auxiliary data are drawn too, N(pars, sigma) per constrained parameter (the frequentist toy of
        pyhf), and appended: (K + M,) or (n, K + M).
        """
        vector = self.pars(pars) if pars is None or isinstance(pars, Mapping) else np.asarray(pars, dtype=float)
        lam = self.asimov(vector)
        main = rng.poisson(lam, size=(lam.size,) if n is None else (n, lam.size)).astype(float)
        if not auxiliary:
            return main
        idx = self.aux_indices
        aux = vector[idx] + self.sigmas[idx] * rng.standard_normal(main.shape[:-1] + (idx.size,))
        return np.concatenate([main, aux], axis=-1)

    # -- log-densities --------------------------------------------------------------------------
    @staticmethod
    def _poisson(lam: np.ndarray, data: np.ndarray) -> np.ndarray:
        """sum_k D_k log(lam_k) - lam_k - log(D_k!) (Gamma continuation for non-integer Asimov data).

        With the floor, bins with D_k = 0 give -lam_k exactly."""
        lam = np.maximum(lam, LAMBDA_FLOOR)
        log_factorial = np.sum(special.gammaln(data + 1.0), axis=-1)
        main = np.log(lam) @ data if data.ndim == 1 else np.einsum("nk,nk->n", np.log(lam), data)
        return main - lam.sum(axis=-1) - log_factorial

    def gaussian_constraint(self, pars: np.ndarray, indices: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
        """sum over ``indices`` of log N(centre | pars, sigma), (n,): the constraint terms of :meth:`logpdf`.
        ``centers``: (d,) or (n, d), from the data's auxiliary part (:meth:`split_data`); default the nominal."""
        idx = np.asarray(indices, dtype=np.intp)
        if idx.size == 0:
            return np.zeros(pars.shape[0])
        centers = self.centers if centers is None else centers
        z = (pars[:, idx] - centers[..., idx]) / self.sigmas[idx]
        return -0.5 * np.sum(z**2, axis=1) - np.sum(np.log(self.sigmas[idx])) - 0.5 * idx.size * np.log(2.0 * np.pi)

    def _chunked(self, fn, pars: np.ndarray, data: np.ndarray, chunk: int) -> np.ndarray:  # noqa: ANN001
        out = np.empty(pars.shape[0])
        for i in range(0, pars.shape[0], chunk):
            d = data if data.ndim == 1 else data[i : i + chunk]
            out[i : i + chunk] = fn(pars[i : i + chunk], d)
        return out

    @property
    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) per parameter where the model is defined: a flat prior's range (couplings, physics,
        free normalisations), [0, inf) for a constrained normalisation (a negative rate has no Poisson
        probability), the real line for the others (a Gaussian prior has no end; +-10 sigma is a sampler's box)."""
        lower, upper = np.full(len(self.parameters), -np.inf), np.full(len(self.parameters), np.inf)
        for i, p in enumerate(self.parameters):
            if not p.constrained:
                lower[i], upper[i] = p.bounds
            elif p.kind in ("normsys", "staterror"):
                lower[i] = 0.0
        return lower, upper

    def outside_support(self, pars: np.ndarray) -> np.ndarray:
        """Per point (n,): whether any parameter lies outside :attr:`support` (there :meth:`logpdf` is -inf)."""
        pars = self._check_pars(pars)
        lower, upper = self.support
        return np.any((pars < lower) | (pars > upper), axis=1)

    def log_likelihood(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray:
        """Poisson log-likelihood log L(data | lambda(pars)), (n,): no constraint terms (a sampler's
        prior carries them). ``data``: (K,) for all points, or (n, K) one data set per point.

        The sampler's term: evaluated wherever the expected counts are (expected counts below
        ``LAMBDA_FLOOR``, e.g. from a negative normalisation drawn from its Gaussian prior, are floored);
        :meth:`logpdf` is the density that is -inf outside the model's :attr:`support`."""
        pars = self._check_pars(pars)
        data = self.check_data(data)[..., : self.n_bins]  # the auxiliary data enter logpdf's constraints only
        if data.ndim == 2 and data.shape[0] != pars.shape[0]:
            raise ModelError(f"data of shape {data.shape} for {pars.shape[0]} parameter points")
        chunk = self._chunk_points()
        plan = self.plan
        if plan is not None:
            return self._chunked(lambda p, d: plan.log_likelihood(p, d, LAMBDA_FLOOR), pars, data, chunk)
        return self._chunked(lambda p, d: self._poisson(self._expected(p), d), pars, data, chunk)

    def logpdf(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray:
        """log p(main, aux | pars) = log L(main | pars) + sum log N(aux | constrained, sigma), (n,) (pyhf's
        ``logpdf(pars, main + auxdata)``). ``data``: main counts alone (the auxiliary data at their nominal
        values) or main + auxiliary (:meth:`with_auxdata`, :meth:`toy` with ``auxiliary=True``).

        Flat priors are not included (they are constants inside their bounds). Outside the model's
        :attr:`support` (a coupling or free normalisation outside its range, a negative normalisation) the
        value is -inf, the log-density of a point the prior excludes, so that a batch of points is never
        stopped by one of them; :meth:`check_values` refuses such values by name instead (for values a user
        gives). NaN or infinite parameters, a string, or data of the wrong shape raise ModelError naming
        the parameter or the data."""
        pars = self._check_pars(pars)
        data = self.check_data(data)
        _, centers = self.split_data(data)
        outside = self.outside_support(pars)
        if outside.any():  # evaluated at the nominal point (no overflow from far-out values), then set to -inf
            pars = np.where(outside[:, None], self.init, pars)
        out = self.log_likelihood(pars, data) + self.gaussian_constraint(pars, self.aux_indices, centers)
        out[outside] = -np.inf
        return out

    # -- what a sampler sees -----------------------------------------------------------------------
    def prior_transform(self, cube: np.ndarray, nuisances: str = "marginalized", centers: np.ndarray | None = None) -> np.ndarray:
        """Unit-cube points (n, d) to parameters in ``sampled_names(nuisances)`` order:
        flat on the bounds for couplings, physics parameters and free normalisations, N(center, sigma)
        for constrained parameters (sampled mode; ``centers`` (d,): the data's auxiliary values, default nominal).
        Coordinates outside [0, 1] or not finite raise ModelError naming the parameter's column."""
        _check_mode(nuisances)
        centers = self.centers if centers is None else np.asarray(centers, dtype=float)
        indices = np.arange(len(self.parameters)) if nuisances == "sampled" else self.free_indices
        cube = self._check_pars(cube, len(indices), "cube")
        outside = (cube < 0.0) | (cube > 1.0)
        if outside.any():
            row, column = np.argwhere(outside)[0]
            raise ModelError(f"cube: {self._columns(len(indices))[column]} is {cube[row, column]:g} at point {row}; "
                             "unit-cube coordinates must be in [0, 1]")
        out = np.empty_like(cube)
        for j, i in enumerate(indices):
            p = self.parameters[i]
            if p.constrained:
                out[:, j] = centers[i] + p.sigma * special.ndtri(np.clip(cube[:, j], 1e-300, 1 - 1e-16))
            else:
                out[:, j] = p.bounds[0] + cube[:, j] * (p.bounds[1] - p.bounds[0])
        return out

    def sampler_likelihood(self, data: np.ndarray, nuisances: str = "marginalized") -> SamplerLikelihood:
        """The batched log-likelihood a sampler sees for one data set and nuisance treatment (picklable).
        Sampled nuisances: the Poisson term only (their auxiliary data are the prior's centres)."""
        _check_mode(nuisances)
        return SamplerLikelihood(self, self.check_data(data), nuisances)

    def sampler_prior(self, nuisances: str = "marginalized", data: np.ndarray | None = None) -> SamplerPrior:
        """The prior transform a sampler sees (picklable); with ``data`` holding auxiliary data, the sampled
        constrained parameters' Gaussian priors are centred on them."""
        _check_mode(nuisances)
        centers = None if data is None else self.split_data(self.check_data(data))[1]
        if centers is not None and np.ndim(centers) != 1:
            raise ModelError("a sampler fits one data set of shape (K,) or (K + M,)")
        return SamplerPrior(self, nuisances, None if centers is self.centers else centers)

    def __repr__(self) -> str:
        return (f"<cevns.Model {self.name!r}: {len(self.parameters)} parameters "
                f"({len(self.poi_names)} of interest), {self.n_bins} bins in {len(self.experiment_bins)} experiment(s)>")


def _check_mode(nuisances: str) -> None:
    if nuisances not in ("sampled", "marginalized"):
        raise ConfigError(f"nuisances must be 'sampled' or 'marginalized', not {nuisances!r}")
