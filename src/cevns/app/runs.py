"""A fit run in an output folder (``cevns fit``, ``cevns reproduce``): folder policy, MPI, records, plots.

The statistics live in :func:`cevns.inference.fitting.fit` (in memory); this module
decides what happens to a folder:

* ``run.json`` is written when a run starts: the settings (scenario configuration hash,
  sampler, live points, tolerance, seed, nuisance treatment, version). ``--resume`` of a
  run whose ``run.json`` differs in any of them is refused.
* ``complete.json`` is written last, atomically, when every output is in place: the same
  settings and a SHA-256 checksum of each file it vouches for. A run is finished only
  when it verifies; a cache (``--resume``, ``cevns reproduce``) reuses nothing else.
* one lock per folder (``.lock``, an advisory ``flock`` released when the process ends):
  a second process writing to the same folder is refused with one line.
* an interrupt (SIGINT, SIGTERM) always ends the run as interrupted, at once: it is raised as
  ``cevns.errors.Interrupted``, which libraries that catch KeyboardInterrupt cannot swallow
  (nautilus' network training via scikit-learn catches KeyboardInterrupt and goes on).

Output folder: ``config.toml`` (the resolved configuration), ``run.json``, the fit files of
:meth:`cevns.inference.fitting.FitResult.save`, ``corner.png``/``corner.pdf``, the sampler's
checkpoint, and ``complete.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from pathlib import Path


from .._version import __version__
from ..spec.config import config_to_toml
from ..errors import ConfigError, RunFolderError, interrupt_guard
from ..inference.fitting import FitResult, fit, load_fit
from ..inference.results import FIT_FILES
from ..inference.samplers import min_dimensions, points_phrase
from ..io import (atomic_savefig, atomic_write_json, atomic_write_text, read_record, record_problem, sha256_file,
                  verify_checksums)
from ..model import Model
from ..model.sampler_view import sampler_view
from ..builders.scenario import Scenario
from .tasks import one_blas_thread

RUN_RECORD = "run.json"
COMPLETION_RECORD = "complete.json"
#: Files a finished run vouches for in complete.json (checksummed).
RUN_FILES = ("config.toml", *FIT_FILES)
#: Files whose presence means the folder holds (the start of) a run.
RUN_MARKERS = ("config.toml", RUN_RECORD, COMPLETION_RECORD, "summary.json")


@dataclass
class FitSettings:
    """Settings of a run; ``None`` means the scenario's ``[fit] sampler`` or else the default for the fit's dimension
    (samplers.default_sampler_settings)."""

    sampler: str | None = None
    n_live: int | None = None
    tolerance: float | None = None
    seed: int = 0
    nuisances: str | None = None  # None: the scenario's [fit] nuisances
    fast: bool = False
    resume: bool = False
    force: bool = False
    verbose: bool = True

    def resolved(self, scenario: Scenario, n_dim: int) -> dict:
        """The settings that define the run's numbers (recorded in run.json and complete.json)."""
        from ..inference.fitting import default_sampler_settings

        nuisances = self.nuisances or scenario.config.fit.nuisances
        defaults = default_sampler_settings(n_dim, nuisances == "sampled", self.fast, self.sampler,
                                            scenario.config.fit.sampler)
        # the scenario's smc options apply to its smc fits (recorded only when there are some: the records of runs
        # without them stay as they were)
        options = dict(scenario.config.fit.smc or {}) if defaults["sampler"] == "smc" else {}
        return {
            "scenario": scenario.name,
            "config_sha256": hashlib.sha256(config_to_toml(scenario.config).encode()).hexdigest(),
            **({"sampler_options": options} if options else {}),
            "sampler": defaults["sampler"],
            "nlive": self.n_live if self.n_live is not None else defaults["n_live"],
            "tolerance": self.tolerance if self.tolerance is not None else defaults["tolerance"],
            "seed": self.seed,
            "nuisances": nuisances,
            "version": __version__,
        }


def _log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)


def verified_completion(out: Path, settings: dict) -> bool:
    """Whether ``out`` holds a finished run with exactly these settings whose files match their checksums."""
    record = read_record(out / COMPLETION_RECORD)
    if record is None or record.get("settings") != settings:
        return False
    return completion_problem(out, record) is None


def completion_problem(out: Path, record: dict | None = None) -> str | None:
    """Why the fit folder ``out`` is not a verified finished run (None when it is): complete.json missing or
    corrupt, a file it vouches for changed or missing, a fit file it does not list (the one reader of fit
    folders: ``--resume``, ``cevns reproduce``, ``cevns show``, ``cevns plot``)."""
    if record is not None:  # already read (verified_completion)
        return verify_checksums(out, record.get("files"), required=FIT_FILES[:3], vouched=RUN_FILES)
    return record_problem(out, COMPLETION_RECORD, required=FIT_FILES[:3], vouched=RUN_FILES,
                          missing=f"it has no {COMPLETION_RECORD} "
                                  "(an unfinished or interrupted run, or files saved without one)")


