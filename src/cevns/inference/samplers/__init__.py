"""Samplers behind one small interface; one adapter module per backend in this folder.

``run_sampler(backend, names, prior_transform, log_likelihood, ...)`` takes a
vectorized prior transform (unit cube (n, d) -> parameters (n, d)) and a
batched log-likelihood ((n, d) -> (n,)), and returns a :class:`SamplerOutput`.
Each backend is a thin adapter:

* ``nautilus``: neural-network boosted importance nested sampling, vectorized
  (Lange, MNRAS 525 (2023) 3181).
* ``ultranest``: MLFriends region sampling (Buchner, JOSS 6 (2021) 3001); a
  slice step sampler is switched on above 8 dimensions, where rejection
  sampling from the region stalls.
* ``dynesty``: multi-ellipsoid bounds, the MultiNest algorithm
  (Speagle, MNRAS 493 (2020) 3132).
* ``smc``: tempered sequential Monte Carlo (Del Moral, Doucet & Jasra, JRSS B 68
  (2006) 411) followed by importance sampling from a Gaussian mixture fitted to the
  particles, with Pareto k-hat diagnostics (Vehtari et al., JMLR 25 (2024) 72);
  :mod:`cevns.inference.smc`. ``n_live`` is its number of particles and ``tolerance``
  the target standard error of log Z.

:func:`default_sampler_settings` gives the measured choice per fit dimension
(docs/sampling.md). Before any run, a few prior draws are evaluated and checked
for shape and finiteness (as UltraNest's ``_check_likelihood_function`` does).

Output: no backend writes to stdout. With ``verbose``, progress goes to stderr:
the backend's own display when stderr is a terminal, otherwise one line per stage
with the elapsed time and an estimate of the time left.

Checkpoints (dynesty) pickle the callables given to :func:`run_sampler`, so they must
be picklable there: module-level functions, bound methods of plain objects,
``functools.partial`` (not lambdas or local functions).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ...errors import ConfigError
from ...io import json_safe
from ..results import SamplerOutput
from ._common import (PROGRESS_MIN_SECONDS, BatchedPrior, BatchOrSingle, Progress, SamplerWarning,  # noqa: F401  (re-exported)
                      SinglePrior, _stderr_is_terminal, _stdout_to_stderr, check_likelihood)
from .dynesty import _run_dynesty
from .nautilus import NAUTILUS_BATCH, NAUTILUS_NETWORKS_HIGH_DIM, NAUTILUS_NETWORKS_LOW_DIM, _run_nautilus  # noqa: F401
from .smc import _run_smc
from .ultranest import ULTRANEST_SLICE_ABOVE_DIM, _run_ultranest  # noqa: F401

SAMPLERS = ("nautilus", "ultranest", "dynesty", "smc")
DEFAULT_SAMPLER = "nautilus"
#: Largest seed every backend accepts: UltraNest seeds numpy's legacy global generator,
#: which takes 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1
#: Largest dimension for which ``smc`` is the default (nuisances marginalized). Measured (docs/sampling.md,
#: "Marginalized fits in 5-8 D"): on the seven built-in 5-7-D fits (couplings plus sampled free normalisations
#: and shape parameters), smc fast/full, seeds 1-3 (1-10 in 7-D), against references (smc 8000 particles at
#: log Z error 0.002 and nautilus 3000 live points, which agree within 0.015): every log Z within 0.030 (fast) and
#: 0.012 (full) of the reference, k-hat <= 0.49, 95% HPD ends within the references' spread, 1.5-25x faster than
#: nautilus on all but the slow-likelihood measured-combined-solar-tau (its [fit] sampler keeps nautilus). In 8-D
#: (measured-csi-dresden-4p) 6 of 20 smc runs retried with ESS/draws down to 0.006: nautilus from 8-D on; in
#: 12-D (future-combined, nuisances sampled) smc's importance stage failed (k-hat 0.67-1.04).
SMC_MAX_DIM = 7


def min_live_points(backend: str, n_dim: int) -> int:
    """Fewest live points (particles for ``smc``) a backend is allowed in ``n_dim`` dimensions.

    Measured (docs/sampling.md, "Smallest safe n_live"), 2-, 4-, 8- and 12-D: nautilus with 5-20
    live points in 4-D did not finish in 100 s (58 MB checkpoints; the issue saw minutes and 65 MB),
    30-100 finished (future-combined: 30-131 s), in 8-D 30 did not, 40-80 did; dynesty with 5-12 in
    4-D did not finish in 60 s, 14-16 took 30-55 s, 20 took 5 s; UltraNest asserts at least 40 (its
    ``cluster_num_live_points``). So max(50, 10 d) for the nested samplers. ``smc``: the mixture needs 2 (d + 1) particles per
    component, and below 100 particles the temperature steps are decided by a handful of points.
    """
    if backend in ("nautilus", "dynesty", "ultranest"):
        return max(50, 10 * n_dim)
    return max(100, 20 * (n_dim + 1))  # smc


def points_phrase(sampler: str, n_live: int) -> str:
    """``"1500 live points"`` for the nested samplers, ``"2000 particles"`` for ``smc``."""
    return f"{n_live} particles" if sampler == "smc" else f"{n_live} live points"


def sampler_presets(sampler: str, fast: bool) -> dict:
    """Particles/live points and tolerance of one backend: ``{"sampler", "n_live", "tolerance"}``.

    Nested samplers: the paper's MultiNest settings (1500 live points, dlogz 0.1; arXiv:1711.03521
    sec. IV), quick look 300 and 0.5. ``smc``: 2000 particles and a log Z error target of 0.005,
    quick look 1000 and 0.02 (measured, docs/sampling.md).
    """
    if sampler == "smc":
        return {"sampler": "smc", "n_live": 1000 if fast else 2000, "tolerance": 0.02 if fast else 0.005}
    return {"sampler": sampler, "n_live": 300 if fast else 1500, "tolerance": 0.5 if fast else 0.1}


def default_sampler_settings(n_dim: int, nuisances_sampled: bool, fast: bool, sampler: str | None = None,
                             preferred: str | None = None) -> dict:
    """The measured default sampler for a fit: ``{"sampler", "n_live", "tolerance"}``.

    ``sampler`` given (the user's choice): that backend with its own presets (:func:`sampler_presets`).
    ``preferred`` (a scenario's ``[fit] sampler``): that backend where it can run the fit (not nautilus in
    1-D, e.g. a one-coupling model derived from a nautilus scenario), else the rule below.

    Measured on the seven reproduction fits (docs/sampling.md): with the nuisances
    marginalized (2-4 couplings), ``smc`` with 2000 particles and a log Z error target of
    0.005 matched high-accuracy references within 0.013 on every fit and seed (10 seeds), the
    ee mode weights within 0.007 of 0.5, 12-50x faster than nautilus with 1500 live points
    (0.2-3.4 s per fit); ``fast`` (1000 particles, target 0.02): within 0.03, 0.2-1.6 s. The same
    up to ``SMC_MAX_DIM`` = 7 sampled parameters (the measured releases' couplings with their free
    normalisations and shapes, seeds 1-10, within 0.030 of references). With the nuisances sampled
    (8-12 dimensions) or in 8-D and more, nautilus: smc's importance stage failed its k-hat check in
    12-D (0.67-1.04) and retried in 6 of 20 runs in 8-D. A scenario's ``[fit] sampler`` overrides the
    rule (measured-combined-solar-tau: nautilus, whose fewer calls win at 1-2 ms per call). nautilus cannot sample one parameter ("Cannot run Nautilus with
    less than 2 parameters"): dynesty takes the 1-D fits it would otherwise get.
    """
    if sampler is not None:
        return sampler_presets(sampler, fast)
    if preferred is not None and not (preferred == "nautilus" and n_dim < 2):
        return sampler_presets(preferred, fast)
    if not nuisances_sampled and n_dim <= SMC_MAX_DIM:
        return sampler_presets("smc", fast)
    return sampler_presets("nautilus" if n_dim >= 2 else "dynesty", fast)


# -- the entry point ------------------------------------------------------------------------------------

def min_dimensions(backend: str) -> int:
    """The fewest sampled parameters ``backend`` runs on: nautilus 2 ("Cannot run Nautilus with less than 2
    parameters"), the others 1."""
    return 2 if backend == "nautilus" else 1


def _validate(backend: str, ndim: int, n_live: int, tolerance: float, seed: int) -> None:
    if backend not in SAMPLERS:
        raise ConfigError(f"unknown sampler {backend!r}; choose one of {', '.join(SAMPLERS)}")
    if isinstance(n_live, bool) or not isinstance(n_live, (int, np.integer)):
        raise ConfigError(f"n_live must be an integer, got {n_live!r}", field="n_live")
    if ndim < min_dimensions(backend):
        raise ConfigError(f"{backend} needs at least {min_dimensions(backend)} free parameters, got {ndim}; use sampler smc "
                          "or dynesty", field="sampler")
    need = min_live_points(backend, ndim)
    if n_live < need:
        raise ConfigError(f"n_live {n_live} is too small for {backend} with {ndim} free parameters: need at least {need}", field="n_live")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)) \
            or not math.isfinite(tolerance) or tolerance <= 0:
        raise ConfigError(f"tolerance must be a finite number > 0, got {tolerance!r}", field="tolerance")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}", field="seed")


