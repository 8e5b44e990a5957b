"""Run a fit of a scenario and write its output folder (SPEC S5, S8).

Output folder: ``config.toml`` (the resolved configuration), ``summary.json``,
``samples.csv`` (equal-weight posterior samples: couplings, nuisances, derived
effective NSI), ``corner.png``/``corner.pdf``, and the sampler's checkpoint.
Every file is written atomically. A folder holding another run is refused
unless ``resume`` (same configuration only) or ``force``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .config import config_to_toml
from .errors import ConfigError
from .inference.likelihood import PoissonLikelihood
from .inference.results import CREDIBLE_LEVELS, effective_nsi, equal_weight_samples, hpd_intervals, weighted_quantile
from .inference.samplers import DEFAULT_SAMPLER, run_sampler
from .io import atomic_savefig, atomic_write_json, atomic_write_text
from .physics.couplings import NSI_NAMES
from .scenario import Scenario

#: ``--fast`` preset: fewer live points and a looser stopping tolerance, for quick looks.
FAST_NLIVE = 300
FAST_TOLERANCE = 0.5
DEFAULT_NLIVE = 1500  # the paper's MultiNest setting
DEFAULT_TOLERANCE = 0.1  # the paper's MultiNest setting
RUN_FILES = ("summary.json", "samples.csv", "config.toml")


@dataclass
class FitSettings:
    sampler: str = DEFAULT_SAMPLER
    n_live: int = DEFAULT_NLIVE
    tolerance: float = DEFAULT_TOLERANCE
    seed: int = 0
    nuisances: str | None = None  # None: the scenario's [fit] nuisances
    resume: bool = False
    force: bool = False
    verbose: bool = True


def _log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)


def prepare_output(out: Path, config_text: str, settings: FitSettings) -> dict | None:
    """Check the output folder. Returns the existing summary if a finished identical run can be reused."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if not existing or settings.force:
        return None
    if not settings.resume:
        raise ConfigError(f"--out {str(out)!r} already holds a run ({', '.join(existing)}); use --resume to continue it or --force to overwrite")
    if (out / "config.toml").exists() and (out / "config.toml").read_text() != config_text:
        raise ConfigError(f"--resume: {str(out)!r} holds a run of a different configuration; use another --out or --force")
    summary_path = out / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if not same_run_settings(summary, settings):
            # resuming would continue the old checkpoint and label it with the new settings
            raise ConfigError(f"--resume: {str(out)!r} holds a finished run with other sampler settings "
                              f"(sampler, nlive, seed or nuisances); use another --out or --force")
        return summary
    return None


def same_run_settings(summary: dict, settings: FitSettings) -> bool:
    """Whether a finished run's summary was made with these sampler settings."""
    return (summary.get("sampler"), summary.get("nlive"), summary.get("seed"), summary.get("nuisances")) == (
        settings.sampler, settings.n_live, settings.seed, settings.nuisances)


