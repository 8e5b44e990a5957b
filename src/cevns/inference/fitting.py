"""Bayesian fits as objects: ``fit(model, data) -> FitResult`` in memory; ``FitResult.save`` / ``load_fit``.

:func:`fit` runs a sampler (``cevns.inference.samplers``) on a :class:`cevns.model.Model`
and one data set and returns a :class:`FitResult`; it writes nothing (a sampler
checkpoint only when ``checkpoint_dir`` is given). Folder policy, MPI and progress
belong to the application layer (``cevns.app.runs``, ``cevns.app.reproduce``).

A saved fit folder holds ``summary.json`` (with ``schema_version``), ``samples.csv``
(equal-weight draws of every parameter and derived column), ``weighted_samples.npz``
(the sampler's weighted points) and a getdist chain (``chain.txt``, ``chain.paramnames``,
``chain.ranges``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ConfigError
from ..io import atomic_write_json, atomic_write_text, atomic_write_with
from ..model.protocol import SampledModel
from ..physics.effective import effective_nsi
from .samplers import default_sampler_settings
from .density import CREDIBLE_LEVELS, hpd_intervals
from .weights import equal_weight_samples, weighted_quantile

#: Version of the fit-folder layout (summary.json keys, file names). 2: model layer, getdist chain.
SCHEMA_VERSION = 2


#: Flavor pairs whose effective matter NSI (SPEC S5) are derived columns of every fit.
EFFECTIVE_NSI_FLAVORS = ("ee", "mumu")


def add_effective_nsi(table: dict[str, np.ndarray], fixed: Mapping[str, float]) -> None:
    """Add eff_eps_ee and eff_eps_mumu columns where a coupling of that flavor is in the table; couplings
    not in the table take their fixed value (default 0)."""
    n = len(next(iter(table.values())))
    for flavor in EFFECTIVE_NSI_FLAVORS:
        if not any(f"eps_{q}_{flavor}" in table for q in ("u", "d")):
            continue
        eps_u, eps_d = (table.get(f"eps_{q}_{flavor}", np.full(n, fixed.get(f"eps_{q}_{flavor}", 0.0))) for q in ("u", "d"))
        table[f"eff_eps_{flavor}"] = effective_nsi(eps_u, eps_d)


@dataclass
class FitResult:
    """A finished fit: weighted posterior samples, evidence, settings, and the model's parameter table.

    Attributes
    ----------
    names : list[str]
        Parameters the sampler saw (columns of ``samples``).
    samples, log_weights, log_likelihood : arrays (n, d), (n,), (n,)
        Weighted posterior samples with normalised log weights.
    equal_weight : dict[str, array]
        Equal-weight draws of every model parameter (constrained ones drawn from their
        conditional posterior when they were marginalised) and the derived columns.
    parameters : dict[str, dict]
        Per model parameter: ``kind``, ``bounds`` (the prior range of flat-prior parameters).
    """

    scenario: str
    names: list[str]
    samples: np.ndarray
    log_weights: np.ndarray
    log_likelihood: np.ndarray
    log_evidence: float
    log_evidence_err: float
    n_likelihood_calls: int
    wall_seconds: float
    settings: dict
    parameters: dict[str, dict]
    fixed: dict[str, float]
    equal_weight: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)
    log_likelihood_birth: np.ndarray | None = None
    version: str = __version__
    _summary: dict | None = field(default=None, repr=False)

    # -- columns ----------------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """Normalised weights of ``samples``."""
        w = np.exp(self.log_weights - np.max(self.log_weights))
        return w / w.sum()

    @property
    def poi_names(self) -> list[str]:
        return [n for n, p in self.parameters.items() if p["kind"] in ("coupling", "physics")]

    @property
    def shown_names(self) -> list[str]:
        """What the fit is about, for tables and the corner plot: the couplings and physics parameters,
        or, in a fit with none (e.g. the signal strength ``mu_cevns`` of a release), its free
        normalisations."""
        return self.poi_names or [n for n, p in self.parameters.items() if p["kind"] == "normfactor"]

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Weighted-sample columns: the sampled parameters and the derived effective NSI."""
        table = {name: self.samples[:, i] for i, name in enumerate(self.names)}
        add_effective_nsi(table, self.fixed)
        return table

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        """Flat-prior ranges, and the prior-implied ranges of the effective couplings."""
        bounds = {n: tuple(p["bounds"]) for n, p in self.parameters.items() if p["kind"] in ("coupling", "physics", "normfactor")}
        for flavor in EFFECTIVE_NSI_FLAVORS:
            eu, ed = (bounds.get(f"eps_{q}_{flavor}", (self.fixed.get(f"eps_{q}_{flavor}", 0.0),) * 2) for q in ("u", "d"))
            corners = [effective_nsi(a, b) for a in eu for b in ed]
            bounds[f"eff_eps_{flavor}"] = (float(min(corners)), float(max(corners)))
        return bounds

    def _hard_bounds(self, name: str) -> tuple[float, float] | None:
        """The prior's hard edges of a flat-prior parameter (intervals may not cross them); None otherwise."""
        p = self.parameters.get(name)
        if p is not None and p["kind"] in ("coupling", "physics", "normfactor"):
            return tuple(p["bounds"])
        return None

    def _values_weights(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        columns = self.columns
        if name in columns:
            return columns[name], self.weights
        if name in self.equal_weight:
            values = self.equal_weight[name]
            return values, np.full(values.size, 1.0 / values.size)
        raise KeyError(f"no column {name!r}; columns: {', '.join(list(columns) + [n for n in self.equal_weight if n not in columns])}")

    def hpd(self, name: str, level: float = 0.95) -> list[list[float]]:
        """Highest-posterior-density set of one column at ``level``: a list of disjoint [low, high]."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        values, weights = self._values_weights(name)
        return hpd_intervals(values, weights, level, self._hard_bounds(name))

    def parameter_summary(self) -> dict[str, dict]:
        """Mean, median and HPD sets (68/90/95%) of every column."""
        out = {}
        names = list(self.columns) + [n for n in self.equal_weight if n not in self.columns]
        for name in names:
            values, weights = self._values_weights(name)
            entry = {"mean": float(np.sum(weights * values) / np.sum(weights)), "median": weighted_quantile(values, weights, 0.5),
                     "hpd": {f"{lv:.2f}": hpd_intervals(values, weights, lv, self._hard_bounds(name)) for lv in CREDIBLE_LEVELS}}
            out[name] = entry
        return out

    # -- summary and files ---------------------------------------------------------------------
    def summary(self) -> dict:
        """The JSON summary (``summary.json``): settings, evidence, parameter table."""
        if self._summary is not None:
            return self._summary
        s = self.settings
        self._summary = {
            "schema_version": SCHEMA_VERSION,
            "scenario": self.scenario,
            "version": self.version,
            "sampler": s.get("sampler"), "seed": s.get("seed"), "nlive": s.get("nlive"), "tolerance": s.get("tolerance"),
            "nuisances": s.get("nuisances"), "data": s.get("data"),
            "log_evidence": self.log_evidence,
            "log_evidence_err": self.log_evidence_err,
            "n_likelihood_calls": int(self.n_likelihood_calls),
            "wall_seconds": self.wall_seconds,
            "mpi_processes": s.get("mpi_processes", 1),
            "n_samples_weighted": int(len(self.samples)),
            "n_samples_equal_weight": int(len(next(iter(self.equal_weight.values())))),
            "sampled_parameters": list(self.names),
            "free_parameters": self.poi_names,
            "nuisance_parameters": [n for n, p in self.parameters.items() if p["kind"] not in ("coupling", "physics")],
            "model_parameters": self.parameters,
            "fixed_parameters": self.fixed,
            "prior_ranges": {k: list(v) for k, v in self.bounds.items() if k in self.parameters},
            "sampler_stats": self.stats,
            "parameters": self.parameter_summary(),
        }
        return self._summary

    def __repr__(self) -> str:
        lines = [f"<cevns.FitResult {self.scenario!r}: {self.settings.get('sampler')}, log Z = {self.log_evidence:.3f} "
                 f"+- {self.log_evidence_err:.3f}, {len(self.samples)} weighted samples>"]
        for name in self.shown_names:
            lines.append(f"  {name:<16} 95% HPD {_union(self.hpd(name, 0.95))}")
        return "\n".join(lines)

    def save(self, folder: str | Path) -> Path:
        """Write the fit folder (module docstring); every file atomically, summary.json last."""
        from .export import write_getdist_chain
        from ..labels import latex_label

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = list(self.equal_weight)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(names)
        stacked = np.column_stack([self.equal_weight[n] for n in names])
        writer.writerows([[repr(float(v)) for v in row] for row in stacked])
        atomic_write_text(folder / "samples.csv", buffer.getvalue())
        arrays = {"names": np.array(self.names), "samples": self.samples, "log_weights": self.log_weights,
                  "log_likelihood": self.log_likelihood}
        if self.log_likelihood_birth is not None:
            arrays["log_likelihood_birth"] = self.log_likelihood_birth
        atomic_write_with(folder / "weighted_samples.npz", lambda tmp: _savez(tmp, arrays), suffix=".npz")
        columns = self.columns
        chain_names = list(columns)
        write_getdist_chain(folder, "chain", chain_names, [latex_label(n) for n in chain_names],
                            np.column_stack([columns[n] for n in chain_names]), self.weights, -self.log_likelihood,
                            {n: b for n, b in self.bounds.items() if n in chain_names and n in self.parameters},
                            derived=[n for n in chain_names if n not in self.names])
        atomic_write_json(folder / "summary.json", self.summary())
        return folder

    # -- exports (cevns.inference.export) -------------------------------------------------------
    def _export_args(self) -> tuple[list[str], list[str], np.ndarray]:
        from ..labels import latex_label

        columns = self.columns
        names = list(columns)
        return names, [latex_label(n) for n in names], np.column_stack([columns[n] for n in names])

    def to_getdist(self):  # noqa: ANN201
        """getdist ``MCSamples`` of the weighted samples (couplings, nuisances sampled, derived columns)."""
        from .export import to_getdist

        names, labels, samples = self._export_args()
        ranges = {n: b for n, b in self.bounds.items() if n in self.parameters}
        return to_getdist(names, labels, samples, self.weights, -self.log_likelihood, ranges,
                          derived=[n for n in names if n not in self.names])

    def to_anesthetic(self):  # noqa: ANN201
        """anesthetic ``NestedSamples`` where the sampler left dead points with birth contours (UltraNest,
        dynesty); otherwise (nautilus, importance nested sampling) weighted anesthetic ``Samples``."""
        from .export import to_anesthetic, to_anesthetic_samples

        names, labels, samples = self._export_args()
        if self.log_likelihood_birth is not None:
            return to_anesthetic(names, labels, samples, self.log_likelihood, self.log_likelihood_birth)
        return to_anesthetic_samples(names, labels, samples, self.weights, self.log_likelihood)

    def to_arviz(self):  # noqa: ANN201
        """ArviZ data from the equal-weight draws."""
        from .export import to_arviz

        names = list(self.equal_weight)
        samples = np.column_stack([self.equal_weight[n] for n in names])
        return to_arviz(names, samples, np.ones(len(samples)))

    def to_pandas(self):  # noqa: ANN201
        """pandas DataFrame of the weighted samples with a ``weight`` column."""
        from .export import to_pandas

        names, _, samples = self._export_args()
        return to_pandas(names, samples, self.weights, self.log_likelihood)


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _union(intervals: list[list[float]]) -> str:
    return " U ".join(f"[{lo:+.4g}, {hi:+.4g}]" for lo, hi in intervals)


def load_fit(folder: str | Path) -> FitResult:
    """A :class:`FitResult` from a saved fit folder (raises ConfigError naming the file if it is missing or corrupt)."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
        data = np.load(folder / "weighted_samples.npz")
        arrays = {k: data[k] for k in data.files}
        with open(folder / "samples.csv") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError as err:
        raise ConfigError(f"{folder} holds no finished fit: {Path(err.filename).name} is missing") from None
    except (ValueError, OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{folder} holds a corrupt fit ({type(err).__name__}); refit it") from None
    try:
        header, body = rows[0], np.array(rows[1:], dtype=float)
        equal = {name: body[:, i] for i, name in enumerate(header)}
        order = summary["free_parameters"] + summary.get("nuisance_parameters", [])
        stored = summary.get("model_parameters")  # JSON keys are sorted: restore the model's order
        parameters = {n: stored[n] for n in order} if stored else {
            **{n: {"kind": "coupling", "bounds": summary["prior_ranges"][n]} for n in summary["free_parameters"]},
            **{n: {"kind": "normsys", "bounds": [0.0, 2.0]} for n in summary.get("nuisance_parameters", [])}}
        settings = {k: summary.get(k) for k in ("sampler", "seed", "nlive", "tolerance", "nuisances", "data", "mpi_processes")}
        names = [str(n) for n in arrays["names"]]
        result = FitResult(summary["scenario"], names, arrays["samples"], arrays["log_weights"], arrays["log_likelihood"],
                           summary["log_evidence"], summary["log_evidence_err"], summary["n_likelihood_calls"],
                           summary["wall_seconds"], settings, parameters, summary.get("fixed_parameters", {}), equal,
                           summary.get("sampler_stats", {}), arrays.get("log_likelihood_birth"), summary.get("version", "?"))
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise ConfigError(f"{folder} holds a corrupt fit (summary.json or samples: {type(err).__name__} {err}); refit it") from None
    result._summary = summary
    return result


def fit(model: SampledModel, data: np.ndarray, *, sampler: str | None = None, nuisances: str = "marginalized", n_live: int | None = None,
        tolerance: float | None = None, seed: int = 0, fast: bool = False, checkpoint_dir: str | Path | None = None,
        resume: bool = False, verbose: bool = True, pool=None, data_label: str = "") -> FitResult:  # noqa: ANN001
    """Sample the posterior of ``model`` given ``data`` (K,) and return a :class:`FitResult` (no files).

    Parameters
    ----------
    sampler, n_live, tolerance : defaults from
        :func:`cevns.inference.samplers.default_sampler_settings` for the fit's dimension
        and nuisance treatment (``fast``: the quick-look preset).
    nuisances : {"marginalized", "sampled"}
        Constrained parameters integrated out per point (Laplace) or sampled.
    seed : int
        Same seed, same numbers.
    """
    from .samplers import run_sampler

    data = model.check_data(data)
    if data.ndim != 1:
        raise ConfigError("fit takes one data set of shape (K,)")
    names = model.sampled_names(nuisances)
    defaults = default_sampler_settings(len(names), nuisances == "sampled", fast, sampler)
    sampler = defaults["sampler"]
    n_live = n_live if n_live is not None else defaults["n_live"]
    tolerance = tolerance if tolerance is not None else defaults["tolerance"]
    output = run_sampler(sampler, names, model.sampler_prior(nuisances), model.sampler_likelihood(data, nuisances),
                         n_live=n_live, tolerance=tolerance, seed=seed, checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
                         resume=resume, verbose=verbose, pool=pool, label=model.name)
    rng = np.random.default_rng(seed)
    equal = equal_weight_samples(output.samples, output.log_weights, rng)
    if nuisances == "marginalized":
        full = model.sample_nuisances(equal, data, rng)
    else:
        full = equal
    equal_columns = {name: full[:, i] for i, name in enumerate(model.parameter_names)}
    add_effective_nsi(equal_columns, model.fixed)
    parameters = {p.name: {"kind": p.kind, "bounds": [float(p.bounds[0]), float(p.bounds[1])],
                           **({"prior": [p.center, p.sigma]} if p.constrained else {})} for p in model.parameters}
    settings = {"sampler": sampler, "seed": seed, "nlive": n_live, "tolerance": tolerance, "nuisances": nuisances,
                "data": data_label, "mpi_processes": getattr(pool, "size", 1)}
    return FitResult(model.name, names, output.samples, output.log_weights, output.log_likelihood, output.log_evidence,
                     output.log_evidence_err, output.n_likelihood_calls, output.wall_seconds, settings, parameters,
                     dict(model.fixed), equal_columns, output.stats, getattr(output, "log_likelihood_birth", None))