def _backend_options(backend: str, n_live: int, tolerance: float, options: Mapping | None) -> dict:
    """Check the backend-specific options before any likelihood call; smc's become its settings."""
    options = dict(options or {})
    if backend == "smc":
        from ..smc import SMCSettings

        try:
            return {"settings": SMCSettings(**{"n_particles": n_live, "target_error": tolerance} | options)}
        except TypeError as err:
            raise ConfigError(f"unknown smc option: {err}") from None
        except ValueError as err:
            raise ConfigError(str(err)) from None
    allowed = {"dynesty": {"checkpoint_every"}}.get(backend, set())
    if set(options) - allowed:
        raise ConfigError(f"unknown {backend} option(s): {', '.join(sorted(set(options) - allowed))}")
    return options


def run_sampler(
    backend: str,
    names: list[str],
    prior_transform: Callable[[np.ndarray], np.ndarray],
    log_likelihood: Callable[[np.ndarray], np.ndarray],
    *,
    n_live: int = 1500,
    tolerance: float = 0.1,
    seed: int = 0,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    verbose: bool = True,
    pool=None,  # noqa: ANN001 - an MPI/multiprocessing pool (nautilus, smc)
    label: str | None = None,
    options: Mapping | None = None,
) -> SamplerOutput:
    """Run one sampling backend.

    Parameters
    ----------
    n_live : int
        Live points (paper: 1500, as its MultiNest runs); for ``smc`` the number of particles.
        At least :func:`min_live_points`.
    tolerance : float
        Nested samplers: stopping criterion on the remaining log-evidence (dlogz; paper 0.1);
        for nautilus the remaining-evidence fraction f_live = tolerance/10. ``smc``: the
        standard error of log Z its importance stage draws down to.
    seed : int
        Random seed in [0, 2**32 - 1]; the same seed gives the same samples.
    label : str, optional
        Prefix of the progress lines (e.g. the scenario name).
    options : mapping, optional
        Backend settings beyond these: for ``smc`` any field of :class:`cevns.inference.smc.SMCSettings`;
        for ``dynesty`` ``checkpoint_every`` (seconds between checkpoints, default 60).
    """
    ndim = len(names)
    _validate(backend, ndim, n_live, tolerance, seed)
    n_live, seed, tolerance = int(n_live), int(seed), float(tolerance)
    options = _backend_options(backend, n_live, tolerance, options)
    rng = np.random.default_rng(seed)
    check_likelihood(prior_transform, log_likelihood, ndim, rng)
    mode = "off" if not verbose else ("native" if _stderr_is_terminal() else "lines")
    progress = Progress(backend, label, enabled=mode == "lines" or (backend == "smc" and mode == "native"))
    start = time.perf_counter()
    with _stdout_to_stderr(mode == "native"):
        if backend == "nautilus":
            out = _run_nautilus(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, pool,
                                progress)
        elif backend == "ultranest":
            out = _run_ultranest(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, progress)
        elif backend == "dynesty":
            out = _run_dynesty(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, progress,
                               **options)
        else:
            out = _run_smc(names, prior_transform, log_likelihood, options["settings"], seed, checkpoint_dir, resume, pool, progress)
    out.wall_seconds = time.perf_counter() - start  # every backend reports its own likelihood-call count
    out.stats = json_safe(out.stats)
    return out


