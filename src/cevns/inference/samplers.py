"""Nested samplers behind one small interface (SPEC S5).

``run_sampler(backend, names, prior_transform, log_likelihood, ...)`` takes a
vectorized prior transform (unit cube (n, d) -> parameters (n, d)) and a
batched log-likelihood ((n, d) -> (n,)), and returns a :class:`SamplerOutput`.
Each backend is a thin adapter:

* ``nautilus`` (default): neural-network boosted importance nested sampling,
  vectorized (Lange, MNRAS 525 (2023) 3181).
* ``ultranest``: MLFriends region sampling (Buchner, JOSS 6 (2021) 3001); a
  slice step sampler is switched on above 8 dimensions, where rejection
  sampling from the region stalls.
* ``dynesty``: multi-ellipsoid bounds, the MultiNest algorithm
  (Speagle, MNRAS 493 (2020) 3132).

Before any run, a few prior draws are evaluated and checked for shape and
finiteness (as UltraNest's ``_check_likelihood_function`` does).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError

SAMPLERS = ("nautilus", "ultranest", "dynesty")
DEFAULT_SAMPLER = "nautilus"
#: UltraNest's documentation recommends a step sampler above ~8 dimensions.
ULTRANEST_SLICE_ABOVE_DIM = 8
#: nautilus settings, measured on `future-combined` (docs/inference.md). 4-D (nuisances
#: marginalized, 1500 live points, one core): the sampler's own work (network training,
#: ellipsoid fits) is ~96% of the run, the likelihood ~4%; one network instead of nautilus'
#: default ensemble of 4 cuts the run from 145 s to 58-68 s with the same log Z (within
#: 0.03) and the same 95% HPD sets (within one histogram bin). 12-D (nuisances sampled,
#: 300 live points): one network stalled (> 5 min in one bound), four finished in 460 s;
#: so one network up to NAUTILUS_FEW_NETWORKS_MAX_DIM dimensions, nautilus' 4 above.
#: Batches of 1000 points (default 100) cut the per-batch overhead of network predictions.
NAUTILUS_NETWORKS_LOW_DIM = 1
NAUTILUS_NETWORKS_HIGH_DIM = 4
NAUTILUS_FEW_NETWORKS_MAX_DIM = 6
NAUTILUS_BATCH = 1000


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


def check_likelihood(prior_transform: Callable, log_likelihood: Callable, ndim: int, rng: np.random.Generator) -> None:
    """Evaluate a few prior draws; raise a readable error on wrong shape or non-finite values."""
    cube = rng.uniform(size=(8, ndim))
    params = prior_transform(cube)
    if params.shape != (8, ndim):
        raise ConfigError(f"prior transform returned shape {params.shape}, expected (8, {ndim})")
    values = log_likelihood(params)
    if np.shape(values) != (8,):
        raise ConfigError(f"log-likelihood returned shape {np.shape(values)}, expected (8,)")
    if np.any(np.isnan(values)) or np.any(values == np.inf):
        raise ConfigError(f"log-likelihood is NaN or +inf at prior draws: {values}")


def _normalize(log_w: np.ndarray) -> np.ndarray:
    log_w = np.asarray(log_w, dtype=float)
    return log_w - np.logaddexp.reduce(log_w)


def _batch_or_single(fn: Callable) -> Callable:
    """Let a batched log-likelihood also take one point (dynesty passes a 1-D array, gets a float)."""

    def wrapped(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        values = fn(np.atleast_2d(x))
        return values[0] if x.ndim == 1 else values

    return wrapped


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
    pool=None,  # noqa: ANN001 - an MPI/multiprocessing pool for nautilus
) -> SamplerOutput:
    """Run one nested-sampling backend.

    Parameters
    ----------
    n_live : int
        Live points (paper: 1500, as its MultiNest runs).
    tolerance : float
        Stopping criterion on the remaining log-evidence (dlogz; paper 0.1).
        For nautilus it is the remaining-evidence fraction f_live = tolerance/10.
    seed : int
        Random seed; the same seed gives the same samples.
    """
    if backend not in SAMPLERS:
        raise ConfigError(f"unknown sampler {backend!r}; choose one of {', '.join(SAMPLERS)}")
    ndim = len(names)
    if n_live < ndim + 1:
        raise ConfigError(f"--nlive {n_live} is too small: need at least {ndim + 1} (free parameters + 1)")
    rng = np.random.default_rng(seed)
    check_likelihood(prior_transform, log_likelihood, ndim, rng)
    loglike = _batch_or_single(log_likelihood)
    start = time.perf_counter()
    if backend == "nautilus":
        out = _run_nautilus(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose, pool)
    elif backend == "ultranest":
        out = _run_ultranest(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose)
    else:
        out = _run_dynesty(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose)
    out.wall_seconds = time.perf_counter() - start  # every backend reports its own likelihood-call count
    return out


def _run_nautilus(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose, pool):  # noqa: ANN001
    from nautilus import Sampler

    filepath = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "nautilus_checkpoint.hdf5")
    if filepath is not None and not resume:
        Path(filepath).unlink(missing_ok=True)
    sampler = Sampler(
        lambda cube: prior_transform(np.atleast_2d(cube)), loglike, n_dim=len(names), n_live=n_live,
        vectorized=True, pass_dict=False, seed=seed, filepath=filepath, resume=resume,
        pool=None if pool is None else (pool, None),  # the pool evaluates likelihood chunks only
        n_networks=NAUTILUS_NETWORKS_LOW_DIM if len(names) <= NAUTILUS_FEW_NETWORKS_MAX_DIM else NAUTILUS_NETWORKS_HIGH_DIM,
        n_batch=NAUTILUS_BATCH,
    )
    # effective sample size target scales with the live points (nautilus default 10000)
    sampler.run(f_live=tolerance / 10.0, n_eff=max(1000, 4 * n_live), discard_exploration=True, verbose=verbose)
    points, log_w, log_l = sampler.posterior()
    # nautilus' evidence uncertainty: its estimator's relative error ~ 1/sqrt(n_eff)
    n_eff = float(sampler.n_eff)
    # nautilus counts every call, including chunks evaluated by other MPI ranks
    return SamplerOutput(points, _normalize(log_w), log_l, float(sampler.log_z), 1.0 / np.sqrt(max(n_eff, 1.0)), int(sampler.n_like), 0.0,
                         {"n_eff": n_eff, "n_live": n_live, "backend": "nautilus"})


def _run_ultranest(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose):  # noqa: ANN001
    import logging

    import ultranest
    import ultranest.stepsampler

    logging.getLogger("ultranest").setLevel(logging.WARNING)
    np.random.seed(seed)  # UltraNest draws from numpy's global generator
    log_dir = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "ultranest")
    sampler = ultranest.ReactiveNestedSampler(
        list(names), loglike, lambda cube: prior_transform(np.atleast_2d(cube)), vectorized=True,
        log_dir=log_dir, resume="resume" if resume else "overwrite",
    )
    if len(names) > ULTRANEST_SLICE_ABOVE_DIM:
        sampler.stepsampler = ultranest.stepsampler.SliceSampler(
            nsteps=2 * len(names), generate_direction=ultranest.stepsampler.generate_mixture_random_direction,
        )
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with sink:
        result = sampler.run(min_num_live_points=n_live, dlogz=tolerance, show_status=verbose, viz_callback=False)
    weighted = result["weighted_samples"]
    log_w = np.log(np.maximum(weighted["weights"], 1e-300))
    return SamplerOutput(np.asarray(weighted["points"]), _normalize(log_w), np.asarray(weighted["logl"]),
                         float(result["logz"]), float(result["logzerr"]), int(result["ncall"]), 0.0,
                         {"n_live": n_live, "backend": "ultranest", "niter": int(result.get("niter", 0))})


def _run_dynesty(names, prior_transform, loglike, n_live, tolerance, seed, checkpoint_dir, resume, verbose):  # noqa: ANN001
    import dynesty

    checkpoint = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "dynesty_checkpoint.save")
    if resume and checkpoint and Path(checkpoint).exists():
        sampler = dynesty.NestedSampler.restore(checkpoint)
        sampler.run_nested(resume=True, dlogz=tolerance, checkpoint_file=checkpoint, print_progress=verbose)
    else:
        sampler = dynesty.NestedSampler(
            loglike, lambda u: prior_transform(np.atleast_2d(u))[0], len(names), nlive=n_live,
            bound="multi", sample="unif", rstate=np.random.default_rng(seed),
        )
        sampler.run_nested(dlogz=tolerance, checkpoint_file=checkpoint, print_progress=verbose)
    res = sampler.results
    return SamplerOutput(np.asarray(res.samples), _normalize(res.logwt), np.asarray(res.logl),
                         float(res.logz[-1]), float(res.logzerr[-1]), int(np.sum(res.ncall)), 0.0,
                         {"n_live": n_live, "backend": "dynesty", "niter": int(res.niter)})
