"""The dynesty (Speagle, MNRAS 493 (2020) 3132): multi-ellipsoid bounds (the MultiNest algorithm) adapter of :func:`cevns.inference.samplers.run_sampler`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..results import SamplerOutput
from ..smc import effective_sample_size


from ._common import BatchOrSingle, SinglePrior, _normalize


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


