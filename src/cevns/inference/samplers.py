"""Samplers behind one small interface (SPEC S5).

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

import contextlib
import dataclasses
import io
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io import json_safe
from .results import SamplerOutput
from .smc import effective_sample_size

SAMPLERS = ("nautilus", "ultranest", "dynesty", "smc")
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
#: Largest seed every backend accepts: UltraNest seeds numpy's legacy global generator,
#: which takes 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1
#: Progress lines (stderr not a terminal): at most one per this many seconds within a stage.
PROGRESS_MIN_SECONDS = 2.0
#: Largest dimension for which ``smc`` is the default: measured on the 2- and 4-D reproduction fits
#: (docs/sampling.md); in 12-D (future-combined, nuisances sampled) its importance stage failed (k-hat 0.67-1.04).
SMC_MAX_DIM = 4


class SamplerWarning(UserWarning):
    """A finished run whose own diagnostics failed: its log Z and posterior may be wrong."""


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


def default_sampler_settings(n_dim: int, nuisances_sampled: bool, fast: bool, sampler: str | None = None) -> dict:
    """The measured default sampler for a fit: ``{"sampler", "n_live", "tolerance"}``.

    ``sampler`` given: that backend with its own presets (:func:`sampler_presets`).

    Measured on the seven reproduction fits (docs/sampling.md): with the nuisances
    marginalized (2-4 couplings), ``smc`` with 2000 particles and a log Z error target of
    0.005 matched high-accuracy references within 0.013 on every fit and seed (10 seeds), the
    ee mode weights within 0.007 of 0.5, 12-50x faster than nautilus with 1500 live points
    (0.2-3.4 s per fit); ``fast`` (1000 particles, target 0.02): within 0.03, 0.2-1.6 s. With
    the nuisances sampled (8-12 dimensions) nautilus stays: smc's importance stage failed its
    k-hat check in 12-D (0.67-1.04). nautilus cannot sample one parameter ("Cannot run Nautilus with
    less than 2 parameters"): dynesty takes the 1-D fits it would otherwise get.
    """
    if sampler is not None:
        return sampler_presets(sampler, fast)
    if not nuisances_sampled and n_dim <= SMC_MAX_DIM:
        return sampler_presets("smc", fast)
    return sampler_presets("nautilus" if n_dim >= 2 else "dynesty", fast)


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


# -- picklable wrappers (dynesty checkpoints pickle the sampler with its callables) ----------------

class BatchOrSingle:
    """A batched log-likelihood that also takes one point (dynesty passes a 1-D array and wants a float)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, x: np.ndarray) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        values = self.fn(np.atleast_2d(x))
        return float(np.reshape(values, -1)[0]) if x.ndim == 1 else values


class BatchedPrior:
    """A vectorized prior transform that also takes one unit-cube point (returns a 2-D array)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        return self.fn(np.atleast_2d(cube))


class SinglePrior:
    """One unit-cube point (d,) -> parameters (d,) from a vectorized prior transform (dynesty)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return self.fn(np.atleast_2d(u))[0]


# -- output and progress ------------------------------------------------------------------------------

class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _stdout_to_stderr(show: bool) -> Iterator[None]:
    """Nothing a backend prints reaches stdout: to stderr when ``show``, otherwise discarded."""
    with contextlib.redirect_stdout(sys.stderr if show else _Discard()):
        yield


