"""The UltraNest (Buchner, JOSS 6 (2021) 3001): MLFriends region sampling, a slice step sampler in high dimension adapter of :func:`cevns.inference.samplers.run_sampler`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..results import SamplerOutput
from ..smc import effective_sample_size


from ._common import BatchedPrior, BatchOrSingle, _configure_ultranest_logger, _normalize

#: UltraNest's documentation recommends a step sampler above ~8 dimensions.
ULTRANEST_SLICE_ABOVE_DIM = 8


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


