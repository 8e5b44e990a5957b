"""Every result container of inference, with its save/load and exports: :class:`FitResult` (a Bayesian fit;
``save``/``load_fit``, getdist / anesthetic / ArviZ / pandas), :class:`SamplerOutput` (what every sampler backend
returns), :class:`MaximumLikelihood`, :class:`Profile1D` and :class:`Profile2D` (the frequentist tools' results).

A saved fit folder holds ``summary.json`` (with ``schema_version``), ``samples.csv``
(equal-weight draws of every parameter and derived column), ``weighted_samples.npz``
(the sampler's weighted points) and a getdist chain (``chain.txt``, ``chain.paramnames``,
``chain.ranges``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ConfigError
from ..io import atomic_write_json, atomic_write_with, record_problem, sha256_file
from ..physics.effective import effective_nsi
from .density import CREDIBLE_LEVELS, density_1d, hpd_intervals
from .weights import weighted_quantile


# --------------------------------------------------------------------------------------------------------
# sampler backends and Bayesian fits
# --------------------------------------------------------------------------------------------------------
@dataclass
class SamplerOutput:
    """What every backend returns."""

    samples: np.ndarray          # (n, d) weighted posterior samples
    log_weights: np.ndarray      # (n,) normalized log importance weights
    log_likelihood: np.ndarray   # (n,)
    log_evidence: float
    log_evidence_err: float
    n_likelihood_calls: int
    wall_seconds: float
    stats: dict = field(default_factory=dict)
    #: (n,) log-likelihood contour each dead point was born inside (-inf: drawn from the prior);
    #: for ultranest and dynesty, in the order of ``samples``; None for nautilus and smc.
    log_likelihood_birth: np.ndarray | None = None


#: The files of a saved fit (FitResult.save); the first three are what load_fit reads.
FIT_FILES = ("summary.json", "samples.csv", "weighted_samples.npz", "chain.txt", "chain.paramnames", "chain.ranges",
             "chain.properties.ini")
#: FitResult.save's record of the files it wrote (name -> SHA-256).
CHECKSUM_RECORD = "checksums.json"
#: Rows of ``samples.csv`` formatted at a time (FitResult.save). The rows were formatted all at once into
#: Python strings and then into one text: ~700 bytes per equal-weight draw (a 207 000-draw fit of
#: coherent-csi-2017-data-2p at tolerance 0.00125 peaked at 359 MB resident, ~125 MB of it this table; 233 MB now);
#: 4096 rows of ~10 columns are ~3 MB of strings; 200 000 rows x 10 columns take 1.8-2.1 s in blocks of 256 to 4096
#: rows and 2.3 s all at once.
CSV_BLOCK_ROWS = 4096
#: Version of the fit-folder layout (summary.json keys, file names). 2: model layer, getdist chain.
SCHEMA_VERSION = 2


#: Flavor pairs whose effective matter NSI (docs/physics.md) are derived columns of every fit.
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
        """Per column: the HPD sets (68/90/95%), whether the samples resolve each (``resolved``,
        :func:`cevns.inference.summaries.resolution_1d`), the modes (resolved local maxima, highest first), the
        mean and the median, and whether the median lies inside each set (``median_in_hpd``: the median of a
        multimodal posterior can fall between its modes, outside every credible set)."""
        from .summaries import is_resolved, modes_1d, resolution_1d

        out = {}
        names = list(self.columns) + [n for n in self.equal_weight if n not in self.columns]
        for name in names:
            values, weights = self._values_weights(name)
            density = density_1d(values, weights, self._hard_bounds(name))
            median = weighted_quantile(values, weights, 0.5)
            sets = {f"{lv:.2f}": density.hpd(lv) for lv in CREDIBLE_LEVELS}
            out[name] = {"hpd": sets,
                         "resolved": {f"{lv:.2f}": is_resolved(resolution_1d(density, lv), lv) for lv in CREDIBLE_LEVELS},
                         "modes": modes_1d(density),
                         "mean": float(np.sum(weights * values) / np.sum(weights)), "median": median,
                         "median_in_hpd": {k: any(lo <= median <= hi for lo, hi in v) for k, v in sets.items()}}
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
            **({"sampler_options": s["sampler_options"]} if s.get("sampler_options") else {}),
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
        parameters = self.summary()["parameters"]
        for name in self.shown_names:
            lines.append(f"  {name:<16} {headline(parameters[name])}")
        return "\n".join(lines)

    def save(self, folder: str | Path) -> Path:
        """Write the fit folder (module docstring); every file atomically, summary.json last."""
        from .export import write_getdist_chain
        from ..labels import latex_label

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = list(self.equal_weight)
        stacked = np.column_stack([self.equal_weight[n] for n in names])
        atomic_write_with(folder / "samples.csv", lambda tmp: _write_csv(tmp, names, stacked))
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
        # the library's own record of what it wrote (load_fit verifies it); a run's complete.json supersedes it
        atomic_write_json(folder / CHECKSUM_RECORD, {"files": {name: sha256_file(folder / name) for name in FIT_FILES
                                                              if (folder / name).exists()}})
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

    def to_arviz(self, chains: int = 4, seed: int = 0):  # noqa: ANN201
        """ArviZ data of the equal-weight draws (every column of ``samples.csv``), shuffled and dealt into
        ``chains`` chains so that ``az.summary`` runs without warnings (the chains are a random partition
        of independent draws, not Markov chains: :func:`cevns.inference.export.to_arviz`)."""
        from .export import to_arviz

        names = list(self.equal_weight)
        samples = np.column_stack([self.equal_weight[n] for n in names])
        return to_arviz(names, samples, np.ones(len(samples)), seed=seed, chains=chains)

    def to_pandas(self, weighted: bool = False):  # noqa: ANN201
        """pandas DataFrame with a ``weight`` column (summing to 1).

        Default: the equal-weight draws, every column of ``samples.csv`` in its order (sampled parameters,
        nuisances drawn from their conditional posterior when they were marginalised, derived columns),
        equal weights. ``weighted=True``: the sampler's weighted points (the sampled parameters and the
        derived effective NSI only) with their weights and ``log_likelihood``.
        """
        from .export import to_pandas

        if weighted:
            names, _, samples = self._export_args()
            return to_pandas(names, samples, self.weights, self.log_likelihood)
        names = list(self.equal_weight)
        return to_pandas(names, self.equal_weight, np.ones(len(self.equal_weight[names[0]])))


def _write_csv(path: Path, names: list[str], rows: np.ndarray) -> None:
    """``samples.csv``: a header and one row of ``repr(float)`` per draw, formatted CSV_BLOCK_ROWS rows at a time
    into the open file (the same bytes as one ``csv.writer`` over all rows: CRLF line ends, as before)."""
    with open(path, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for start in range(0, len(rows), CSV_BLOCK_ROWS):
            writer.writerows([[repr(float(v)) for v in row] for row in rows[start : start + CSV_BLOCK_ROWS]])


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _union(intervals: list[list[float]]) -> str:
    return " U ".join(f"[{lo:+.4g}, {hi:+.4g}]" for lo, hi in intervals)


def headline(entry: Mapping, level: str = "0.95") -> str:
    """One parameter's estimate in one line, credible set first: ``95% HPD [a, b] U [c, d]``, then the modes
    where the samples resolve them, then the median only where it lies inside the set (otherwise flagged:
    the median of a bimodal posterior can fall between the modes). ``entry``: a ``summary()["parameters"]``
    value (older summaries without modes or flags: set and median)."""
    text = f"{float(level):.0%} HPD {_union(entry['hpd'][level])}"
    if entry.get("resolved", {}).get(level) is False:
        text += " (flat within sampling noise)"
    modes = entry.get("modes")
    if modes:
        text += f"; mode{'s' if len(modes) > 1 else ''} " + ", ".join(f"{m:+.4g}" for m in modes)
    inside = entry.get("median_in_hpd", {}).get(level, True)
    text += f"; median {entry['median']:+.4g}" + ("" if inside else " (outside the set)")
    return text


def fit_folder_problem(folder: str | Path) -> str | None:
    """Why ``folder``'s fit files do not verify (None when they do): the checksums of a run's ``complete.json``,
    else of :meth:`FitResult.save`'s ``checksums.json``, against the files."""
    folder = Path(folder)
    name = "complete.json" if (folder / "complete.json").exists() else CHECKSUM_RECORD
    return record_problem(folder, name, required=FIT_FILES[:3], vouched=FIT_FILES,
                          missing=f"it has no complete.json or {CHECKSUM_RECORD} "
                                  "(an unfinished run, or files not written by cevns)")


