"""Our tempered SMC (cevns.inference.smc), with its checkpoint file adapter of :func:`cevns.inference.samplers.run_sampler`."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

from ...io import json_safe
from ..results import SamplerOutput


from ._common import SamplerWarning


def _run_smc(names, prior_transform, log_likelihood, settings, seed, checkpoint_dir, resume, pool, progress) -> SamplerOutput:  # noqa: ANN001
    from ..smc import run_smc  # the algorithm (cevns.inference.smc); this module is its adapter

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
            progress(stage, text, fraction, 1.0 if fraction is not None else None, force=stage in ("retry", "extend"))

    from ...model.sampler_view import guide_of

    guide = guide_of(log_likelihood) if settings.guide else None  # a cheaper likelihood for the tempering, if offered
    result = run_smc(prior_transform, log_likelihood, len(names), settings, seed=seed, pool=pool, progress=report, guide=guide)
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