class _CurrentStderr(logging.Handler):
    """Logging handler writing to whatever ``sys.stderr`` is at the time (pytest swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must not break a run
            self.handleError(record)


def _configure_ultranest_logger(verbose: bool) -> None:
    """UltraNest attaches a stdout handler to its logger on first use (and sets it to DEBUG): put one
    stderr handler there first (UltraNest then adds none) and drop any stream handler it made before."""
    logger = logging.getLogger("ultranest")
    for handler in list(logger.handlers):
        if type(handler) is logging.StreamHandler:  # FileHandlers (debug.log) are subclasses: kept
            logger.removeHandler(handler)
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("[ultranest] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


class Progress:
    """Readable progress lines on stderr, for logs: at most one line per stage and PROGRESS_MIN_SECONDS,
    ``[label] backend stage: detail; 12 s elapsed, about 30 s left``.

    The time left is extrapolated linearly from the recent course of a progress measure
    towards its target (log beta -> 0 for smc, log f_live for nautilus' exploration, n_eff for
    its sampling, log of the remaining evidence for dynesty and UltraNest).
    """

    def __init__(self, backend: str, label: str | None = None, enabled: bool = True) -> None:
        self.prefix = f"[{label}] {backend}" if label else f"[{backend}]"
        self.enabled = enabled
        self.start = time.perf_counter()
        self.stage: str | None = None
        self.last = -math.inf
        self.history: list[tuple[float, float]] = []

    def __call__(self, stage: str, text: str, measure: float | None = None, target: float | None = None,
                 force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter() - self.start
        if stage != self.stage:
            self.history = []
        if measure is not None and math.isfinite(measure):
            self.history.append((now, measure))
            self.history = self.history[-8:]
        if not force and stage == self.stage and now - self.last < PROGRESS_MIN_SECONDS:
            return
        self.stage, self.last = stage, now
        left = self._time_left(target)
        tail = f"{now:.0f} s elapsed" + ("" if left is None else f", about {left:.0f} s left")
        sys.stderr.write(f"{self.prefix} {stage}: {text}; {tail}\n")
        sys.stderr.flush()

    def _time_left(self, target: float | None) -> float | None:
        if target is None or len(self.history) < 3:
            return None
        (t0, m0), (t1, m1) = self.history[0], self.history[-1]
        if t1 <= t0 or m1 == m0:
            return None
        left = (target - m1) * (t1 - t0) / (m1 - m0)
        # moving away from the target, or barely moving yet (early nautilus bounds): no estimate
        return left if 0 <= left <= 100 * t1 else None


# -- the entry point ------------------------------------------------------------------------------------

def _validate(backend: str, ndim: int, n_live: int, tolerance: float, seed: int) -> None:
    if backend not in SAMPLERS:
        raise ConfigError(f"unknown sampler {backend!r}; choose one of {', '.join(SAMPLERS)}")
    if isinstance(n_live, bool) or not isinstance(n_live, (int, np.integer)):
        raise ConfigError(f"n_live must be an integer, got {n_live!r}", field="n_live")
    if backend == "nautilus" and ndim < 2:
        raise ConfigError(f"nautilus needs at least 2 free parameters, got {ndim}; use sampler smc or dynesty", field="sampler")
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
        from .smc import SMCSettings

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


def _run_nautilus(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, pool,  # noqa: ANN001
                  progress):  # noqa: ANN001
    from nautilus import Sampler

    filepath = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "nautilus_checkpoint.hdf5")
    if filepath is not None and not resume:
        Path(filepath).unlink(missing_ok=True)
    sampler = Sampler(
        BatchedPrior(prior_transform), BatchOrSingle(log_likelihood), n_dim=len(names), n_live=n_live,
        vectorized=True, pass_dict=False, seed=seed, filepath=filepath, resume=resume,
        pool=None if pool is None else (pool, None),  # the pool evaluates likelihood chunks only
        n_networks=NAUTILUS_NETWORKS_LOW_DIM if len(names) <= NAUTILUS_FEW_NETWORKS_MAX_DIM else NAUTILUS_NETWORKS_HIGH_DIM,
        n_batch=NAUTILUS_BATCH,
    )
    f_live, n_eff_target = tolerance / 10.0, max(1000, 4 * n_live)  # n_eff: scales with the live points (nautilus: 10000)
    if mode == "lines":
        sampler.print_status = _nautilus_status(sampler, progress, f_live, n_eff_target)  # replaces its table
    sampler.run(f_live=f_live, n_eff=n_eff_target, discard_exploration=True, verbose=mode != "off")
    points, log_w, log_l = sampler.posterior()
    # nautilus' evidence uncertainty: its estimator's relative error ~ 1/sqrt(n_eff)
    n_eff = float(sampler.n_eff)
    # nautilus counts every call, including chunks evaluated by other MPI ranks
    return SamplerOutput(points, _normalize(log_w), log_l, float(sampler.log_z), 1.0 / np.sqrt(max(n_eff, 1.0)), int(sampler.n_like), 0.0,
                         {"n_eff": n_eff, "ess": effective_sample_size(log_w), "n_live": n_live, "backend": "nautilus"})


def _nautilus_status(sampler, progress: Progress, f_live_target: float, n_eff_target: float) -> Callable:  # noqa: ANN001
    """A stand-in for nautilus' ``print_status``: one line per new bound while exploring, then per n_eff step."""
    seen = {"bounds": 0}

    def status(status: str = "", header: bool = False, end: str = "\n") -> None:  # noqa: ARG001 - nautilus' signature
        if header:
            return
        n_bounds = len(sampler.bounds)
        done = status in ("Finished", "Stopped")
        if not sampler.explored:
            f_live = sampler.f_live if sampler.f_live is not None else 1.0
            new_bound = n_bounds > seen["bounds"]
            seen["bounds"] = n_bounds
            progress("exploring", f"bound {n_bounds}, {sampler.n_like} calls, live-evidence fraction {f_live:.3g} "
                     f"(stops at {f_live_target:.3g})", math.log(max(f_live, 1e-300)), math.log(f_live_target), force=new_bound)
        else:
            n_eff, log_z = sampler.n_eff or 0.0, sampler.log_z
            progress("sampling", f"{sampler.n_like} calls, n_eff {n_eff:.0f} of {n_eff_target:.0f}"
                     + ("" if log_z is None else f", log Z {log_z:.3f}"), float(n_eff), float(n_eff_target), force=done)

    return status