def load_verified_fit(folder: str | Path, verify: bool = True) -> FitResult:
    """:func:`cevns.inference.fitting.load_fit` of a fit folder whose ``complete.json`` checksums verify
    (RunFolderError naming the reason otherwise); ``verify=False`` reads it as it is, for inspection."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{str(folder)!r} is not a folder" if folder.exists() else f"{str(folder)!r} does not exist",
                             "unusable")
    if verify:
        problem = completion_problem(folder)
        if problem is not None:
            raise RunFolderError(f"{str(folder)!r} holds no finished fit that verifies: {problem}", "unverified")
    return load_fit(folder, verify=False)  # verified above, against the run's own record


def check_folder(out: Path, settings: dict, config_text: str, resume: bool, force: bool) -> bool:
    """Decide what to do with ``out``: True to reuse a verified finished run, False to (re)start.

    Raises :class:`RunFolderError` when the folder holds another run and neither
    ``resume`` (same settings) nor ``force`` allows going on.
    """
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{str(out)!r} exists and is not a folder", "unusable")
    if not out.exists():
        return False
    present = [name for name in RUN_MARKERS if (out / name).exists()]
    if not present or force:
        return False
    if not resume:
        raise RunFolderError(f"{str(out)!r} already holds a run ({', '.join(present)})", "holds-run")
    config_path = out / "config.toml"
    if config_path.exists() and config_path.read_text() != config_text:
        raise RunFolderError(f"{str(out)!r} holds a run of a different configuration", "other-config")
    record = read_record(out / RUN_RECORD)
    if record is None or record.get("settings") != settings:
        raise RunFolderError(f"{str(out)!r} holds a run with other settings or none recorded (sampler, nlive, tolerance, "
                             f"seed, nuisances, version)", "other-settings")
    return verified_completion(out, settings)


@contextlib.contextmanager
def _exclusive(out: Path, acquire: Callable[[Path], Any], release: Callable[[Any], None], access: str) -> Iterator[None]:
    """Hold an advisory ``flock`` on what ``acquire(out)`` opens (``out`` created first) or refuse with one line."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = acquire(out)
    except OSError as err:
        raise RunFolderError(f"{str(out)!r} cannot be created or {access} ({err.strerror})", "unusable") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunFolderError(f"another cevns process is writing to {str(out)!r}", "locked") from None
        yield
    finally:
        release(handle)


def folder_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the folder's lock (``.lock``) or refuse with one line: one writer per output folder."""
    return _exclusive(out, lambda o: open(o / ".lock", "a"), lambda h: h.close(), "written")  # noqa: SIM115


def directory_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """One writer per output folder without a lock file in it: an advisory ``flock`` on the folder itself (profile,
    toys and forecast folders hold only their outputs). Refused with one line while another process holds it."""
    return _exclusive(out, lambda o: os.open(o, os.O_RDONLY), os.close, "read")


def write_completion(out: Path, settings: dict) -> None:
    files = {name: sha256_file(out / name) for name in RUN_FILES if (out / name).exists()}
    atomic_write_json(out / COMPLETION_RECORD, {"settings": settings, "files": files})


