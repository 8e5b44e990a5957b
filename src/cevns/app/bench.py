"""Likelihood speed: kernel algebra versus naive integration (``cevns bench``)."""

from __future__ import annotations

import time

import numpy as np

from ..model import Model
from ..physics.couplings import NSI_NAMES, N_NSI
from .tasks import one_blas_thread


def _rates(fn, n_per_call: int, seconds: float) -> tuple[float, float]:  # noqa: ANN001
    """(best, median) evaluations per second over repeated calls for ``seconds``.

    The best call is the speed of the code (the timeit convention: slower calls are other processes
    interfering, docs.python.org/3/library/timeit.html); the median shows what a loaded machine gives.
    """
    fn()  # warm-up
    rates, start = [], time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        rates.append(n_per_call / (t1 - t0))
        if t1 - start >= seconds:
            return max(rates), float(np.median(rates))


def _rate(fn, n_per_call: int, seconds: float) -> float:  # noqa: ANN001
    return _rates(fn, n_per_call, seconds)[0]


def benchmark_likelihood(scenario, batch: int = 10000, seconds: float = 2.0, seed: int = 0) -> dict:  # noqa: ANN001
    """Evaluations per second on one core (BLAS limited to one thread where threadpoolctl is present): the
    best of repeated batches, and their median (:func:`_rates`)."""
    with one_blas_thread():
        model = Model.from_scenario(scenario)
        data = model.observed() if scenario.config.fit.data == "observed" else model.asimov()
        rng = np.random.default_rng(seed)
        params = model.prior_transform(rng.uniform(size=(batch, len(model.parameter_names))), "sampled")
        sampled, sampled_median = _rates(lambda: model.log_likelihood(params, data), batch, seconds)
        free = params[: max(1, batch // 10), model.free_indices]
        # the same points every call: the modes the last call remembered are forgotten first, or a call would only
        # confirm them (one Newton evaluation per point instead of ~4, model/newton.py); each call is a first one
        def marginal_rates(guide: bool) -> tuple[float, float]:
            return _rates(lambda: (model.forget_modes(), model.log_marginal_likelihood(free, data, guide)), len(free), seconds)

        marginal, marginal_median = marginal_rates(False)
        # the cheaper approximation smc tempers on (cevns.model.laplace.GUIDE_DECREMENT_TOLERANCE), where there is one
        guide, guide_median = marginal_rates(True) if model.has_guide() else (None, None)

        def naive_one() -> float:
            # the pyCEvNS way: integrate flux x cross section for every evaluation
            eps = np.zeros(N_NSI)
            for j in model.coupling_indices:
                name = model.parameter_names[j]
                if name in NSI_NAMES:
                    eps[NSI_NAMES.index(name)] = params[0, j]
            lam = np.concatenate([m.experiment.direct_signal(eps).sum(axis=1) + m.background for m in scenario.experiments])
            return float(np.sum(data * np.log(lam) - lam))

        # the naive path integrates [[experiments]]; data-release channels have no such reference
        naive = _rate(naive_one, 1, seconds) if scenario.experiments and not scenario.config.datasets else None
    return {
        "scenario": scenario.name,
        "n_parameters": len(model.parameter_names),
        "n_bins": int(model.n_bins),
        "batch": batch,
        "likelihood_evals_per_second": sampled,
        "likelihood_evals_per_second_median": sampled_median,
        "marginalized_evals_per_second": marginal,
        "marginalized_evals_per_second_median": marginal_median,
        "guide_evals_per_second": guide,
        "guide_evals_per_second_median": guide_median,
        "naive_evals_per_second": naive,
        "speedup": sampled / naive if naive else None,
    }


def benchmark_fit(scenario, seed: int = 0) -> dict:  # noqa: ANN001
    """One fit of ``scenario`` with its default sampler (the settings ``cevns fit`` would use), in memory.

    Returns the sampler and its particles/live points, the fit's wall time, the likelihood calls
    and log Z with the run's diagnostics: the sampler time per fit that ``cevns bench`` quotes
    beside the likelihood speed (docs/sampling.md).
    """
    from ..inference.fitting import fit
    from .runs import FitSettings

    with one_blas_thread():
        model = Model.from_scenario(scenario)
        config = scenario.config.fit
        data = model.observed() if config.data == "observed" else model.asimov(config.asimov_truth or None)
        start = time.perf_counter()
        settings = FitSettings(seed=seed).resolved(scenario, len(model.sampled_names(config.nuisances)))  # as cevns fit
        result = fit(model, data, sampler=settings["sampler"], nuisances=config.nuisances, n_live=settings["nlive"],
                     tolerance=settings["tolerance"], seed=seed, verbose=False,
                     sampler_options=settings.get("sampler_options"))
        wall = time.perf_counter() - start
    stats = result.stats or {}
    return {
        "sampler": result.settings["sampler"],
        "n_live": result.settings["nlive"],
        "nuisances": config.nuisances,
        "n_sampled": len(result.names),
        "wall_seconds": wall,
        "sampler_seconds": result.wall_seconds,
        "n_likelihood_calls": result.n_likelihood_calls,
        "log_evidence": result.log_evidence,
        "log_evidence_err": result.log_evidence_err,
        "khat": stats.get("khat"),
        "ess": stats.get("ess"),
    }