def _ultranest_births(sampler, saved_nodeids: list[int]) -> np.ndarray:  # noqa: ANN001
    """Birth contour of each dead point: the log-likelihood of its parent in UltraNest's tree (root: -inf)."""
    parent_value: dict[int, float] = {}
    stack = [(sampler.root, -np.inf)]
    while stack:
        node, _ = stack.pop()
        for child in node.children:
            parent_value[child.id] = -np.inf if node is sampler.root else float(node.value)
            stack.append((child, None))
    return np.array([parent_value.get(i, -np.inf) for i in saved_nodeids])


def _run_ultranest(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, progress):  # noqa: ANN001
    import ultranest
    import ultranest.stepsampler

    _configure_ultranest_logger(mode != "off")
    np.random.seed(seed)  # UltraNest draws from numpy's global generator
    log_dir = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "ultranest")
    sampler = ultranest.ReactiveNestedSampler(
        list(names), BatchOrSingle(log_likelihood), BatchedPrior(prior_transform), vectorized=True,
        log_dir=log_dir, resume="resume" if resume else "overwrite",
    )
    if len(names) > ULTRANEST_SLICE_ABOVE_DIM:
        sampler.stepsampler = ultranest.stepsampler.SliceSampler(
            nsteps=2 * len(names), generate_direction=ultranest.stepsampler.generate_mixture_random_direction,
        )
    captured: dict = {}
    update_results = sampler._update_results

    def keep_node_ids(main_iterator, saved_logl, saved_nodeids):  # noqa: ANN001, ANN202
        captured["nodeids"] = list(saved_nodeids)
        return update_results(main_iterator, saved_logl, saved_nodeids)

    sampler._update_results = keep_node_ids  # the dead points' tree nodes give their birth contours

    def status(points, info, region, transformLayer, region_fresh=False):  # noqa: ANN001, ANN202, ARG001, N803
        remaining = float(np.logaddexp(info["logz"], info["logz_remain"]) - info["logz"]) if np.isfinite(info["logz"]) else math.inf
        text = f"remaining {remaining:.3g}" if remaining < 1e6 else "remaining large"
        progress("sampling", f"{info['ncall']} calls, log Z {info['logz']:.3f}, {text} (stops at {tolerance:g})",
                 math.log(remaining) if 0 < remaining < math.inf else None, math.log(tolerance))

    result = sampler.run(min_num_live_points=n_live, dlogz=tolerance, show_status=mode == "native",
                         viz_callback=status if mode == "lines" else False)
    weighted = result["weighted_samples"]
    log_w = np.log(np.maximum(weighted["weights"], 1e-300))
    births = _ultranest_births(sampler, captured["nodeids"]) if len(captured.get("nodeids", [])) == len(log_w) else None
    return SamplerOutput(np.asarray(weighted["points"]), _normalize(log_w), np.asarray(weighted["logl"]),
                         float(result["logz"]), float(result["logzerr"]), int(result["ncall"]), 0.0,
                         {"n_live": n_live, "backend": "ultranest", "niter": int(result.get("niter", 0)), "ess": effective_sample_size(log_w)},
                         log_likelihood_birth=births)