def run_fit(scenario: Scenario, out: str | Path, settings: FitSettings, pool=None,  # noqa: ANN001
            single_process: bool = False) -> FitResult | None:
    """Fit ``scenario`` into the folder ``out`` (module docstring); returns the result (None on MPI workers).

    Under MPI (``mpiexec -n K``, see :mod:`cevns.app.parallel`) every rank calls this: rank 0 checks the
    folder, samples and writes; the other ranks evaluate likelihood batches. ``single_process``: this
    process alone runs the fit even under MPI (a task of ``cevns.app.tasks``, one fit per rank).
    """
    from .parallel import MPIPool, World, serve, world

    mpi = World(None, 0, 1) if single_process else world()
    out = Path(out)
    if mpi.size == 1 and _finished_before_building(scenario, out, settings):
        _log(f"[{scenario.name}] finished run found in {out}: reusing it", settings.verbose)
        return load_fit(out, verify=False)
    _log(f"[{scenario.name}] building response kernels and model", settings.verbose and mpi.is_root)
    model = Model.from_scenario(scenario)
    model.check_ranges()  # a prior whose ends overflow the counts: one line before any sampling
    fit_config = scenario.config.fit
    nuisances = settings.nuisances or fit_config.nuisances
    if fit_config.data == "observed":
        data, data_label = model.observed(), "observed"
    else:
        data, data_label = model.asimov(model.check_values(fit_config.asimov_truth or {}, "[fit] asimov_truth")), "asimov"
    resolved = settings.resolved(scenario, len(model.sampled_names(nuisances)))
    if mpi.size > 1 and resolved["sampler"] not in ("nautilus", "smc"):
        raise ConfigError(f"under MPI only the nautilus and smc samplers spread their likelihood over the ranks; got "
                          f"{resolved['sampler']!r} (run it without mpiexec)")
    config_text = config_to_toml(scenario.config)
    lock = folder_lock(out) if mpi.is_root else contextlib.nullcontext()
    with lock:
        reuse = mpi.root_decides(lambda: check_folder(out, resolved, config_text, settings.resume, settings.force))
        if reuse:
            _log(f"[{scenario.name}] finished run found in {out}: reusing it", settings.verbose and mpi.is_root)
            return load_fit(out, verify=False) if mpi.is_root else None  # check_folder verified complete.json
        fresh = mpi.is_root and not any((out / name).exists() for name in RUN_MARKERS)
        if mpi.is_root:
            (out / COMPLETION_RECORD).unlink(missing_ok=True)
            atomic_write_text(out / "config.toml", config_text)
            atomic_write_json(out / RUN_RECORD, {"settings": resolved})
        verbose = settings.verbose and mpi.is_root
        names = model.sampled_names(nuisances)
        _log(f"[{scenario.name}] {resolved['sampler']}: {len(names)} sampled parameters ({len(model.poi_names)} of interest, "
             f"{len(model.parameter_names) - len(model.poi_names)} nuisances {nuisances}), {points_phrase(resolved['sampler'], resolved['nlive'])}, "
             f"seed {settings.seed}", verbose)
        # what rank 0's fit samples (cevns.inference.fitting.fit): a worker rank evaluates the same view
        _, _, view_likelihood, prior_only = sampler_view(model, data, nuisances, min_dimensions(resolved["sampler"]))
        if prior_only:
            _log(f"[{scenario.name}] {', '.join(prior_only)}: the likelihood does not depend on them; drawn from the prior, "
                 f"not sampled", verbose)
        if not mpi.is_root:
            serve(mpi.comm, view_likelihood)
            return None
        if mpi.size > 1:
            pool = MPIPool(mpi.comm)
            _log(f"[{scenario.name}] MPI: likelihood batches spread over {mpi.size} processes", verbose)
        try:
            # one BLAS thread: the likelihood is batches of small matrix products, which a second thread slows
            # (measured-combined-4p --fast: 27.9 s sampling with two threads beside another job, 20.6 s with one);
            # cevns reproduce runs its fits the same way (app/reproduce.py), so both give the same numbers
            with interrupt_guard(), one_blas_thread():
                result = fit(model, data, sampler=resolved["sampler"], nuisances=nuisances, n_live=resolved["nlive"],
                             tolerance=resolved["tolerance"], seed=settings.seed, checkpoint_dir=out,
                             resume=settings.resume, verbose=verbose, pool=pool, data_label=data_label,
                             sampler_options=resolved.get("sampler_options"))
        except ConfigError:
            if fresh:  # refused before sampling (e.g. too few live points): leave the folder as it was
                for name in ("config.toml", RUN_RECORD):
                    (out / name).unlink(missing_ok=True)
            raise
        finally:
            if isinstance(pool, MPIPool):
                pool.close()
        result.settings["mpi_processes"] = mpi.size
        _log(f"[{scenario.name}] done: log Z = {result.log_evidence:.3f} +- {result.log_evidence_err:.3f}, "
             f"{result.n_likelihood_calls} likelihood calls, {result.wall_seconds:.1f} s", verbose)
        result.save(out)
        save_corner(result, out)
        write_completion(out, resolved)
        _log(f"[{scenario.name}] wrote {out}/summary.json, samples.csv, chain.*, corner.png, corner.pdf", verbose)
    return result


def _finished_before_building(scenario: Scenario, out: Path, settings: FitSettings) -> bool:
    """Whether ``out`` holds a verified finished run of these settings, decided without building the model (its
    response kernels take 1-3 s per data release; cevns reproduce asks again for every fit it draws): the fit's
    dimension, which picks the sampler's defaults, is the recorded one, which the same configuration reproduces.
    False (the model is built and the folder checked as usual) whenever anything is missing or differs."""
    if not (settings.resume and not settings.force and (out / COMPLETION_RECORD).is_file()):
        return False
    summary = read_record(out / "summary.json")
    names = summary.get("sampled_parameters") if summary else None
    if not isinstance(names, list):
        return False
    try:
        return check_folder(out, settings.resolved(scenario, len(names)), config_to_toml(scenario.config), True, False)
    except RunFolderError:
        return False


def save_corner(result: FitResult, out: Path) -> None:
    from .figures import fit_corner_figure

    if not result.shown_names:  # every parameter constrained: nothing the fit is about to draw
        return
    fig = fit_corner_figure(result)
    atomic_savefig(fig, out / "corner.png", dpi=120)
    atomic_savefig(fig, out / "corner.pdf")
    import matplotlib.pyplot as plt

    plt.close(fig)