def run_fit(scenario: Scenario, out: str | Path, settings: FitSettings, pool=None) -> dict | None:  # noqa: ANN001
    """Fit ``scenario`` and write the output folder; returns the summary dict.

    Under MPI (``mpiexec -n K``, see :mod:`cevns.parallel`) every rank calls this:
    rank 0 checks the folder, samples and writes; the other ranks evaluate
    likelihood batches and return None. ``pool``: a likelihood pool for nautilus.
    """
    from .parallel import MPIPool, serve, world

    mpi = world()
    out = Path(out)
    nuisances = settings.nuisances or scenario.config.fit.nuisances
    settings.nuisances = nuisances
    if mpi.size > 1 and settings.sampler != "nautilus":
        raise ConfigError(f"under MPI only --sampler nautilus spreads its likelihood over the ranks; got {settings.sampler!r} "
                          "(run it without mpiexec)")
    config_text = config_to_toml(scenario.config)

    def check_folder() -> dict | None:
        reused = prepare_output(out, config_text, settings)
        if reused is None:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ConfigError(f"--out {str(out)!r} cannot be created: {err.strerror}") from None
            atomic_write_text(out / "config.toml", config_text)
        return reused

    reused = mpi.root_decides(check_folder)
    if reused is not None:
        _log(f"[{scenario.name}] finished run found in {out}: reusing it", settings.verbose and mpi.is_root)
        return reused if mpi.is_root else None
    settings.verbose = settings.verbose and mpi.is_root

    _log(f"[{scenario.name}] building response kernels and likelihood", settings.verbose)
    likelihood = PoissonLikelihood.from_scenario(scenario)
    space = likelihood.space
    sampled_names = space.sampled_names(nuisances == "sampled")
    _log(
        f"[{scenario.name}] {settings.sampler}: {len(sampled_names)} sampled parameters "
        f"({len(space.couplings)} couplings, {len(space.nuisances)} nuisances {nuisances}), "
        f"{settings.n_live} live points, seed {settings.seed}",
        settings.verbose,
    )
    if not mpi.is_root:
        serve(mpi.comm, likelihood.batched(nuisances))
        return None
    if mpi.size > 1:
        pool = MPIPool(mpi.comm)
        _log(f"[{scenario.name}] MPI: likelihood batches spread over {mpi.size} processes", settings.verbose)
    try:
        output = run_sampler(
            settings.sampler, sampled_names,
            lambda cube: space.prior_transform(cube, nuisances == "sampled"),
            likelihood.batched(nuisances),
            n_live=settings.n_live, tolerance=settings.tolerance, seed=settings.seed,
            checkpoint_dir=out, resume=settings.resume, verbose=settings.verbose, pool=pool,
        )
    finally:
        if isinstance(pool, MPIPool):
            pool.close()
    _log(f"[{scenario.name}] done: log Z = {output.log_evidence:.3f} +- {output.log_evidence_err:.3f}, "
         f"{output.n_likelihood_calls} likelihood calls, {output.wall_seconds:.1f} s", settings.verbose)

    rng = np.random.default_rng(settings.seed)
    weights = np.exp(output.log_weights)
    columns = {name: output.samples[:, i] for i, name in enumerate(sampled_names)}
    equal = equal_weight_samples(output.samples, output.log_weights, rng)
    equal_columns = {name: equal[:, i] for i, name in enumerate(sampled_names)}
    if nuisances == "marginalized" and space.nuisances:
        drawn = likelihood.sample_nuisances(equal[:, : len(space.couplings)], rng)
        for i, name in enumerate(space.nuisance_names):
            equal_columns[name] = drawn[:, i]
    for table in (columns, equal_columns):
        add_effective_nsi(table, space.fixed)

    bounds = space.bounds()
    parameters = {}
    for name, values in columns.items():
        entry = {"mean": float(np.sum(weights * values) / np.sum(weights)), "median": weighted_quantile(values, weights, 0.5)}
        if name in bounds or name.startswith("eff_eps_"):
            rng_bounds = bounds.get(name, (float(values.min()), float(values.max())))
            entry["hpd"] = {f"{lv:.2f}": hpd_intervals(values, weights, lv, rng_bounds) for lv in CREDIBLE_LEVELS}
        parameters[name] = entry
    summary = {
        "scenario": scenario.name,
        "sampler": settings.sampler,
        "seed": settings.seed,
        "version": __version__,
        "nlive": settings.n_live,
        "tolerance": settings.tolerance,
        "nuisances": nuisances,
        "log_evidence": output.log_evidence,
        "log_evidence_err": output.log_evidence_err,
        "n_likelihood_calls": int(output.n_likelihood_calls),
        "wall_seconds": output.wall_seconds,
        "mpi_processes": mpi.size,
        "n_samples_weighted": int(len(output.samples)),
        "n_samples_equal_weight": int(len(equal)),
        "free_parameters": space.coupling_names,
        "nuisance_parameters": space.nuisance_names,
        "fixed_parameters": space.fixed,
        "prior_ranges": {k: list(v) for k, v in bounds.items()},
        "sampler_stats": output.stats,
        "parameters": parameters,
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(equal_columns)
    writer.writerow(names)
    stacked = np.column_stack([equal_columns[n] for n in names])
    writer.writerows([[repr(float(v)) for v in row] for row in stacked])
    atomic_write_text(out / "samples.csv", buffer.getvalue())
    np.savez_compressed(out / "weighted_samples.npz", names=np.array(sampled_names), samples=output.samples,
                        log_weights=output.log_weights, log_likelihood=output.log_likelihood)
    from .plotting import corner_figure

    fig = corner_figure(output.samples[:, : len(space.couplings)], weights, space.coupling_names, bounds)
    atomic_savefig(fig, out / "corner.png", dpi=120)
    atomic_savefig(fig, out / "corner.pdf")
    atomic_write_json(out / "summary.json", summary)
    _log(f"[{scenario.name}] wrote {out}/summary.json, samples.csv, corner.png, corner.pdf", settings.verbose)
    return summary


def add_effective_nsi(table: dict[str, np.ndarray], fixed: dict[str, float]) -> None:
    """Add eff_eps_ee and eff_eps_mumu columns; couplings not in the table take their fixed value (default 0)."""
    n = len(next(iter(table.values())))
    for flavor in ("ee", "mumu"):
        eps_u, eps_d = (table.get(f"eps_{q}_{flavor}", np.full(n, fixed.get(f"eps_{q}_{flavor}", 0.0))) for q in ("u", "d"))
        table[f"eff_eps_{flavor}"] = effective_nsi(eps_u, eps_d)


def coupling_latex(name: str) -> str:
    """LaTeX label for a coupling name: eps_u_ee -> $\\varepsilon^{u}_{ee}$."""
    if name in NSI_NAMES:
        _, quark, pair = name.split("_")
        pair = pair.replace("mu", r"\mu").replace("tau", r"\tau")
        return rf"$\varepsilon^{{{quark}}}_{{{pair}}}$"
    if name.startswith("eff_eps_"):
        pair = name.removeprefix("eff_eps_").replace("mu", r"\mu")
        return rf"$\varepsilon_{{{pair}}}$"
    return name
