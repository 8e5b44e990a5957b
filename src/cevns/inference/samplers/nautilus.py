"""The nautilus (Lange, MNRAS 525 (2023) 3181): neural-network boosted importance nested sampling adapter of :func:`cevns.inference.samplers.run_sampler`."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..results import SamplerOutput
from ..smc import effective_sample_size


from ._common import BatchedPrior, BatchOrSingle, Progress, _normalize

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