def _run_dynesty(names, prior_transform, log_likelihood, n_live, tolerance, seed, checkpoint_dir, resume, mode, progress,  # noqa: ANN001
                 checkpoint_every: float = 60.0):  # noqa: ANN001
    import dynesty

    loglike, prior = BatchOrSingle(log_likelihood), SinglePrior(prior_transform)
    checkpoint = None if checkpoint_dir is None else str(Path(checkpoint_dir) / "dynesty_checkpoint.save")

    def status(results, niter, ncall, dlogz=None, **_):  # noqa: ANN001, ANN202 - dynesty's print_func
        delta = float(results.delta_logz)
        remaining = f"remaining {delta:.3g}" if delta < 1e6 else "remaining large"
        progress("sampling", f"iteration {niter}, {ncall} calls, log Z {results.logz:.3f}, {remaining} (stops at {tolerance:g})",
                 math.log(delta) if 0 < delta < 1e6 else None, math.log(tolerance))

    run_kwargs = {"dlogz": tolerance, "checkpoint_file": checkpoint, "checkpoint_every": checkpoint_every,
                  "print_progress": mode != "off"}
    if mode == "lines":
        run_kwargs["print_func"] = status
    if resume and checkpoint and Path(checkpoint).exists():
        sampler = dynesty.NestedSampler.restore(checkpoint)
        # continue with the callables given now (the pickled ones are equivalent, these are current)
        sampler.loglikelihood.loglikelihood = loglike
        sampler.prior_transform = prior
        sampler.run_nested(resume=True, **run_kwargs)
    else:
        sampler = dynesty.NestedSampler(
            loglike, prior, len(names), nlive=n_live, bound="multi", sample="unif", rstate=np.random.default_rng(seed),
        )
        sampler.run_nested(**run_kwargs)
    res = sampler.results
    logl = np.asarray(res.logl)
    born_at = np.asarray(res.samples_it)
    # a point born at iteration i replaced the i-th dead point (dynesty counts from 1): its contour
    births = np.where(born_at > 0, logl[np.clip(born_at - 1, 0, len(logl) - 1)], -np.inf)
    return SamplerOutput(np.asarray(res.samples), _normalize(res.logwt), logl,
                         float(res.logz[-1]), float(res.logzerr[-1]), int(np.sum(res.ncall)), 0.0,
                         {"n_live": n_live, "backend": "dynesty", "niter": int(res.niter), "ess": effective_sample_size(np.asarray(res.logwt))},
                         log_likelihood_birth=births)


def _run_smc(names, prior_transform, log_likelihood, settings, seed, checkpoint_dir, resume, pool, progress) -> SamplerOutput:  # noqa: ANN001
    from .smc import run_smc

    n_live = settings.n_particles
    key = {"names": list(names), "seed": seed, "settings": settings.__dict__}
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / "smc_result.npz"
    if resume and path is not None and path.exists():
        saved = _load_smc(path, key)
        if saved is not None:
            return saved

    def report(stage: str, fraction: float | None, text: str, elapsed: float) -> None:  # noqa: ARG001
        if stage == "tempering":
            progress(stage, text, math.log(fraction), 0.0, force=fraction >= 1.0)
        else:
            progress(stage, text, fraction, 1.0 if fraction is not None else None, force=stage == "retry")

    result = run_smc(prior_transform, log_likelihood, len(names), settings, seed=seed, pool=pool, progress=report)
    stats = dict(result.stats, backend="smc", n_live=n_live)
    if not stats["reliable"]:
        message = (f"smc diagnostics failed after {stats['attempts']} attempts (Pareto k-hat {stats['khat']:.2f} with the "
                   f"largest weight {stats['max_weight_ratio']:.3g}x the mean, must be <= 0.5 or <= 5x; halves of the draws "
                   f"differ by {stats['split_difference_sigmas']:.1f} sigma, must be <= 4): log Z and the posterior may be "
                   f"wrong; rerun with more particles (a larger n_live)")
        stats["warning"] = message
        warnings.warn(message, SamplerWarning, stacklevel=3)
    out = dataclasses.replace(result, stats=stats)
    if path is not None:
        _save_smc(path, key, out)
    return out


def _save_smc(path: Path, key: dict, out: SamplerOutput) -> None:
    """The finished smc run (it has no intermediate state worth resuming), written atomically."""
    tmp = path.with_name(path.name + ".tmp.npz")
    meta = json.dumps({"key": key, "log_evidence": out.log_evidence, "log_evidence_err": out.log_evidence_err,
                       "n_likelihood_calls": out.n_likelihood_calls, "stats": json_safe(out.stats)})
    np.savez(tmp, samples=out.samples, log_weights=out.log_weights, log_likelihood=out.log_likelihood, meta=np.array(meta))
    os.replace(tmp, path)


def _load_smc(path: Path, key: dict) -> SamplerOutput | None:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        if meta["key"] != json.loads(json.dumps(key)):
            return None  # another run's result: sample afresh
        return SamplerOutput(data["samples"], data["log_weights"], data["log_likelihood"], meta["log_evidence"],
                             meta["log_evidence_err"], meta["n_likelihood_calls"], 0.0, dict(meta["stats"], resumed=True))
