"""Bayesian fits as objects: ``fit(model, data) -> FitResult`` in memory; ``FitResult.save`` / ``load_fit``.

:func:`fit` runs a sampler (``cevns.inference.samplers``) on a :class:`cevns.model.Model`
and one data set and returns a :class:`FitResult`; it writes nothing (a sampler
checkpoint only when ``checkpoint_dir`` is given). Folder policy, MPI and progress
belong to the application layer (``cevns.app.runs``, ``cevns.app.reproduce``).

:class:`FitResult` and the fit folder's layout live in :mod:`cevns.inference.results`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..model.protocol import SampledModel
from ..model.sampler_view import sampler_view
from .results import EFFECTIVE_NSI_FLAVORS, SCHEMA_VERSION, FitResult, add_effective_nsi, load_fit  # noqa: F401  (re-exported)
from .samplers import default_sampler_settings, min_dimensions
from .weights import equal_weight_samples


#: The random stream of the prior draws of prior-only parameters (:meth:`cevns.model.Model.prior_only_names`), apart
#: from the seed's other uses: the same seed gives the same draws, and the equal-weight resampling is unchanged.
PRIOR_ONLY_STREAM = 1


def fit(model: SampledModel, data: np.ndarray, *, sampler: str | None = None, nuisances: str = "marginalized", n_live: int | None = None,
        tolerance: float | None = None, seed: int = 0, fast: bool = False, checkpoint_dir: str | Path | None = None,
        resume: bool = False, verbose: bool = True, pool=None, data_label: str = "",  # noqa: ANN001
        sampler_options: dict | None = None) -> FitResult:
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
    sampler_options : dict, optional
        Backend options (smc: fields of :class:`cevns.inference.smc.SMCSettings`, e.g. a scenario's ``[fit.smc]``),
        recorded in the result's settings.
    """
    from .samplers import run_sampler

    data = model.check_data(data)
    if data.ndim != 1:
        raise ConfigError("fit takes one data set of shape (K,)")
    names = model.sampled_names(nuisances)
    # the sampler chosen for the full dimension, as cevns fit chooses it (cevns.app.runs), whatever is left out
    defaults = default_sampler_settings(len(names), nuisances == "sampled", fast, sampler)
    sampler = defaults["sampler"]
    seen, prior, likelihood, prior_only = sampler_view(model, data, nuisances, min_dimensions(sampler))
    n_live = n_live if n_live is not None else defaults["n_live"]
    tolerance = tolerance if tolerance is not None else defaults["tolerance"]
    output = run_sampler(sampler, seen, prior, likelihood,
                         n_live=n_live, tolerance=tolerance, seed=seed, checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
                         resume=resume, verbose=verbose, pool=pool, label=model.name, options=sampler_options or None)
    samples = output.samples
    if prior_only:  # the posterior is the prior in these, independent of the rest: one prior draw per weighted sample
        samples = np.empty((len(output.samples), len(names)))
        samples[:, prior.keep] = output.samples
        draws = model.sampler_prior(nuisances, data)(np.random.default_rng([seed, PRIOR_ONLY_STREAM]).uniform(
            size=(len(samples), len(names))))
        rest = [i for i, name in enumerate(names) if name in prior_only]
        samples[:, rest] = draws[:, rest]
        output.stats["prior_only"] = list(prior_only)
    rng = np.random.default_rng(seed)
    equal = equal_weight_samples(samples, output.log_weights, rng)
    if nuisances == "marginalized":
        full = model.sample_nuisances(equal, data, rng)
    else:
        full = equal
    equal_columns = {name: full[:, i] for i, name in enumerate(model.parameter_names)}
    add_effective_nsi(equal_columns, model.fixed)
    parameters = {p.name: {"kind": p.kind, "bounds": [float(p.bounds[0]), float(p.bounds[1])],
                           **({"prior": [p.center, p.sigma]} if p.constrained else {})} for p in model.parameters}
    settings = {"sampler": sampler, "seed": seed, "nlive": n_live, "tolerance": tolerance, "nuisances": nuisances,
                "data": data_label, "mpi_processes": getattr(pool, "size", 1),
                **({"sampler_options": dict(sampler_options)} if sampler_options else {})}
    return FitResult(model.name, names, samples, output.log_weights, output.log_likelihood, output.log_evidence,
                     output.log_evidence_err, output.n_likelihood_calls, output.wall_seconds, settings, parameters,
                     dict(model.fixed), equal_columns, output.stats, getattr(output, "log_likelihood_birth", None))