def load_fit(folder: str | Path, verify: bool = True) -> FitResult:
    """A :class:`FitResult` from a saved fit folder. ``verify`` (default): the files must match the checksums
    the run (``complete.json``) or :meth:`FitResult.save` (``checksums.json``) recorded, so an edited, partial
    or foreign folder raises ConfigError naming the reason; ``verify=False`` reads the files as they are (for
    inspection). Raises ConfigError naming the file if one is missing or corrupt."""
    folder = Path(folder)
    if verify and folder.is_dir():
        problem = fit_folder_problem(folder)
        if problem is not None:
            raise ConfigError(f"{folder} holds no fit that verifies: {problem}; refit it, or load it with verify=False "
                              "to read it as it is", field="verify")
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
        if summary.get("sampler_options"):
            settings["sampler_options"] = summary["sampler_options"]
        names = [str(n) for n in arrays["names"]]
        result = FitResult(summary["scenario"], names, arrays["samples"], arrays["log_weights"], arrays["log_likelihood"],
                           summary["log_evidence"], summary["log_evidence_err"], summary["n_likelihood_calls"],
                           summary["wall_seconds"], settings, parameters, summary.get("fixed_parameters", {}), equal,
                           summary.get("sampler_stats", {}), arrays.get("log_likelihood_birth"), summary.get("version", "?"))
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise ConfigError(f"{folder} holds a corrupt fit (summary.json or samples: {type(err).__name__} {err}); refit it") from None
    result._summary = summary
    return result


# --------------------------------------------------------------------------------------------------------
# frequentist results
# --------------------------------------------------------------------------------------------------------
def wilks_threshold(level: float, n_parameters: int = 1) -> float:
    """chi^2 quantile with ``n_parameters`` degrees of freedom: the Wilks cut on q = -2 Delta log L."""
    if not 0 < level < 1:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}")
    from scipy import stats  # here, not at the top: importing scipy.stats costs 0.5 s (every CLI command)

    return float(stats.chi2.ppf(level, n_parameters))


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
